"""Replenishment from a demand forecast: safety stock, reorder point and days of cover.

For a product whose forecast demand over the next ``lead_time`` days sums to ``D_L`` and whose daily
forecast errors have standard deviation ``sigma`` (independent from day to day), the demand over the
lead time has standard deviation ``sigma · √L``. At a cycle service level ``s`` (the chance of no
stock-out while an order is on its way):

    safety stock   = z_s · sigma · √L            (z_s the standard normal quantile of s)
    reorder point  = D_L + safety stock          (order when stock on hand plus on order falls to it)
    days of cover  = stock on hand / forecast units a day

(Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed., ch. 6.)
Arrays in, arrays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class Replenishment:
    """Per product: ``lead_time_demand``, ``safety_stock``, ``reorder_point`` (units), ``days_of_cover``
    (inf without demand) and ``reorder_now`` (stock on hand plus on order at or below the reorder point)."""

    lead_time_demand: np.ndarray
    safety_stock: np.ndarray
    reorder_point: np.ndarray
    days_of_cover: np.ndarray
    reorder_now: np.ndarray


def service_z(service_level: float) -> float:
    """The standard normal quantile of a cycle service level in (0.5, 1); raises ValueError outside it."""
    if not 0.5 <= service_level < 1:
        raise ValueError(f"service level {service_level!r} must be at least 0.5 and below 1 (for example 0.95)")
    return float(norm.ppf(service_level))


def replenish(daily_forecast: np.ndarray, sigma: np.ndarray, stock_on_hand: np.ndarray, lead_time: int,
              service_level: float = 0.95, on_order: np.ndarray | None = None) -> Replenishment:
    """Safety stock, reorder point and days of cover per product.

    ``daily_forecast``: products × days ahead (at least ``lead_time`` days; a campaign in the lead time
    raises its days); ``sigma``: one day's forecast-error standard deviation per product;
    ``stock_on_hand`` (and ``on_order``) in units. Days of cover use the mean forecast over the days given.
    """
    f = np.atleast_2d(np.asarray(daily_forecast, float))
    if lead_time < 1 or lead_time > f.shape[1]:
        raise ValueError(f"lead time {lead_time} days must be between 1 and the {f.shape[1]} days forecast")
    z = service_z(service_level)
    demand_lt = f[:, :lead_time].sum(axis=1)
    safety = z * np.asarray(sigma, float) * math.sqrt(lead_time)
    rop = demand_lt + safety
    stock = np.asarray(stock_on_hand, float)
    per_day = f.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(per_day > 0, stock / per_day, np.inf)
    position = stock + (np.asarray(on_order, float) if on_order is not None else 0.0)
    return Replenishment(demand_lt, safety, rop, cover, position <= rop)
