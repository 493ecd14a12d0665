"""Sales and traffic: KPIs against a comparison period, breakdowns, the funnel, decomposition.

Functions take a :class:`~workbench.loader.Dataset` and :class:`~workbench.queries.Filters`
and return tidy frames or small result objects; the notebook draws and words them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench import queries
from workbench.loader import Dataset
from workbench.queries import Filters
from workbench.stats import add_rate_interval, pct_change

KPIS = ("gmv", "orders", "buyers", "aov", "units", "refund_rate", "new_buyers", "returning_buyers")

NEEDS = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_FUNNEL = {"traffic": []}


def kpi_table(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Headline KPIs of the period and of the comparison period.

    Returns one row per KPI: ``metric``, ``current``, ``comparison`` (NaN without a comparison
    period) and ``change`` (relative, 0.12 for +12%).
    """
    cur = queries.kpi_totals(ds, f)
    cmp_f = f.comparison()
    prev = queries.kpi_totals(ds, cmp_f) if cmp_f else {k: float("nan") for k in cur}
    rows = [{"metric": k, "current": cur[k], "comparison": prev[k], "change": pct_change(cur[k], prev[k])}
            for k in KPIS]
    return pd.DataFrame(rows)


def daily_with_comparison(ds: Dataset, f: Filters, metric: str = "gmv") -> pd.DataFrame:
    """Daily ``metric`` of the period with the comparison period aligned on day number.

    Returns ``date`` (of the current period), ``day``, ``period`` (current/comparison) and ``value``.
    """
    cur = queries.daily_kpis(ds, f)[["date", metric]].assign(period="current")
    cur["day"] = np.arange(len(cur))
    frames = [cur]
    cmp_f = f.comparison()
    if cmp_f:
        prev = queries.daily_kpis(ds, cmp_f)[["date", metric]].assign(period="comparison")
        prev["day"] = np.arange(len(prev))
        prev["date"] = cur["date"].iloc[: len(prev)].to_numpy() if len(prev) <= len(cur) else prev["date"]
        frames.append(prev)
    return pd.concat(frames, ignore_index=True).rename(columns={metric: "value"})


def breakdown(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """GMV by ``by`` in both periods, its change and each value's share of the total change.

    Returns ``by``, ``gmv``, ``gmv_comparison``, ``change`` (relative), ``delta`` (CNY) and
    ``share_of_change`` (delta / total delta), sorted by absolute delta (top movers first).
    """
    cur = queries.totals_by(ds, f, by)[[by, "gmv", "orders"]]
    cmp_f = f.comparison()
    if cmp_f:
        prev = queries.totals_by(ds, cmp_f, by)[[by, "gmv"]].rename(columns={"gmv": "gmv_comparison"})
        out = cur.merge(prev, on=by, how="outer").fillna({"gmv": 0.0, "gmv_comparison": 0.0, "orders": 0})
    else:
        out = cur.assign(gmv_comparison=np.nan)
    out["delta"] = out["gmv"] - out["gmv_comparison"]
    out["change"] = out["gmv"] / out["gmv_comparison"].where(out["gmv_comparison"] > 0) - 1
    total = out["delta"].sum()
    out["share_of_change"] = out["delta"] / total if total else np.nan
    return out.reindex(out["delta"].abs().sort_values(ascending=False).index).reset_index(drop=True)


FUNNEL_STEPS = ("sessions", "product_views", "add_to_cart", "checkouts", "paid_orders")


def funnel_rates(ds: Dataset, f: Filters, by: str = "source") -> pd.DataFrame:
    """Step-to-step conversion of the traffic funnel per ``by``, with 95% Wilson intervals.

    Returns one row per (``by``, ``step``): ``step``, ``count``, ``previous_count``, ``rate``,
    ``rate_low``, ``rate_high`` where rate = count / previous step's count, plus ``overall``
    (paid / sessions) on the first step's row of each group.
    """
    wide = queries.funnel(ds, f, by)
    rows = []
    for _, r in wide.iterrows():
        for i, step in enumerate(FUNNEL_STEPS):
            prev = r[FUNNEL_STEPS[i - 1]] if i else r[step]
            rows.append({by: r[by], "step": step, "count": int(r[step]), "previous_count": int(prev)})
    long = pd.DataFrame(rows)
    return add_rate_interval(long, "count", "previous_count", "rate")


def biggest_leak(rates: pd.DataFrame) -> pd.Series:
    """The step (over all groups together) that loses the largest share of visits."""
    total = rates.groupby("step", sort=False)[["count", "previous_count"]].sum().iloc[1:]
    total["loss"] = 1 - total["count"] / total["previous_count"]
    return total.sort_values("loss", ascending=False).reset_index().iloc[0]


@dataclass
class Decomposition:
    """GMV change split into visitors × conversion rate × average order value (log shares)."""

    gmv_change: float
    parts: pd.DataFrame  # factor, current, comparison, change, contribution_cny


def decompose_gmv(ds: Dataset, f: Filters) -> Decomposition | None:
    """Decompose the GMV change between the periods into sessions, conversion and AOV.

    Uses the identity GMV = sessions × (orders / sessions) × (GMV / orders); each factor's
    contribution in CNY is its share of the log change times the GMV change (the log-mean
    split, which adds up exactly). Returns None without a comparison period or traffic.
    """
    cmp_f = f.comparison()
    if cmp_f is None or "traffic" not in ds.sources:
        return None

    def factors(ff: Filters) -> dict[str, float]:
        k = queries.kpi_totals(ds, ff)
        sessions = float(queries.funnel(ds, ff, "channel")["sessions"].sum())
        return {"sessions": sessions, "conversion": k["orders"] / sessions if sessions else np.nan,
                "aov": k["aov"], "gmv": k["gmv"]}

    cur, prev = factors(f), factors(cmp_f)
    delta = cur["gmv"] - prev["gmv"]
    log_total = np.log(cur["gmv"] / prev["gmv"]) if prev["gmv"] and cur["gmv"] else np.nan
    rows = []
    for name in ("sessions", "conversion", "aov"):
        lg = np.log(cur[name] / prev[name]) if prev[name] and cur[name] else np.nan
        rows.append({"factor": name, "current": cur[name], "comparison": prev[name],
                     "change": pct_change(cur[name], prev[name]),
                     "contribution_cny": delta * lg / log_total if log_total else np.nan})
    return Decomposition(pct_change(cur["gmv"], prev["gmv"]), pd.DataFrame(rows))
