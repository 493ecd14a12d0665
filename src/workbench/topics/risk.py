"""Risk management: a risk register, and indicators from the data that say whether a risk is happening.

What goes in: a :class:`~workbench.data.loader.Dataset`, :class:`~workbench.sql.common.Filters` and a risk
register (YAML). What comes out: tidy frames (daily series with a robust baseline, ranked
suspicious addresses, cover days per product, concentration indices), :class:`Alert` objects (a key,
a level and the values behind it; the catalogue's ``risk.alert.<key>`` says what happened, how unusual
it is and where to look), and the register with likelihoods taken from the data. The headline KPIs
(GMV, refund rate, …) are the registry's (:func:`workbench.topics.kpi.kpi`): a red KPI is an alert
here as on the overview. SQL lives in :mod:`workbench.sql.risk`, estimators in :mod:`workbench.stats`.

Methods
-------
* KPI anomalies and refund spikes: a seasonal baseline (the median of the same weekday over the
  previous eight weeks) and a robust scale (1.4826 × the median absolute residual over the
  previous 56 days, floored by the Poisson noise of a count); a day is flagged when its robust
  z-score passes :data:`Z_ALERT`.
* Suspicious orders: accounts that share one (tokenised) address, their coupon use and refunds;
  customers whose refund count is improbable under the shop's refund rate (binomial upper tail).
* Stock-out risk: days of cover = stock on hand ÷ the forecast page's units a day ahead, with the
  interval of the forecast rate (the last 28 days' average and its Poisson interval without the 56 days
  of history a forecast needs).
* Concentration: the Herfindahl–Hirschman index (sum of squared shares) of GMV by platform and
  supplier and of parcels by carrier, with a 95% interval from resampling days; 0.15 and 0.25 are
  the usual thresholds for moderate and high concentration.
* Currency exposure: GMV in foreign currencies, the volatility of their daily rates and a 30-day
  95% value at risk (normal approximation).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workbench.data.loader import Dataset
from workbench.errors import DataError, EmptyPeriodError, MissingTableError
from workbench.sql import calendar, metrics
from workbench.sql import risk as sql
from workbench.sql.filters import Filters
from workbench.stats.anomaly import Z_ALERT, robust_baseline  # noqa: F401  (charts read Z_ALERT)
from workbench.stats.concentration import MIN_UNITS, hhi, hhi_interval  # noqa: F401  (hhi: part of this module's API)
from workbench.stats.counts import binomial_upper_tail, poisson_interval, poisson_upper_tail
from workbench.stats.result import Estimate
from workbench.topics import forecast
from workbench.topics import kpi as kpi_mod

CATEGORIES = ("market", "operations", "technology", "legal", "financial")
Z_WATCH = 3.0          # ... and a watch
HISTORY_DAYS = 182     # days of history shown around the period for anomalies
COVER_RED, COVER_AMBER = 7.0, 14.0

NEEDS_ORDERS = {"orders": ["paid_amount", "ordered_at", "channel", "status"]}
NEEDS_REFUNDS = {"orders": ["ordered_at", "channel", "status"]}
NEEDS_SUSPICIOUS = {"orders": ["customer_id", "ordered_at", "status", "coupon_code"],
                    "customers": ["customer_id", "address"]}
NEEDS_STOCK = {"inventory": ["date", "product_id", "stock_on_hand"], "order_items": ["product_id", "quantity"]}
NEEDS_CONCENTRATION = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_CURRENCY = {"orders": ["currency", "paid_amount", "ordered_at"], "fx_rates": ["date", "currency", "rate_to_cny"]}
NEEDS_REGISTER = {"orders": []}



# ------------------------------------------------------------------------------------------------
# register
# ------------------------------------------------------------------------------------------------
def default_register_path() -> Path:
    """The register packaged with the workbench."""
    return Path(__file__).with_name("risk_register.yaml")


def register_path(data_dir: str | Path | None) -> Path:
    """``<data_dir>/risk_register.yaml`` when the data folder holds one, else the packaged default."""
    if data_dir:
        p = Path(data_dir)
        p = p if p.is_dir() else p.parent
        if (p / "risk_register.yaml").exists():
            return p / "risk_register.yaml"
    return default_register_path()


def _both(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        en = str(value.get("en") or value.get("zh") or "")
        return en, str(value.get("zh") or en)
    return str(value or ""), str(value or "")


def load_register(path: str | Path | None = None) -> pd.DataFrame:
    """Read a risk register (YAML with a ``risks`` list) into a frame.

    Returns one row per risk: ``id``, ``risk_en``, ``risk_zh``, ``category``, ``owner_en``, ``owner_zh``,
    ``likelihood``, ``impact`` (1–5), ``mitigation_en``, ``mitigation_zh``, ``indicator`` (or None).
    Raises :class:`DataError` naming the entry and field when the file is not a valid register.
    """
    path = Path(path) if path else default_register_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot be read as a risk register ({exc}); check the YAML syntax") from None
    items = doc.get("risks") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise DataError(f"{path}: expected a list under 'risks:' with at least one risk")
    rows, problems = [], []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(f"entry {i} is not a mapping")
            continue
        rid = str(item.get("id") or f"risk_{i}")
        cat = str(item.get("category", "")).lower()
        if cat not in CATEGORIES:
            problems.append(f"{rid}: category {cat!r} is not one of {', '.join(CATEGORIES)}")
        for k in ("likelihood", "impact"):
            v = item.get(k)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 1 <= v <= 5:
                problems.append(f"{rid}: {k} must be a number from 1 to 5, not {v!r}")
        risk_en, risk_zh = _both(item.get("risk"))
        owner_en, owner_zh = _both(item.get("owner"))
        if not risk_en:
            problems.append(f"{rid}: 'risk' (a short description) is missing")
        mit_en, mit_zh = _both(item.get("mitigation"))
        rows.append({"id": rid, "risk_en": risk_en, "risk_zh": risk_zh, "category": cat,
                     "owner_en": owner_en, "owner_zh": owner_zh, "likelihood": item.get("likelihood"),
                     "impact": item.get("impact"), "mitigation_en": mit_en, "mitigation_zh": mit_zh,
                     "indicator": item.get("indicator") or None})
    if problems:
        raise DataError(f"{path}: the risk register has problems: " + "; ".join(problems))
    out = pd.DataFrame(rows)
    out[["likelihood", "impact"]] = out[["likelihood", "impact"]].astype(float)
    return out


# ------------------------------------------------------------------------------------------------
# robust seasonal baseline
# ------------------------------------------------------------------------------------------------


def _history(f: Filters, days: int = HISTORY_DAYS) -> Filters:
    """The period widened back to ``days`` days of history before its end (plus 8 weeks of warm-up)."""
    start = min(f.start, f.end - dt.timedelta(days=days - 1)) - dt.timedelta(days=7 * 8 + 56)
    return replace(f, start=start, compare_start=None, compare_end=None)


def _calendar(frame: pd.DataFrame, start: dt.date, end: dt.date, cols: list[str]) -> pd.DataFrame:
    cal = pd.DataFrame({"date": pd.date_range(start, end, freq="D")})
    frame = frame.assign(date=pd.to_datetime(frame["date"]))
    out = cal.merge(frame, on="date", how="left")
    out[cols] = out[cols].fillna(0.0)
    return out


# ------------------------------------------------------------------------------------------------
# KPI anomalies and refund spikes
# ------------------------------------------------------------------------------------------------
def daily_orders(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per day over the period and its history (:func:`_history`): ``gmv``, ``orders`` (valid orders),
    ``refunds`` (refunded orders by order date) and ``refund_cny``; a complete calendar. One scan of orders
    that :func:`kpi_anomalies` and :func:`refund_daily` share."""
    ds.require(NEEDS_ORDERS)
    h = _history(f)
    daily = sql.daily_orders(ds, h)
    return _calendar(daily, h.start, f.end, ["gmv", "orders", "refunds", "refund_cny"])


def kpi_anomalies(ds: Dataset, f: Filters, daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """Daily GMV and orders over the period and its recent history, each with a robust baseline.

    ``daily`` may pass a :func:`daily_orders` frame already computed for the same filters.
    Returns a long frame: ``date``, ``metric`` (gmv, orders), ``value``, ``baseline``, ``low``,
    ``high``, ``robust_z``, ``in_period`` (bool), ``campaign`` (a campaign's id running that day
    or None, since campaign days are expected to stand out).
    """
    daily = daily_orders(ds, f) if daily is None else daily
    h = _history(f)
    campaigns = _campaign_days(ds, h.start, f.end)
    frames = []
    for metric in ("gmv", "orders"):
        b = robust_baseline(daily[["date", metric]].rename(columns={metric: "value"}), "value",
                            count=metric == "orders")
        frames.append(b.assign(metric=metric))
    out = pd.concat(frames, ignore_index=True)
    out = out.merge(campaigns, on="date", how="left")
    out["in_period"] = out["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end))
    shown = pd.Timestamp(f.end - dt.timedelta(days=HISTORY_DAYS - 1))
    return out[out["date"] >= min(shown, pd.Timestamp(f.start))].reset_index(drop=True)


def _campaign_days(ds: Dataset, start: dt.date, end: dt.date) -> pd.DataFrame:
    """``date``, ``campaign`` (the campaign's id) for every campaign day from ``start`` to ``end``."""
    days = calendar.campaign_days(ds, start, end)
    return days[["date", "campaign_id"]].rename(columns={"campaign_id": "campaign"})


def refund_daily(ds: Dataset, f: Filters, daily: pd.DataFrame | None = None, days: int = 56) -> pd.DataFrame:
    """Refunded orders per day (by order date) over the period and its recent history, against what the
    day's orders would bring at the usual refund rate.

    A refund is an order whose status is ``refunded``, counted on the day it was placed, so that a
    wave of refunds points back at the orders that caused it. The expected count (``baseline``) is
    the day's valid orders × the median daily refund rate of the previous ``days`` days, so that
    campaign days with many orders do not alarm; the scale is 1.4826 × the median absolute
    residual of the previous ``days`` days, never below the binomial standard deviation. Returns
    ``date``, ``refunds``, ``refund_cny``, ``orders``, ``refund_rate``, ``baseline``, ``scale``,
    ``low``, ``high``, ``robust_z`` and ``in_period``. ``daily`` may pass a :func:`daily_orders` frame.
    """
    out = (daily_orders(ds, f) if daily is None else daily).copy()
    out["refund_rate"] = out["refunds"] / out["orders"].where(out["orders"] > 0)
    base_rate = out["refund_rate"].shift(1).rolling(days, min_periods=21).median()
    expected = base_rate * out["orders"]
    resid = out["refunds"] - expected
    scale = resid.abs().shift(1).rolling(days, min_periods=21).median() * 1.4826
    scale = np.maximum(np.maximum(scale, np.sqrt(expected * (1 - base_rate))), 1.0)
    out["baseline"], out["scale"] = expected, scale
    out["low"], out["high"] = expected - Z_ALERT * scale, expected + Z_ALERT * scale
    out["robust_z"] = resid / scale
    out["in_period"] = out["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end))
    shown = pd.Timestamp(min(f.start, f.end - dt.timedelta(days=HISTORY_DAYS - 1)))
    return out[out["date"] >= shown].reset_index(drop=True)


def spike_days(daily: pd.DataFrame, z: float = Z_ALERT, period_only: bool = True) -> pd.DataFrame:
    """Days of a :func:`refund_daily` / :func:`robust_baseline` frame whose robust z is above ``z``."""
    mask = daily["robust_z"] > z
    if period_only and "in_period" in daily:
        mask &= daily["in_period"]
    return daily[mask].sort_values("robust_z", ascending=False).reset_index(drop=True)


def refund_spike_where(ds: Dataset, day: dt.date | pd.Timestamp, f: Filters) -> pd.DataFrame:
    """Where a refund spike comes from: refunded orders placed on ``day`` by channel, coupon, product
    and return reason (the last two when ``order_items`` / ``returns`` are loaded) against the
    average day of the previous 28 days. Returns ``dimension``, ``value``, ``refunds``, ``usual``
    (average per day before), ``excess`` (refunds − usual), sorted by excess."""
    day = pd.Timestamp(day).date()
    dims = ["channel"]
    if ds.has("orders", ["coupon_code"]):
        dims.append("coupon_code")
    if ds.has("order_items"):
        dims.append("product_id")
    if ds.has("returns", ["reason"]):
        dims.append("reason")
    rows = [sql.refunds_by(ds, f, day, name).assign(dimension=name) for name in dims]
    out = pd.concat(rows, ignore_index=True)
    out = out[out["value"] != "none"] if len(out) else out
    out["excess"] = out["refunds"] - out["usual"]
    return out.sort_values("excess", ascending=False).reset_index(drop=True)[
        ["dimension", "value", "refunds", "usual", "excess"]]


# ------------------------------------------------------------------------------------------------
# suspicious order patterns
# ------------------------------------------------------------------------------------------------
def shared_addresses(ds: Dataset, f: Filters, min_accounts: int = 3) -> pd.DataFrame:
    """Addresses (tokens) shared by several accounts that ordered in the period, ranked by suspicion.

    For each address token with at least ``min_accounts`` ordering accounts: ``accounts``,
    ``orders``, ``coupon_orders``, ``coupons`` (distinct codes), ``top_coupon`` and
    ``top_coupon_share`` (share of the address's orders on its most used code), ``refund_orders``,
    ``first_signup``/``last_signup`` and ``tail_p`` — the chance of seeing that many accounts at
    one address if accounts were spread as at the other addresses (Poisson upper tail, with the
    mean accounts per address of the shop), and ``score`` = −log10(tail_p) + 3 × coupon share.
    Raises :class:`MissingTableError` without customers' addresses.
    """
    ds.require(NEEDS_SUSPICIOUS)
    per_address = sql.address_groups(ds, f, min_accounts)
    cols = ["address_token", "accounts", "orders", "coupon_orders", "coupons", "top_coupon", "top_coupon_share",
            "refund_orders", "first_signup", "last_signup", "tail_p", "score"]
    if per_address.empty:
        return pd.DataFrame(columns=cols)
    coupons = sql.coupons_at(ds, f, per_address["address_token"].tolist())
    if coupons.empty:
        top = pd.DataFrame({"address_token": per_address["address_token"], "coupons": 0, "top_coupon": None,
                            "top_n": 0})
    else:
        coupons = coupons.sort_values(["address_token", "n"], ascending=[True, False])
        top = coupons.groupby("address_token").agg(coupons=("coupon_code", "nunique"),
                                                   top_coupon=("coupon_code", "first"),
                                                   top_n=("n", "first")).reset_index()
    out = per_address.merge(top, on="address_token", how="left")
    out["coupons"] = out["coupons"].fillna(0).astype(int)
    out["top_coupon_share"] = out["top_n"].fillna(0) / out["orders"]
    mean = float(per_address["mean_accounts"].iloc[0])
    # accounts per address beyond the first, Poisson with the shop's mean excess
    lam = max(mean - 1.0, 1e-3)
    out["tail_p"] = poisson_upper_tail(out["accounts"] - 1, lam)
    out["score"] = -np.log10(out["tail_p"].clip(lower=1e-300)) + 3 * out["top_coupon_share"]
    return out.sort_values("score", ascending=False).reset_index(drop=True)[cols]


def customer_refund_outliers(ds: Dataset, f: Filters, min_orders: int = 3, alpha: float = 0.001) -> pd.DataFrame:
    """Customers whose refunds in the period are improbable under the shop's refund rate.

    Binomial upper tail P(X ≥ refunds | orders, shop rate) for customers with at least
    ``min_orders`` orders; flagged when below ``alpha`` divided by the number tested (Bonferroni).
    Returns ``customer_id``, ``orders``, ``refunds``, ``refund_rate``, ``p_value``, ``flagged``
    and ``attrs['shop_rate']``, ``attrs['tested']``.
    """
    ds.require(NEEDS_REFUNDS)
    per = sql.refunds_per_customer(ds, f, min_orders)
    whole = metrics.period(ds, f, "refund_rate")  # the shop's refund rate: the registry's definition
    rate = whole["num"] / whole["den"] if whole["den"] else float("nan")
    if per.empty or not np.isfinite(rate):
        out = pd.DataFrame(columns=["customer_id", "orders", "refunds", "refund_rate", "p_value", "flagged"])
    else:
        out = per.assign(refund_rate=per["refunds"] / per["orders"],
                         p_value=binomial_upper_tail(per["refunds"], per["orders"], max(rate, 1e-6)))
        out["flagged"] = out["p_value"] < alpha / max(len(out), 1)
        out = out.sort_values("p_value").reset_index(drop=True)
    out.attrs.update(shop_rate=rate, tested=len(per))
    return out


# ------------------------------------------------------------------------------------------------
# stock-out risk
# ------------------------------------------------------------------------------------------------
#: Per dataset: the replenishment forecasts :func:`inventory_cover` used, by their arguments (the
#: forecast depends on the day of stock and the channels, not on the period's start: a new start
#: date refits nothing). The last few are kept; a loaded dataset does not change.
_REPLENISHMENT: weakref.WeakKeyDictionary[Dataset, OrderedDict] = weakref.WeakKeyDictionary()
_REPLENISHMENT_KEPT = 16


def _replenishment(ds: Dataset, origin: Filters, lead_time_days: int, service_level: float) -> pd.DataFrame | None:
    """:func:`workbench.topics.forecast.replenishment` for ``origin`` (None when the data give no
    forecast), computed once per dataset and arguments; callers must not modify the frame."""
    kept = _REPLENISHMENT.setdefault(ds, OrderedDict())
    key = (origin, lead_time_days, float(service_level))
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    try:
        rep = forecast.replenishment(ds, origin, lead_time_days, service_level)
    except (DataError, EmptyPeriodError):
        rep = None
    kept[key] = rep
    while len(kept) > _REPLENISHMENT_KEPT:
        kept.popitem(last=False)
    return rep


def inventory_cover(ds: Dataset, f: Filters, sales_days: int = 28, level: float = 0.95, lead_time_days: int = 14,
                    service_level: float = 0.95) -> pd.DataFrame:
    """Days of cover per product on the period's last day with stock data, from the forecast page's demand.

    Cover = stock on hand ÷ the product's forecast units a day from that day on
    (:func:`workbench.topics.forecast.replenishment`: campaigns ahead included, intermittent sellers by
    SBA/TSB), with its interval; the reorder point at ``lead_time_days`` and ``service_level`` comes with it.
    With too short a history for a forecast (under 56 days) cover falls back to the average of the last
    ``sales_days`` days with an exact Poisson interval at ``level``, and ``attrs['method']`` says which
    (``forecast`` or ``recent_average``), ``attrs['lead_time_days']`` and ``attrs['service_level']`` the
    reorder point's parameters. Returns ``product_id``, ``name``, ``category``, ``stock_on_hand``,
    ``daily_units``, ``cover_days``, ``cover_low``, ``cover_high``, ``gmv_28d`` (sales of the last
    ``sales_days`` days), ``reorder_point`` and ``reorder_now`` (NaN/False without a forecast), ``level``
    (alert below 7 days, watch below 14, ok), sorted by cover; ``attrs['as_of']``. Products that did not
    sell in the last ``sales_days`` days are left out (no sales, no stock-out risk).

    The stock is the whole shop's (the inventory table has no channel), so the cover is that stock over
    every channel's demand whatever the channel filter: the demand of chosen channels alone would make
    the cover look longer than it is. Only the period's end matters.
    """
    ds.require(NEEDS_STOCK)
    f = Filters(f.start, f.end, (), compare="none")  # every channel draws on the same stock
    day = sql.last_stock_day(ds, f.end)
    if day is None:
        raise EmptyPeriodError("no inventory records on or before the end of the period; "
                               "export the daily stock (inventory) for the period")
    frame = sql.stock_and_sales(ds, f, day, sales_days)
    origin = forecast.origin_filters(Filters(day, day, (), compare="none"))  # the history up to the stock day
    rep = _replenishment(ds, origin, lead_time_days, service_level)
    if rep is not None:
        cols = ["product_id", "units_per_day", "days_of_cover", "cover_low", "cover_high", "reorder_point",
                "reorder_now"]
        out = frame.merge(rep[cols], on="product_id", how="inner")
        out = out.assign(daily_units=out["units_per_day"], cover_days=out["days_of_cover"])
        out = out.drop(columns=["units", "units_per_day", "days_of_cover"])
        method = "forecast"
    else:
        units = frame["units"].to_numpy(dtype=float)
        lo, hi = poisson_interval(units, level)
        stock = frame["stock_on_hand"].to_numpy(dtype=float)
        out = frame.assign(daily_units=units / sales_days,
                           cover_days=stock / (units / sales_days),
                           cover_low=stock / (hi / sales_days),
                           cover_high=stock / np.maximum(lo / sales_days, 1e-9),
                           reorder_point=np.nan, reorder_now=False).drop(columns="units")
        method = "recent_average"
    out["level"] = np.where(out["cover_days"] < COVER_RED, "alert",
                            np.where(out["cover_days"] < COVER_AMBER, "watch", "ok"))
    out = out.sort_values("cover_days", kind="stable").reset_index(drop=True)
    out.attrs["as_of"] = day
    out.attrs["method"] = method
    out.attrs["lead_time_days"], out.attrs["service_level"] = lead_time_days, service_level
    return out


# ------------------------------------------------------------------------------------------------
# concentration
# ------------------------------------------------------------------------------------------------
@dataclass
class Concentration:
    """Herfindahl–Hirschman index of one dimension, with its interval (days resampled; see :attr:`estimate`)."""

    dimension: str
    hhi: float
    low: float
    high: float
    top: str
    top_share: float
    groups: int
    n: int              # orders or parcels behind the shares
    shares: pd.DataFrame = field(repr=False)
    method: str = "hhi-bootstrap-days"

    @property
    def estimate(self) -> Estimate:
        """The index as an :class:`Estimate` (interval from resampling days; bounded to 0–1)."""
        return Estimate(self.hhi, self.low, self.high, n=self.n, method=self.method, unit="score", bounds=(0.0, 1.0),
                        min_n=MIN_UNITS)

    @property
    def equivalent_n(self) -> float:
        """The number of equal-sized partners that would give the same HHI (1 / HHI)."""
        return 1.0 / self.hhi if self.hhi > 0 else float("nan")

    @property
    def level(self) -> str:
        return "alert" if self.hhi >= 0.25 else "watch" if self.hhi >= 0.15 else "ok"


def _concentration(daily: pd.DataFrame, dimension: str, weight: str, n_boot: int = 500,
                   seed: int = 0, level: float = 0.95) -> Concentration | None:
    """HHI from a frame of ``date``, ``group``, ``weight``, ``n`` (count behind the weight)."""
    if daily.empty or daily[weight].sum() <= 0:
        return None
    rows = daily[daily["group"].notna() & daily["date"].notna()]
    dates, di = np.unique(rows["date"].to_numpy(), return_inverse=True)
    groups, gi = np.unique(rows["group"].astype(str).to_numpy(dtype=object), return_inverse=True)
    wide = np.zeros((len(dates), len(groups)))  # days x groups, both sorted (as a pivot table orders them)
    np.add.at(wide, (di, gi), rows[weight].to_numpy(dtype=float))
    totals = pd.Series(wide.sum(axis=0), index=pd.Index(groups, name="group"))
    shares = (totals / totals.sum()).sort_values(ascending=False)
    low, high = hhi_interval(wide, level, n_boot, seed)
    return Concentration(dimension, hhi(totals.to_numpy()), float(low), float(high), str(shares.index[0]),
                         float(shares.iloc[0]), len(shares), int(daily["n"].sum()),
                         shares.rename("share").rename_axis(dimension).reset_index())


def concentration(ds: Dataset, f: Filters) -> list[Concentration]:
    """HHI of GMV by platform (sales channel), GMV by supplier and parcels by carrier, where the data allow.

    The platform index uses every channel (a channel filter would hide the dependence it measures);
    supplier and carrier follow the channel filter. Returns the available :class:`Concentration`s.
    """
    ds.require(NEEDS_CONCENTRATION)
    out: list[Concentration] = []
    platform = sql.platform_shares(ds, f)
    out.append(_concentration(platform, "platform", "w"))
    if ds.has("order_items") and ds.has("products", ["supplier"]):
        supplier = sql.supplier_shares(ds, f)
        out.append(_concentration(supplier, "supplier", "w"))
    if ds.has("shipments", ["carrier", "shipped_at"]):
        carrier = sql.carrier_shares(ds, f)
        out.append(_concentration(carrier, "carrier", "w"))
    return [c for c in out if c is not None]


def concentration_table(items: list[Concentration]) -> pd.DataFrame:
    """One row per dimension: ``dimension``, ``hhi``, ``hhi_low``, ``hhi_high``, ``equivalent_n``,
    ``top``, ``top_share``, ``groups``, ``n``, ``level``."""
    return pd.DataFrame([{"dimension": c.dimension, "hhi": c.hhi, "hhi_low": c.low, "hhi_high": c.high,
                          "equivalent_n": c.equivalent_n, "top": c.top, "top_share": c.top_share,
                          "groups": c.groups, "n": c.n, "level": c.level} for c in items])


# ------------------------------------------------------------------------------------------------
# currency exposure
# ------------------------------------------------------------------------------------------------
def currency_exposure(ds: Dataset, f: Filters, horizon_days: int = 30) -> pd.DataFrame:
    """GMV in foreign currencies over the period, the volatility of their rates and a value at risk.

    Per currency: ``currency``, ``exposure_cny`` (GMV converted at the day's rate), ``orders``,
    ``share_of_gmv`` (of all GMV in the period), ``rate_change`` (rate at the end of the period
    against its start), ``vol_daily`` (standard deviation of daily log changes over the 90 days
    to the end), ``var_30d_cny`` — the 95% one-sided loss on ``horizon_days`` days of exposure at
    the period's pace: exposure per day × horizon × 1.645 × vol × √horizon. Empty without
    foreign-currency sales.
    """
    ds.require(NEEDS_CURRENCY)
    gmv = sql.gmv_by_currency(ds, f)
    cols = ["currency", "exposure_cny", "orders", "share_of_gmv", "rate_change", "vol_daily", "var_30d_cny"]
    foreign = gmv[gmv["currency"] != "CNY"].copy()
    if foreign.empty:
        return pd.DataFrame(columns=cols)
    foreign["share_of_gmv"] = foreign["exposure_cny"] / foreign["total_cny"]
    vol_start = f.end - dt.timedelta(days=89)
    first = min(f.start, vol_start)
    rates = sql.fx_rates(ds, first, f.end)
    rates["date"] = pd.to_datetime(rates["date"])
    stats = []
    for cur, g in rates.groupby("currency"):
        in_period = g[g["date"] >= pd.Timestamp(f.start)]
        recent = g[g["date"] >= pd.Timestamp(vol_start)]
        change = (in_period["rate_to_cny"].iloc[-1] / in_period["rate_to_cny"].iloc[0] - 1
                  if len(in_period) > 1 else np.nan)
        vol = np.log(recent["rate_to_cny"]).diff().std() if len(recent) > 2 else np.nan
        stats.append({"currency": cur, "rate_change": change, "vol_daily": vol})
    out = foreign.merge(pd.DataFrame(stats, columns=["currency", "rate_change", "vol_daily"]),
                        on="currency", how="left")
    per_day = out["exposure_cny"] / f.days
    out["var_30d_cny"] = per_day * horizon_days * 1.645 * out["vol_daily"] * np.sqrt(horizon_days)
    return out.sort_values("exposure_cny", ascending=False).reset_index(drop=True)[cols]


# ------------------------------------------------------------------------------------------------
# alerts and the register's likelihoods from data
# ------------------------------------------------------------------------------------------------
@dataclass
class Alert:
    """Something unusual in the data: its ``key`` (the catalogue's ``risk.alert.<key>`` says what happened,
    how unusual it is and where to look), ``level`` (alert or watch), the ``values`` its sentences are
    filled from (numbers, dates as text, keys to label, Estimates), its ``date`` and headline ``value``."""

    key: str
    level: str                       # watch or alert
    values: dict[str, Any] = field(default_factory=dict)
    date: dt.date | None = None
    value: float | None = None


#: Indicators that feed the register (their names are the catalogue's ``risk.indicator.<key>``).
INDICATORS = ("platform_concentration", "supplier_concentration", "carrier_concentration", "stock_out",
              "suspicious_orders", "refund_spike", "kpi_anomaly", "currency_exposure")


def _level_score(level: str) -> float:
    return {"ok": 0.0, "watch": 0.5, "alert": 1.0}.get(level, np.nan)


def indicator_table(conc: list[Concentration] | None = None, cover: pd.DataFrame | None = None,
                    rings: pd.DataFrame | None = None, refunds: pd.DataFrame | None = None,
                    kpis: pd.DataFrame | None = None, fx: pd.DataFrame | None = None,
                    total_gmv: float | None = None, ring_score: float = 6.0) -> pd.DataFrame:
    """Turn computed indicators into one row each: ``indicator``, ``value``, ``level`` (ok, watch,
    alert) and ``score`` (0 ok, 0.5 watch, 1 alert). Any argument may be None (not available)."""
    rows = []
    for c in conc or []:
        rows.append({"indicator": f"{c.dimension}_concentration", "value": c.hhi, "level": c.level})
    if cover is not None and len(cover):
        share = float((cover["level"] == "alert").mean())
        rows.append({"indicator": "stock_out", "value": share,
                     "level": "alert" if share >= 0.10 else "watch" if share >= 0.03 else "ok"})
    if rings is not None:
        flagged = rings[rings["score"] >= ring_score] if len(rings) else rings
        n = float(flagged["accounts"].sum()) if len(flagged) else 0.0
        rows.append({"indicator": "suspicious_orders", "value": n,
                     "level": "alert" if len(flagged) else "ok"})
    if refunds is not None:
        per = refunds[refunds["in_period"]]
        n_alert = int((per["robust_z"] > Z_ALERT).sum())
        n_watch = int((per["robust_z"] > Z_WATCH).sum())
        rows.append({"indicator": "refund_spike", "value": float(n_alert),
                     "level": "alert" if n_alert else "watch" if n_watch else "ok"})
    if kpis is not None:
        per = kpis[(kpis["metric"] == "gmv") & kpis["in_period"] & kpis["campaign"].isna()]
        n_alert = int((per["robust_z"] < -Z_ALERT).sum())
        n_watch = int((per["robust_z"] < -Z_WATCH).sum())
        rows.append({"indicator": "kpi_anomaly", "value": float(n_alert),
                     "level": "alert" if n_alert else "watch" if n_watch else "ok"})
    if fx is not None and total_gmv:
        var = float(fx["var_30d_cny"].sum()) if len(fx) else 0.0
        share = var / total_gmv
        rows.append({"indicator": "currency_exposure", "value": share,
                     "level": "alert" if share >= 0.02 else "watch" if share >= 0.005 else "ok"})
    out = pd.DataFrame(rows, columns=["indicator", "value", "level"])
    out["score"] = out["level"].map(_level_score)
    return out


def apply_indicators(register: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The register with likelihoods from data where a risk has an indicator with a value.

    Likelihood from data = 1 + 4 × score (ok → 1, watch → 3, alert → 5). Returns a copy with
    ``likelihood_register`` (as written), ``likelihood`` (used), ``likelihood_source`` (data or
    register), ``level`` (the indicator's) and ``exposure`` = likelihood × impact.
    """
    out = register.copy()
    out["likelihood_register"] = out["likelihood"]
    scores = dict(zip(indicators["indicator"], indicators["score"]))
    levels = dict(zip(indicators["indicator"], indicators["level"]))
    from_data = out["indicator"].map(lambda k: scores.get(k) if k else None)
    has = from_data.notna()
    out.loc[has, "likelihood"] = 1 + 4 * from_data[has].astype(float)
    out["likelihood_source"] = np.where(has, "data", "register")
    out["level"] = out["indicator"].map(lambda k: levels.get(k) if k else None)
    out["exposure"] = out["likelihood"] * out["impact"]
    return out.sort_values("exposure", ascending=False).reset_index(drop=True)


def refund_alerts(daily: pd.DataFrame, where: pd.DataFrame | None = None, day: Any = None) -> list[Alert]:
    """Alerts for refund days above the robust threshold in the period (largest first).

    ``where`` (from :func:`refund_spike_where` for the top day) gives, per dimension (channel, coupon,
    product, reason), the value with the largest excess: ``values["where"]`` is a list of
    ``(dimension, value, excess)``; ``day`` says which day ``where`` describes.
    """
    alerts = []
    for _, r in spike_days(daily).iterrows():
        d = r["date"].date()
        parts: list[tuple[str, str, float]] = []
        if where is not None and len(where) and day is not None and pd.Timestamp(day).date() == d:
            for dim in ("channel", "coupon_code", "product_id", "reason"):
                sub = where[where["dimension"] == dim]
                if len(sub):
                    parts.append((dim, str(sub.iloc[0]["value"]), float(sub.iloc[0]["excess"])))
        alerts.append(Alert("refund_spike", "alert" if r["robust_z"] > Z_ALERT else "watch",
                            {"day": str(d), "refunds": int(r["refunds"]), "usual": float(r["baseline"]),
                             "z": float(r["robust_z"]), "z_alert": Z_ALERT, "where": parts},
                            d, float(r["refunds"])))
    return alerts


def ring_alerts(rings: pd.DataFrame, ring_score: float = 6.0, limit: int = 3) -> list[Alert]:
    """Alerts for shared addresses whose score passes ``ring_score`` (at most ``limit``)."""
    alerts = []
    for _, r in rings[rings["score"] >= ring_score].head(limit).iterrows():
        coupon = r["top_coupon"] if r["top_coupon"] is not None and r["top_coupon"] == r["top_coupon"] else None
        alerts.append(Alert("shared_address", "alert",
                            {"accounts": int(r["accounts"]), "token": str(r["address_token"]),
                             "coupon": coupon, "coupon_share": float(r["top_coupon_share"]),
                             "p": float(r["tail_p"]), "orders": int(r["orders"]),
                             "refunds": int(r["refund_orders"]), "first": _day(r["first_signup"]),
                             "last": _day(r["last_signup"])},
                            value=float(r["accounts"])))
    return alerts


def _day(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def kpi_alerts(kpis: pd.DataFrame) -> list[Alert]:
    """Alerts for days of the period outside campaigns whose GMV or orders leave the robust band:
    a fall is an alert, a rise a watch (campaign days are expected to stand out and are skipped).
    Keys ``day_low`` / ``day_high``; ``values["metric"]`` is gmv or orders."""
    alerts = []
    per = kpis[kpis["in_period"] & (kpis["robust_z"].abs() > Z_ALERT) & kpis["campaign"].isna()]
    for _, r in per.sort_values("robust_z").iterrows():
        d = r["date"].date()
        low = r["robust_z"] < 0
        alerts.append(Alert("day_low" if low else "day_high", "alert" if low else "watch",
                            {"metric": r["metric"], "day": str(d), "value": float(r["value"]),
                             "usual": float(r["baseline"]), "z": float(r["robust_z"]),
                             "unit": "money" if r["metric"] == "gmv" else "count"},
                            d, float(r["value"])))
    return alerts


def registry_alerts(items: list[kpi_mod.Kpi]) -> list[Alert]:
    """The registry KPIs whose status is red (an alert) or amber (a watch), as alerts with key ``kpi``.

    The same :func:`workbench.topics.kpi.kpi` evaluation as the overview and the topic pages, so this
    page never says "no alerts" while a KPI is red, and its count of KPI alerts equals the overview's.
    """
    bad = sorted((k for k in items if k.status in ("red", "amber")), key=lambda k: k.status != "red")  # registry order
    return [Alert("kpi", "alert" if k.status == "red" else "watch",
                  {"metric": k.key, "estimate": k.value, "comparison": k.comparison, "change": k.change,
                   "threshold": metrics.metric(k.key).red if k.status == "red" else metrics.metric(k.key).amber,
                   "page": k.page},
                  value=k.value.estimate) for k in bad]


# ------------------------------------------------------------------------------------------------
# everything at once (what the notebook memoises per filter)
# ------------------------------------------------------------------------------------------------
@dataclass
class Assessment:
    """Every risk indicator of one filter setting; a part is None when its tables are absent.

    ``concentration``, ``currency`` and ``indicators`` (the register's indicator table) feed no alert:
    they are computed when first read, so a page that shows only the alerts (the overview) does not
    wait for them.
    """

    kpis: pd.DataFrame | None
    refunds: pd.DataFrame | None
    refund_summary: kpi_mod.Kpi | None
    refund_where: pd.DataFrame | None
    rings: pd.DataFrame | None
    refund_outliers: pd.DataFrame | None
    cover: pd.DataFrame | None
    total_gmv: float
    alerts: list[Alert]
    registry: list[kpi_mod.Kpi] = field(default_factory=list)
    dataset: Dataset | None = field(default=None, repr=False, compare=False)
    filters: Filters | None = field(default=None, repr=False, compare=False)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_alerts(self) -> int:
        """Alerts (red), as against watches (amber)."""
        return sum(a.level == "alert" for a in self.alerts)

    @property
    def concentration(self) -> list[Concentration]:
        """:func:`concentration` for the filters (empty without orders)."""
        if "concentration" not in self._kept:
            ds = self.dataset
            self._kept["concentration"] = ((_maybe(concentration, ds, self.filters) or [])
                                           if ds is not None and ds.has("orders") else [])
        return self._kept["concentration"]

    @property
    def currency(self) -> pd.DataFrame | None:
        """:func:`currency_exposure` for the filters (None without rates or orders)."""
        if "currency" not in self._kept:
            ds = self.dataset
            self._kept["currency"] = (_maybe(currency_exposure, ds, self.filters)
                                      if ds is not None and ds.has("fx_rates") and ds.has("orders") else None)
        return self._kept["currency"]

    @property
    def indicators(self) -> pd.DataFrame:
        """:func:`indicator_table` of every part."""
        if "indicators" not in self._kept:
            self._kept["indicators"] = indicator_table(self.concentration, self.cover, self.rings, self.refunds,
                                                       self.kpis, self.currency, self.total_gmv)
        return self._kept["indicators"]


def _maybe(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except (MissingTableError, EmptyPeriodError):
        return None


def assess(ds: Dataset, f: Filters, registry: list[kpi_mod.Kpi] | None = None) -> Assessment:
    """Compute every alert the data allow for the filters (the indicator table, concentration and currency
    exposure when first read: :class:`Assessment`).

    A history reaching back before the comparison period is used for the robust baselines, so the
    comparison period's refund rate is read from the same daily frame. Missing tables leave their
    part None; this never raises for a missing table or an empty period. ``registry``: the registry's
    KPIs for ``f`` when the caller has them already (``kpi.kpis(ds, f, metrics.available(ds))`` at
    the 95% level, e.g. the overview's headlines), so they are not evaluated twice.
    """
    wide = f
    if f.compare_start is not None and f.compare_start < f.end - dt.timedelta(days=HISTORY_DAYS - 1):
        wide = replace(f, start=f.compare_start)
    daily = _maybe(daily_orders, ds, wide) if ds.has("orders") else None
    kpis = _maybe(kpi_anomalies, ds, f, daily) if daily is not None else None
    refunds = _maybe(refund_daily, ds, wide, daily) if daily is not None else None
    if refunds is not None:
        refunds = refunds.assign(in_period=refunds["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end)))
    if registry is None:
        registry = kpi_mod.kpis(ds, f, metrics.available(ds)) if ds.has("orders") else []
    elif not ds.has("orders"):
        registry = []
    summary = next((k for k in registry if k.key == "refund_rate"), None)
    spikes = spike_days(refunds) if refunds is not None else pd.DataFrame()
    where = (_maybe(refund_spike_where, ds, spikes["date"].iloc[0], f) if len(spikes) else None)
    rings = _maybe(shared_addresses, ds, f) if ds.has("customers", ["address"]) and ds.has(
        "orders", ["coupon_code"]) else None
    outliers = _maybe(customer_refund_outliers, ds, f) if ds.has("orders") else None
    cover = _maybe(inventory_cover, ds, f) if ds.has("inventory") and ds.has("order_items") else None
    total = 0.0
    if daily is not None:
        total = float(daily.loc[daily["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end)), "gmv"].sum())
    alerts: list[Alert] = registry_alerts(registry)
    if refunds is not None:
        alerts += refund_alerts(refunds, where, spikes["date"].iloc[0] if len(spikes) else None)
    if rings is not None and len(rings):
        alerts += ring_alerts(rings)
    if kpis is not None:
        alerts += kpi_alerts(kpis)
    if cover is not None and len(cover):
        low = cover[cover["level"] == "alert"]
        if len(low):
            worst = low.iloc[0]
            name = worst.get("name") if isinstance(worst.get("name"), str) else worst["product_id"]
            alerts.append(Alert("stock_out", "alert",
                                {"products": len(low), "cover_red": COVER_RED, "product": name,
                                 "cover": Estimate(worst["cover_days"], worst["cover_low"], worst["cover_high"],
                                                   n=int(round(worst["daily_units"] * 28)), method="poisson-exact",
                                                   unit="days", bounds=(0.0, float("inf")))},
                                cover.attrs.get("as_of"), float(len(low))))
    if outliers is not None and len(outliers) and outliers["flagged"].any():
        flagged = outliers[outliers["flagged"]]
        tested = max(outliers.attrs["tested"], 1)
        alerts.append(Alert("refund_customers", "watch",
                            {"customers": len(flagged), "shop_rate": outliers.attrs["shop_rate"],
                             "p": 0.001 / tested, "tested": tested}, value=float(len(flagged))))
    return Assessment(kpis, refunds, summary, where, rings, outliers, cover, total, alerts, registry, ds, f)
