"""Demand per product: smooth sellers by simple exponential smoothing, slow sellers by methods made for
intermittent demand (Croston's method with the Syntetos–Boylan approximation, SBA; and Teunter–Syntetos–
Babai, TSB). Every function takes a matrix of demand (products × days) and works on all rows at once,
so thousands of products take a fraction of a second.

Classification after Syntetos, Boylan & Croston (2005): a product whose mean interval between demands
(ADI) exceeds 1.32 days is intermittent and gets SBA (TSB when its demand has stopped recently, since
Croston-type rates never decay between demands); the others get SES.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ADI above which demand counts as intermittent (Syntetos, Boylan & Croston 2005).
ADI_CUT = 1.32
#: Smoothing constants (the usual low values for daily demand).
ALPHA = 0.1
BETA = 0.05


@dataclass(frozen=True)
class DemandRates:
    """Per product: ``rate`` (units a day), ``sigma`` (standard deviation of one day's demand around the
    rate, from the one-step errors of the last ``window`` days), ``method`` (``ses``, ``sba`` or ``tsb``),
    ``adi`` and ``cv2`` (squared coefficient of variation of the non-zero demands)."""

    rate: np.ndarray
    sigma: np.ndarray
    method: np.ndarray
    adi: np.ndarray
    cv2: np.ndarray


def classify(demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ADI (days per demand occurrence; inf without demand) and CV² of non-zero demand sizes, per row."""
    y = np.asarray(demand, float)
    nz = y > 0
    k = nz.sum(axis=1)
    adi = np.where(k > 0, y.shape[1] / np.maximum(k, 1), np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, np.where(nz, y, 0).sum(axis=1) / np.maximum(k, 1), 0.0)
        var = np.where(k > 1, (np.where(nz, (y - mean[:, None]) ** 2, 0)).sum(axis=1) / np.maximum(k - 1, 1), 0.0)
        cv2 = np.where(mean > 0, var / mean ** 2, 0.0)
    return adi, cv2


def _one_step(demand: np.ndarray, method: str, alpha: float, beta: float) -> np.ndarray:
    """One-step-ahead forecasts (products × days): column t is the forecast of day t made after day t-1."""
    y = np.asarray(demand, float)
    n, t_len = y.shape
    out = np.empty((n, t_len))
    first = np.argmax(y > 0, axis=1)
    has = (y > 0).any(axis=1)
    if method == "ses":
        level = y[:, : min(7, t_len)].mean(axis=1)
        for t in range(t_len):
            out[:, t] = level
            level = level + alpha * (y[:, t] - level)
        return out
    if method == "sba":
        z = np.where(has, y[np.arange(n), first], 0.0)  # size
        p = np.where(has, first + 1.0, 1.0)  # interval
        q = np.ones(n)  # days since the last demand
        for t in range(t_len):
            out[:, t] = (1 - alpha / 2) * z / p
            d = y[:, t] > 0
            z = np.where(d, z + alpha * (y[:, t] - z), z)
            p = np.where(d, p + alpha * (q - p), p)
            q = np.where(d, 1.0, q + 1.0)
        return out
    if method == "tsb":
        prob = np.where(has, 1.0 / (first + 1.0), 0.0)
        z = np.where(has, y[np.arange(n), first], 0.0)
        for t in range(t_len):
            out[:, t] = prob * z
            d = y[:, t] > 0
            prob = prob + beta * (d - prob)
            z = np.where(d, z + alpha * (y[:, t] - z), z)
        return out
    raise ValueError(f"unknown method {method!r}; expected ses, sba or tsb")


def rates(demand: np.ndarray, alpha: float = ALPHA, beta: float = BETA, window: int = 182) -> DemandRates:
    """The demand rate of every row of ``demand`` (products × days, oldest day first) for the days ahead.

    SES for smooth rows (ADI ≤ 1.32), SBA for intermittent ones, TSB for intermittent ones whose last
    demand is older than twice their ADI (demand that may have died out, where TSB's rate decays).
    ``sigma`` is the root mean square of the one-step errors over the last ``window`` days.
    """
    y = np.asarray(demand, float)
    n, t_len = y.shape
    adi, cv2 = classify(y)
    last = np.where((y > 0).any(axis=1), t_len - 1 - np.argmax(y[:, ::-1] > 0, axis=1), -1)
    since = t_len - 1 - last
    method = np.where(adi <= ADI_CUT, "ses", np.where(since > 2 * np.minimum(adi, t_len), "tsb", "sba"))
    rate = np.zeros(n)
    sigma = np.zeros(n)
    w = min(window, t_len)
    for m in ("ses", "sba", "tsb"):
        rows = np.flatnonzero(method == m)
        if not len(rows):
            continue
        sub = y[rows]
        fc = _one_step(np.concatenate([sub, np.zeros((len(rows), 1))], axis=1), m, alpha, beta)
        rate[rows] = fc[:, -1]
        err = sub[:, -w:] - fc[:, t_len - w:t_len]
        sigma[rows] = np.sqrt(np.mean(err ** 2, axis=1))
    return DemandRates(rate, sigma, method, adi, cv2)
