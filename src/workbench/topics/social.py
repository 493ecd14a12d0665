"""Social commerce: KOLs and livestreams, their payback, incrementality, private traffic and referrals.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters` and
return tidy frames or small result objects; the notebook ``08_social_commerce`` draws and words
them. Aggregation runs as SQL; pandas receives per-KOL, per-stream, per-day or per-stratum rows.

Definitions:

``gmv``         valid orders attributed to the KOL (``orders.kol_id``) or the livestream, CNY
``cost``        fixed livestream fees (``livestreams.fee_cny``) + commission
                (``kols.commission_rate`` × attributed GMV)
``roi``         GMV / cost (投产比, the way Chinese operations teams quote it; 3.0 = ¥3 of sales per ¥1)
``conversion``  attributed orders / unique viewers of the streams
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters

NEEDS_KOL = {"orders": ["kol_id", "paid_amount", "ordered_at", "channel", "customer_id"],
             "kols": ["kol_id", "handle"]}
NEEDS_STREAM = {"orders": ["livestream_id", "paid_amount", "ordered_at", "channel"],
                "livestreams": ["livestream_id", "kol_id", "channel", "started_at", "viewers", "fee_cny"]}
NEEDS_PRIVATE = {"orders": ["customer_id", "ordered_at", "channel", "source", "paid_amount"]}
NEEDS_REFERRAL = {"orders": ["referrer_customer_id", "customer_id", "ordered_at", "channel", "paid_amount"]}

N_BOOT = 1000



def _ratio_boot(gmv: np.ndarray, fee: np.ndarray, rate: float, n_boot: int, rng: np.random.Generator,
                level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of sum(gmv) / (sum(fee) + rate × sum(gmv)), resampling units."""
    m = len(gmv)
    if m < 2:
        return float("nan"), float("nan")
    idx = rng.integers(0, m, size=(n_boot, m))
    g, c = gmv[idx].sum(axis=1), fee[idx].sum(axis=1) + rate * gmv[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(c > 0, g / c, np.nan)
    a = (1 - level) / 2
    return float(np.nanquantile(r, a)), float(np.nanquantile(r, 1 - a))


def _stream_units(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per paying unit: each livestream of the period, plus each KOL's orders outside streams per week.

    Columns: ``kol_id``, ``unit``, ``is_stream``, ``viewers``, ``fee``, ``orders``, ``gmv``,
    ``new_customers``, ``returned``.
    """
    has_streams = ds.has("livestreams", NEEDS_STREAM["livestreams"]) and ds.has("orders", ["livestream_id"])
    stream_id = "o.livestream_id" if has_streams else "NULL"
    firsts = """SELECT customer_id, min(ordered_at) AS first_at FROM orders_cny WHERE is_valid GROUP BY 1"""
    returned = ("o.order_id IN (SELECT order_id FROM returns)" if "returns" in ds.sources else "FALSE")
    attributed = f"""
        SELECT o.kol_id, {stream_id} AS livestream_id, o.order_date, o.gmv_cny,
               o.ordered_at = fi.first_at AS is_new, o.status = 'refunded' OR {returned} AS is_returned
        FROM orders_cny o LEFT JOIN ({firsts}) fi USING (customer_id)
        WHERE o.is_valid AND o.kol_id IS NOT NULL
    """
    parts = []
    if has_streams:
        parts.append(ds.sql(f"""
            WITH att AS ({attributed})
            SELECT s.kol_id, s.livestream_id AS unit, TRUE AS is_stream, s.viewers, s.fee_cny AS fee,
                   count(a.gmv_cny) AS orders, COALESCE(sum(a.gmv_cny), 0) AS gmv,
                   count(*) FILTER (WHERE a.is_new) AS new_customers,
                   count(*) FILTER (WHERE a.is_returned) AS returned
            FROM livestreams s LEFT JOIN att a USING (livestream_id)
            WHERE {f.where('CAST(s.started_at AS DATE)', 's.channel')}
            GROUP BY ALL
        """))
    off = "a.livestream_id IS NULL" if has_streams else "TRUE"
    parts.append(ds.sql(f"""
        WITH att AS ({attributed.replace("WHERE o.is_valid", "WHERE " + f.channel_sql('o.channel') + " AND o.is_valid")})
        SELECT a.kol_id, 'w' || strftime(date_trunc('week', a.order_date), '%Y-%m-%d') AS unit,
               FALSE AS is_stream, 0 AS viewers, 0.0 AS fee, count(*) AS orders, sum(a.gmv_cny) AS gmv,
               count(*) FILTER (WHERE a.is_new) AS new_customers,
               count(*) FILTER (WHERE a.is_returned) AS returned
        FROM att a WHERE {off} AND {f.date_sql('a.order_date')}
        GROUP BY ALL
    """))
    return pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)


@dataclass
class KolRanking:
    """KOLs ranked by ROI with bootstrap intervals; ``best``/``worst`` and whether they stand apart."""

    table: pd.DataFrame
    best: str | None
    worst: str | None
    best_clearly_first: bool
    worst_clearly_last: bool
    n_streams: int
    method: str = ("ROI = attributed GMV / (fixed fees + commission); 95% percentile bootstrap interval "
                   "resampling the KOL's livestreams (and weeks of off-stream sales)")


def kol_ranking(ds: Dataset, f: Filters, min_units: int = 3, n_boot: int = N_BOOT, seed: int = 0) -> KolRanking:
    """Per KOL: streams, viewers, orders, GMV, fee, commission, cost, ROI with interval, new customers, returns.

    KOLs with fewer than ``min_units`` paying units (streams or weeks of sales) get no interval and are
    not ranked. Returns a :class:`KolRanking` whose ``table`` is sorted by ROI, best first, with
    columns ``kol_id``, ``handle``, ``tier``, ``streams``, ``viewers``, ``orders``, ``gmv``, ``fee``,
    ``commission``, ``cost``, ``roi``, ``roi_low``, ``roi_high``, ``conversion``, ``new_customers``,
    ``return_rate``, ``rank``. Raises :class:`EmptyPeriodError` when no KOL sold in the period.
    """
    units = _stream_units(ds, f)
    if units.empty or units["gmv"].sum() == 0:
        raise EmptyPeriodError("no KOL-attributed sales in the chosen period and channels; choose a longer period")
    kol_cols = [c for c in ("handle", "tier", "commission_rate") if ds.has("kols", [c])]
    kols = ds.sql(f"SELECT kol_id, {', '.join(kol_cols)} FROM kols") if kol_cols else pd.DataFrame({"kol_id": []})
    if "commission_rate" not in kols:
        kols["commission_rate"] = 0.0
    kols["commission_rate"] = kols["commission_rate"].fillna(0.0)
    units = units.merge(kols[["kol_id", "commission_rate"]], on="kol_id", how="left").fillna({"commission_rate": 0.0})
    rng = np.random.default_rng(seed)
    rows = []
    for kol, g in units.groupby("kol_id", sort=True):
        rate = float(g["commission_rate"].iloc[0])
        gmv, fee = g["gmv"].to_numpy(float), g["fee"].to_numpy(float)
        commission = rate * gmv.sum()
        cost = fee.sum() + commission
        low, high = (_ratio_boot(gmv, fee, rate, n_boot, rng) if len(g) >= min_units else (np.nan, np.nan))
        streams = g[g["is_stream"]]
        viewers = streams["viewers"].sum()
        rows.append({"kol_id": kol, "streams": int(len(streams)), "units": int(len(g)), "viewers": int(viewers),
                     "orders": int(g["orders"].sum()), "gmv": gmv.sum(), "fee": fee.sum(), "commission": commission,
                     "cost": cost, "roi": gmv.sum() / cost if cost > 0 else np.nan, "roi_low": low, "roi_high": high,
                     "conversion": streams["orders"].sum() / viewers if viewers else np.nan,
                     "new_customers": int(g["new_customers"].sum()),
                     "return_rate": g["returned"].sum() / g["orders"].sum() if g["orders"].sum() else np.nan})
    table = pd.DataFrame(rows).merge(kols.drop(columns="commission_rate"), on="kol_id", how="left")
    if "handle" not in table:
        table["handle"] = table["kol_id"]
    table["handle"] = table["handle"].fillna(table["kol_id"])
    table = table.sort_values("roi", ascending=False, na_position="last").reset_index(drop=True)
    ranked = table[table["roi_low"].notna()]
    table["rank"] = table["roi"].where(table["roi_low"].notna()).rank(ascending=False, method="min")
    best = worst = None
    best_clear = worst_clear = False
    if len(ranked) >= 2:
        b, w = ranked.iloc[0], ranked.iloc[-1]
        best, worst = str(b["kol_id"]), str(w["kol_id"])
        best_clear = bool((b["roi_low"] > ranked.iloc[1:]["roi_high"]).all())
        worst_clear = bool((w["roi_high"] < ranked.iloc[:-1]["roi_low"]).all())
    return KolRanking(table, best, worst, best_clear, worst_clear, int(table["streams"].sum()))


def livestream_table(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per livestream of the period: ``livestream_id``, ``kol_id``, ``channel``, ``date``,
    ``viewers``, ``orders``, ``gmv``, ``fee``, ``conversion`` (orders / viewers), ``gmv_per_viewer``,
    ``new_customers``; sorted by GMV, largest first."""
    frame = ds.sql(f"""
        WITH att AS (
            SELECT o.livestream_id, count(*) AS orders, sum(o.gmv_cny) AS gmv
            FROM orders_cny o WHERE o.is_valid AND o.livestream_id IS NOT NULL GROUP BY 1
        )
        SELECT s.livestream_id, s.kol_id, s.channel, CAST(s.started_at AS DATE) AS date, s.viewers, s.fee_cny AS fee,
               COALESCE(a.orders, 0) AS orders, COALESCE(a.gmv, 0) AS gmv
        FROM livestreams s LEFT JOIN att a USING (livestream_id)
        WHERE {f.where('CAST(s.started_at AS DATE)', 's.channel')}
        ORDER BY gmv DESC
    """)
    frame["conversion"] = frame["orders"] / frame["viewers"].where(frame["viewers"] > 0)
    frame["gmv_per_viewer"] = frame["gmv"] / frame["viewers"].where(frame["viewers"] > 0)
    return frame


# ----- incrementality ---------------------------------------------------------------------------

@dataclass
class Incrementality:
    """Channel GMV on stream days and the days after, against a baseline of comparable days."""

    per_stream_day: pd.DataFrame  # channel, date, gmv, baseline, lift_during, lift_after, attributed_gmv
    during: float
    during_low: float
    during_high: float
    after: float
    after_low: float
    after_high: float
    attributed: float
    n_days: int
    method: str = ("baseline = mean channel GMV on the same weekday within ±5 weeks on days with no stream "
                   "that day or the 3 days before (and outside campaigns); lift = actual − baseline, summed; "
                   "95% interval from the spread of daily lifts (t)")


def _channel_daily(ds: Dataset) -> pd.DataFrame:
    """Valid-order GMV per channel and day over the whole history, with attributed livestream GMV."""
    frame = ds.sql("""
        SELECT channel, order_date AS date, sum(gmv_cny) AS gmv,
               sum(CASE WHEN livestream_id IS NOT NULL THEN gmv_cny ELSE 0 END) AS attributed_gmv
        FROM orders_cny WHERE is_valid GROUP BY ALL
    """)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def incrementality(ds: Dataset, f: Filters, after_days: int = 3, weeks: int = 5) -> Incrementality:
    """Sales during and after livestreams against a baseline of comparable days (see ``method``).

    For each channel-day of the period with a livestream (streams sharing a day are pooled), the
    lift is the channel's GMV minus the baseline; ``after`` sums the lifts of the ``after_days``
    following days. Totals carry 95% intervals from the spread of per-day lifts.
    Raises :class:`EmptyPeriodError` when no stream falls in the period.
    """
    streams = ds.sql("""
        SELECT DISTINCT channel, CAST(started_at AS DATE) AS date FROM livestreams
    """)
    streams["date"] = pd.to_datetime(streams["date"])
    daily = _channel_daily(ds)
    campaign_days: set = set()
    if ds.has("campaigns", ["start_date", "end_date"]):
        for s, e in ds.sql("SELECT start_date, end_date FROM campaigns").itertuples(index=False):
            campaign_days.update(pd.date_range(s, e, freq="D"))
    out = []
    for chan, s in streams.groupby("channel"):
        d = daily[daily["channel"] == chan].set_index("date")[["gmv", "attributed_gmv"]]
        if d.empty:
            continue
        cal = pd.DataFrame(index=pd.date_range(d.index.min(), d.index.max(), freq="D")).join(d).fillna(0.0)
        stream_day = cal.index.isin(s["date"])
        touched = pd.Series(stream_day, index=cal.index).astype(float).rolling(after_days + 1, min_periods=1).max() > 0
        clean = (~touched) & (~cal.index.isin(list(campaign_days)))
        cal["clean_gmv"] = cal["gmv"].where(clean)
        # same-weekday mean of clean days within ±weeks (excluding the day itself, which is never clean here)
        base = pd.Series(np.nan, index=cal.index)
        for wd in range(7):
            sub = cal[cal.index.day_of_week == wd]["clean_gmv"]
            roll = sub.rolling(2 * weeks + 1, center=True, min_periods=2).mean()
            base.loc[roll.index] = roll
        cal["baseline"] = base
        cal["lift"] = cal["gmv"] - cal["baseline"]
        in_period = (cal.index >= pd.Timestamp(f.start)) & (cal.index <= pd.Timestamp(f.end))
        for day in cal.index[stream_day & in_period & ~cal.index.isin(list(campaign_days))]:
            nxt = cal.loc[day + pd.Timedelta(days=1): day + pd.Timedelta(days=after_days)]
            nxt = nxt[~nxt.index.isin(s["date"])]
            out.append({"channel": chan, "date": day, "gmv": cal.at[day, "gmv"], "baseline": cal.at[day, "baseline"],
                        "lift_during": cal.at[day, "lift"], "lift_after": nxt["lift"].sum(min_count=1),
                        "attributed_gmv": cal.at[day, "attributed_gmv"]})
    per = pd.DataFrame(out, columns=["channel", "date", "gmv", "baseline", "lift_during", "lift_after",
                                     "attributed_gmv"])
    if f.channels:
        per = per[per["channel"].isin(f.channels)]
    per = per.dropna(subset=["lift_during"])
    if per.empty:
        raise EmptyPeriodError("no livestream with a usable baseline in the chosen period and channels")

    def total(x: pd.Series) -> tuple[float, float, float]:
        x = x.dropna()
        n = len(x)
        if n < 2:
            return float(x.sum()), float("nan"), float("nan")
        half = sps.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n) * n
        return float(x.sum()), float(x.sum() - half), float(x.sum() + half)

    d, a = total(per["lift_during"]), total(per["lift_after"])
    return Incrementality(per.reset_index(drop=True), *d, *a, float(per["attributed_gmv"].sum()), len(per))


# ----- fair comparisons (coarsened exact matching) ----------------------------------------------

@dataclass
class MatchedDifference:
    """Treated minus matched controls, averaged over the treated (ATT), with a 95% interval."""

    outcome: str
    treated_mean: float
    control_mean: float
    difference: float
    low: float
    high: float
    n_treated: int
    n_control: int
    n_strata: int
    method: str


def matched_difference(strata: pd.DataFrame, outcome: str, method: str) -> MatchedDifference:
    """Combine per-stratum sums into a matched difference (exact matching on the strata).

    ``strata`` holds one row per (stratum, ``treated`` 0/1) with ``n``, ``y_sum`` and ``y_sq``
    (sum of squares) of the outcome. Strata lacking either group are dropped. The difference is
    the treated-weighted mean of within-stratum differences; its variance sums
    w² (s²_t/n_t + s²_c/n_c).
    """
    nan = float("nan")
    if strata.empty:
        return MatchedDifference(outcome, nan, nan, nan, nan, nan, 0, 0, 0, method)
    s = strata.assign(mean=strata["y_sum"] / strata["n"],
                      var=(strata["y_sq"] - strata["y_sum"] ** 2 / strata["n"]) / (strata["n"] - 1).clip(lower=1))
    wide = s.pivot_table(index="stratum", columns="treated", values=["n", "mean", "var"], aggfunc="first")
    wide = wide.dropna()
    wide = wide[(wide[("n", 1)] > 0) & (wide[("n", 0)] > 0)] if len(wide) else wide
    if wide.empty:
        return MatchedDifference(outcome, nan, nan, nan, nan, nan, 0, 0, 0, method)
    w = wide[("n", 1)] / wide[("n", 1)].sum()
    diff = float((w * (wide[("mean", 1)] - wide[("mean", 0)])).sum())
    var = float((w ** 2 * (wide[("var", 1)] / wide[("n", 1)] + wide[("var", 0)] / wide[("n", 0)])).sum())
    half = float(1.96 * np.sqrt(var))
    return MatchedDifference(outcome, float((w * wide[("mean", 1)]).sum()), float((w * wide[("mean", 0)]).sum()),
                             diff, diff - half, diff + half, int(wide[("n", 1)].sum()), int(wide[("n", 0)].sum()),
                             len(wide), method)


def _strata_sql(customers_sql: str, outcome: str) -> str:
    return f"""
        SELECT stratum, treated, count(*) AS n, sum({outcome}) AS y_sum, sum({outcome} * {outcome}) AS y_sq
        FROM ({customers_sql}) GROUP BY ALL
    """


def private_traffic_effect(ds: Dataset, landmark_days: int = 30, horizon_days: int = 180) -> dict[str, MatchedDifference]:
    """Repurchase and value of customers reached in private traffic against matched others (whole history).

    Landmark design, so that buying more does not itself make a customer "reached": a customer is
    *reached* when an order in their first ``landmark_days`` came through private traffic
    (``source = 'private_traffic'`` or the WeChat mini-program). Outcomes are measured after the
    landmark, over ``horizon_days``: ``repeat`` (any further valid order) and ``value`` (GMV, CNY).
    Reached and other customers are matched exactly on first-purchase month, first channel and
    first-order value quartile; customers whose horizon runs past the data are left out.
    Returns {"repeat": MatchedDifference, "value": MatchedDifference}.
    """
    private = "(source = 'private_traffic' OR channel = 'wechat_mini')"
    customers = f"""
        WITH o AS (SELECT customer_id, ordered_at, channel, gmv_cny, {private} AS is_private,
                          row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS k
                   FROM orders_cny WHERE is_valid),
        first AS (SELECT customer_id, ordered_at AS first_at, channel AS first_channel, gmv_cny AS first_gmv
                  FROM o WHERE k = 1),
        last AS (SELECT max(ordered_at) AS last_at FROM orders_cny),
        per AS (
            SELECT f.customer_id, f.first_channel, strftime(f.first_at, '%Y-%m') AS first_month,
                   ntile(4) OVER (ORDER BY f.first_gmv) AS value_band,
                   max(CASE WHEN o.is_private AND o.ordered_at < f.first_at + INTERVAL {landmark_days} DAY
                            THEN 1 ELSE 0 END) AS treated,
                   max(CASE WHEN o.ordered_at >= f.first_at + INTERVAL {landmark_days} DAY
                             AND o.ordered_at < f.first_at + INTERVAL {landmark_days + horizon_days} DAY
                            THEN 1.0 ELSE 0.0 END) AS repeat,
                   sum(CASE WHEN o.ordered_at >= f.first_at + INTERVAL {landmark_days} DAY
                             AND o.ordered_at < f.first_at + INTERVAL {landmark_days + horizon_days} DAY
                            THEN o.gmv_cny ELSE 0.0 END) AS value
            FROM first f JOIN o USING (customer_id)
            WHERE f.first_at + INTERVAL {landmark_days + horizon_days} DAY <= (SELECT last_at FROM last)
            GROUP BY f.customer_id, f.first_channel, f.first_at, f.first_gmv
        )
        SELECT first_month || '|' || first_channel || '|' || value_band AS stratum, treated, repeat, value FROM per
    """
    method = (f"exact matching on first-purchase month, first channel and first-order value quartile; reached = "
              f"private-traffic order within {landmark_days} days of the first; outcome over the next {horizon_days} days")
    return {y: matched_difference(ds.sql(_strata_sql(customers, y)), y, method) for y in ("repeat", "value")}


# ----- referrals ------------------------------------------------------------------------------

@dataclass
class Referrals:
    """How many orders a sharing customer brings: per-sharer distribution and totals."""

    referred_orders: int
    referred_gmv: float
    share_of_orders: float
    referrers: int
    orders_per_referrer: float
    low: float
    high: float
    new_customer_share: float
    distribution: pd.DataFrame  # orders_brought, referrers


def referrals(ds: Dataset, f: Filters) -> Referrals:
    """Orders brought by shares (``orders.referrer_customer_id``) in the period.

    The data model records who shared, not each share, so "orders per share" is estimated as
    orders per sharing customer, with a 95% t interval. ``new_customer_share`` is the share of
    referred orders that were the buyer's first. Raises :class:`EmptyPeriodError` when no order
    in the period came through a share.
    """
    per = ds.sql(f"""
        WITH firsts AS (SELECT customer_id, min(ordered_at) AS first_at FROM orders_cny WHERE is_valid GROUP BY 1)
        SELECT o.referrer_customer_id AS referrer, count(*) AS orders, sum(o.gmv_cny) AS gmv,
               count(*) FILTER (WHERE o.ordered_at = fi.first_at) AS new_orders
        FROM orders_cny o LEFT JOIN firsts fi USING (customer_id)
        WHERE o.is_valid AND o.referrer_customer_id IS NOT NULL AND {f.where('o.order_date', 'o.channel')}
        GROUP BY 1
    """)
    total = ds.con.execute(f"SELECT count(*) FROM orders_cny WHERE is_valid AND {f.where()}").fetchone()[0]
    if per.empty:
        raise EmptyPeriodError("no orders came through a customer's share in the chosen period and channels")
    x = per["orders"].to_numpy(float)
    n = len(x)
    mean = float(x.mean())
    half = float(sps.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    dist = per.assign(orders_brought=np.minimum(per["orders"], 10)).groupby("orders_brought").size() \
        .rename("referrers").reset_index()
    return Referrals(int(x.sum()), float(per["gmv"].sum()), float(x.sum() / total) if total else float("nan"), n,
                     mean, mean - half, mean + half, float(per["new_orders"].sum() / x.sum()), dist)
