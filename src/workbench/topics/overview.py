"""The executive overview: headline numbers of every topic, their status, and what needs attention.

Two sources, one shape:

* **batch** (``workbench run`` runs the overview last): the other notebooks' recorded findings,
  ``<run dir>/<stem>.findings.json`` beside the overview's own ``findings_path``, read by
  :func:`read_findings`; links go to the static reports ``<stem>.html``.
* **dashboard** (no findings files): headline numbers computed directly from the data by
  :func:`direct_headlines` (one daily metric per topic) and alerts by :func:`direct_alerts`;
  links go to the dashboards ``/voila/render/<stem>.ipynb``.

Every headline gets a status against ``threshold_pct``: green when it moved less than the
threshold in the bad direction, amber up to twice the threshold, red beyond (a finding's own
status, when its notebook judged one, wins). Sparklines are the topic's daily metric over the
period, drawn as inline SVG so that they show in static reports and dashboards alike.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError, MissingTableError
from workbench.sql.common import Filters
from workbench.stats import pct_change
from workbench.text import labels as i18n
from workbench.text.pages import TOPICS

OVERVIEW = "00_overview"
STATUS_COLOURS = {"green": "#2f9e44", "amber": "#f08c00", "red": "#c2255c", None: "#999"}
NEEDS = {"orders": []}



# ------------------------------------------------------------------------------------------------
# status
# ------------------------------------------------------------------------------------------------
LOWER_IS_BETTER = ("refund", "negative", "late", "cost", "response", "resolution", "alert", "hhi", "risk",
                   "churn", "complaint", "stock_out", "slow", "discount_depth", "cac")


def better_direction(key: str, unit: str | None = None) -> str:
    """``down`` when a lower value of a metric or finding ``key`` is better, else ``up``."""
    k = f"{key} {unit or ''}".lower()
    return "down" if any(w in k for w in LOWER_IS_BETTER) else "up"


def status(change: float | None, better: str, threshold_pct: float) -> str | None:
    """Green, amber or red for a relative ``change`` (0.12 for +12%) against ``threshold_pct`` (per cent).

    Only a move in the bad direction counts: up to the threshold green, up to twice amber, beyond red.
    None when the change is unknown.
    """
    if change is None or not np.isfinite(change):
        return None
    adverse = -change if better == "up" else change
    t = threshold_pct / 100.0
    return "red" if adverse > 2 * t else "amber" if adverse > t else "green"


# ------------------------------------------------------------------------------------------------
# direct headline metrics (dashboard mode, and sparklines in batch mode)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """One topic's headline metric: daily numerator and denominator by SQL (value = Σnum / Σden)."""

    topic: str
    key: str
    unit: str
    better: str
    needs: dict
    sql: Callable[[Dataset, Filters], str]   # returns SELECT date, num, den ... for the filters
    scale: float = 1.0


def _orders_sql(num: str, den: str = "NULL") -> Callable[[Dataset, Filters], str]:
    return lambda ds, f: (f"SELECT order_date AS date, sum({num}) AS num, sum({den}) AS den FROM orders_cny "
                          f"WHERE is_valid AND {f.where()} GROUP BY 1")


def _repeat_sql(ds: Dataset, f: Filters) -> str:
    return (f"WITH firsts AS (SELECT customer_id, min(order_date) AS first_date FROM orders_cny WHERE is_valid "
            f"GROUP BY 1) SELECT o.order_date AS date, sum(CASE WHEN o.order_date > fi.first_date THEN 1 ELSE 0 END) "
            f"AS num, count(*) AS den FROM orders_cny o JOIN firsts fi USING (customer_id) "
            f"WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')} GROUP BY 1")


def _roas_sql(ds: Dataset, f: Filters) -> str:
    return (f"SELECT date, sum(attributed_gmv_cny) AS num, sum(spend_cny) AS den FROM marketing_spend "
            f"WHERE {f.where('date')} GROUP BY 1")


def _tickets_sql(ds: Dataset, f: Filters) -> str:
    return (f"SELECT CAST(created_at AS DATE) AS date, sum(date_diff('second', created_at, first_response_at) / 60.0) "
            f"AS num, count(first_response_at) AS den FROM tickets WHERE {f.where('CAST(created_at AS DATE)')} "
            f"GROUP BY 1")


def _on_time_sql(ds: Dataset, f: Filters) -> str:
    return (f"SELECT CAST(s.promised_at AS DATE) AS date, count(*) FILTER (WHERE s.delivered_at <= s.promised_at) "
            f"AS num, count(*) FILTER (WHERE s.delivered_at IS NOT NULL) AS den FROM shipments s "
            f"JOIN orders_cny o USING (order_id) WHERE {f.where('CAST(s.promised_at AS DATE)', 'o.channel')} GROUP BY 1")


def _rating_sql(ds: Dataset, f: Filters) -> str:
    chan = f" AND {f.channel_sql()}" if f.channels and ds.has("reviews", ["channel"]) else ""
    return (f"SELECT CAST(created_at AS DATE) AS date, sum(rating) AS num, count(*) AS den FROM reviews "
            f"WHERE {f.date_sql('CAST(created_at AS DATE)')}{chan} GROUP BY 1")


def _active_sql(ds: Dataset, f: Filters) -> str:
    return (f"SELECT order_date AS date, count(DISTINCT customer_id) AS num, NULL AS den FROM orders_cny "
            f"WHERE is_valid AND {f.where()} GROUP BY 1")


_ORDERS = {"orders": ["paid_amount", "ordered_at", "channel"]}
METRICS: tuple[Metric, ...] = (
    Metric("01_sales_traffic", "gmv", "CNY", "up", _ORDERS, _orders_sql("gmv_cny")),
    Metric("02_products_pricing", "discount_depth", "share", "down", {"orders": ["gross_amount", "discount_amount"]},
           _orders_sql("discount_cny", "gross_cny")),
    Metric("03_marketing", "roas", "ratio", "up", {"marketing_spend": ["attributed_gmv_cny", "spend_cny"]}, _roas_sql),
    Metric("04_campaigns", "campaign_share", "share", "up", {"orders": ["campaign_id"]},
           _orders_sql("CASE WHEN campaign_id IS NOT NULL THEN gmv_cny ELSE 0 END", "gmv_cny")),
    Metric("05_customer_service", "first_response_minutes", "minutes", "down",
           {"tickets": ["created_at", "first_response_at"]}, _tickets_sql),
    Metric("06_logistics", "on_time_rate", "share", "up", {"shipments": ["promised_at", "delivered_at"]}, _on_time_sql),
    Metric("07_omnichannel", "o2o_share", "share", "up", {"orders": ["fulfilment"]},
           _orders_sql("CASE WHEN fulfilment IN ('pickup_in_store', 'ship_from_store', 'in_store') THEN 1 ELSE 0 END",
                       "1")),
    Metric("08_social_commerce", "livestream_share", "share", "up", {"orders": ["livestream_id"]},
           _orders_sql("CASE WHEN livestream_id IS NOT NULL THEN gmv_cny ELSE 0 END", "gmv_cny")),
    Metric("09_cross_border", "cross_border_gmv", "CNY", "up", _ORDERS,
           _orders_sql("CASE WHEN channel = 'cross_border' THEN gmv_cny ELSE 0 END")),
    Metric("10_personalisation", "active_buyers", "buyers", "up", _ORDERS, _active_sql),
    Metric("11_brand_reputation", "mean_rating", "stars", "up", {"reviews": ["rating", "created_at"]}, _rating_sql),
    Metric("12_crm", "repeat_share", "share", "up", _ORDERS, _repeat_sql),
    Metric("13_risk", "refund_rate", "share", "down", {"orders": ["status"]},
           _orders_sql("CASE WHEN status = 'refunded' THEN 1 ELSE 0 END", "1")),
)


def _metric_daily(ds: Dataset, m: Metric, f: Filters) -> pd.DataFrame:
    frame = ds.sql(m.sql(ds, f))
    cal = pd.DataFrame({"date": pd.date_range(f.start, f.end, freq="D")})
    frame["date"] = pd.to_datetime(frame["date"])
    return cal.merge(frame, on="date", how="left")


def _value(daily: pd.DataFrame) -> float:
    num = float(daily["num"].sum())
    if daily["den"].isna().all():
        return num
    den = float(daily["den"].sum())
    return num / den if den else float("nan")


def direct_headlines(ds: Dataset, f: Filters, threshold_pct: float = 5.0) -> pd.DataFrame:
    """One headline metric per topic, computed from the data for the period and the comparison period.

    Returns one row per available metric: ``topic``, ``metric``, ``value``, ``comparison``,
    ``change`` (relative), ``unit``, ``better``, ``status`` (green/amber/red by ``threshold_pct``),
    ``n_days`` and ``spark`` (the daily values of the period, a list; NaN on days without data).
    Topics whose tables are absent are left out.
    """
    rows = []
    cmp_f = f.comparison()
    for m in METRICS:
        if ds.missing(m.needs):
            continue
        try:
            cur = _metric_daily(ds, m, f)
            prev = _metric_daily(ds, m, cmp_f) if cmp_f else None
        except (MissingTableError, EmptyPeriodError):
            continue
        value = _value(cur)
        comp = _value(prev) if prev is not None else float("nan")
        with np.errstate(invalid="ignore", divide="ignore"):
            spark = (cur["num"] if cur["den"].isna().all() else cur["num"] / cur["den"]).astype(float).tolist()
        change = pct_change(value, comp)
        rows.append({"topic": m.topic, "metric": m.key, "value": value, "comparison": comp, "change": change,
                     "unit": m.unit, "better": m.better, "status": status(change, m.better, threshold_pct),
                     "n_days": len(cur), "spark": spark})
    return pd.DataFrame(rows, columns=["topic", "metric", "value", "comparison", "change", "unit", "better", "status",
                                       "n_days", "spark"])


# ------------------------------------------------------------------------------------------------
# recorded findings (batch mode)
# ------------------------------------------------------------------------------------------------
def findings_folder(findings_path: str | Path | None) -> Path | None:
    """The run folder that holds the other notebooks' findings, from the overview's ``findings_path``."""
    if not findings_path:
        return None
    return Path(findings_path).parent


def read_findings(folder: str | Path | None, exclude: str = OVERVIEW) -> dict[str, dict]:
    """Every ``<stem>.findings.json`` in ``folder`` except the overview's own, by notebook stem.

    Unreadable or partial files are skipped (a notebook that failed leaves none or a broken one).
    Returns an empty dict when the folder is None or holds no findings.
    """
    out: dict[str, dict] = {}
    if folder is None or not Path(folder).is_dir():
        return out
    for path in sorted(Path(folder).glob("*.findings.json")):
        stem = path.name.removesuffix(".findings.json")
        if stem == exclude:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("findings"), list):
            out[stem] = record
    return out


def _rank(finding: dict) -> tuple[int, int]:
    st = {"red": 0, "amber": 1}.get(finding.get("status") or "", 2)
    return st, 0 if finding.get("headline") else 1


def top_findings(records: dict[str, dict], per_topic: int = 3, threshold_pct: float = 5.0) -> pd.DataFrame:
    """The top findings of each recorded topic: red, then amber, then headline findings, then the rest
    in the notebook's order; at most ``per_topic`` each. Returns ``topic``, ``key``, ``text``, ``value``,
    ``unit``, ``change``, ``status`` (the finding's own, else by ``threshold_pct`` from its change),
    ``headline``, ``section``."""
    rows = []
    for stem, rec in records.items():
        found = [x for x in rec.get("findings", []) if isinstance(x, dict) and x.get("text")]
        ranked = sorted(enumerate(found), key=lambda ix: (*_rank(ix[1]), ix[0]))[:per_topic]
        for _, x in ranked:
            st = x.get("status") or status(x.get("change"), better_direction(x.get("key", ""), x.get("unit")),
                                           threshold_pct)
            rows.append({"topic": stem, "key": x.get("key"), "text": x["text"], "value": x.get("estimate", x.get("value")),
                         "unit": x.get("unit"), "change": x.get("change"), "status": st,
                         "headline": bool(x.get("headline")), "section": x.get("section")})
    return pd.DataFrame(rows, columns=["topic", "key", "text", "value", "unit", "change", "status", "headline",
                                       "section"])


def recorded_headlines(records: dict[str, dict], threshold_pct: float = 5.0) -> pd.DataFrame:
    """Headline findings of every recorded topic as headline numbers: ``topic``, ``metric`` (the finding's
    key), ``value``, ``unit``, ``change``, ``status``, ``text``."""
    rows = []
    for stem, rec in records.items():
        for x in rec.get("findings", []):
            if not isinstance(x, dict) or not x.get("headline"):
                continue
            st = x.get("status") or status(x.get("change"), better_direction(x.get("key", ""), x.get("unit")),
                                           threshold_pct)
            rows.append({"topic": stem, "metric": x.get("key"), "value": x.get("estimate", x.get("value")), "unit": x.get("unit"),
                         "change": x.get("change"), "status": st, "text": x.get("text", "")})
    return pd.DataFrame(rows, columns=["topic", "metric", "value", "unit", "change", "status", "text"])


def recorded_alerts(records: dict[str, dict]) -> pd.DataFrame:
    """Findings whose notebook marked them red or amber: ``topic``, ``key``, ``status``, ``text`` (red first)."""
    rows = [{"topic": stem, "key": x.get("key"), "status": x.get("status"), "text": x.get("text", "")}
            for stem, rec in records.items() for x in rec.get("findings", [])
            if isinstance(x, dict) and x.get("status") in ("red", "amber")]
    out = pd.DataFrame(rows, columns=["topic", "key", "status", "text"])
    return out.sort_values("status", key=lambda s: s.map({"red": 0, "amber": 1}), kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# direct alerts (dashboard mode)
# ------------------------------------------------------------------------------------------------
def direct_alerts(ds: Dataset, f: Filters, lang: str = "zh") -> pd.DataFrame:
    """Alerts computed from the data with the topic modules: refund spikes and suspicious addresses
    (risk), sentiment drops (reputation), the slowest support category (customer service).
    Returns ``topic``, ``key``, ``status``, ``text`` in ``lang``."""
    from workbench.topics import reputation, risk

    rows: list[dict[str, Any]] = []
    if ds.has("orders"):
        try:
            a = risk.assess(ds, f)
            for al in a.alerts:
                rows.append({"topic": "13_risk", "key": al.key, "status": "red" if al.level == "alert" else "amber",
                             "text": al.text(lang)})
        except (MissingTableError, EmptyPeriodError):
            pass
    if not ds.missing(reputation.NEEDS_TEXT):
        try:
            for _, d in reputation.sentiment_drops(ds, f).iterrows():
                rows.append({"topic": "11_brand_reputation", "key": "sentiment_drop", "status": "red",
                             "text": i18n.pick(lang,
                                               f"Sentiment about {d['product_id']} dropped from {d['change_date']} "
                                               f"({d['baseline_sentiment']:+.2f} → {d['sentiment_after']:+.2f}, "
                                               f"n = {d['reviews_after']}).",
                                               f"{d['product_id']} 的评价情感自 {d['change_date']} 起下滑"
                                               f"（{d['baseline_sentiment']:+.2f} → {d['sentiment_after']:+.2f}，"
                                               f"n = {d['reviews_after']}）。")})
        except (MissingTableError, EmptyPeriodError):
            pass
    slow = slowest_support(ds, f)
    if slow is not None:
        rows.append({"topic": "05_customer_service", "key": "slow_category",
                     "status": "red" if slow.separated else "amber",
                     "text": i18n.pick(lang,
                                       f"{i18n.label(slow.category, 'en')} tickets take longest to resolve: median "
                                       f"{slow.median_hours:.1f} h (95% CI {slow.median_low:.1f}–{slow.median_high:.1f}, "
                                       f"n = {slow.n:,}) against {slow.others_median_hours:.1f} h for the next slowest.",
                                       f"{i18n.label(slow.category, 'zh')}类工单解决最慢：中位数 {slow.median_hours:.1f} 小时"
                                       f"（95% 区间 {slow.median_low:.1f}–{slow.median_high:.1f}，n = {slow.n:,}），"
                                       f"其次的类别为 {slow.others_median_hours:.1f} 小时。")})
    out = pd.DataFrame(rows, columns=["topic", "key", "status", "text"])
    return out.sort_values("status", key=lambda s: s.map({"red": 0, "amber": 1}), kind="stable").reset_index(drop=True)


def slowest_support(ds: Dataset, f: Filters):
    """The slowest-resolving ticket category (:class:`workbench.topics.service.SlowestCategory`) or None."""
    if ds.missing({"tickets": ["category", "created_at", "resolved_at"]}):
        return None
    from workbench.topics import service

    try:
        return service.slowest_category(service.response_times(ds, f, "category"))
    except (MissingTableError, EmptyPeriodError):
        return None


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------
def link(stem: str, batch: bool) -> str:
    """Where a topic lives: the static report beside the overview (batch) or its dashboard."""
    return f"{stem}.html" if batch else f"/voila/render/{stem}.ipynb"


def sparkline_svg(values: list[float], colour: str = "#1f6feb", width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line of ``values`` (NaN skipped); an empty string with fewer than two values."""
    ys = [v for v in values if v is not None and np.isfinite(v)]
    if len(ys) < 2:
        return ""
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    n = len(values)
    pts = [f"{i * (width - 2) / max(n - 1, 1) + 1:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
           for i, v in enumerate(values) if v is not None and np.isfinite(v)]
    return (f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img'>"
            f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{' '.join(pts)}'/></svg>")


def format_value(value: float | None, unit: str | None, lang: str) -> str:
    """A headline value with its unit, compactly."""
    from workbench.stats import fmt_money

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "CNY":
        return fmt_money(value, lang)
    if unit == "share":
        return f"{value:.1%}"
    if unit in ("stars", "ratio", "rho", "hhi", "sentiment"):
        return f"{value:.2f}"
    suffix = {"minutes": i18n.pick(lang, " min", " 分钟"), "hours": i18n.pick(lang, " h", " 小时"),
              "days": i18n.pick(lang, " days", " 天")}.get(unit or "", f" {unit}" if unit and unit not in (
                  "count", "buyers", "orders") else "")
    return f"{value:,.0f}{suffix}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}{suffix}"


def headline_tiles_html(frame: pd.DataFrame, lang: str, batch: bool, sparks: dict[str, list[float]] | None = None) -> str:
    """The headline table as HTML: topic (linked), metric, value, change, status dot and sparkline.

    ``frame`` has ``topic``, ``metric``, ``value``, ``unit``, ``change``, ``status`` and optionally
    ``spark``; ``sparks`` (topic -> daily values) supplies sparklines where the frame has none.
    """
    from workbench.stats import fmt_pct
    from workbench.text.pages import topic as topic_of

    rows = []
    for r in frame.itertuples(index=False):
        spark = getattr(r, "spark", None)
        if not isinstance(spark, list):
            spark = (sparks or {}).get(r.topic, [])
        colour = STATUS_COLOURS.get(r.status, "#999")
        title = html.escape(topic_of(r.topic).title(lang))
        rows.append(
            f"<tr><td style='text-align:left'><a href='{html.escape(link(r.topic, batch))}'>{title}</a></td>"
            f"<td style='text-align:left'>{html.escape(i18n.label(r.metric, lang))}</td>"
            f"<td>{html.escape(format_value(r.value, r.unit, lang))}</td>"
            f"<td>{html.escape(fmt_pct(r.change) if r.change is not None else '–')}</td>"
            f"<td><span style='color:{colour};font-size:18px'>●</span> {html.escape(i18n.label(r.status, lang)) if r.status else ''}</td>"
            f"<td>{sparkline_svg(spark, colour if r.status else '#1f6feb')}</td></tr>")
    head = "".join(f"<th>{html.escape(i18n.label(c, lang))}</th>"
                   for c in ("topic", "metric", "value", "change", "status", "trend"))
    return f"<table class='wb-table wb-overview'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def topics_html(findings: pd.DataFrame, lang: str, batch: bool, recorded: set[str]) -> str:
    """Every registered topic (except the overview) with its top findings and a link.

    A topic without findings says so: not run in this batch, or open the dashboard.
    """
    items = []
    for stem, t in TOPICS.items():
        if stem == OVERVIEW:
            continue
        mine = findings[findings["topic"] == stem] if len(findings) else findings
        if len(mine):
            lis = "".join(f"<li><span style='color:{STATUS_COLOURS.get(x.status, '#999')}'>●</span> "
                          f"{html.escape(x.text)}</li>" for x in mine.itertuples(index=False))
        elif batch and stem not in recorded:
            lis = f"<li>{html.escape(i18n.pick(lang, 'Not run in this batch.', '本批次未运行。'))}</li>"
        elif batch:
            lis = f"<li>{html.escape(i18n.pick(lang, 'No findings recorded.', '未记录发现。'))}</li>"
        else:
            lis = f"<li>{html.escape(i18n.pick(lang, t.question_en, t.question_zh))}</li>"
        open_text = i18n.pick(lang, "report", "报告") if batch else i18n.pick(lang, "dashboard", "看板")
        items.append(f"<div class='wb-topic'><h4><a href='{html.escape(link(stem, batch))}'>"
                     f"{html.escape(t.title(lang))}</a> <small>({open_text})</small></h4><ul>{lis}</ul></div>")
    return "".join(items)


