"""Demand lost to stock-outs, estimated from the demand on nearby in-stock days (arrays in).

For one product's daily series, the expected demand on a day out of stock is the mean daily units
on its in-stock days within ``window`` days before and after (a local level that follows trend and
season). The error of that mean is over-dispersed Poisson (quasi-Poisson): Var(mean) = φ · mean /
n_instock_days with the dispersion φ = s² / mean of the same in-stock days (floored at 1), so
campaign days, weekdays and drift that make daily units vary more than Poisson widen the interval
(with Poisson variance alone the intervals covered 73% across generated shops; sd/se 1.8). Days of one
spell share one baseline, so their errors add up rather than in quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

#: The method key of the stock-out estimate (its note is ``method.stockout_local_level``).
METHOD = "stockout_local_level"


@dataclass(frozen=True)
class LostDemand:
    """One product's loss: days out, mean baseline demand per day, lost units and their variance.

    ``lost_var`` is the sum over the counted days of the quasi-Poisson variance of each day's baseline
    (φ · mean / n_instock_days); :func:`spell_interval` turns it into the interval of the loss.
    """

    stockout_days: int
    baseline_units_per_day: float
    lost_units: float
    lost_var: float
    n_instock_days: int


@dataclass(frozen=True)
class LocalLevels:
    """One product's baseline on every day, before any period is chosen (see :func:`local_levels`).

    ``rate``: the mean units of the in-stock days within the window around each day; ``n_in``: how many
    in-stock days that mean has; ``dispersed``: φ · mean (the variance of a day's units, floored at Poisson);
    ``out_of_stock``: the day's flag. All indexed by date.
    """

    rate: pd.Series
    n_in: pd.Series
    dispersed: pd.Series
    out_of_stock: pd.Series

    def lost(self, counted: pd.Series) -> LostDemand | None:
        """The loss on the out-of-stock days that ``counted`` (a boolean series by date) selects; None if none."""
        out = self.out_of_stock & counted
        if not out.any():
            return None
        rate = self.rate[out]
        n_in = self.n_in[out]
        dispersed = self.dispersed[out]
        var = float((dispersed / n_in).sum()) if len(rate) else 0.0
        return LostDemand(int(out.sum()), float(rate.mean()), float(rate.sum()), var, int(n_in.mean()))


def local_levels(units: pd.Series, out_of_stock: pd.Series, in_stock: pd.Series, window: int = 28) -> LocalLevels:
    """The baseline demand of every day of one product (a daily series indexed by date), to be summed
    over the out-of-stock days of any period (:meth:`LocalLevels.lost`); the arguments as :func:`lost_demand`."""
    instock = units.where(in_stock)
    span = 2 * window + 1
    roll_sum = instock.fillna(0).rolling(span, center=True, min_periods=1).sum()
    roll_n = instock.notna().astype(float).rolling(span, center=True, min_periods=1).sum()
    roll_sq = (instock ** 2).fillna(0).rolling(span, center=True, min_periods=1).sum()
    mean = roll_sum / roll_n.where(roll_n > 0)
    s2 = (roll_sq - roll_n * mean ** 2) / (roll_n - 1).where(roll_n > 1)
    dispersed = np.maximum(s2.fillna(mean), mean)  # φ · mean with φ = s² / mean ≥ 1
    return LocalLevels(mean, roll_n, dispersed, out_of_stock)


def lost_demand(units: pd.Series, out_of_stock: pd.Series, in_stock: pd.Series, counted: pd.Series,
                window: int = 28) -> LostDemand | None:
    """The demand lost on the ``counted`` out-of-stock days of one product (a daily series indexed by date).

    ``units``: units sold per day; ``out_of_stock`` / ``in_stock``: the day's flags (a day whose
    state is unknown is neither); ``counted``: which days fall in the period asked about. None when
    no counted day is out of stock.
    """
    return local_levels(units, out_of_stock, in_stock, window).lost(counted)


def spell_interval(lost: np.ndarray, var: np.ndarray, days: np.ndarray, level: float = 0.95,
                   weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Intervals of each product's loss and of the total (optionally ``weight``-ed, e.g. by price).

    Returns per-product (low, high) arrays in the weighted unit, then the total, its low and high.
    Lower bounds are clipped at 0: a loss is never negative.
    """
    z = float(sps.norm.ppf(0.5 + level / 2))
    w = np.ones_like(lost, dtype=float) if weight is None else np.asarray(weight, float)
    value = lost * w
    se = np.sqrt(var * days) * w
    total = float(value.sum())
    total_se = float(np.sqrt((var * days * w ** 2).sum()))
    return (np.clip(value - z * se, 0, None), value + z * se, total, max(total - z * total_se, 0.0),
            total + z * total_se)
