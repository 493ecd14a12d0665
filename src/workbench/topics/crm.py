"""CRM: RFM segments and their movement, cohort retention, repurchase, member tiers and lifetime value.

Every function takes a :class:`~workbench.data.loader.Dataset` (and :class:`~workbench.sql.filters.Filters`
or a reference date) and returns a tidy frame or a small result whose figures are
:class:`~workbench.stats.result.Estimate`. The per-customer SQL is in :mod:`workbench.sql.crm`;
the lifetime-value models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) in :mod:`workbench.stats.clv`. Time is
counted in weeks for CLV; a purchase is a day with at least one valid order.

The late-delivery → repeat effect is the logistics page's one definition
(:func:`workbench.sql.logistics.lateness_orders` with :func:`workbench.stats.effects.late_repeat_effect`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import crm as q
from workbench.sql import logistics as shipments_sql
from workbench.sql.crm import RFM_SEGMENTS, summary_from_transactions  # noqa: F401 - part of this module's API
from workbench.sql.filters import Filters
from workbench.stats.clv import (  # noqa: F401
    BGNBD,
    GammaGamma,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    mean_clv,
    probability_alive,
)
from workbench.stats.effects import Effect, late_repeat_effect
from workbench.stats.intervals import add_rate_interval
from workbench.stats.result import Estimate

NEEDS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"]}
NEEDS_CHANNEL = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
                 "customers": ["customer_id", "acquisition_channel"]}
NEEDS_TIER = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
              "customers": ["customer_id", "member_tier"]}
NEEDS_DELAY = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
               "customers": ["customer_id", "acquisition_channel"],
               "shipments": ["order_id", "promised_at", "delivered_at"]}

#: Member tiers in their order (``none``: a customer without a tier).
TIERS = ("none", "silver", "gold", "platinum")
#: Segments a champion or loyal customer "slips" to.
WEAKER = ("at_risk", "cant_lose", "hibernating", "lost", "need_attention")
_ORDER = {name: i for i, (name, _) in enumerate(RFM_SEGMENTS)}


# ----- RFM --------------------------------------------------------------------------------------

def rfm_segments(ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """RFM segments as of the period's end: counts, share, GMV and averages per named segment.

    Returns one row per segment (in :data:`RFM_SEGMENTS` order): ``segment`` (a key), ``customers``,
    ``share``, ``gmv`` (CNY in the window), ``gmv_share``, ``gmv_per_customer``,
    ``orders_per_customer``, ``recency_days`` (mean). Empty frame when nobody bought in the window.
    """
    out = q.rfm_segment_totals(ds, f, f.end, window_days)
    if out.empty:
        return out
    out = out.assign(share=out["customers"] / out["customers"].sum(), gmv_share=out["gmv"] / out["gmv"].sum())
    return out.sort_values("segment", key=lambda s: s.map(_ORDER)).reset_index(drop=True)


@dataclass(frozen=True)
class Champions:
    """How many champions there are and what share of the window's GMV they bring."""

    customers: int
    active: int
    share_of_customers: Estimate
    gmv_share: float


def champions(seg: pd.DataFrame) -> Champions:
    """Champions' count, share of active customers (Wilson) and share of GMV from :func:`rfm_segments`."""
    total = int(seg["customers"].sum()) if len(seg) else 0
    row = seg.set_index("segment").reindex(["champions"]).iloc[0] if len(seg) else None
    n = 0 if row is None or row["customers"] != row["customers"] else int(row["customers"])
    gmv_share = 0.0 if n == 0 else float(row["gmv_share"])
    return Champions(n, total, Estimate.proportion(n, total), gmv_share)


def rfm_movement(ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """How customers moved between RFM segments from the comparison period's end to this period's end.

    The earlier date is the comparison period's end (or the day before the period without one).
    Customers without orders in the earlier window are ``new`` (``segment_from``); those not active
    in the later window are ``lost`` (``segment_to``). Returns ``segment_from``, ``segment_to``,
    ``customers`` and ``share_of_from`` (share of the earlier segment).
    """
    out = q.rfm_transitions(ds, f, movement_start(f), f.end, window_days)
    if out.empty:
        return out
    out["share_of_from"] = out["customers"] / out.groupby("segment_from")["customers"].transform("sum")
    return out.sort_values(["segment_from", "customers"], ascending=[True, False]).reset_index(drop=True)


def movement_start(f: Filters) -> dt.date:
    """The date movement is measured from: the comparison period's end, else the day before the period."""
    return f.compare_end if f.compare_end is not None else f.start - dt.timedelta(days=1)


def slipped(moves: pd.DataFrame) -> Estimate:
    """Share of the earlier champions and loyal customers now in a weaker segment (Wilson)."""
    good = moves[moves["segment_from"].isin(["champions", "loyal"])] if len(moves) else moves
    n = int(good["customers"].sum()) if len(good) else 0
    k = int(good.loc[good["segment_to"].isin(WEAKER), "customers"].sum()) if n else 0
    return Estimate.proportion(k, n)


# ----- cohorts, repurchase, channels, tiers ------------------------------------------------------

def cohort_retention(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Monthly cohort retention: share of each first-purchase month's buyers who buy again k months later.

    Cohorts are the first valid order's month over all history up to the period's end (in the
    filter's channels); month 0 is 100%. Only the last ``months`` + 1 cohorts are returned.
    Returns ``cohort`` (YYYY-MM), ``months_since_first``, ``customers`` (active that month),
    ``cohort_size`` and ``retention``.
    """
    out = q.cohort_cells(ds, f, months)
    if out.empty:
        return out
    keep = sorted(out["cohort"].unique())[-(months + 1):]
    return out[out["cohort"].isin(keep)].reset_index(drop=True)


def month1_retention(grid: pd.DataFrame) -> tuple[Estimate, int]:
    """Share of new customers buying again in the month after their first (pooled over cohorts, Wilson),
    and the number of cohorts."""
    m1 = grid[grid["months_since_first"] == 1] if len(grid) else grid
    return Estimate.proportion(m1["customers"].sum() if len(m1) else 0, m1["cohort_size"].sum() if len(m1) else 0), \
        len(m1)


@dataclass(frozen=True)
class Repurchase:
    """Share of first-time buyers who buy again within a window, and the time between purchases.

    ``rate`` is the repeat share (Wilson, n = first-time buyers observed for the full window);
    ``gap_days`` the median days between purchases with the quartiles as its range
    (``method="quartiles"``, n = gaps); ``gaps`` a histogram (``days_between``, ``purchases``).
    """

    rate: Estimate
    window_days: int
    gap_days: Estimate
    gaps: pd.DataFrame = field(repr=False)

    # the older field names, kept for callers
    @property
    def repeat_rate(self) -> float:
        return self.rate.estimate

    @property
    def low(self) -> float:
        return self.rate.low

    @property
    def high(self) -> float:
        return self.rate.high

    @property
    def n(self) -> int:
        return int(self.rate.n or 0)

    @property
    def median_days_between(self) -> float:
        return self.gap_days.estimate

    @property
    def p25_days_between(self) -> float:
        return self.gap_days.low

    @property
    def p75_days_between(self) -> float:
        return self.gap_days.high


def repurchase(ds: Dataset, f: Filters, window_days: int = 90) -> Repurchase:
    """Repeat rate within ``window_days`` of the first purchase, and the distribution of purchase gaps.

    Buyers count when their first valid order lies in the period and at least ``window_days`` before
    the data's last day, so that every buyer had the full window to come back (a period too recent
    is moved back by the window). Gaps are days between consecutive purchase days of a customer, for
    purchases in the period. Raises :class:`EmptyPeriodError` when no first buyer qualifies.
    """
    last = q.last_order_date(ds)
    hi = min(f.end, last - dt.timedelta(days=window_days))
    lo = min(f.start, hi - dt.timedelta(days=max(f.days, 28) - 1))
    n, k = q.first_buyers_repeating(ds, f, lo, hi, window_days)
    if n == 0:
        raise EmptyPeriodError("no first-time buyers with a full repurchase window in this period and channel "
                               "selection; widen the period")
    stats = q.purchase_gaps(ds, f)
    if stats.empty:
        gap = Estimate(math.nan, n=0, method="quartiles", unit="days", min_n=1)
        gaps = pd.DataFrame({"days_between": [], "purchases": []})
    else:
        gap = Estimate(float(stats["p50"].iloc[0]), float(stats["p25"].iloc[0]), float(stats["p75"].iloc[0]),
                       n=int(stats["n"].iloc[0]), method="quartiles", unit="days")
        gaps = stats[["days_between", "purchases"]]
    return Repurchase(Estimate.proportion(k, n), window_days, gap, gaps)


def retention_by_channel(ds: Dataset, f: Filters, window_days: int = 90) -> pd.DataFrame:
    """Repeat rate within ``window_days`` of the first purchase by acquisition channel, with Wilson intervals.

    Uses every customer who signed up within the data (so the first order seen is the first ever)
    and whose first valid order falls at least ``window_days`` before the data's last day and up to
    the period's end (the channel filter applies to the acquisition channel). Returns
    ``acquisition_channel``, ``customers``, ``repeaters``, ``repeat_rate``, ``repeat_rate_low``,
    ``repeat_rate_high`` and ``orders_per_customer`` (in the first 365 days), best channel first.
    """
    hi = min(f.end, q.last_order_date(ds) - dt.timedelta(days=window_days))
    out = q.repeat_by_acquisition_channel(ds, f, hi, window_days)
    if out.empty:
        return out.assign(repeat_rate=[], repeat_rate_low=[], repeat_rate_high=[])
    out = add_rate_interval(out, "repeaters", "customers", "repeat_rate")
    return out.sort_values("repeat_rate", ascending=False).reset_index(drop=True)


def retention_curves_by_channel(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Share of each acquisition channel's customers still buying k months after their first purchase.

    Returns ``acquisition_channel``, ``months_since_first``, ``customers`` (eligible), ``active``
    and ``retention``.
    """
    return q.retention_curves(ds, f, months)


def row_share(row: pd.Series, k: str = "repeaters", n: str = "customers") -> Estimate:
    """``row[k] / row[n]`` of one table row as an Estimate (Wilson)."""
    return Estimate.proportion(float(row[k]), float(row[n]))


def tier_value(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """Value of each member tier in the period: buyers, GMV per buyer (with its interval), orders per buyer.

    Also ``members`` (all customers of the tier) and ``active_share`` (members who bought in the
    period, Wilson interval). GMV per buyer's interval is the t interval of a mean, clipped at 0.
    Returns one row per tier in :data:`TIERS` order (``none``: no tier, first).
    """
    from scipy.stats import t

    out = q.tier_totals(ds, f)
    if out.empty:
        return out
    buyers = out["buyers"].where(out["buyers"] > 1)
    half = t.ppf(0.5 + level / 2, buyers - 1) * out["gmv_sd"] / np.sqrt(buyers)
    out = out.assign(gmv_per_customer_low=(out["gmv_per_customer"] - half).clip(lower=0),
                     gmv_per_customer_high=out["gmv_per_customer"] + half)
    out = add_rate_interval(out, "buyers", "members", "active_share", level)
    order = {tier: i for i, tier in enumerate(TIERS)}
    return out.sort_values("member_tier", key=lambda s: s.map(lambda x: order.get(x, 99))).reset_index(drop=True)


def top_tier(tv: pd.DataFrame) -> tuple[str, Estimate]:
    """The tier whose buyers spend most, and its GMV per buyer as an Estimate (money, t interval)."""
    top = tv[tv["buyers"] > 0].sort_values("gmv_per_customer").iloc[-1]
    return str(top["member_tier"]), Estimate(top["gmv_per_customer"], top["gmv_per_customer_low"],
                                             top["gmv_per_customer_high"], n=int(top["buyers"]), method="t-mean",
                                             unit="money", bounds=(0.0, math.inf), min_n=2)


# ----- lifetime value ----------------------------------------------------------------------------

#: The repeat-purchase models compared on the calibration period (all four-parameter, chosen by AIC).
CLV_MODELS = ("bgnbd", "mbgnbd", "pareto")


@dataclass
class CLVResult:
    """Lifetime value: the models, per-customer predictions, the hold-out check and the base's mean.

    ``status`` is ``ok``, ``too_few`` or ``failed`` (``reason`` a key: ``too_few_customers``,
    ``too_few_repeat``, ``edge``, ``absurd``, ``no_curvature``, ``not_converged``); unless ``ok`` the
    Estimates are withheld (NaN, or "too few") and no parameter is to be shown. ``fits``: each model
    fitted on the calibration period (before the hold-out); the one of lowest AIC is ``method``, chosen
    without looking at the hold-out, which only reports its accuracy: ``holdout_total`` (predicted
    purchases in the hold-out weeks with a prediction interval carrying parameter and customer-level
    uncertainty, widened by the model's own error measured on the split inside the calibration period
    when there is one, :func:`workbench.stats.clv.predictive_total`) against ``holdout_actual``;
    ``holdout_model_only`` is that interval without the model error, for comparison. ``value`` is the
    mean CLV with its parameter-only confidence interval; ``predicted`` the same mean with the
    prediction interval that also carries every customer's own uncertainty and the model error. ``holdout_errors`` lists every model's hold-out error, for
    information only.
    """

    bgnbd: BGNBD | None
    gamma_gamma: GammaGamma | None
    customers: pd.DataFrame      # customer_id, frequency, recency, T, monetary, expected_purchases, p_alive, clv, ...
    holdout: pd.DataFrame        # calibration_purchases bucket, customers, predicted, actual (mean per customer)
    holdout_total: Estimate      # predicted purchases in the hold-out (chosen model), prediction interval
    holdout_actual: float
    holdout_errors: dict         # variant -> relative error of the total on the hold-out (information only)
    calibration_end: dt.date
    holdout_end: dt.date
    horizon_weeks: float
    value: Estimate
    predicted: Estimate
    n: int
    fits: dict = field(default_factory=dict)
    status: str = "ok"
    reason: str | None = None
    repeat: int = 0
    inner_errors: dict = field(default_factory=dict)   # variant -> error on the split inside the calibration period
    choice: str = "inner-split"                         # how the model was chosen: inner-split, or aic without one
    #: the hold-out total's interval without the model's own error (parameter and customer-level uncertainty only)
    holdout_model_only: Estimate = field(default_factory=lambda: Estimate(math.nan, kind="prediction"))
    seed: int = 0                                       # of the simulations (customer_intervals draws with it)

    def customer_intervals(self, level: float = 0.8) -> pd.DataFrame:
        """:attr:`customers` with each customer's own prediction interval of CLV at ``level``, ``clv_low``
        and ``clv_high`` (:func:`workbench.stats.clv.customer_intervals`: 100 simulated futures each;
        about a second on the sample shop, so only on request). Empty without a sound fit."""
        from workbench.stats.clv import customer_intervals

        if not self.ok or self.bgnbd is None or self.gamma_gamma is None:
            return self.customers.assign(clv_low=np.nan, clv_high=np.nan)
        low, high = customer_intervals(self.bgnbd, self.gamma_gamma, self.customers, self.horizon_weeks,
                                       self.seed, level)
        return self.customers.assign(clv_low=low, clv_high=high)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def holdout_predicted(self) -> float:
        return self.holdout_total.estimate

    @property
    def mean_clv(self) -> float:
        return self.value.estimate

    @property
    def mean_clv_low(self) -> float:
        return self.value.low

    @property
    def mean_clv_high(self) -> float:
        return self.value.high

    @property
    def holdout_error(self) -> float:
        return self.holdout_predicted / self.holdout_actual - 1 if self.holdout_actual else math.nan

    @property
    def holdout_weeks(self) -> int:
        return (self.holdout_end - self.calibration_end).days // 7

    @property
    def method(self) -> str | None:
        return self.bgnbd.variant if self.bgnbd is not None else None

    def model_table(self) -> pd.DataFrame:
        """One row per model fitted on the calibration period: ``model`` (key), ``status``,
        ``loglik``, ``aic``, ``inner_error`` (the choice's test inside the calibration period),
        ``holdout_error`` (reported, not used to choose) and ``chosen``."""
        rows = [{"model": v, "status": f.status, "loglik": f.loglik if f.ok else math.nan,
                 "aic": f.aic if f.ok else math.nan, "inner_error": self.inner_errors.get(v, math.nan),
                 "holdout_error": self.holdout_errors.get(v, math.nan), "chosen": v == self.method}
                for v, f in self.fits.items()]
        return pd.DataFrame(rows, columns=["model", "status", "loglik", "aic", "inner_error", "holdout_error",
                                           "chosen"])


def _withheld(n: int, min_n: int, unit: str, method: str, kind: str = "confidence") -> Estimate:
    return Estimate(math.nan, n=n, method=method, unit=unit, min_n=min_n, kind=kind, bounds=(0.0, math.inf))


#: ``$WORKBENCH_CLV_DIR``: where :func:`clv` keeps its results (``off``: not kept); default
#: ``$XDG_CACHE_HOME/workbench/clv``.
CLV_CACHE_ENV = "WORKBENCH_CLV_DIR"


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """A hash of the code a lifetime-value result depends on (data loading and views, the SQL, the
    statistics, this module) and of numpy's, scipy's and pandas' versions: a new version of any of
    them misses the results kept before."""
    import hashlib
    import sys

    import scipy

    import workbench

    root = Path(workbench.__file__).parent
    digest = hashlib.sha256(f"{np.__version__}|{scipy.__version__}|{pd.__version__}|{sys.version}".encode())
    for path in sorted([*root.glob("data/*.py"), *root.glob("sql/*.py"), *root.glob("stats/*.py"),
                        root / "topics" / "crm.py", root / "errors.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _clv_cache_path(ds: Dataset, args: tuple) -> Path | None:
    """Where the result for ``ds`` and the arguments ``args`` is kept: keyed by the data's fingerprint
    (its files' names, sizes and modification times), where its queries run, every argument and the
    code version; None when results are not kept (``$WORKBENCH_CLV_DIR=off``) or the data has no
    files to fingerprint."""
    import hashlib

    from workbench.data.cache import cache_folder

    folder = cache_folder("clv", CLV_CACHE_ENV)
    source = getattr(ds, "source", None)
    if str(folder) == "off" or source is None or not Path(source).exists():
        return None
    engine = str(getattr(ds, "engine", "duckdb"))
    key = repr((str(Path(source).resolve()), ds.fingerprint(), engine, args, _code_version()))
    return folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".pkl")


def clv(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), holdout_weeks: int = 26,
        horizon_weeks: float = 52.0, seed: int = 0, variants: tuple[str, ...] = CLV_MODELS) -> CLVResult:
    """:func:`fit_clv`, kept on disk (:data:`CLV_CACHE_ENV`) by the data's fingerprint, every argument
    and the code version, so that a filter the page has seen before (in this or an earlier kernel)
    needs no refit; the result is the one :func:`fit_clv` gives (it is deterministic given ``seed``)."""
    import pickle

    args = (as_of, tuple(channels), holdout_weeks, float(horizon_weeks), seed, tuple(variants))
    path = _clv_cache_path(ds, args)
    if path is not None and path.exists():
        try:
            with open(path, "rb") as fh:
                kept = pickle.load(fh)
            if isinstance(kept, CLVResult):
                return kept
        except Exception:  # noqa: BLE001 - a damaged or foreign file is computed again
            pass
    out = fit_clv(ds, as_of, channels, holdout_weeks, horizon_weeks, seed, variants)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass
    return out


def fit_clv(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), holdout_weeks: int = 26,
            horizon_weeks: float = 52.0, seed: int = 0, variants: tuple[str, ...] = CLV_MODELS) -> CLVResult:
    """Fit BG/NBD, MBG/NBD and Pareto/NBD and Gamma-Gamma, check them on a hold-out, predict each customer's value.

    Choice, on the calibration period only (the history up to ``as_of`` minus ``holdout_weeks``): each
    of ``variants`` is fitted on the calibration period shortened by another ``holdout_weeks`` and
    predicts its last ``holdout_weeks``; the sound model of smallest error there is kept (lowest AIC on
    the calibration period when that earlier history is too short). The hold-out plays no part. Check: the kept model predicts
    each customer's purchases in the hold-out weeks (with a prediction interval for the total that also
    carries the model's own error, its relative error on that inner split; without an inner split the
    interval carries parameter and customer-level uncertainty only and its method says so), compared
    with what happened. Prediction: the kept model refitted on all history up to ``as_of`` gives each
    customer's expected purchases and GMV over ``horizon_weeks``, the probability of being active and a
    per-customer prediction interval (:func:`workbench.stats.clv.mean_clv`). Too few customers or a
    degenerate fit give ``status`` ``too_few`` or ``failed`` with withheld Estimates, never numbers.
    """
    from workbench.stats.clv import MIN_CUSTOMERS, choose_model, predictive_totals

    f = Filters(start=as_of, end=as_of, channels=channels)
    cal_end = as_of - dt.timedelta(weeks=holdout_weeks)
    cal = q.customer_summary(ds, f, as_of, cal_end, as_of)
    n_cal, repeat = len(cal), int((cal["frequency"] > 0).sum()) if len(cal) else 0
    by_aic, fits = choose_model(cal, variants)
    inner = _inner_split_errors(ds, f, cal_end, holdout_weeks, variants) if by_aic is not None else {}
    sound = {v: e for v, e in inner.items() if fits[v].ok and math.isfinite(e)}
    chosen = fits[min(sound, key=lambda v: abs(sound[v]))] if sound else by_aic
    choice = "inner-split" if sound else "aic"
    actual_total = float(cal["holdout_purchases"].sum()) if len(cal) else 0.0
    errors = {}
    for variant, fit in fits.items():
        if fit.ok and actual_total:
            pred = expected_purchases(fit.vector, holdout_weeks, cal["frequency"], cal["recency"], cal["T"], variant)
            errors[variant] = float(pred.sum() / actual_total - 1)

    def give_up(status: str, reason: str | None, n: int) -> CLVResult:
        empty = pd.DataFrame(columns=["calibration_purchases", "customers", "predicted", "actual"])
        return CLVResult(None, None, pd.DataFrame(), empty,
                         _withheld(n, MIN_CUSTOMERS, "count", "holdout-predictive", "prediction"), actual_total,
                         errors, cal_end, as_of, horizon_weeks, _withheld(n, MIN_CUSTOMERS, "money", "clv-param-draws"),
                         _withheld(n, MIN_CUSTOMERS, "money", "clv-predictive", "prediction"), n, fits, status, reason,
                         repeat)

    if chosen is None:
        statuses = {fit.status for fit in fits.values()}
        status = "too_few" if statuses == {"too_few"} else "failed"
        reason = next(iter(fits.values())).reason if status == "too_few" else \
            next(fit.reason for fit in fits.values() if fit.status == "failed")
        return give_up(status, reason, n_cal)
    variant = chosen.variant
    # the model's own error, measured inside the calibration period (None without that split: the
    # interval then carries parameter and customer-level uncertainty only, and its method says so)
    model_error = inner.get(variant) if choice == "inner-split" else None
    # one simulation gives both intervals (the same seed draws the same totals; see predictive_totals)
    total, model_only = predictive_totals(chosen, holdout_weeks, cal, seed=seed, model_error=model_error)
    if model_error is None:
        model_only = total
    pred = expected_purchases(chosen.vector, holdout_weeks, cal["frequency"], cal["recency"], cal["T"], variant)
    holdout = (pd.DataFrame({"calibration_purchases": cal["frequency"].clip(upper=7), "predicted": pred,
                             "actual": cal["holdout_purchases"]})
               .groupby("calibration_purchases").agg(customers=("predicted", "size"), predicted=("predicted", "mean"),
                                                     actual=("actual", "mean")).reset_index())
    full = q.customer_summary(ds, f, as_of, as_of)
    bg = fit_bgnbd(full, variant)
    gg = fit_gamma_gamma(full)
    if not (bg.ok and gg.ok):
        out = give_up(bg.status if not bg.ok else gg.status, bg.reason if not bg.ok else gg.reason, len(full))
        out.holdout, out.holdout_total, out.holdout_model_only = holdout, total, model_only
        return out
    # the customers' own intervals are shown nowhere on the page: CLVResult.customer_intervals() on request
    customers, value, predicted = mean_clv(bg, gg, full, horizon_weeks, seed=seed, model_error=model_error,
                                           intervals=False)
    return CLVResult(bg, gg, customers, holdout, total, actual_total, errors, cal_end, as_of, horizon_weeks, value,
                     predicted, len(full), fits, "ok", None, repeat, inner, choice, model_only, seed)


def _inner_split_errors(ds: Dataset, f: Filters, cal_end: dt.date, weeks: int,
                        variants: tuple[str, ...]) -> dict[str, float]:
    """The model choice's own test, inside the calibration period: each variant fitted on the history up
    to ``cal_end`` minus ``weeks`` predicts the ``weeks`` up to ``cal_end``; its relative error of the
    total by variant (empty when that earlier history is too short to fit)."""
    inner_end = cal_end - dt.timedelta(weeks=weeks)
    summ = q.customer_summary(ds, f, cal_end, inner_end, cal_end)
    actual = float(summ["holdout_purchases"].sum()) if len(summ) else 0.0
    out = {}
    for variant in variants:
        fit = fit_bgnbd(summ, variant)
        if fit.ok and actual:
            pred = expected_purchases(fit.vector, weeks, summ["frequency"], summ["recency"], summ["T"], variant)
            out[variant] = float(pred.sum() / actual - 1)
    return out


@dataclass
class MonthlyRepeat:
    """BG/BB on calendar months (a membership-like, discrete-time view of buying): the fit, the customers'
    expected purchase months in the hold-out with the actual, and their relative error. ``status`` as for
    :class:`CLVResult`; the Estimates are withheld unless the fit is ``ok``."""

    fit: object
    holdout_months: int
    predicted: Estimate          # expected purchase months in the hold-out, all customers together
    actual: float
    n: int

    @property
    def error(self) -> float:
        return self.predicted.estimate / self.actual - 1 if self.actual and self.predicted.ok else math.nan


def monthly_repeat(ds: Dataset, as_of: dt.date, holdout_months: int = 6,
                   channels: tuple[str, ...] = ()) -> MonthlyRepeat:
    """Fit BG/BB (:mod:`workbench.stats.clv_bgbb`) with months as the opportunities, calibrated up to
    ``holdout_months`` before ``as_of``'s month, and check its expected purchase months on the hold-out.

    For data whose rhythm is a period (monthly boxes, memberships, renewals) rather than a continuous
    rate. The expected total has no interval (``method="bgbb"``, a point prediction); below the
    models' minimum n or on a degenerate fit it is withheld."""
    from workbench.stats import clv_bgbb

    f = Filters(start=as_of, end=as_of, channels=channels)
    first_of_month = as_of.replace(day=1)
    cal_end = (pd.Timestamp(first_of_month) - pd.DateOffset(months=holdout_months)).date() - dt.timedelta(days=1)
    summ = q.monthly_summary(ds, f, as_of, cal_end)
    g = summ.groupby(["frequency", "recency", "n"], as_index=False).agg(customers=("customer_id", "size"),
                                                                        holdout=("holdout_months", "sum"))
    fit = clv_bgbb.fit_bgbb(g, weights="customers") if len(g) else clv_bgbb.fit_bgbb(
        pd.DataFrame({"frequency": [], "recency": [], "n": [], "customers": []}), weights="customers")
    actual = float(g["holdout"].sum()) if len(g) else 0.0
    if not fit.ok:
        return MonthlyRepeat(fit, holdout_months, Estimate(math.nan, n=fit.n, method="bgbb", unit="count",
                                                           min_n=100), actual, fit.n)
    e = clv_bgbb.expected_transactions(fit.vector, holdout_months, g["frequency"], g["recency"], g["n"])
    total = float((e * g["customers"]).sum())
    return MonthlyRepeat(fit, holdout_months, Estimate(total, n=fit.n, method="bgbb", unit="count", min_n=100),
                         actual, fit.n)


def clv_by_segment(result: CLVResult, ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """Mean predicted CLV, expected purchases and probability active per RFM segment (as of the period's end)."""
    seg = q.rfm_customers(ds, f, f.end, window_days)[["customer_id", "segment"]]
    if not result.ok:
        return pd.DataFrame(columns=["segment", "customers", "clv", "expected_purchases", "p_alive"])
    merged = result.customers.merge(seg, on="customer_id", how="inner")
    if merged.empty:
        return pd.DataFrame(columns=["segment", "customers", "clv", "expected_purchases", "p_alive"])
    out = merged.groupby("segment").agg(customers=("clv", "size"), clv=("clv", "mean"),
                                        expected_purchases=("expected_purchases", "mean"),
                                        p_alive=("p_alive", "mean")).reset_index()
    return out.sort_values("segment", key=lambda s: s.map(_ORDER)).reset_index(drop=True)


# ----- late deliveries ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DelayEffect:
    """What a late delivery does to buying again: the shared effect and the descriptive comparison.

    ``odds`` is :func:`workbench.stats.effects.late_repeat_effect` (odds ratio, adjusted for channel,
    acquisition channel, month, order value, prior orders and damage) over every delivered order of
    the history, the same figure the logistics page shows; ``late`` and ``on_time`` are the shares
    of late and on-time orders followed by another order within ``window_days`` (Wilson).
    """

    odds: Effect
    late: Estimate
    on_time: Estimate
    window_days: int

    @property
    def odds_ratio(self) -> float:
        return self.odds.estimate

    @property
    def low(self) -> float:
        return self.odds.low

    @property
    def high(self) -> float:
        return self.odds.high

    @property
    def repeat_rate_late(self) -> float:
        return self.late.estimate

    @property
    def repeat_rate_on_time(self) -> float:
        return self.on_time.estimate


def delay_effect(ds: Dataset, window_days: int = 365) -> DelayEffect:
    """Does a late delivery cost us the customer? The logistics page's effect, with the raw repeat rates.

    Whole history (the effect does not move with the filter bar). Raises :class:`EmptyPeriodError`
    when late or on-time orders with a full window number fewer than 30.
    """
    ds.require(NEEDS_DELAY)
    frame = shipments_sql.lateness_orders(ds, window_days)
    known = frame.dropna(subset=["repeat"])
    late, on_time = known[known["late"] == 1], known[known["late"] == 0]
    if len(late) < 30 or len(on_time) < 30:
        raise EmptyPeriodError("too few delivered orders, late and on time, with a full repurchase window")
    return DelayEffect(late_repeat_effect(frame, odds_ratio=True),
                       Estimate.proportion(late["repeat"].sum(), len(late)),
                       Estimate.proportion(on_time["repeat"].sum(), len(on_time)), window_days)
