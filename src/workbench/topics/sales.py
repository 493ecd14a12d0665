"""Sales and traffic: headline KPIs, breakdowns of the change, the funnel, decomposition, pattern breaks.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames, :class:`~workbench.topics.kpi.Kpi` objects or
:class:`~workbench.stats.result.Estimate` results; the notebook draws and words them. Every query
is in :mod:`workbench.sql.sales` (and the shared KPI registry, :mod:`workbench.sql.metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import calendar
from workbench.sql import metrics as registry
from workbench.sql import sales as queries
from workbench.sql.filters import Filters
from workbench.stats import anomaly
from workbench.stats.intervals import add_rate_interval, pct_change
from workbench.stats.ratio import total
from workbench.stats.result import Estimate
from workbench.topics import kpi as kpi_mod

#: The headline KPIs of the page (each from the registry, so they read as on the overview).
HEADLINE = ("gmv", "orders", "aov", "conversion", "refund_rate")
#: The KPIs of the page's table, in order.
TABLE_KPIS = ("gmv", "orders", "buyers", "aov", "conversion", "refund_rate")

NEEDS = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_FUNNEL = {"traffic": []}
NEEDS_DECOMPOSITION = {"orders": ["paid_amount", "ordered_at", "channel"], "traffic": ["sessions"]}

#: What each breakdown needs from the data (the notebook passes these as a section's ``needs``).
BREAKDOWN_NEEDS: dict[str, dict[str, list[str]]] = queries.DIMENSIONS


def kpis(ds: Dataset, f: Filters, keys: tuple[str, ...] = TABLE_KPIS, level: float = 0.95) -> dict[str, kpi_mod.Kpi]:
    """The registry KPIs ``keys`` that the data can feed, by key (:func:`workbench.topics.kpi.kpi`; read
    together, period and comparison, as :func:`workbench.topics.kpi.kpis` does)."""
    fed = [k for k in keys if not ds.missing(registry.metric(k).needs)]
    return {k.key: k for k in kpi_mod.kpis(ds, f, fed, level)} if fed else {}


def kpi_table(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """The page's KPIs of the period and the comparison period, one row per KPI.

    Returns ``metric``, ``unit``, ``current``, ``current_low``, ``current_high`` (the interval at
    ``level``, NaN for a total), ``comparison`` (NaN without a comparison period), ``change``
    (relative, 0.12 for +12%), ``status`` (red, amber, green, none) and ``reason`` (why none).
    """
    rows = []
    for k in kpis(ds, f, TABLE_KPIS, level).values():
        rows.append({"metric": k.key, "unit": k.unit, "current": k.value.estimate, "current_low": k.value.low,
                     "current_high": k.value.high,
                     "comparison": k.comparison.estimate if k.comparison is not None else math.nan,
                     "change": k.change, "status": k.status, "reason": k.reason})
    return pd.DataFrame(rows)


def buyer_types(ds: Dataset, f: Filters) -> pd.DataFrame:
    """New and returning buyers of the period: ``customer_type`` (new, returning), ``buyers``."""
    return queries.buyer_types(ds, f)


def daily_with_comparison(ds: Dataset, f: Filters, metric: str = "gmv") -> pd.DataFrame:
    """Daily registry ``metric`` of the period with the comparison period aligned on day number.

    Returns ``date`` (of the current period), ``day``, ``period`` (current/comparison) and a column
    named ``metric`` with the day's value.
    """
    _, cur = kpi_mod.estimate(ds, f, metric)
    cur = cur.assign(period="current", day=np.arange(len(cur)))
    frames = [cur]
    cmp_f = f.comparison()
    if cmp_f:
        _, prev = kpi_mod.estimate(ds, cmp_f, metric)
        prev = prev.assign(period="comparison", day=np.arange(len(prev)))
        if len(prev) <= len(cur):
            prev["date"] = cur["date"].iloc[: len(prev)].to_numpy()
        frames.append(prev)
    return pd.concat(frames, ignore_index=True).rename(columns={"value": metric})


def breakdown(ds: Dataset, f: Filters, by: str = "channel", keep: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """GMV by ``by`` in both periods, its change and each value's share of the total change.

    ``by`` is a dimension of :data:`BREAKDOWN_NEEDS` (totals from :func:`workbench.sql.sales.totals_by`).
    Values for which ``keep`` is false (values that are not names of the dimension, such as street
    addresses in a region column) are summed into one row ``other``. Returns ``by``, ``gmv``, ``orders``,
    ``gmv_comparison``, ``delta`` (CNY), ``change`` (relative; NaN where the comparison is zero) and ``share_of_change`` (delta / total
    delta), sorted by absolute delta (top movers first); empty when the period has no orders.
    """
    def lumped(frame: pd.DataFrame) -> pd.DataFrame:
        if keep is None or frame.empty:
            return frame
        values = frame[by].where(frame[by].map(lambda v: bool(keep(str(v)))), "other")
        return frame.assign(**{by: values}).groupby(by, as_index=False, sort=False).sum()

    cur = lumped(queries.totals_by(ds, f, by))
    cmp_f = f.comparison()
    if cmp_f:
        prev = lumped(queries.totals_by(ds, cmp_f, by))[[by, "gmv"]].rename(columns={"gmv": "gmv_comparison"})
        out = cur.merge(prev, on=by, how="outer").fillna({"gmv": 0.0, "gmv_comparison": 0.0, "orders": 0})
        if cur.empty:
            out = out.iloc[0:0]
    else:
        out = cur.assign(gmv_comparison=np.nan)
    out["orders"] = out["orders"].astype("int64")
    out["delta"] = out["gmv"] - out["gmv_comparison"]
    out["change"] = out["gmv"] / out["gmv_comparison"].where(out["gmv_comparison"] > 0) - 1
    total_delta = out["delta"].sum()
    out["share_of_change"] = out["delta"] / total_delta if total_delta else np.nan
    return out.reindex(out["delta"].abs().sort_values(ascending=False).index).reset_index(drop=True)


@dataclass(frozen=True)
class Mover:
    """The value of a dimension that moved GMV most: ``value``, its ``delta`` (an Estimate in CNY, a
    census of the period, so without interval), relative ``change`` and ``share`` of the total change."""

    by: str
    value: str
    delta: Estimate
    change: float
    share: float

    @property
    def direction(self) -> str:
        """``up`` or ``down`` (the sign of the move), ``new`` for a value without GMV in the comparison period."""
        if not math.isfinite(self.change) and self.delta.estimate > 0:
            return "new"
        return "up" if self.delta.estimate >= 0 else "down"


def top_mover(moves: pd.DataFrame, by: str) -> Mover | None:
    """The first row of :func:`breakdown` as a :class:`Mover`; None when there is nothing to compare."""
    if moves.empty or not moves["share_of_change"].notna().any():
        return None
    top = moves.iloc[0]
    return Mover(by, str(top[by]), total(float(top["delta"]), int(top["orders"]), "money"),
                 float(top["change"]), float(top["share_of_change"]))


def kpi_series(ds: Dataset, f: Filters, grain: str = "week") -> pd.DataFrame:
    """GMV, orders, buyers, AOV and units per day, week or month, for the period and the comparison.

    The comparison period is shifted onto the current one (by the distance between their starts) so
    that buckets line up: each row is one ``bucket`` (first day of the day/week/month in the current
    period's calendar) and one ``period`` (``current`` or ``comparison``), with ``gmv`` (CNY),
    ``orders``, ``buyers``, ``aov`` (CNY), ``units`` (NaN without order lines) and ``days`` (days of
    the period inside the bucket, so partial buckets can be told apart).
    """
    if grain not in queries.GRAINS:
        raise ValueError("grain must be day, week or month")
    has_items = ds.has("order_items")
    frames = []
    for name, ff in (("current", f), ("comparison", f.comparison())):
        if ff is None:
            continue
        frame = queries.buckets(ds, ff, grain, (f.start - ff.start).days, units=has_items)
        if not has_items:
            frame["units"] = np.nan
        frames.append(frame.assign(period=name))
    out = pd.concat(frames, ignore_index=True)
    out["bucket"] = pd.to_datetime(out["bucket"])
    out["aov"] = out["gmv"] / out["orders"].where(out["orders"] > 0)
    return out.sort_values(["bucket", "period"]).reset_index(drop=True)


def best_week(weekly: pd.DataFrame) -> pd.Series | None:
    """The full week (7 days of the period) of the current period with the highest GMV, or None."""
    cur = weekly[(weekly["period"] == "current") & (weekly["days"] == 7)]
    return None if cur.empty else cur.loc[cur["gmv"].idxmax()]


FUNNEL_STEPS = ("sessions", "product_views", "add_to_cart", "checkouts", "paid_orders")


def funnel_rates(ds: Dataset, f: Filters, by: str = "source", level: float = 0.95) -> pd.DataFrame:
    """Step-to-step conversion of the traffic funnel per ``by``, with Wilson intervals at ``level``.

    Returns one row per (``by``, ``step``): ``step``, ``count``, ``previous_count``, ``rate``,
    ``rate_low``, ``rate_high`` where rate = count / previous step's count (1 on the first step).
    """
    wide = queries.funnel(ds, f, by)
    rows = []
    for _, r in wide.iterrows():
        for i, step in enumerate(FUNNEL_STEPS):
            prev = r[FUNNEL_STEPS[i - 1]] if i else r[step]
            rows.append({by: r[by], "step": step, "count": int(r[step]), "previous_count": int(prev)})
    long = pd.DataFrame(rows, columns=[by, "step", "count", "previous_count"])
    return add_rate_interval(long, "count", "previous_count", "rate", level)


@dataclass(frozen=True)
class Leak:
    """The funnel step that loses the largest share of the previous step's visits: ``step`` and the
    ``loss`` (an Estimate: a share of ``previous_count`` visits, Wilson interval)."""

    step: str
    loss: Estimate


def biggest_leak(rates: pd.DataFrame, level: float = 0.95) -> Leak | None:
    """The step (over all groups together) that loses the largest share of visits; None without traffic."""
    if rates.empty:
        return None
    steps = rates.groupby("step", sort=False)[["count", "previous_count"]].sum().iloc[1:]
    steps = steps[steps["previous_count"] > 0]
    if steps.empty:
        return None
    lost = (steps["previous_count"] - steps["count"]).clip(lower=0)
    worst = (lost / steps["previous_count"]).idxmax()
    return Leak(str(worst), Estimate.proportion(lost[worst], steps.loc[worst, "previous_count"], level=level))


def overall_conversion(rates: pd.DataFrame, by: str = "source", level: float = 0.95) -> pd.DataFrame:
    """Sessions-to-paid conversion per ``by`` from :func:`funnel_rates`, with Wilson intervals.

    Returns ``by``, ``sessions``, ``paid_orders``, ``rate``, ``rate_low``, ``rate_high``, best first.
    """
    if rates.empty:
        return pd.DataFrame(columns=[by, "sessions", "paid_orders", "rate", "rate_low", "rate_high"])
    wide = rates.pivot_table(index=by, columns="step", values="count", aggfunc="sum").reset_index()
    out = add_rate_interval(wide[[by, "sessions", "paid_orders"]], "paid_orders", "sessions", "rate", level)
    return out.sort_values("rate", ascending=False).reset_index(drop=True)


def best_converting(overall: pd.DataFrame, by: str = "source", level: float = 0.95) -> tuple[str, Estimate] | None:
    """The ``by`` value of :func:`overall_conversion` that converts best, with its rate as an Estimate."""
    if overall.empty:
        return None
    best = overall.iloc[0]
    return str(best[by]), Estimate.proportion(best["paid_orders"], best["sessions"], level=level)


@dataclass
class Decomposition:
    """GMV change split into visitors × conversion rate × average order value (log shares)."""

    gmv_change: float
    parts: pd.DataFrame  # factor, current, comparison, change, contribution_cny


def _factors(ds: Dataset, f: Filters) -> dict[str, float]:
    orders = queries.channel_orders(ds, f)
    gmv, n = float(orders["gmv"].sum()), float(orders["orders"].sum())
    sessions = float(queries.funnel(ds, f, "channel")["sessions"].sum())
    return {"sessions": sessions, "conversion": n / sessions if sessions else np.nan,
            "aov": gmv / n if n else np.nan, "gmv": gmv}


def decompose_gmv(ds: Dataset, f: Filters) -> Decomposition | None:
    """Decompose the GMV change between the periods into sessions, conversion and AOV.

    Uses the identity GMV = sessions × (orders / sessions) × (GMV / orders); each factor's
    contribution in CNY is its share of the log change times the GMV change (the log-mean
    split, which adds up exactly). Returns None without a comparison period or traffic.
    """
    cmp_f = f.comparison()
    if cmp_f is None or "traffic" not in ds.sources:
        return None
    cur, prev = _factors(ds, f), _factors(ds, cmp_f)
    delta = cur["gmv"] - prev["gmv"]
    log_total = np.log(cur["gmv"] / prev["gmv"]) if prev["gmv"] and cur["gmv"] else np.nan
    rows = []
    for name in ("sessions", "conversion", "aov"):
        lg = np.log(cur[name] / prev[name]) if prev[name] and cur[name] else np.nan
        rows.append({"factor": name, "current": cur[name], "comparison": prev[name],
                     "change": pct_change(cur[name], prev[name]),
                     "contribution_cny": delta * lg / log_total if log_total else np.nan})
    return Decomposition(pct_change(cur["gmv"], prev["gmv"]), pd.DataFrame(rows))


DECOMPOSITION_FACTORS = ("sessions", "conversion", "aov", "other")


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean (a − b) / (ln a − ln b), equal to a where a = b (LMDI weight)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lm = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b), a, lm)


def _channel_factors(ds: Dataset, f: Filters) -> pd.DataFrame:
    orders = queries.channel_orders(ds, f)
    traffic = queries.funnel(ds, f, "channel")[["channel", "sessions"]]
    return orders.merge(traffic, on="channel", how="outer").fillna(0.0)


def decompose_gmv_by_channel(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Split the GMV change between the periods by channel and by factor: visitors × conversion × AOV.

    For each channel GMV = sessions × (orders / sessions) × (GMV / orders). Each factor's
    contribution in CNY is L(GMV₁, GMV₀) × ln(x₁ / x₀), with L the logarithmic mean (the LMDI-I
    method of Ang, 2004): the three contributions add up exactly to the channel's GMV change,
    and the channels add up exactly to the total change. A channel without sessions or orders
    in one of the periods (new, closed, or without traffic data) cannot be split: its whole
    change is reported as factor ``other``.

    Returns one row per (``channel``, ``factor``) with ``contribution_cny``, plus the channel's
    ``gmv``, ``gmv_comparison``, ``sessions``, ``sessions_comparison``, ``conversion``,
    ``conversion_comparison``, ``aov`` and ``aov_comparison``. Empty without a comparison period
    or the traffic table.
    """
    cmp_f = f.comparison()
    cols = ["channel", "factor", "contribution_cny"]
    if cmp_f is None or "traffic" not in ds.sources:
        return pd.DataFrame(columns=cols)
    cur, prev = _channel_factors(ds, f), _channel_factors(ds, cmp_f)
    both = cur.merge(prev, on="channel", how="outer", suffixes=("", "_comparison")).fillna(0.0)
    for sfx in ("", "_comparison"):
        o, s_ = both["orders" + sfx], both["sessions" + sfx]
        both["conversion" + sfx] = o / s_.where(s_ > 0)
        both["aov" + sfx] = both["gmv" + sfx] / o.where(o > 0)
    splittable = (both[["gmv", "gmv_comparison", "orders", "orders_comparison", "sessions",
                        "sessions_comparison"]] > 0).all(axis=1).to_numpy()
    weight = _log_mean(both["gmv"].to_numpy(), both["gmv_comparison"].to_numpy())
    rows = []
    for i, r in both.iterrows():
        delta = r["gmv"] - r["gmv_comparison"]
        ok = splittable[i]
        for name in ("sessions", "conversion", "aov"):
            contrib = weight[i] * np.log(r[name] / r[name + "_comparison"]) if ok else 0.0
            rows.append({"channel": r["channel"], "factor": name, "contribution_cny": float(contrib)})
        rows.append({"channel": r["channel"], "factor": "other", "contribution_cny": 0.0 if ok else float(delta)})
    out = pd.DataFrame(rows, columns=cols)
    keep = ["channel", "gmv", "gmv_comparison", "sessions", "sessions_comparison", "conversion",
            "conversion_comparison", "aov", "aov_comparison"]
    return out.merge(both[keep], on="channel", how="left")


def factor_totals(parts: pd.DataFrame) -> pd.DataFrame:
    """Contributions of :func:`decompose_gmv_by_channel` summed over channels: ``factor``, ``contribution_cny``."""
    if parts.empty:
        return pd.DataFrame(columns=["factor", "contribution_cny"])
    out = parts.groupby("factor", sort=False)["contribution_cny"].sum().reindex(list(DECOMPOSITION_FACTORS))
    return out.fillna(0.0).reset_index()


@dataclass(frozen=True)
class DecompositionSummary:
    """What a reader needs from :func:`decompose_gmv_by_channel`: the total ``delta``, the factor that
    accounts for most (``main_factor``, ``main``), and the largest single (channel, factor) move."""

    delta: Estimate
    main_factor: str
    main: Estimate
    top_channel: str | None
    top_factor: str | None
    top: Estimate | None


def summarise_decomposition(parts: pd.DataFrame) -> DecompositionSummary | None:
    """The summary of a decomposition; None when it is empty. Amounts are census totals in CNY."""
    if parts.empty:
        return None
    totals = factor_totals(parts)
    main = totals.loc[totals["contribution_cny"].abs().idxmax()]
    split = parts[parts["factor"] != "other"]
    top = split.loc[split["contribution_cny"].abs().idxmax()] if len(split) else None
    return DecompositionSummary(
        total(float(totals["contribution_cny"].sum()), None, "money"), str(main["factor"]),
        total(float(main["contribution_cny"]), None, "money"),
        None if top is None else str(top["channel"]), None if top is None else str(top["factor"]),
        None if top is None else total(float(top["contribution_cny"]), None, "money"))


# ----- days that break the pattern -----------------------------------------------------------

@dataclass
class PatternBreaks:
    """Daily GMV against its robust weekday baseline (:func:`workbench.stats.anomaly.robust_baseline`).

    ``daily`` holds every day of the history: ``date``, ``actual`` (GMV, CNY), ``baseline`` (CNY),
    ``low``/``high`` (the normal range, baseline ± threshold × scale), ``excess`` (actual − baseline,
    CNY), ``excess_pct``, ``robust_z``, ``flag`` (|z| > threshold) and ``campaign`` (the campaigns
    running that day, None on ordinary days). ``method`` is a key of the method's note.
    """

    daily: pd.DataFrame
    threshold: float
    method: str
    n_days: int

    def in_period(self, f: Filters) -> pd.DataFrame:
        """The days of ``f``'s period (all of them; ``flag`` marks the breaks)."""
        d = self.daily
        return d[(d["date"] >= pd.Timestamp(f.start)) & (d["date"] <= pd.Timestamp(f.end))].reset_index(drop=True)

    def breaks(self, f: Filters) -> pd.DataFrame:
        """The flagged days of ``f``'s period, largest break first."""
        d = self.in_period(f)
        d = d[d["flag"]]
        return d.reindex(d["robust_z"].abs().sort_values(ascending=False).index).reset_index(drop=True)


PATTERN_COLUMNS = ["date", "actual", "baseline", "low", "high", "excess", "excess_pct", "robust_z", "flag", "campaign"]


def pattern_breaks(ds: Dataset, channels: tuple[str, ...] = (), threshold: float = anomaly.Z_ALERT) -> PatternBreaks:
    """Flag days whose GMV breaks the weekly pattern, with the one baseline every page uses.

    Method (:func:`workbench.stats.anomaly.robust_baseline`, shared with the risk page): each day is
    compared with the median GMV of the same weekday over the previous 8 weeks; the residual is
    scaled by 1.4826 × its median absolute value over the previous 56 days (a robust z-score);
    days with |z| > ``threshold`` (:data:`~workbench.stats.anomaly.Z_ALERT`) are flagged. Only the
    past is used, so the last day is judged as it arrives. Campaign days (from
    :func:`workbench.sql.calendar.campaign_days`) are scored but not learnt from, so a long campaign
    does not lift the weeks after it; they are named, since they are expected to stand out. Fitted
    on the whole history of the
    chosen ``channels``, not the period, so a notebook calls it through ``nb.memo``.
    """
    daily = queries.daily_gmv(ds, channels)
    method = "weekday_median_mad"
    if len(daily) < 28:
        return PatternBreaks(pd.DataFrame(columns=PATTERN_COLUMNS), threshold, method, len(daily))
    full = pd.DataFrame({"date": pd.date_range(daily["date"].min(), daily["date"].max(), freq="D")})
    daily = full.merge(daily, on="date", how="left").fillna({"actual": 0.0})
    camps = calendar.campaign_days(ds)[["date", "campaign"]]
    daily = daily.merge(camps, on="date", how="left")
    out = anomaly.pattern_breaks(daily, "actual", z=threshold, exclude=daily["campaign"].notna())
    # the normal range is the baseline ± threshold × scale (robust_baseline's own band uses Z_ALERT)
    out["low"] = (out["baseline"] - threshold * out["scale"]).clip(lower=0.0)
    out["high"] = out["baseline"] + threshold * out["scale"]
    out["campaign"] = out["campaign"].astype(object).where(out["campaign"].notna(), None)
    return PatternBreaks(out[PATTERN_COLUMNS], threshold, method, len(out))
