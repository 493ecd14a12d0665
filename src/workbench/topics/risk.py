"""Risk management: a risk register, and indicators from the data that say whether a risk is happening.

What goes in: a :class:`~workbench.data.loader.Dataset`, :class:`~workbench.sql.common.Filters` and a risk
register (YAML). What comes out: tidy frames (daily series with a robust baseline, ranked
suspicious addresses, cover days per product, concentration indices), :class:`Alert` objects that
say what happened, how unusual it is and where to look, and the register with likelihoods taken
from the data.

Methods
-------
* KPI anomalies and refund spikes: a seasonal baseline (the median of the same weekday over the
  previous eight weeks) and a robust scale (1.4826 × the median absolute residual over the
  previous 56 days, floored by the Poisson noise of a count); a day is flagged when its robust
  z-score passes :data:`Z_ALERT`.
* Suspicious orders: accounts that share one (tokenised) address, their coupon use and refunds;
  customers whose refund count is improbable under the shop's refund rate (binomial upper tail).
* Stock-out risk: days of cover = stock on hand ÷ average daily units sold over the last 28 days,
  with a 95% interval from the Poisson interval of the sales rate.
* Concentration: the Herfindahl–Hirschman index (sum of squared shares) of GMV by platform and
  supplier and of parcels by carrier, with a 95% interval from resampling days; 0.15 and 0.25 are
  the usual thresholds for moderate and high concentration.
* Currency exposure: GMV in foreign currencies, the volatility of their daily rates and a 30-day
  95% value at risk (normal approximation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats as sps

from workbench.data.loader import Dataset
from workbench.errors import DataError, EmptyPeriodError, MissingTableError
from workbench.sql.common import Filters
from workbench.stats.anomaly import Z_ALERT, robust_baseline  # noqa: F401  (charts read Z_ALERT)
from workbench.text import labels as i18n

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

    Returns one row per risk: ``id``, ``risk_en``, ``risk_zh``, ``category``, ``owner``,
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
        if not risk_en:
            problems.append(f"{rid}: 'risk' (a short description) is missing")
        mit_en, mit_zh = _both(item.get("mitigation"))
        rows.append({"id": rid, "risk_en": risk_en, "risk_zh": risk_zh, "category": cat,
                     "owner": str(item.get("owner") or ""), "likelihood": item.get("likelihood"),
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
    daily = ds.sql(f"""
        SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders,
               count(*) FILTER (WHERE status = 'refunded') AS refunds,
               COALESCE(sum(gmv_cny) FILTER (WHERE status = 'refunded'), 0) AS refund_cny
        FROM orders_cny WHERE is_valid AND {h.where()} GROUP BY 1
    """)
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
    if not ds.has("campaigns", ["campaign_id", "start_date", "end_date"]):
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "campaign": pd.Series(dtype=object)})
    days = ds.sql(f"""
        SELECT CAST(d AS DATE) AS date, min(campaign_id) AS campaign
        FROM campaigns, range(CAST(start_date AS TIMESTAMP), CAST(end_date AS TIMESTAMP) + INTERVAL 1 DAY,
                              INTERVAL 1 DAY) t(d)
        WHERE end_date >= DATE '{start}' AND start_date <= DATE '{end}'
        GROUP BY 1
    """)
    days["date"] = pd.to_datetime(days["date"])
    return days


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
    before = day - dt.timedelta(days=28)
    base = (f"FROM orders_cny o {{join}} WHERE o.status = 'refunded' AND o.order_date BETWEEN DATE '{before}' "
            f"AND DATE '{day}' AND {f.channel_sql('o.channel')}")
    dims = {"channel": ("o.channel", "")}
    if ds.has("orders", ["coupon_code"]):
        dims["coupon_code"] = ("o.coupon_code", "")
    if ds.has("order_items"):
        dims["product_id"] = ("i.product_id", "JOIN order_items i USING (order_id)")
    if ds.has("returns", ["reason"]):
        dims["reason"] = ("r.reason", "JOIN returns r USING (order_id)")
    rows = []
    for name, (col, join) in dims.items():
        frame = ds.sql(f"""
            SELECT COALESCE(CAST({col} AS VARCHAR), 'none') AS value,
                   count(*) FILTER (WHERE o.order_date = DATE '{day}') AS refunds,
                   count(*) FILTER (WHERE o.order_date < DATE '{day}') / 28.0 AS usual
            {base.format(join=join)} GROUP BY 1
        """)
        rows.append(frame.assign(dimension=name))
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
    per_address = ds.sql(f"""
        WITH buyers AS (
            SELECT o.customer_id, count(*) AS orders,
                   count(o.coupon_code) AS coupon_orders,
                   count(*) FILTER (WHERE o.status = 'refunded') AS refund_orders
            FROM orders_cny o WHERE {f.where('o.order_date', 'o.channel')} GROUP BY 1
        ), at_address AS (
            SELECT c.address AS address_token, b.*, c.signup_date
            FROM buyers b JOIN customers c USING (customer_id) WHERE c.address IS NOT NULL
        ), sizes AS (
            SELECT address_token, count(*) AS accounts FROM at_address GROUP BY 1
        )
        SELECT (SELECT avg(accounts) FROM sizes) AS mean_accounts,
               (SELECT count(*) FROM sizes) AS addresses,
               a.address_token, count(*) AS accounts, sum(a.orders) AS orders,
               sum(a.coupon_orders) AS coupon_orders, sum(a.refund_orders) AS refund_orders,
               CAST(min(a.signup_date) AS DATE) AS first_signup, CAST(max(a.signup_date) AS DATE) AS last_signup
        FROM at_address a JOIN sizes s USING (address_token)
        WHERE s.accounts >= {int(min_accounts)}
        GROUP BY ALL
    """)
    cols = ["address_token", "accounts", "orders", "coupon_orders", "coupons", "top_coupon", "top_coupon_share",
            "refund_orders", "first_signup", "last_signup", "tail_p", "score"]
    if per_address.empty:
        return pd.DataFrame(columns=cols)
    coupons = ds.sql(f"""
        SELECT c.address AS address_token, o.coupon_code, count(*) AS n
        FROM orders_cny o JOIN customers c USING (customer_id)
        WHERE {f.where('o.order_date', 'o.channel')} AND o.coupon_code IS NOT NULL
          AND c.address IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY 1, 2
    """, [per_address["address_token"].tolist()])
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
    out["tail_p"] = sps.poisson.sf(out["accounts"] - 2, lam)
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
    per = ds.sql(f"""
        SELECT customer_id, count(*) AS orders, count(*) FILTER (WHERE status = 'refunded') AS refunds
        FROM orders_cny WHERE is_valid AND {f.where()} GROUP BY 1 HAVING count(*) >= {int(min_orders)}
    """)
    rate = ds.sql(f"""SELECT avg(CASE WHEN status = 'refunded' THEN 1.0 ELSE 0.0 END) AS r
                      FROM orders_cny WHERE is_valid AND {f.where()}""")["r"].iloc[0]
    rate = float("nan") if rate is None or pd.isna(rate) else float(rate)
    if per.empty or not np.isfinite(rate):
        out = pd.DataFrame(columns=["customer_id", "orders", "refunds", "refund_rate", "p_value", "flagged"])
    else:
        out = per.assign(refund_rate=per["refunds"] / per["orders"],
                         p_value=sps.binom.sf(per["refunds"] - 1, per["orders"], max(rate, 1e-6)))
        out["flagged"] = out["p_value"] < alpha / max(len(out), 1)
        out = out.sort_values("p_value").reset_index(drop=True)
    out.attrs.update(shop_rate=rate, tested=len(per))
    return out


# ------------------------------------------------------------------------------------------------
# stock-out risk
# ------------------------------------------------------------------------------------------------
def inventory_cover(ds: Dataset, f: Filters, sales_days: int = 28) -> pd.DataFrame:
    """Days of cover per product on the period's last day with stock data.

    Cover = stock on hand ÷ average units sold per day over the ``sales_days`` days up to that
    day (all channels of the filter); ``cover_low``/``cover_high`` come from the exact Poisson 95%
    interval of the units sold. Returns ``product_id``, ``category`` (when products are loaded),
    ``stock_on_hand``, ``daily_units``, ``cover_days``, ``cover_low``, ``cover_high``, ``gmv_28d``,
    ``level`` (alert below 7 days, watch below 14, ok), sorted by cover; ``attrs['as_of']``.
    Products that did not sell are left out (no sales, no stock-out risk).
    """
    ds.require(NEEDS_STOCK)
    day = ds.sql(f"SELECT max(date) AS d FROM inventory WHERE date <= DATE '{f.end}'")["d"].iloc[0]
    if day is None or pd.isna(day):
        raise EmptyPeriodError("no inventory records on or before the end of the period; "
                               "export the daily stock (inventory) for the period")
    day = pd.Timestamp(day).date()
    first = day - dt.timedelta(days=sales_days - 1)
    cat = ", p.category" if ds.has("products", ["category"]) else ", NULL AS category"
    join = "LEFT JOIN products p USING (product_id)" if ds.has("products", ["category"]) else ""
    frame = ds.sql(f"""
        WITH sold AS (
            SELECT product_id, sum(quantity) AS units, sum(line_gmv_cny) AS gmv_28d
            FROM items_cny WHERE is_valid AND order_date BETWEEN DATE '{first}' AND DATE '{day}'
              AND {f.channel_sql()} GROUP BY 1
        )
        SELECT i.product_id{cat}, i.stock_on_hand, s.units, s.gmv_28d
        FROM inventory i JOIN sold s USING (product_id) {join}
        WHERE i.date = DATE '{day}' AND s.units > 0
    """)
    units = frame["units"].to_numpy(dtype=float)
    lo = sps.chi2.ppf(0.025, 2 * units) / 2
    hi = sps.chi2.ppf(0.975, 2 * units + 2) / 2
    stock = frame["stock_on_hand"].to_numpy(dtype=float)
    out = frame.assign(daily_units=units / sales_days,
                       cover_days=stock / (units / sales_days),
                       cover_low=stock / (hi / sales_days),
                       cover_high=stock / np.maximum(lo / sales_days, 1e-9))
    out["level"] = np.where(out["cover_days"] < COVER_RED, "alert",
                            np.where(out["cover_days"] < COVER_AMBER, "watch", "ok"))
    out = out.drop(columns="units").sort_values("cover_days").reset_index(drop=True)
    out.attrs["as_of"] = day
    return out


# ------------------------------------------------------------------------------------------------
# concentration
# ------------------------------------------------------------------------------------------------
@dataclass
class Concentration:
    """Herfindahl–Hirschman index of one dimension, with its 95% interval (days resampled)."""

    dimension: str
    hhi: float
    low: float
    high: float
    top: str
    top_share: float
    groups: int
    n: int              # orders or parcels behind the shares
    shares: pd.DataFrame = field(repr=False)
    method: str = "HHI = Σ share²; 95% interval by resampling days (500 draws)"

    @property
    def equivalent_n(self) -> float:
        """The number of equal-sized partners that would give the same HHI (1 / HHI)."""
        return 1.0 / self.hhi if self.hhi > 0 else float("nan")

    @property
    def level(self) -> str:
        return "alert" if self.hhi >= 0.25 else "watch" if self.hhi >= 0.15 else "ok"


def hhi(shares: np.ndarray) -> float:
    """Sum of squared shares (shares are normalised to sum to one); NaN for an empty input."""
    s = np.asarray(shares, dtype=float)
    total = s.sum()
    return float(((s / total) ** 2).sum()) if total > 0 else float("nan")


def _concentration(daily: pd.DataFrame, dimension: str, weight: str, n_boot: int = 500,
                   seed: int = 0) -> Concentration | None:
    """HHI from a frame of ``date``, ``group``, ``weight``, ``n`` (count behind the weight)."""
    if daily.empty or daily[weight].sum() <= 0:
        return None
    wide = daily.astype({weight: float}).pivot_table(index="date", columns="group", values=weight, aggfunc="sum",
                                                     fill_value=0.0)
    totals = wide.sum()
    shares = (totals / totals.sum()).sort_values(ascending=False)
    rng = np.random.default_rng(seed)
    m = wide.to_numpy()
    draws = m[rng.integers(0, len(m), size=(n_boot, len(m)))].sum(axis=1)
    sums = draws.sum(axis=1, keepdims=True)
    boot = ((draws / np.where(sums > 0, sums, np.nan)) ** 2).sum(axis=1)
    low, high = np.nanquantile(boot, [0.025, 0.975]) if len(m) > 1 else (np.nan, np.nan)
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
    platform = ds.sql(f"""SELECT order_date AS date, channel AS "group", sum(gmv_cny) AS w, count(*) AS n
                          FROM orders_cny WHERE is_valid AND {f.date_sql('order_date')} GROUP BY 1, 2""")
    out.append(_concentration(platform, "platform", "w"))
    if ds.has("order_items") and ds.has("products", ["supplier"]):
        supplier = ds.sql(f"""
            SELECT i.order_date AS date, COALESCE(p.supplier, 'unknown') AS "group", sum(i.line_gmv_cny) AS w,
                   count(*) AS n
            FROM items_cny i JOIN products p USING (product_id)
            WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} GROUP BY 1, 2""")
        out.append(_concentration(supplier, "supplier", "w"))
    if ds.has("shipments", ["carrier", "shipped_at"]):
        carrier = ds.sql(f"""
            SELECT CAST(s.shipped_at AS DATE) AS date, s.carrier AS "group", count(*) AS w, count(*) AS n
            FROM shipments s JOIN orders_cny o USING (order_id)
            WHERE {f.where('CAST(s.shipped_at AS DATE)', 'o.channel')} GROUP BY 1, 2""")
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
    gmv = ds.sql(f"""
        SELECT upper(currency) AS currency, sum(gmv_cny) AS exposure_cny, count(*) AS orders,
               sum(sum(gmv_cny)) OVER () AS total_cny
        FROM orders_cny WHERE is_valid AND {f.where()} GROUP BY 1
    """)
    cols = ["currency", "exposure_cny", "orders", "share_of_gmv", "rate_change", "vol_daily", "var_30d_cny"]
    foreign = gmv[gmv["currency"] != "CNY"].copy()
    if foreign.empty:
        return pd.DataFrame(columns=cols)
    foreign["share_of_gmv"] = foreign["exposure_cny"] / foreign["total_cny"]
    vol_start = f.end - dt.timedelta(days=89)
    first = min(f.start, vol_start)
    rates = ds.sql(f"""SELECT upper(currency) AS currency, date, rate_to_cny FROM fx_rates
                       WHERE date BETWEEN DATE '{first}' AND DATE '{f.end}' ORDER BY 1, 2""")
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
    """Something unusual in the data: what happened, how unusual, where to look."""

    key: str
    level: str                       # watch or alert
    what_en: str
    what_zh: str
    unusual_en: str
    unusual_zh: str
    where_en: str
    where_zh: str
    date: dt.date | None = None
    value: float | None = None

    def text(self, lang: str) -> str:
        """The alert as one sentence in ``lang``."""
        if lang == "zh":
            return f"{self.what_zh}；{self.unusual_zh}；{self.where_zh}。"
        return f"{self.what_en}; {self.unusual_en}; {self.where_en}."


#: indicators that feed the register: key -> (en, zh)
INDICATORS = {
    "platform_concentration": ("Platform concentration (HHI)", "平台集中度 (HHI)"),
    "supplier_concentration": ("Supplier concentration (HHI)", "供应商集中度 (HHI)"),
    "carrier_concentration": ("Carrier concentration (HHI)", "快递集中度 (HHI)"),
    "stock_out": ("Share of selling products with under 7 days of cover", "可售不足 7 天的在售商品占比"),
    "suspicious_orders": ("Accounts at suspicious shared addresses", "可疑共享地址的账户数"),
    "refund_spike": ("Refund days beyond the robust threshold", "退款超出稳健阈值的天数"),
    "kpi_anomaly": ("Days with GMV below the robust threshold (outside campaigns)", "成交额低于稳健阈值的天数（非大促）"),
    "currency_exposure": ("30-day currency value at risk as a share of GMV", "30 天汇率风险值占成交额比例"),
}


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

    ``where`` (from :func:`refund_spike_where` for the top day) names the channel, product and
    reason with the largest excess; ``day`` says which day ``where`` describes.
    """
    alerts = []
    for _, r in spike_days(daily).iterrows():
        d = r["date"].date()
        hint_en, hint_zh = "check the day's refunds by channel, product and reason", "按渠道、商品和原因查看当天退款"
        if where is not None and len(where) and day is not None and pd.Timestamp(day).date() == d:
            parts = []
            for dim in ("channel", "coupon_code", "product_id", "reason"):
                sub = where[where["dimension"] == dim]
                if len(sub):
                    parts.append((dim, str(sub.iloc[0]["value"]), float(sub.iloc[0]["excess"])))
            if parts:
                hint_en = "look at " + ", ".join(f"{i18n.label(dim, 'en').lower()} {i18n.label(v, 'en')} (+{e:.0f})"
                                                for dim, v, e in parts)
                hint_zh = "重点查看 " + "，".join(f"{i18n.label(dim, 'zh')} {i18n.label(v, 'zh')}（多 {e:.0f} 笔）"
                                               for dim, v, e in parts)
        alerts.append(Alert(
            "refund_spike", "alert" if r["robust_z"] > Z_ALERT else "watch",
            f"{int(r['refunds'])} refunds on {d} against about {r['baseline']:.0f} usually",
            f"{d} 退款 {int(r['refunds'])} 笔，通常约 {r['baseline']:.0f} 笔",
            f"robust z = {r['robust_z']:.1f} (alert above {Z_ALERT:g})",
            f"稳健 z 值 {r['robust_z']:.1f}（超过 {Z_ALERT:g} 即预警）",
            hint_en, hint_zh, d, float(r["refunds"])))
    return alerts


def ring_alerts(rings: pd.DataFrame, ring_score: float = 6.0, limit: int = 3) -> list[Alert]:
    """Alerts for shared addresses whose score passes ``ring_score`` (at most ``limit``)."""
    alerts = []
    for _, r in rings[rings["score"] >= ring_score].head(limit).iterrows():
        coupon_en = (f", {r['top_coupon_share']:.0%} of their orders on coupon {r['top_coupon']}"
                     if r["top_coupon"] is not None and r["top_coupon"] == r["top_coupon"] else "")
        coupon_zh = (f"，{r['top_coupon_share']:.0%} 的订单使用优惠券 {r['top_coupon']}"
                     if coupon_en else "")
        alerts.append(Alert(
            "shared_address", "alert",
            f"{int(r['accounts'])} accounts ordering from one address ({r['address_token']}){coupon_en}",
            f"同一地址（{r['address_token']}）有 {int(r['accounts'])} 个账户下单{coupon_zh}",
            f"chance under the shop's usual accounts per address p = {r['tail_p']:.1e}",
            f"按店铺通常每地址账户数，出现概率 p = {r['tail_p']:.1e}",
            f"review the {int(r['orders'])} orders and {int(r['refund_orders'])} refunds of these accounts "
            f"(signed up {_day(r['first_signup'])} to {_day(r['last_signup'])})",
            f"复核这些账户的 {int(r['orders'])} 笔订单和 {int(r['refund_orders'])} 笔退款"
            f"（注册于 {_day(r['first_signup'])} 至 {_day(r['last_signup'])}）",
            value=float(r["accounts"])))
    return alerts


def _day(value: Any) -> str:
    return "?" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def kpi_alerts(kpis: pd.DataFrame) -> list[Alert]:
    """Alerts for days of the period outside campaigns whose GMV or orders leave the robust band:
    a fall is an alert, a rise a watch (campaign days are expected to stand out and are skipped)."""
    alerts = []
    per = kpis[kpis["in_period"] & (kpis["robust_z"].abs() > Z_ALERT) & kpis["campaign"].isna()]
    for _, r in per.sort_values("robust_z").iterrows():
        d = r["date"].date()
        low = r["robust_z"] < 0
        alerts.append(Alert(
            f"kpi_{r['metric']}", "alert" if low else "watch",
            f"{i18n.label(r['metric'], 'en')} on {d} was {r['value']:,.0f}, {'below' if low else 'above'} the usual "
            f"{r['baseline']:,.0f}",
            f"{d} {i18n.label(r['metric'], 'zh')} {r['value']:,.0f}，{'低于' if low else '高于'}通常的 {r['baseline']:,.0f}",
            f"robust z = {r['robust_z']:.1f}", f"稳健 z 值 {r['robust_z']:.1f}",
            "compare channels and traffic on that day", "对比当天各渠道和流量", d, float(r["value"])))
    return alerts


# ------------------------------------------------------------------------------------------------
# everything at once (what the notebook memoises per filter)
# ------------------------------------------------------------------------------------------------
@dataclass
class RefundRate:
    """Refunds per valid order in the period, its 95% Wilson interval, n, and the comparison period's rate."""

    rate: float
    low: float
    high: float
    refunds: int
    orders: int
    comparison: float
    change: float
    method: str = "refunded orders ÷ valid orders, by order date; 95% Wilson interval"


def refund_rate(daily: pd.DataFrame, f: Filters) -> RefundRate:
    """Summarise a :func:`refund_daily` frame over the period and the comparison period."""
    from workbench.stats import pct_change, wilson_interval

    def window(a: dt.date | None, b: dt.date | None) -> tuple[int, int]:
        if a is None or b is None:
            return 0, 0
        sub = daily[daily["date"].between(pd.Timestamp(a), pd.Timestamp(b))]
        return int(sub["refunds"].sum()), int(sub["orders"].sum())

    k, n = window(f.start, f.end)
    kc, nc = window(f.compare_start, f.compare_end)
    rate = k / n if n else float("nan")
    comp = kc / nc if nc else float("nan")
    low, high = wilson_interval(k, n)
    return RefundRate(rate, float(low), float(high), k, n, comp, pct_change(rate, comp))


@dataclass
class Assessment:
    """Every risk indicator of one filter setting; a part is None when its tables are absent."""

    kpis: pd.DataFrame | None
    refunds: pd.DataFrame | None
    refund_summary: RefundRate | None
    refund_where: pd.DataFrame | None
    rings: pd.DataFrame | None
    refund_outliers: pd.DataFrame | None
    cover: pd.DataFrame | None
    concentration: list[Concentration]
    currency: pd.DataFrame | None
    total_gmv: float
    indicators: pd.DataFrame
    alerts: list[Alert]


def _maybe(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except (MissingTableError, EmptyPeriodError):
        return None


def assess(ds: Dataset, f: Filters) -> Assessment:
    """Compute every indicator the data allow for the filters, the alerts and the indicator table.

    A history reaching back before the comparison period is used for the robust baselines, so the
    comparison period's refund rate is read from the same daily frame. Missing tables leave their
    part None; this never raises for a missing table or an empty period.
    """
    wide = f
    if f.compare_start is not None and f.compare_start < f.end - dt.timedelta(days=HISTORY_DAYS - 1):
        wide = replace(f, start=f.compare_start)
    daily = _maybe(daily_orders, ds, wide) if ds.has("orders") else None
    kpis = _maybe(kpi_anomalies, ds, f, daily) if daily is not None else None
    refunds = _maybe(refund_daily, ds, wide, daily) if daily is not None else None
    if refunds is not None:
        refunds = refunds.assign(in_period=refunds["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end)))
    summary = refund_rate(refunds, f) if refunds is not None else None
    spikes = spike_days(refunds) if refunds is not None else pd.DataFrame()
    where = (_maybe(refund_spike_where, ds, spikes["date"].iloc[0], f) if len(spikes) else None)
    rings = _maybe(shared_addresses, ds, f) if ds.has("customers", ["address"]) and ds.has(
        "orders", ["coupon_code"]) else None
    outliers = _maybe(customer_refund_outliers, ds, f) if ds.has("orders") else None
    cover = _maybe(inventory_cover, ds, f) if ds.has("inventory") and ds.has("order_items") else None
    conc = (_maybe(concentration, ds, f) or []) if ds.has("orders") else []
    fx = _maybe(currency_exposure, ds, f) if ds.has("fx_rates") and ds.has("orders") else None
    total = 0.0
    if daily is not None:
        total = float(daily.loc[daily["date"].between(pd.Timestamp(f.start), pd.Timestamp(f.end)), "gmv"].sum())
    indicators = indicator_table(conc, cover, rings, refunds, kpis, fx, total)
    alerts: list[Alert] = []
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
            alerts.append(Alert(
                "stock_out", "alert",
                f"{len(low)} selling products have under {COVER_RED:g} days of stock",
                f"{len(low)} 个在售商品库存不足 {COVER_RED:g} 天",
                f"the lowest, {worst['product_id']}, covers {worst['cover_days']:.1f} days "
                f"(95% CI {worst['cover_low']:.1f}–{worst['cover_high']:.1f})",
                f"最低的 {worst['product_id']} 仅够 {worst['cover_days']:.1f} 天"
                f"（95% 区间 {worst['cover_low']:.1f}–{worst['cover_high']:.1f}）",
                "reorder these products first; see the cover table",
                "优先补货这些商品，见可售天数表", cover.attrs.get("as_of"), float(len(low))))
    if outliers is not None and len(outliers) and outliers["flagged"].any():
        flagged = outliers[outliers["flagged"]]
        tested = max(outliers.attrs["tested"], 1)
        alerts.append(Alert(
            "refund_customers", "watch",
            f"{len(flagged)} customers refund far more often than the shop's {outliers.attrs['shop_rate']:.1%}",
            f"{len(flagged)} 位客户退款频率远高于店铺平均 {outliers.attrs['shop_rate']:.1%}",
            f"binomial p below {0.001 / tested:.0e} each ({tested:,} customers with 3+ orders tested)",
            f"二项检验 p 均低于 {0.001 / tested:.0e}（共检验 {tested:,} 位 3 单以上客户）",
            "review their orders before the next refund", "在下一次退款前复核这些客户的订单",
            value=float(len(flagged))))
    return Assessment(kpis, refunds, summary, where, rings, outliers, cover, conc, fx, total, indicators, alerts)


def alert_table(alerts: list[Alert], lang: str) -> pd.DataFrame:
    """Alerts as a table in ``lang``: ``level``, ``what``, ``how_unusual``, ``where_to_look`` (alerts first)."""
    rows = [{"level": i18n.label(a.level, lang), "what": a.what_zh if lang == "zh" else a.what_en,
             "how_unusual": a.unusual_zh if lang == "zh" else a.unusual_en,
             "where_to_look": a.where_zh if lang == "zh" else a.where_en, "_order": a.level != "alert"}
            for a in alerts]
    out = pd.DataFrame(rows, columns=["level", "what", "how_unusual", "where_to_look", "_order"])
    return out.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)








