"""Campaigns and holidays: the calendar and what each campaign added (the plan for the next one is
:func:`workbench.topics.forecast.campaign_plan`, on the same model as every forecast).

Each past campaign's incremental demand is measured against a counterfactual
(:mod:`workbench.stats.counterfactual`): a regression with AR(1) errors of log daily orders on a
trend, weekday dummies and yearly Fourier terms, fitted on the days before the campaign with every
campaign's days and their pull-forward and hangover windows left out (the days come from
:func:`workbench.sql.calendar.campaign_days`), then simulated over the campaign. Intervals come from
the simulated paths, calibrated on placebo campaigns: the same baseline fitted at origins in the
shop's own history where no campaign happened (:func:`baseline_placebos`), so the intervals include
the baseline model's own error. Queries live in :mod:`workbench.sql.campaigns`; results carry
:class:`~workbench.stats.result.Estimate` figures and keys, never sentences.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import calendar as campaign_calendar
from workbench.sql import campaigns as sql
from workbench.sql.filters import Filters
from workbench.stats import counterfactual as cf_model
from workbench.stats.result import Estimate

NEEDS_CALENDAR = {"campaigns": ["name", "kind", "start_date", "end_date"]}
NEEDS_UPLIFT = {"orders": ["paid_amount", "ordered_at", "channel"], **NEEDS_CALENDAR}

#: Orders from these sources follow the hosts' schedule (the social-commerce page), not the campaign calendar.
EXCLUDED_SOURCES = ("livestream",)

#: Method key of the uplift estimates (``method.sarimax_placebo`` in the catalogue; ``sarimax_paths``
#: when too few placebo windows were found to calibrate).
METHOD = cf_model.METHOD_CALIBRATED
#: Fewest placebo windows that calibrate the intervals (fewer: path intervals, and the page says so).
MIN_PLACEBOS = cf_model.MIN_PLACEBOS


def calendar(ds: Dataset, f: Filters | None = None) -> pd.DataFrame:
    """Campaigns (all, or those overlapping ``f``'s period): ``campaign_id``, ``name``, ``kind``,
    ``start_date``, ``end_date``, ``days``, and ``discount_rate`` / ``budget_cny`` when present."""
    ds.require(NEEDS_CALENDAR)
    return sql.campaigns(ds, f.start if f else None, f.end if f else None)


def daily_series(ds: Dataset, channels: tuple[str, ...] = (),
                 exclude_sources: tuple[str, ...] = EXCLUDED_SOURCES) -> pd.DataFrame:
    """Daily GMV (CNY) and orders over the whole history on a complete calendar: ``date``, ``gmv``, ``orders``.

    Orders from ``exclude_sources`` are left out (livestream sales follow the hosts' schedule).
    """
    d = sql.daily_orders(ds, channels, exclude_sources)
    if d.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "gmv": pd.Series(dtype=float),
                             "orders": pd.Series(dtype=float)})
    full = pd.DataFrame({"date": pd.date_range(d["date"].min(), d["date"].max(), freq="D")})
    return full.merge(d, on="date", how="left").fillna({"gmv": 0.0, "orders": 0})


def event_days(ds: Dataset, pre_days: int = 7, post_days: int = 7) -> pd.DatetimeIndex:
    """Every campaign day with its ``pre_days`` before and ``post_days`` after (the days a baseline leaves out)."""
    days = campaign_calendar.campaign_days(ds, lead_days=pre_days)["date"]
    if days.empty:
        return pd.DatetimeIndex([])
    spread = [days + pd.Timedelta(days=k) for k in range(post_days + 1)]
    return pd.DatetimeIndex(pd.concat(spread).drop_duplicates().sort_values())


@dataclass
class CampaignUplift:
    """Incremental demand of one campaign against its counterfactual, with the dip before and the hangover after.

    ``uplift``, ``pull_forward`` and ``hangover`` are relative changes of orders against the
    counterfactual (unit ``change``) over the campaign, the pre-window and the post-window;
    ``incremental_gmv`` is incremental orders × the campaign's AOV (unit ``money``). ``daily``:
    ``date``, ``phase`` (pre, during, post), ``actual``, ``counterfactual``, ``lower``, ``upper`` (orders).
    """

    campaign_id: str
    name: str
    kind: str
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    gmv: float
    counterfactual_gmv: float
    incremental_gmv: Estimate
    uplift: Estimate
    pull_forward: Estimate
    hangover: Estimate
    n_train: int
    level: float
    method: str = METHOD
    daily: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def baseline_placebos(ds: Dataset, channels: tuple[str, ...] = (), pre_days: int = 7, post_days: int = 7,
                      history: int = 365) -> cf_model.Placebos:
    """The baseline of :func:`campaign_uplift` fitted at placebo origins of the shop's non-campaign history.

    Each placebo window is as long as the longest campaign with its pre- and post-windows, and holds no
    campaign day (nor their windows); the errors of the baseline there calibrate every uplift interval
    (:func:`workbench.stats.counterfactual.calibrated_effect`). Fits about a dozen baselines (seconds).
    """
    series = daily_series(ds, channels)
    cal = calendar(ds)
    if series.empty or cal.empty:
        return cf_model.Placebos([], np.zeros((0, 0)), np.zeros((0, 0, 0)))
    longest = int(((cal["end_date"] - cal["start_date"]).dt.days + 1).max())
    return cf_model.placebos(series.set_index("date")["orders"], event_days(ds, pre_days, post_days),
                             pre_days + longest + post_days, history)


def campaign_uplift(ds: Dataset, campaign_id: str, channels: tuple[str, ...] = (), pre_days: int = 7,
                    post_days: int = 7, history: int = 365, reps: int = 300,
                    level: float = 0.95, placebo: cf_model.Placebos | None = None) -> CampaignUplift | None:
    """Incremental demand of campaign ``campaign_id`` with its pull-forward dip and hangover.

    The counterfactual is fitted on the ``history`` days before the pull-forward window
    (``pre_days`` before the start), leaving out every campaign's days and their pre and post
    windows, and simulated over pre-window, campaign and post-window (``post_days``). It runs on
    daily orders (baskets grow with the discount, so orders measure the extra demand); intervals at
    ``level`` come from the simulated paths, calibrated on ``placebo`` (:func:`baseline_placebos`,
    computed when not given) for the same window lengths and distance from the training end. Returns None when the campaign lies outside the data or
    fewer than 8 weeks of clean history precede it.
    """
    series = daily_series(ds, channels)
    cal = calendar(ds)
    calibration = placebo if placebo is not None else (
        lambda: baseline_placebos(ds, channels, pre_days, post_days, history))  # fitted only when needed
    return _uplift(series, cal, event_days(ds, pre_days, post_days), campaign_id, pre_days, post_days, history, reps,
                   level, calibration)


def _uplift(series: pd.DataFrame, cal: pd.DataFrame, excluded: pd.DatetimeIndex, campaign_id: str, pre_days: int,
            post_days: int, history: int, reps: int, level: float,
            placebo: cf_model.Placebos | Callable[[], cf_model.Placebos]) -> CampaignUplift | None:
    """:func:`campaign_uplift` on the shop's daily series, calendar and left-out days, read once by the caller
    (``placebo`` may be a function that fits them, called only when the campaign can be measured)."""
    row = cal[cal["campaign_id"] == campaign_id]
    if row.empty or series.empty:
        return None
    c = row.iloc[0]
    start, end = c["start_date"], c["end_date"]
    if start < series["date"].min() or end > series["date"].max():
        return None
    pre_start = start - pd.Timedelta(days=pre_days)
    post_end = min(end + pd.Timedelta(days=post_days), series["date"].max())
    horizon = pd.date_range(pre_start, post_end, freq="D")
    by_day = series.set_index("date")
    cf = cf_model.fit(by_day["orders"], pre_start - pd.Timedelta(days=1), horizon, excluded, history, reps)
    if cf is None:
        return None
    seen = by_day.reindex(cf.dates)
    actual = seen["orders"].to_numpy(float)
    phase = np.where(cf.dates < start, "pre", np.where(cf.dates > end, "post", "during"))
    if callable(placebo):
        placebo = placebo()
    effects = {}
    for ph in ("pre", "during", "post"):
        days = np.flatnonzero(phase == ph)
        z = placebo.standardized_errors(int(days[0]), len(days)) if len(days) else np.array([])
        effects[ph] = cf_model.calibrated_effect(float(actual[days].sum()), cf.paths[:, days], cf.n_train, z, level)
    during = phase == "during"
    gmv = float(seen["gmv"].to_numpy()[during].sum())
    aov = gmv / actual[during].sum() if actual[during].sum() else math.nan  # orders → CNY at the campaign's AOV
    lower, upper = _calibrated_band(cf, placebo, level)
    daily = pd.DataFrame({"date": cf.dates, "phase": phase, "actual": actual, "counterfactual": cf.mean,
                          "lower": lower, "upper": upper})
    d = effects["during"]
    return CampaignUplift(str(c["campaign_id"]), str(c["name"]), str(c["kind"]), start, end, gmv, d.expected * aov,
                          d.incremental.scaled(aov, "money"), d.relative, effects["pre"].relative,
                          effects["post"].relative, cf.n_train, level, d.relative.method, daily)


def _calibrated_band(cf: cf_model.Counterfactual, placebo: cf_model.Placebos, level: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The per-day band of the counterfactual, each day's log spread scaled by its placebo calibration factor."""
    from scipy.stats import t as t_dist

    lower, upper = cf.band(level)
    if len(placebo) < cf_model.MIN_PLACEBOS:
        return lower, upper
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(cf.paths > 0, cf.paths, np.nan))
    sd = np.nanstd(logs, axis=0)
    quantile: dict[int, float] = {}  # the t quantile by number of placebos (the same for most days)
    for d in range(len(cf.dates)):
        z = placebo.standardized_errors(d, 1)
        if len(z) >= cf_model.MIN_PLACEBOS and np.isfinite(sd[d]) and cf.mean[d] > 0:
            if len(z) not in quantile:
                quantile[len(z)] = float(t_dist.ppf(0.5 + level / 2, len(z)))
            half = quantile[len(z)] * float(np.sqrt(np.mean(z ** 2))) * sd[d]
            lower[d], upper[d] = cf.mean[d] * math.exp(-half), cf.mean[d] * math.exp(half)
    return lower, upper


UPLIFT_COLUMNS = ["campaign_id", "name", "kind", "start_date", "end_date", "gmv", "counterfactual", "incremental_gmv",
                  "incremental_low", "incremental_high", "uplift", "uplift_low", "uplift_high", "pull_forward",
                  "pull_forward_low", "pull_forward_high", "hangover", "hangover_low", "hangover_high", "n_train", "method"]


def measured_uplifts(ds: Dataset, channels: tuple[str, ...] = (), pre_days: int = 7, post_days: int = 7,
                     level: float = 0.95, placebo: cf_model.Placebos | None = None) -> dict[str, CampaignUplift]:
    """:func:`campaign_uplift` of every campaign that can be measured, by campaign id in calendar order
    (the series, calendar and left-out days are read once; one set of placebo baselines calibrates them all)."""
    if placebo is None:
        placebo = baseline_placebos(ds, channels, pre_days, post_days)
    series, cal = daily_series(ds, channels), calendar(ds)
    excluded = event_days(ds, pre_days, post_days)
    out = {}
    for cid in cal["campaign_id"]:
        u = _uplift(series, cal, excluded, cid, pre_days, post_days, 365, 300, level, placebo)
        if u is not None:
            out[str(cid)] = u
    return out


def uplift_table(uplifts: dict[str, CampaignUplift] | list[CampaignUplift]) -> pd.DataFrame:
    """Measured uplifts (:func:`measured_uplifts`) one row per campaign, columns :data:`UPLIFT_COLUMNS`."""
    rows = []
    for u in (uplifts.values() if isinstance(uplifts, dict) else uplifts):
        row = {"campaign_id": u.campaign_id, "name": u.name, "kind": u.kind, "start_date": u.start_date,
               "end_date": u.end_date, "gmv": u.gmv, "counterfactual": u.counterfactual_gmv, "n_train": u.n_train,
               "method": u.method}
        for key, est in (("incremental", u.incremental_gmv), ("uplift", u.uplift), ("pull_forward", u.pull_forward),
                         ("hangover", u.hangover)):
            row["incremental_gmv" if key == "incremental" else key] = est.estimate
            row[f"{key}_low"], row[f"{key}_high"] = est.low, est.high
        rows.append(row)
    return pd.DataFrame(rows, columns=UPLIFT_COLUMNS)


def all_uplifts(ds: Dataset, channels: tuple[str, ...] = (), pre_days: int = 7, post_days: int = 7,
                level: float = 0.95, placebo: cf_model.Placebos | None = None) -> pd.DataFrame:
    """:func:`campaign_uplift` for every campaign that can be measured, one row per campaign
    (one set of placebo baselines, :func:`baseline_placebos`, calibrates them all).

    Columns :data:`UPLIFT_COLUMNS`: each estimate ``x`` with its bounds ``x_low``, ``x_high`` at ``level``.
    """
    return uplift_table(measured_uplifts(ds, channels, pre_days, post_days, level, placebo))


def best_campaign(uplifts: pd.DataFrame, level: float = 0.95) -> tuple[pd.Series, Estimate, Estimate] | None:
    """The campaign that added most GMV: its row of :func:`all_uplifts`, its incremental GMV and its uplift."""
    if uplifts.empty:
        return None
    best = uplifts.loc[uplifts["incremental_gmv"].idxmax()]
    n = int(best["n_train"])
    method = str(best.get("method", METHOD))
    return (best, Estimate(best["incremental_gmv"], best["incremental_low"], best["incremental_high"], level, n,
                           method, "money"),
            Estimate(best["uplift"], best["uplift_low"], best["uplift_high"], level, n, method, "change",
                     bounds=(-1.0, math.inf)))


def typical_pull_forward(uplifts: pd.DataFrame) -> dict[str, float]:
    """Median pre-window and post-window change over the measured campaigns, and how many show a dip."""
    return {"pull_forward": float(uplifts["pull_forward"].median()), "hangover": float(uplifts["hangover"].median()),
            "dips": int((uplifts["pull_forward"] < 0).sum()), "campaigns": len(uplifts)}


def latest_campaign(uplifts: pd.DataFrame, end: dt.date) -> str | None:
    """The id of the latest measured campaign that started by ``end`` (else the latest measured); None when none."""
    if uplifts.empty:
        return None
    inside = uplifts[uplifts["start_date"] <= pd.Timestamp(end)]
    return str((inside if len(inside) else uplifts).sort_values("start_date").iloc[-1]["campaign_id"])
