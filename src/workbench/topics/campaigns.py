"""Campaigns and holidays: the calendar, what each campaign added, and what the next one needs.

Each past campaign's incremental demand is measured against a counterfactual: a regression with
ARMA errors (statsmodels SARIMAX) of log daily orders on a trend, weekday dummies (weekly
seasonality) and yearly Fourier terms, fitted on the days before the campaign with other
campaigns and the pull-forward window left out, then projected over the campaign. Intervals
come from simulated paths of that model (so the days' errors are correlated, as they are).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql.common import Filters

NEEDS_CALENDAR = {"campaigns": ["name", "kind", "start_date", "end_date"]}
NEEDS_UPLIFT = {"orders": ["paid_amount", "ordered_at", "channel"], **NEEDS_CALENDAR}

METHOD = ("counterfactual: SARIMAX regression of log daily orders (livestream-sourced left out) on trend, weekday dummies and yearly Fourier "
          "terms (2 harmonics, when a year of history is available) with AR(1) errors, fitted on up to {history} "
          "days before the campaign (other campaigns and the {pre}-day pull-forward window left out); "
          "interval: 2.5–97.5% of {reps} simulated paths")


def calendar(ds: Dataset, f: Filters | None = None) -> pd.DataFrame:
    """Campaigns (all, or those overlapping ``f``'s period): ``campaign_id``, ``name``, ``kind``,
    ``start_date``, ``end_date``, ``days``, and ``discount_rate`` / ``budget_cny`` when present."""
    ds.require(NEEDS_CALENDAR)
    extra = [c for c in ("discount_rate", "budget_cny") if ds.has("campaigns", [c])]
    where = f"end_date >= DATE '{f.start}' AND start_date <= DATE '{f.end}'" if f else "TRUE"
    out = ds.sql(f"""SELECT campaign_id, name, kind, start_date, end_date,
                            CAST(end_date - start_date AS BIGINT) + 1 AS days{''.join(', ' + c for c in extra)}
                     FROM campaigns WHERE {where} ORDER BY start_date""")
    out["start_date"] = pd.to_datetime(out["start_date"])
    out["end_date"] = pd.to_datetime(out["end_date"])
    return out


def daily_series(ds: Dataset, channels: tuple[str, ...] = (),
                 exclude_sources: tuple[str, ...] = ("livestream",)) -> pd.DataFrame:
    """Daily GMV (CNY) and orders over the whole history on a complete calendar: ``date``, ``gmv``, ``orders``.

    Orders from ``exclude_sources`` are left out: livestream sales follow the hosts' schedule
    (see the social-commerce notebook), not the shop's campaign calendar.
    """
    chan = Filters(start=dt.date(1970, 1, 1), end=dt.date(1970, 1, 1), channels=channels).channel_sql()
    src = ("(source IS NULL OR source NOT IN (" + ", ".join(f"'{x}'" for x in exclude_sources) + "))"
           if exclude_sources and ds.has("orders", ["source"]) else "TRUE")
    d = ds.sql(f"""SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders FROM orders_cny
                   WHERE is_valid AND {chan} AND {src} GROUP BY 1 ORDER BY 1""")
    if d.empty:
        return pd.DataFrame(columns=["date", "gmv", "orders"])
    d["date"] = pd.to_datetime(d["date"])
    full = pd.DataFrame({"date": pd.date_range(d["date"].min(), d["date"].max(), freq="D")})
    return full.merge(d, on="date", how="left").fillna({"gmv": 0.0, "orders": 0})


def _design(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: bool) -> pd.DataFrame:
    """Exogenous regressors: trend (years), weekday dummies (Monday the base), yearly Fourier terms."""
    t = (dates - origin).days.to_numpy() / 365.25
    x = {"trend": t}
    for k in range(1, 7):
        x[f"dow{k}"] = (dates.day_of_week == k).astype(float)
    if yearly:
        doy = dates.day_of_year.to_numpy() / 365.25
        for h in (1, 2):
            x[f"sin{h}"] = np.sin(2 * np.pi * h * doy)
            x[f"cos{h}"] = np.cos(2 * np.pi * h * doy)
    return pd.DataFrame(x, index=dates)


@dataclass
class Counterfactual:
    """A baseline forecast of daily GMV over a window, with simulated paths for intervals."""

    dates: pd.DatetimeIndex
    mean: np.ndarray          # expected GMV per day (CNY), mean over the simulated paths
    paths: np.ndarray         # simulated GMV (repetitions × days), CNY
    n_train: int
    model: object = None


def fit_counterfactual(series: pd.DataFrame, train_end: pd.Timestamp, horizon: pd.DatetimeIndex,
                       exclude: pd.DatetimeIndex | None = None, history: int = 365, reps: int = 300,
                       seed: int = 0, column: str = "gmv") -> Counterfactual | None:
    """Fit the baseline model on ``history`` days up to ``train_end`` and simulate it over ``horizon``.

    ``series`` is :func:`daily_series`; days in ``exclude`` (other campaigns, the pull-forward
    window) are treated as missing, which SARIMAX's Kalman filter handles. ``horizon`` must
    start after ``train_end``. Returns None with fewer than 56 usable days.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    s = series.set_index("date")[column]
    train = s[(s.index <= train_end) & (s.index > train_end - pd.Timedelta(days=history))].copy()
    y = np.log1p(train.astype(float))
    y[train <= 0] = np.nan
    if exclude is not None:
        y[y.index.isin(exclude)] = np.nan
    if y.notna().sum() < 56:
        return None
    yearly = y.notna().sum() >= 300
    origin = train.index.min()
    x_train = _design(train.index, origin, yearly)
    # all days from the end of training to the end of the horizon, so that the AR error runs on
    steps = pd.date_range(train_end + pd.Timedelta(days=1), horizon.max(), freq="D")
    x_fut = _design(steps, origin, yearly)
    # regression coefficients (constant included) in the state vector: two parameters to optimise
    x_train.insert(0, "const", 1.0)
    x_fut.insert(0, "const", 1.0)
    model = SARIMAX(y.to_numpy(), exog=x_train.to_numpy(), order=(1, 0, 0), mle_regression=False)
    with warnings.catch_warnings():  # convergence chatter on short histories; the fit is still usable
        warnings.simplefilter("ignore")
        res = model.fit(disp=False, maxiter=100)
    sims = res.simulate(nsimulations=len(steps), repetitions=reps, anchor="end", exog=x_fut.to_numpy(),
                        rng=np.random.default_rng(seed))
    sims = np.asarray(sims).reshape(len(steps), reps).T
    paths = np.expm1(sims)
    keep = steps.isin(horizon)
    return Counterfactual(steps[keep], paths[:, keep].mean(axis=0), paths[:, keep], int(y.notna().sum()), res)


@dataclass
class CampaignUplift:
    """Incremental GMV of one campaign against its counterfactual, with the dip before and after."""

    campaign_id: str
    name: str
    kind: str
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    gmv: float                 # actual GMV during the campaign, CNY
    counterfactual: float      # expected GMV without it, CNY (counterfactual orders × the campaign's AOV)
    incremental_gmv: float     # gmv − counterfactual, CNY
    incremental_low: float
    incremental_high: float
    uplift: float              # gmv / counterfactual − 1
    uplift_low: float
    uplift_high: float
    pull_forward: float        # relative change in the days before (negative: demand held back)
    pull_forward_low: float
    pull_forward_high: float
    hangover: float            # relative change in the days after
    hangover_low: float
    hangover_high: float
    n_train: int
    method: str
    daily: pd.DataFrame        # date, phase, actual, counterfactual, lower, upper


def _interval(actual: float, paths: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """(expected, incremental, low, high, relative, rel_low, rel_high) from counterfactual path sums."""
    sums = paths.sum(axis=1)
    exp = float(sums.mean())
    inc = actual - sums
    rel = actual / np.where(sums > 0, sums, np.nan) - 1
    return (exp, float(actual - exp), float(np.quantile(inc, 0.025)), float(np.quantile(inc, 0.975)),
            float(actual / exp - 1) if exp > 0 else np.nan, float(np.nanquantile(rel, 0.025)),
            float(np.nanquantile(rel, 0.975)))


def campaign_uplift(ds: Dataset, campaign_id: str, channels: tuple[str, ...] = (), pre_days: int = 7,
                    post_days: int = 7, history: int = 365, reps: int = 300) -> CampaignUplift | None:
    """Incremental GMV of campaign ``campaign_id`` with its pull-forward dip and hangover.

    The counterfactual (see the module docstring) is fitted on the ``history`` days before the
    pull-forward window (``pre_days`` before the start), leaving out every other campaign's days
    and their own pre and post windows, and simulated over pre-window, campaign and post-window
    (``post_days``). The model runs on daily orders (baskets grow with the discount, so orders
    measure the extra demand); uplift = actual / counterfactual − 1 over each phase, with 95%
    intervals from the simulated paths, and incremental GMV = incremental orders × the
    campaign's average order value. Returns None when the campaign lies outside the data or fewer
    than 8 weeks of clean history precede it.
    """
    series = daily_series(ds, channels)
    cal = calendar(ds)
    row = cal[cal["campaign_id"] == campaign_id]
    if row.empty or series.empty:
        return None
    c = row.iloc[0]
    start, end = c["start_date"], c["end_date"]
    pre_start = start - pd.Timedelta(days=pre_days)
    post_end = end + pd.Timedelta(days=post_days)
    if start < series["date"].min() or end > series["date"].max():
        return None
    post_end = min(post_end, series["date"].max())
    exclude = [pd.date_range(r["start_date"] - pd.Timedelta(days=pre_days), r["end_date"] + pd.Timedelta(days=post_days))
               for _, r in cal.iterrows() if r["campaign_id"] != campaign_id]
    excl = exclude[0].append(exclude[1:]) if exclude else None
    horizon = pd.date_range(pre_start, post_end, freq="D")
    cf = fit_counterfactual(series, pre_start - pd.Timedelta(days=1), horizon, excl, history, reps, column="orders")
    if cf is None:
        return None
    by_day = series.set_index("date").reindex(cf.dates)
    actual = by_day["orders"].to_numpy(float)
    phase = np.where(cf.dates < start, "pre", np.where(cf.dates > end, "post", "during"))
    stats = {}
    for ph in ("pre", "during", "post"):
        m = phase == ph
        stats[ph] = _interval(float(actual[m].sum()), cf.paths[:, m]) if m.any() else (np.nan,) * 7
    during = phase == "during"
    gmv = float(by_day["gmv"].to_numpy()[during].sum())
    aov = gmv / actual[during].sum() if actual[during].sum() else np.nan  # orders → CNY at the campaign's AOV
    daily = pd.DataFrame({"date": cf.dates, "phase": phase, "actual": actual, "counterfactual": cf.mean,
                          "lower": np.quantile(cf.paths, 0.025, axis=0), "upper": np.quantile(cf.paths, 0.975, axis=0)})
    d = stats["during"]
    return CampaignUplift(
        campaign_id, str(c["name"]), str(c["kind"]), start, end, gmv, d[0] * aov, d[1] * aov, d[2] * aov,
        d[3] * aov, d[4], d[5], d[6], stats["pre"][4], stats["pre"][5], stats["pre"][6], stats["post"][4],
        stats["post"][5], stats["post"][6], cf.n_train, METHOD.format(history=history, pre=pre_days, reps=reps), daily)


def all_uplifts(ds: Dataset, channels: tuple[str, ...] = (), pre_days: int = 7, post_days: int = 7) -> pd.DataFrame:
    """:func:`campaign_uplift` for every campaign that can be measured, as one frame (one row per campaign)."""
    rows = []
    for cid in calendar(ds)["campaign_id"]:
        u = campaign_uplift(ds, cid, channels, pre_days, post_days)
        if u is not None:
            rows.append({k: v for k, v in u.__dict__.items() if k not in ("daily", "method")})
    cols = ["campaign_id", "name", "kind", "start_date", "end_date", "gmv", "counterfactual", "incremental_gmv",
            "incremental_low", "incremental_high", "uplift", "uplift_low", "uplift_high", "pull_forward",
            "pull_forward_low", "pull_forward_high", "hangover", "hangover_low", "hangover_high", "n_train"]
    return pd.DataFrame(rows, columns=cols)


# ----- planning the next campaign ----------------------------------------------------------------

@dataclass
class CampaignPlan:
    """Forecast of the next campaign's daily GMV and orders, and the stock and staff they imply."""

    name: str
    kind: str
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    planned_uplift: float
    uplift_source: str         # which past campaigns the uplift comes from
    daily: pd.DataFrame        # date, gmv, gmv_low, gmv_high, orders, orders_low, orders_high, units, tickets, agents
    total_gmv: float
    total_gmv_low: float
    total_gmv_high: float
    units_needed: float
    peak_agents: int
    assumptions: str


def next_campaign(ds: Dataset, as_of: pd.Timestamp | None = None) -> pd.Series | None:
    """The next campaign after ``as_of`` (default: the last day with orders) from the campaigns table,
    or, when none is scheduled, the first campaign kind to come round again (its dates plus one year)."""
    cal = calendar(ds)
    if cal.empty:
        return None
    series_end = ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(series_end)
    ahead = cal[cal["start_date"] > as_of]
    if len(ahead):
        return ahead.iloc[0]
    rolled = cal.assign(start_date=cal["start_date"] + pd.DateOffset(years=1),
                        end_date=cal["end_date"] + pd.DateOffset(years=1))
    rolled = rolled[rolled["start_date"] > as_of].sort_values("start_date")
    if rolled.empty:
        return None
    out = rolled.iloc[0].copy()
    out["campaign_id"] = f"{out['campaign_id']}+1y"
    return out


def plan_campaign(ds: Dataset, uplifts: pd.DataFrame, campaign: pd.Series, units_per_order: float | None = None,
                  tickets_per_order: float | None = None, tickets_per_agent_day: float = 80.0,
                  reps: int = 300) -> CampaignPlan | None:
    """Forecast daily GMV and orders of ``campaign`` (a row of :func:`calendar` or :func:`next_campaign`).

    The baseline is :func:`fit_counterfactual` on all history up to the last day with orders
    (campaigns left out), simulated to the campaign's end. The planned uplift is the mean
    measured uplift of past campaigns of the same kind (all campaigns when the kind never ran),
    and each simulated path is multiplied by (1 + an uplift drawn from the normal whose spread
    is that mean's standard error), so the prediction interval carries both uncertainties.
    Orders follow GMV at the recent average order value; units to stock = orders × units per
    order (from the last 90 days of order lines when not given); staff = tickets per day
    (tickets per order from the last 90 days of tickets, else 0.1) / ``tickets_per_agent_day``.
    """
    series = daily_series(ds)
    if series.empty or uplifts.empty:
        return None
    last = series["date"].max()
    start, end = pd.Timestamp(campaign["start_date"]), pd.Timestamp(campaign["end_date"])
    if start <= last:
        return None
    cal = calendar(ds)
    excl = None
    if len(cal):
        parts = [pd.date_range(r["start_date"] - pd.Timedelta(days=7), r["end_date"] + pd.Timedelta(days=7))
                 for _, r in cal.iterrows()]
        excl = parts[0].append(parts[1:])
    horizon = pd.date_range(start, end, freq="D")
    cf = fit_counterfactual(series, last, horizon, excl, history=365, reps=reps, seed=1)
    if cf is None:
        return None
    same = uplifts[uplifts["kind"] == campaign["kind"]]
    source = "same kind" if len(same) else "all campaigns"
    pool = same if len(same) else uplifts
    mean_up = float(pool["uplift"].mean())
    half = ((pool["uplift_high"] - pool["uplift_low"]) / 3.92).to_numpy()
    se = float(np.sqrt(np.sum(half ** 2)) / len(pool)) if len(pool) > 1 else float(half[0])
    if len(pool) > 1:
        se = float(np.hypot(se, pool["uplift"].std(ddof=1) / np.sqrt(len(pool))))
    rng = np.random.default_rng(2)
    draws = 1 + rng.normal(mean_up, se, size=(cf.paths.shape[0], 1))
    gmv_paths = cf.paths * draws
    recent = ds.sql(f"""SELECT sum(gmv_cny) / count(*) AS aov, count(*) AS orders FROM orders_cny
                        WHERE is_valid AND order_date > DATE '{(last - pd.Timedelta(days=90)).date()}'""").iloc[0]
    aov = float(recent["aov"])
    if units_per_order is None:
        units_per_order = 1.0
        if ds.has("order_items"):
            u = ds.sql(f"""SELECT sum(quantity) / count(DISTINCT order_id) AS upo FROM items_cny
                           WHERE is_valid AND order_date > DATE '{(last - pd.Timedelta(days=90)).date()}'""")
            units_per_order = float(u["upo"].iloc[0] or 1.0)
    if tickets_per_order is None:
        tickets_per_order = 0.1
        if ds.has("tickets"):
            t = ds.sql(f"""SELECT count(*) AS n FROM tickets
                           WHERE CAST(created_at AS DATE) > DATE '{(last - pd.Timedelta(days=90)).date()}'""")
            if recent["orders"]:
                tickets_per_order = float(t["n"].iloc[0]) / float(recent["orders"])
    orders_paths = gmv_paths / aov
    daily = pd.DataFrame({
        "date": cf.dates,
        "gmv": gmv_paths.mean(axis=0), "gmv_low": np.quantile(gmv_paths, 0.025, axis=0),
        "gmv_high": np.quantile(gmv_paths, 0.975, axis=0),
        "orders": orders_paths.mean(axis=0), "orders_low": np.quantile(orders_paths, 0.025, axis=0),
        "orders_high": np.quantile(orders_paths, 0.975, axis=0),
    })
    daily["units"] = daily["orders_high"] * units_per_order
    daily["tickets"] = daily["orders_high"] * tickets_per_order
    daily["agents"] = np.ceil(daily["tickets"] / tickets_per_agent_day).astype(int)
    sums = gmv_paths.sum(axis=1)
    assumptions = (f"baseline without livestream-sourced orders; AOV {aov:,.0f} CNY (last 90 days); {units_per_order:.2f} units per order; "
                   f"{tickets_per_order:.3f} tickets per order; {tickets_per_agent_day:g} tickets per agent-day; "
                   f"stock and staff sized at the upper 97.5% bound of orders")
    return CampaignPlan(str(campaign["name"]), str(campaign["kind"]), start, end, mean_up, source, daily,
                        float(sums.mean()), float(np.quantile(sums, 0.025)), float(np.quantile(sums, 0.975)),
                        float(daily["units"].sum()), int(daily["agents"].max()), assumptions)
