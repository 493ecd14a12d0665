"""Queries of the brand-reputation page: ratings, review texts and promoter counts, with bound parameters.

Every function takes the dataset and :class:`~workbench.sql.filters.Filters` (period on the day a
review was posted, channels when reviews carry one) and returns a small aggregated frame. Review
texts come back grouped (one row per distinct text and key, with its count ``n``), so the cost of
scoring sentiment grows with the number of different texts, not of reviews.
"""

from __future__ import annotations

import datetime as dt

from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

REVIEW_DATE = "CAST(r.created_at AS DATE)"
NEGATIVE_STARS = 2          # ratings at or below are negative reviews

#: Keys a caller may group review texts or ratings by, and their SQL.
_KEYS = {
    "week": f"date_trunc('week', {REVIEW_DATE})",
    "date": REVIEW_DATE,
    "product_id": "r.product_id",
    "category": "COALESCE(p.category, 'unknown')",
    "rating": "r.rating",
    "language": "COALESCE(CAST(r.language AS VARCHAR), '')",
    "channel": "COALESCE(CAST(r.channel AS VARCHAR), 'unknown')",
}
GROUPS = ("product_id", "category", "channel")


def _where(ds: Dataset, f: Filters) -> tuple[str, dict]:
    """The period (and channel, when reviews carry one) condition on reviews ``r`` and its parameters."""
    chan = "r.channel" if ds.has("reviews", ["channel"]) else None
    return f.bind(REVIEW_DATE, chan)


def _join(ds: Dataset, keys: tuple[str, ...]) -> str:
    if "category" in keys:
        return "LEFT JOIN products p ON p.product_id = r.product_id" if ds.has("products", ["category"]) else ""
    return ""


def _select(ds: Dataset, keys: tuple[str, ...]) -> list[str]:
    out = []
    for k in keys:
        engine.identifier(k, _KEYS)
        expr = _KEYS[k]
        if k == "category" and not ds.has("products", ["category"]):
            expr = "'all'"
        out.append(f'{expr} AS "{k}"')
    return out


def rating_stats(ds: Dataset, f: Filters, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """Reviews, mean and standard deviation of the stars and negative reviews (≤ 2 stars) per ``keys``.

    Columns: the keys, ``reviews``, ``rating``, ``sd``, ``negative``, ``promoters`` (5★),
    ``detractors`` (1–3★). Without keys one row for the whole period (``reviews`` 0 when empty).
    """
    where, params = _where(ds, f)
    cols = _select(ds, keys)
    head = ", ".join(cols) + ", " if cols else ""
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} ORDER BY 1" if keys else ""
    sql = f"""
        SELECT {head}count(*) AS reviews, avg(r.rating) AS rating, stddev_samp(r.rating) AS sd,
               count(CASE WHEN r.rating <= $negative_stars THEN 1 END) AS negative,
               count(CASE WHEN r.rating = 5 THEN 1 END) AS promoters,
               count(CASE WHEN r.rating <= 3 THEN 1 END) AS detractors
        FROM reviews r {_join(ds, keys)} WHERE {where}{group}"""
    return engine.query(ds, sql, {**params, "negative_stars": NEGATIVE_STARS})


def text_counts(ds: Dataset, f: Filters, keys: tuple[str, ...] = (), negative_only: bool = False) -> pd.DataFrame:
    """Distinct review texts per ``keys`` in the period: the keys, ``text``, ``language``, ``n`` (reviews).

    ``negative_only`` keeps reviews of at most :data:`NEGATIVE_STARS` stars. Reviews without text are left out.
    """
    where, params = _where(ds, f)
    cols = _select(ds, tuple(k for k in keys if k != "language"))
    head = ", ".join(cols) + ", " if cols else ""
    neg = " AND r.rating <= $negative_stars" if negative_only else ""
    sql = f"""
        SELECT {head}r.text AS text, {_KEYS['language']} AS language, count(*) AS n
        FROM reviews r {_join(ds, keys)} WHERE r.text IS NOT NULL AND {where}{neg}
        GROUP BY {', '.join(str(i + 1) for i in range(len(cols) + 2))}"""
    out = engine.query(ds, sql, {**params, "negative_stars": NEGATIVE_STARS})
    for k in ("week", "date"):
        if k in out:
            out[k] = pd.to_datetime(out[k])
    return out


def distinct_texts(ds: Dataset) -> pd.DataFrame:
    """Every distinct review text of the dataset with its (first) language: ``text``, ``language``."""
    return engine.query(ds, "SELECT text, any_value(CAST(language AS VARCHAR)) AS language FROM reviews "
                            "WHERE text IS NOT NULL GROUP BY text")


def product_names(ds: Dataset) -> pd.DataFrame:
    """``product_id`` and ``name`` (the listing title; the id where the data has no name) of every product."""
    if not ds.has("products"):
        return pd.DataFrame(columns=["product_id", "name"])
    name = "COALESCE(name, product_id)" if ds.has("products", ["name"]) else "product_id"
    return engine.query(ds, f"SELECT product_id, {name} AS name FROM products")


def first_review_day(ds: Dataset) -> dt.date | None:
    """The day of the first review (local date), None without reviews."""
    d = engine.query(ds, f"SELECT min({REVIEW_DATE}) AS d FROM reviews r")["d"].iloc[0]
    return None if d is None or pd.isna(d) else pd.Timestamp(d).date()
