"""Logistics: on-time delivery, delivery times, lost and damaged parcels, cost, and what lateness costs.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters` and
return tidy frames or small result objects; the notebook ``06_logistics`` draws and words them.
Aggregation runs as SQL over the dataset's views; only aggregated rows (per carrier, per day, or
a bounded sample of orders for the lateness models) reach pandas.

Definitions used throughout:

``on_time``       a shipment delivered no later than the promised time (``delivered_at <= promised_at``)
``on_time_rate``  on-time shipments / delivered shipments (lost, damaged and in-transit parcels are
                  counted separately as ``lost_rate`` and ``damaged_rate`` over all shipments)
``delivery_days`` ``delivered_at - shipped_at`` in days
``late_days``     ``delivered_at - promised_at`` in days, when positive
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from workbench.data import schema
from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.stats import add_rate_interval, wilson_interval

SHIP_COLS = ["carrier", "warehouse", "shipped_at", "promised_at", "delivered_at", "status"]
NEEDS = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel"]}
NEEDS_REGION = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "region"]}
NEEDS_COST = {"shipments": SHIP_COLS + ["shipping_cost_cny"], "orders": ["ordered_at", "channel"]}
NEEDS_REVIEW_EFFECT = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "customer_id", "paid_amount"],
                       "reviews": ["order_id", "rating"]}
NEEDS_REPEAT_EFFECT = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "customer_id", "paid_amount"]}
NEEDS_RETURNS = {"returns": ["order_id", "reason", "refund_amount", "currency", "requested_at"],
                 "orders": ["ordered_at", "channel"]}
NEEDS_RETURNS_CATEGORY = {"returns": ["order_id", "product_id", "reason"], "orders": ["ordered_at", "channel"],
                          "order_items": ["product_id", "quantity"], "products": ["category"]}

#: Rows of orders at most used to fit a lateness model (a reproducible sample beyond that).
MODEL_ROWS = 400_000



def rate_ci(successes: float, trials: float) -> tuple[float, float, float]:
    """A proportion and its 95% Wilson interval as plain floats (NaNs when ``trials`` is 0)."""
    if not trials:
        return float("nan"), float("nan"), float("nan")
    low, high = wilson_interval(successes, trials)
    return float(successes) / float(trials), float(low), float(high)


def _shipments_sql(f: Filters, extra_cols: str = "") -> str:
    """Shipments of valid orders placed in the period and channels, with the order's fields."""
    return f"""
        SELECT s.carrier, s.warehouse, s.status AS ship_status, s.shipped_at, s.promised_at, s.delivered_at,
               (epoch(s.delivered_at) - epoch(s.shipped_at)) / 86400.0 AS delivery_days,
               (epoch(s.delivered_at) - epoch(s.promised_at)) / 86400.0 AS late_days,
               s.delivered_at IS NOT NULL AND s.delivered_at <= s.promised_at AS on_time,
               s.delivered_at IS NOT NULL AS delivered,
               o.channel, o.order_date {extra_cols}
        FROM shipments s JOIN orders_cny o USING (order_id)
        WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')}
    """


def on_time_by(ds: Dataset, f: Filters, by: str = "carrier", exclude: list[tuple[str, str]] | None = None,
               level: float = 0.95) -> pd.DataFrame:
    """On-time, late, lost and damaged rates, delivery times and cost per shipment, per ``by``.

    ``by`` is ``carrier``, ``warehouse``, ``region`` (the order's destination region) or ``channel``.
    Returns one row per group with ``shipments``, ``delivered``, ``on_time``, ``on_time_rate`` with
    its 95% Wilson interval (``on_time_rate_low``/``_high``), ``late_rate`` (late / delivered),
    ``lost_rate`` and ``damaged_rate`` (over all shipments, Wilson intervals), ``mean_days``,
    ``median_days``, ``p90_days`` and ``cost_per_order`` (NaN without shipping costs); sorted by
    on-time rate, worst first. An empty frame when no shipment falls in the filters.
    ``exclude`` lists (first, last) ISO dates of order days to leave out (e.g. Spring Festival
    slowdowns); ``level`` sets the interval level (e.g. 1 − 0.05/k for k carriers at once).
    """
    col = {"region": "COALESCE(o.region, 'unknown')"}.get(by, f"s.{by}" if by in ("carrier", "warehouse")
                                                             else f"o.{by}")
    cost = "s.shipping_cost_cny" if ds.has("shipments", ["shipping_cost_cny"]) else "NULL::DOUBLE"
    inner = _shipments_sql(f, f", {col} AS grp, {cost} AS cost")
    for a, b in exclude or ():
        inner += f" AND o.order_date NOT BETWEEN DATE '{a}' AND DATE '{b}'"
    frame = ds.sql(f"""
        SELECT grp AS {by}, count(*) AS shipments, count(*) FILTER (WHERE delivered) AS delivered,
               count(*) FILTER (WHERE on_time) AS on_time,
               count(*) FILTER (WHERE ship_status = 'lost') AS lost,
               count(*) FILTER (WHERE ship_status = 'damaged') AS damaged,
               avg(delivery_days) AS mean_days, median(delivery_days) AS median_days,
               quantile_cont(delivery_days, 0.9) AS p90_days, avg(cost) AS cost_per_order
        FROM ({inner}) GROUP BY 1
    """)
    if frame.empty:
        return frame
    frame = add_rate_interval(frame, "on_time", "delivered", "on_time_rate", level)
    frame = add_rate_interval(frame, "lost", "shipments", "lost_rate", level)
    frame = add_rate_interval(frame, "damaged", "shipments", "damaged_rate", level)
    frame["late_rate"] = 1 - frame["on_time_rate"]
    return frame.sort_values("on_time_rate").reset_index(drop=True)


def delivery_time_distribution(ds: Dataset, f: Filters, by: str = "carrier", bin_days: float = 0.5,
                               max_days: float = 15.0) -> pd.DataFrame:
    """Histogram of delivery times per ``by`` (carrier or warehouse), binned in SQL.

    Returns ``by``, ``delivery_days`` (bin start, days; the last bin holds everything above
    ``max_days``), ``shipments`` and ``share`` (of the group's delivered shipments).
    """
    inner = _shipments_sql(f)
    frame = ds.sql(f"""
        SELECT {by}, least(floor(delivery_days / {bin_days}) * {bin_days}, {max_days}) AS delivery_days,
               count(*) AS shipments
        FROM ({inner}) WHERE delivered GROUP BY ALL ORDER BY ALL
    """)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["shipments"] / frame.groupby(by)["shipments"].transform("sum"))


def outcome_mix(ds: Dataset, f: Filters, by: str = "carrier") -> pd.DataFrame:
    """Share of shipments per outcome (on time, late, lost, damaged, in transit) per ``by``.

    Returns ``by``, ``outcome``, ``shipments`` and ``share`` (of the group's shipments).
    """
    inner = _shipments_sql(f)
    frame = ds.sql(f"""
        SELECT {by}, CASE WHEN on_time THEN 'on_time' WHEN delivered THEN 'late' ELSE ship_status END AS outcome,
               count(*) AS shipments
        FROM ({inner}) GROUP BY ALL ORDER BY ALL
    """)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["shipments"] / frame.groupby(by)["shipments"].transform("sum"))


@dataclass
class Scorecard:
    """Carriers ranked on on-time rate, speed, loss and cost; ``worst`` is the lowest overall."""

    table: pd.DataFrame
    best: str | None
    worst: str | None
    worst_clearly_last: bool
    n: int
    method: str = ("score = 0.4 × z(on-time rate) − 0.2 × z(median delivery days) − 0.2 × z(lost+damaged rate) "
                   "− 0.2 × z(cost per order), z-scores across carriers; domestic parcels only, so that "
                   "cross-border carriers are not judged on international lead times and prices")


SCORE_WEIGHTS = {"on_time_rate": 0.4, "median_days": -0.2, "loss_rate": -0.2, "cost_per_order": -0.2}


def carrier_scorecard(ds: Dataset, f: Filters, min_shipments: int = 30, domestic_only: bool = True) -> Scorecard:
    """Rank carriers on on-time rate, speed, loss and cost (weighted z-scores, see ``Scorecard.method``).

    Carriers with fewer than ``min_shipments`` delivered parcels are left out. With ``domestic_only``
    cross-border orders are left out (their carriers are compared in the cross-border notebook).
    ``worst_clearly_last`` says whether the worst carrier's on-time interval lies wholly below every
    other carrier's. The table holds ``score`` and the ranks per measure (``rank_on_time``,
    ``rank_speed``, ``rank_loss``, ``rank_cost``; 1 = best). Raises :class:`EmptyPeriodError` when
    no carrier has enough shipments.
    """
    if domestic_only:
        chans = tuple(c for c in (f.channels or schema.CHANNELS) if c != "cross_border")
        f = replace(f, channels=chans)
    table = on_time_by(ds, f, "carrier")
    if table.empty or (table["delivered"] >= min_shipments).sum() == 0:
        raise EmptyPeriodError("too few shipments in the chosen period and channels to rank carriers; "
                               "choose a longer period or more channels")
    table = table[table["delivered"] >= min_shipments].copy()
    table["loss_rate"] = (table["lost"] + table["damaged"]) / table["shipments"]
    table["rank_on_time"] = table["on_time_rate"].rank(ascending=False, method="min")
    table["rank_speed"] = table["median_days"].rank(ascending=True, method="min")
    table["rank_loss"] = table["loss_rate"].rank(ascending=True, method="min")
    table["rank_cost"] = table["cost_per_order"].rank(ascending=True, method="min")
    score = pd.Series(0.0, index=table.index)
    for col, weight in SCORE_WEIGHTS.items():
        x = table[col].astype(float)
        if x.notna().sum() < 2 or not x.std(ddof=0) > 0:
            continue
        score += weight * ((x - x.mean()) / x.std(ddof=0)).fillna(0.0)
    table["score"] = score
    table = table.sort_values(["score", "rank_on_time"], ascending=[False, True]).reset_index(drop=True)
    table["score_rank"] = np.arange(1, len(table) + 1)
    worst = table.iloc[-1]
    others = table.iloc[:-1]
    clearly = bool(len(others)) and bool((worst["on_time_rate_high"] < others["on_time_rate_low"]).all())
    return Scorecard(table, str(table.iloc[0]["carrier"]), str(worst["carrier"]), clearly, int(table["shipments"].sum()))


def daily_on_time(ds: Dataset, f: Filters, by: str = "carrier", freq: str = "week") -> pd.DataFrame:
    """On-time rate per week (or day/month) and ``by``, with Wilson intervals: ``period``, ``by``, rates."""
    inner = _shipments_sql(f)
    frame = ds.sql(f"""
        SELECT date_trunc('{freq}', order_date) AS period, {by},
               count(*) FILTER (WHERE delivered) AS delivered, count(*) FILTER (WHERE on_time) AS on_time
        FROM ({inner}) GROUP BY ALL ORDER BY ALL
    """)
    frame["period"] = pd.to_datetime(frame["period"])
    return add_rate_interval(frame, "on_time", "delivered", "on_time_rate")


# ----- what lateness costs ------------------------------------------------------------------------

@dataclass
class Effect:
    """An effect estimated with a regression: the estimate, its 95% interval, the n and the method."""

    outcome: str
    estimate: float
    low: float
    high: float
    n: int
    n_late: int
    baseline: float
    method: str
    result: object = None  # the statsmodels results object

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.estimate))


def _nan_effect(outcome: str, method: str, n: int = 0) -> Effect:
    nan = float("nan")
    return Effect(outcome, nan, nan, nan, n, 0, nan, method)


def order_lateness_frame(ds: Dataset, repeat_window_days: int = 365, rows: int = MODEL_ROWS) -> pd.DataFrame:
    """One row per delivered shipment (all history): lateness, the order's controls and its outcomes.

    Columns: ``order_id``, ``late`` (0/1), ``late_days`` (≥ 0), ``late_days_capped`` (days late
    rounded up, at most 5), ``damaged`` (0/1), ``carrier``, ``warehouse``,
    ``channel``, ``log_gmv``, ``order_month`` (YYYY-MM), ``prior_orders`` (the customer's
    valid orders before this one), ``rating`` (of a review of this order, NaN when none),
    ``home`` (the customer's acquisition channel, else the order's channel), ``repeat`` (1 when the
    customer placed another order, of any status, within ``repeat_window_days`` of this one; NaN
    when the data end before the window closes). Livestream orders of customers who had bought before
    are promotional impulse buys, not their own rhythm: they neither count as a repeat nor enter as
    orders (a customer's first order counts whatever its source). At most ``rows`` rows (a reproducible
    sample beyond), so the frame stays small at any scale.
    """
    has_reviews = ds.has("reviews", ["order_id", "rating"])
    review_join = ("LEFT JOIN (SELECT order_id, avg(rating) AS rating FROM reviews WHERE order_id IS NOT NULL "
                   "GROUP BY 1) r USING (order_id)") if has_reviews else ""
    rating = "r.rating" if has_reviews else "NULL::DOUBLE"
    has_home = ds.has("customers", ["acquisition_channel"])
    home = "c.acquisition_channel" if has_home else "q.channel"
    home_join = "LEFT JOIN customers c ON c.customer_id = q.customer_id" if has_home else ""
    stream_col = "livestream_id IS NOT NULL" if ds.has("orders", ["livestream_id"]) else "FALSE"
    total = ds.con.execute("SELECT count(*) FROM shipments WHERE delivered_at IS NOT NULL").fetchone()[0]
    sample = f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (7)" if total > rows else ""
    frame = ds.sql(f"""
        WITH ranked AS (
            SELECT order_id, customer_id, ordered_at, channel, gmv_cny, is_valid, {stream_col} AS from_stream,
                   row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS k
            FROM orders_cny
        ), seq AS (
            SELECT order_id, customer_id, ordered_at, channel, gmv_cny, is_valid,
                   row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) - 1 AS prior_orders,
                   lead(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS next_at
            FROM ranked WHERE k = 1 OR NOT from_stream
        ), last_day AS (SELECT max(ordered_at) AS last_at FROM orders_cny)
        SELECT order_id,
               CASE WHEN s.delivered_at > s.promised_at THEN 1 ELSE 0 END AS late,
               greatest((epoch(s.delivered_at) - epoch(s.promised_at)) / 86400.0, 0) AS late_days,
               least(ceil(greatest((epoch(s.delivered_at) - epoch(s.promised_at)) / 86400.0, 0)), 5) AS late_days_capped,
               CASE WHEN s.status = 'damaged' THEN 1 ELSE 0 END AS damaged,
               s.carrier, s.warehouse, q.channel, ln(1 + q.gmv_cny) AS log_gmv,
               strftime(q.ordered_at, '%Y-%m') AS order_month, q.prior_orders, {rating} AS rating, {home} AS home,
               CASE WHEN q.ordered_at + INTERVAL {int(repeat_window_days)} DAY > (SELECT last_at FROM last_day)
                         THEN NULL
                    WHEN q.next_at IS NOT NULL
                         AND q.next_at <= q.ordered_at + INTERVAL {int(repeat_window_days)} DAY THEN 1.0
                    ELSE 0.0 END AS repeat
        FROM (SELECT * FROM shipments WHERE delivered_at IS NOT NULL {sample}) s
        JOIN seq q USING (order_id) {review_join} {home_join}
        WHERE q.is_valid
    """)
    frame["prior_orders_band"] = np.minimum(frame["prior_orders"], 4)
    return frame


def _design(data: pd.DataFrame, treatment: str, controls: tuple[str, ...]) -> pd.DataFrame:
    """Treatment, constant and controls as a float design matrix (categoricals as dummies, first level dropped;
    constant columns left out)."""
    parts = [pd.DataFrame({"const": 1.0, treatment: data[treatment].astype(float)}, index=data.index)]
    for c in controls:
        if c not in data or data[c].nunique() < 2:
            continue
        if c in CATEGORICAL:
            parts.append(pd.get_dummies(data[c].astype(str), prefix=c, drop_first=True, dtype=float))
        else:
            parts.append(data[[c]].astype(float))
    X = pd.concat(parts, axis=1)
    # drop controls that are exact linear combinations of earlier columns (pivoted QR keeps the rest)
    from scipy.linalg import qr

    _, r, piv = qr(X.to_numpy(), mode="economic", pivoting=True)
    tol = np.abs(r[0, 0]) * max(X.shape) * np.finfo(float).eps
    rank = int((np.abs(np.diag(r)) > tol).sum())
    keep = sorted(piv[:rank])
    if 1 not in keep:  # the treatment itself is collinear with the controls: not identified
        return X.iloc[:, :0]
    return X.iloc[:, keep]


def _fit_effect(frame: pd.DataFrame, outcome: str, treatment: str, controls: tuple[str, ...], method: str,
                logit: bool = False) -> Effect:
    import statsmodels.api as sm

    data = frame.dropna(subset=[outcome])
    n = len(data)
    if n < 50 or data[treatment].nunique() < 2 or (data[treatment] > 0).sum() < 10:
        return _nan_effect(outcome, method, n)
    X = _design(data, treatment, controls)
    if X.shape[1] == 0:
        return _nan_effect(outcome, method, n)
    y = data[outcome].astype(float)
    try:
        fit = (sm.Logit(y, X).fit(disp=0, maxiter=100, cov_type="HC1") if logit
               else sm.OLS(y, X).fit(cov_type="HC1"))
    except Exception:  # a singular design on a tiny or degenerate sample
        return _nan_effect(outcome, method, n)
    low, high = fit.conf_int().loc[treatment]
    n_late = int((data[treatment] > 0).sum())
    baseline = float(data.loc[data[treatment] == 0, outcome].mean())
    if logit:  # odds ratio
        return Effect(outcome, float(np.exp(fit.params[treatment])), float(np.exp(low)), float(np.exp(high)), n,
                      n_late, baseline, method, fit)
    return Effect(outcome, float(fit.params[treatment]), float(low), float(high), n, n_late, baseline, method, fit)


#: Controls of the lateness models; the first four are categorical.
CATEGORICAL = ("channel", "home", "order_month", "prior_orders_band")
CONTROLS = ("channel", "home", "order_month", "prior_orders_band", "log_gmv", "damaged")


def lateness_effect_on_rating(ds: Dataset, treatment: str = "late", frame: pd.DataFrame | None = None) -> Effect:
    """Effect of a late delivery on the order's review rating (stars), with controls.

    OLS of rating on ``late`` (or ``late_days`` / ``late_days_capped``: stars per day late) with
    channel, order month, log order value, the customer's prior orders and damage as controls, heteroskedasticity-robust (HC1) 95% interval, over
    all reviewed, delivered orders. The carrier is not a control: it acts through lateness.
    ``frame`` (from :func:`order_lateness_frame`) saves a second query when given.
    """
    frame = order_lateness_frame(ds) if frame is None else frame
    return _fit_effect(frame, "rating", treatment, CONTROLS,
                       f"OLS, rating ~ {treatment} + channel + month + log order value + prior orders + damaged, "
                       "HC1 errors")


def lateness_effect_on_repeat(ds: Dataset, window_days: int = 365, treatment: str = "late",
                              frame: pd.DataFrame | None = None, odds_ratio: bool = False) -> Effect:
    """Effect of a late delivery on the chance the customer orders again within ``window_days``.

    Linear probability model (OLS on a 0/1 outcome) with the same controls as the rating model,
    HC1 95% interval: the estimate is a difference in probability (−0.05 = five points less likely
    to buy again). With ``odds_ratio`` a logistic regression instead, the estimate an odds ratio
    (0.6 = the odds of buying again fall by 40%). Orders whose window runs past the end of the data
    are left out.
    """
    frame = order_lateness_frame(ds, window_days) if frame is None else frame
    kind = "logistic regression (odds ratio)" if odds_ratio else "linear probability model"
    return _fit_effect(frame, "repeat", treatment, CONTROLS,
                       f"{kind}, repeat within {window_days} days ~ late + channel + month + log order value "
                       "+ acquisition channel + prior orders + damaged, HC1 errors", logit=odds_ratio)


def lateness_outcomes_by_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean rating and repeat rate by how late the order arrived (on time, <1, 1–2, 2–4, 4+ days late).

    ``frame`` is :func:`order_lateness_frame`'s result. Returns ``late_bucket``, ``orders``,
    ``rating``, ``rating_n``, ``repeat_rate`` with Wilson intervals (``repeat_rate_low``/``_high``)
    and ``repeat_n``: the raw picture behind the models.
    """
    if frame.empty:
        return pd.DataFrame()
    bins = [-0.1, 0, 1, 2, 4, np.inf]
    names = ["on_time", "<1d", "1-2d", "2-4d", "4d+"]
    frame = frame.assign(late_bucket=pd.cut(frame["late_days"].where(frame["late"] == 1, 0), bins, labels=names))
    g = frame.groupby("late_bucket", observed=True)
    out = pd.DataFrame({
        "orders": g.size(),
        "rating": g["rating"].mean(),
        "rating_n": g["rating"].count(),
        "repeats": g["repeat"].sum(),
        "repeat_n": g["repeat"].count(),
    }).reset_index()
    out["late_bucket"] = out["late_bucket"].astype(str)
    return add_rate_interval(out, "repeats", "repeat_n", "repeat_rate")


def rating_drop_per_late_day(frame: pd.DataFrame, by: str = "channel") -> Effect:
    """Stars lost per day late, corrected for the 1-star floor (a thinning model, maximum likelihood).

    Model: the review's rating is max(1, base − drop), where drop ~ Binomial(days late, q) (+1 when the
    parcel was damaged) and ``days late`` is ``late_days_capped``. The base ratings follow one
    distribution per ``by`` group (the control), estimated jointly with q from all reviewed orders
    (an EM step inside each profile evaluation); q's 95% interval comes from the profile likelihood
    ratio, so the uncertainty of the base distributions is included. The estimate is −q: expected
    stars lost per day late before the floor, which OLS understates because a 1-star review cannot
    fall further. ``frame`` is :func:`order_lateness_frame`'s result.
    """
    from scipy import optimize
    from scipy.stats import binom, chi2

    method = ("binomial thinning model with the 1-star floor, base ratings per channel estimated jointly; "
              "maximum likelihood, profile-likelihood 95% interval")
    data = frame.dropna(subset=["rating"])
    data = data.assign(d=data["late_days_capped"].astype(int), r=data["rating"].round().clip(1, 5).astype(int),
                       g=data[by].astype(str), dmg=data["damaged"].astype(int))
    if (data["d"] > 0).sum() < 20 or ((data["d"] == 0) & (data["dmg"] == 0)).sum() < 50:
        return _nan_effect("rating", method, len(data))
    cells = data.groupby(["g", "d", "dmg", "r"]).size().rename("n").reset_index()
    groups = sorted(cells["g"].unique())
    gi = cells["g"].map({g: i for i, g in enumerate(groups)}).to_numpy()
    keys = sorted({(int(d), int(m)) for d, m in zip(cells["d"], cells["dmg"])})
    ki = np.array([keys.index((int(d), int(m))) for d, m in zip(cells["d"], cells["dmg"])])
    r_idx = cells["r"].to_numpy() - 1
    counts = cells["n"].to_numpy(float)
    b = np.arange(1, 6)

    def transitions(q: float) -> np.ndarray:
        """P(observed r | base b) for every (days, damaged) key: shape (keys, 5 bases, 5 ratings)."""
        out = np.zeros((len(keys), 5, 5))
        for j, (d, m) in enumerate(keys):
            k = np.arange(d + 1)
            pk = binom.pmf(k, d, q)
            after = np.maximum(1, b[:, None] - k[None, :] - m) - 1
            for bi in range(5):
                np.add.at(out[j, bi], after[bi], pk)
        return out

    start = data[(data["d"] == 0) & (data["dmg"] == 0)].groupby("g")["r"].value_counts(normalize=True) \
        .unstack(fill_value=0.0).reindex(index=groups, columns=range(1, 6), fill_value=0.0).to_numpy() + 1e-6

    def profile(q: float) -> float:
        """Log-likelihood at q, maximised over the base distributions by EM."""
        t = transitions(q)[ki, :, r_idx]  # (cells, 5 bases)
        pi = start / start.sum(axis=1, keepdims=True)
        for _ in range(200):
            joint = pi[gi] * t
            cell_p = joint.sum(axis=1)
            post = joint / np.maximum(cell_p, 1e-300)[:, None] * counts[:, None]
            new = np.zeros_like(pi)
            np.add.at(new, gi, post)
            new /= new.sum(axis=1, keepdims=True)
            if np.abs(new - pi).max() < 1e-9:
                pi = new
                break
            pi = new
        return float((counts * np.log(np.maximum((pi[gi] * t).sum(axis=1), 1e-300))).sum())

    res = optimize.minimize_scalar(lambda q: -profile(q), bounds=(1e-4, 1 - 1e-4), method="bounded",
                                   options={"xatol": 1e-5})
    q_hat, best = float(res.x), -float(res.fun)
    cut = chi2.ppf(0.95, 1) / 2

    def edge(lo: float, hi: float) -> float:
        f = lambda q: best - profile(q) - cut  # noqa: E731
        try:
            return float(optimize.brentq(f, lo, hi, xtol=1e-5))
        except ValueError:
            return lo if f(lo) < 0 else hi

    low_q, high_q = edge(1e-4, q_hat), edge(q_hat, 1 - 1e-4)
    base_mean = float(data.loc[(data["d"] == 0) & (data["dmg"] == 0), "r"].mean())
    return Effect("rating", -q_hat, -high_q, -low_q, len(data), int((data["d"] > 0).sum()), base_mean, method)


@dataclass
class LatenessCost:
    """What lateness costs, fitted once on the whole history: both effects and the raw buckets."""

    rating: Effect           # stars per late order (binary)
    rating_per_day: Effect   # stars per day late (rounded up, capped at 5), OLS with controls
    rating_per_day_floor: Effect  # the same, corrected for the 1-star floor (thinning model)
    repeat: Effect           # difference in probability of buying again
    repeat_odds: Effect      # odds ratio of buying again
    by_days: pd.DataFrame
    window_days: int


def lateness_cost(ds: Dataset, window_days: int = 365) -> LatenessCost:
    """Both lateness effects (rating, repeat within ``window_days``) and the by-days table, one query."""
    frame = order_lateness_frame(ds, window_days)
    return LatenessCost(lateness_effect_on_rating(ds, frame=frame),
                        lateness_effect_on_rating(ds, "late_days_capped", frame=frame),
                        rating_drop_per_late_day(frame),
                        lateness_effect_on_repeat(ds, window_days, frame=frame),
                        lateness_effect_on_repeat(ds, window_days, frame=frame, odds_ratio=True),
                        lateness_outcomes_by_days(frame), window_days)


# ----- returns ------------------------------------------------------------------------------------

def returns_by(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """Return rate and refunds per ``by`` (``channel`` or ``category``) for orders of the period.

    For ``channel``: ``orders`` (valid orders), ``returned_orders``, ``return_rate`` with Wilson
    interval, ``refund_cny``. For ``category``: per category of the returned product, ``units``
    sold, ``returns`` (return rows), ``return_rate`` = returns / order lines of that category.
    """
    if by == "category":
        frame = ds.sql(f"""
            WITH lines AS (
                SELECT p.category, count(*) AS lines
                FROM items_cny i JOIN products p USING (product_id)
                WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} GROUP BY 1
            ), rets AS (
                SELECT p.category, count(*) AS returns,
                       sum(r.refund_amount * COALESCE(o.fx_rate, 1.0)) AS refund_cny
                FROM returns r JOIN orders_cny o USING (order_id) JOIN products p ON p.product_id = r.product_id
                WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')} GROUP BY 1
            )
            SELECT category, lines, COALESCE(returns, 0) AS returns, COALESCE(refund_cny, 0) AS refund_cny
            FROM lines LEFT JOIN rets USING (category) ORDER BY category
        """)
        frame["returns"] = np.minimum(frame["returns"], frame["lines"])
        return add_rate_interval(frame, "returns", "lines", "return_rate").sort_values(
            "return_rate", ascending=False).reset_index(drop=True)
    frame = ds.sql(f"""
        WITH rets AS (
            SELECT order_id, sum(refund_amount) AS refund FROM returns GROUP BY 1
        )
        SELECT o.{by}, count(*) AS orders, count(r.order_id) AS returned_orders,
               sum(COALESCE(r.refund * o.fx_rate, 0)) AS refund_cny, sum(o.gmv_cny) AS gmv
        FROM orders_cny o LEFT JOIN rets r USING (order_id)
        WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')}
        GROUP BY 1
    """)
    frame["refund_share"] = frame["refund_cny"] / frame["gmv"].where(frame["gmv"] > 0)
    return add_rate_interval(frame, "returned_orders", "orders", "return_rate").sort_values(
        "return_rate", ascending=False).reset_index(drop=True)


def return_reasons(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """Returns per reason and ``by`` (channel): ``by``, ``reason``, ``returns``, ``refund_cny``, ``share``."""
    frame = ds.sql(f"""
        SELECT o.{by}, r.reason, count(*) AS returns, sum(r.refund_amount * COALESCE(o.fx_rate, 1.0)) AS refund_cny
        FROM returns r JOIN orders_cny o USING (order_id)
        WHERE {f.where('o.order_date', 'o.channel')}
        GROUP BY ALL ORDER BY ALL
    """)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["returns"] / frame.groupby(by)["returns"].transform("sum"))



