"""Placebo-calibrated counterfactual intervals (issue 13): they include the baseline model's own error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seeded_shops import min_covered
from workbench.stats import counterfactual as cf


def _paths(rng: np.random.Generator, mean: float, days: int, sd: float, reps: int = 300) -> np.ndarray:
    """Simulated baseline paths whose log window sum has spread ``sd`` (what the model believes)."""
    return mean * np.exp(rng.normal(0, sd, (reps, 1))) * np.ones((1, days)) / days


def test_calibration_widens_intervals_whose_model_errors_exceed_the_paths():
    rng = np.random.default_rng(2)
    runs, model_sd, true_sd, k = 300, 0.05, 0.12, 12
    covered = plain_covered = 0
    for _ in range(runs):
        placebo_z = rng.normal(0, true_sd / model_sd, k)           # what placebo windows would show
        true_ratio = 1.8
        expected = 1000.0 * np.exp(rng.normal(0, true_sd))          # the model's baseline, off by its error
        actual = 1000.0 * true_ratio
        paths = _paths(rng, expected, 7, model_sd)
        cal = cf.calibrated_effect(actual, paths, 300, placebo_z)
        plain = cf.effect(actual, paths, 300)
        covered += cal.relative.low <= true_ratio - 1 <= cal.relative.high
        plain_covered += plain.relative.low <= true_ratio - 1 <= plain.relative.high
        assert cal.relative.method == cf.METHOD_CALIBRATED
        assert cal.relative.low < cal.relative.estimate < cal.relative.high
        assert cal.incremental.low < cal.incremental.estimate < cal.incremental.high
    assert covered >= min_covered(runs), covered
    assert plain_covered < 0.75 * runs, plain_covered


def test_calibration_narrows_intervals_whose_paths_are_too_wide_and_needs_enough_placebos():
    rng = np.random.default_rng(3)
    paths = _paths(rng, 1000.0, 1, 0.3)
    plain = cf.effect(2500.0, paths, 300)
    narrow = cf.calibrated_effect(2500.0, paths, 300, rng.normal(0, 0.4, 12))
    assert narrow.relative.high - narrow.relative.low < plain.relative.high - plain.relative.low
    few = cf.calibrated_effect(2500.0, paths, 300, np.array([0.1, -0.2]))
    assert few.relative.method == cf.METHOD and few.relative.low == plain.relative.low


def test_placebo_windows_avoid_events_and_their_errors_are_standard_under_the_model():
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-01-01", periods=500, freq="D")
    e = np.zeros(len(days))
    for t in range(1, len(days)):
        e[t] = 0.5 * e[t - 1] + rng.normal(0, 0.08)
    series = pd.Series(np.round(300 * np.exp(0.05 * (days.day_of_week >= 5) + e)), index=days)
    events = pd.DatetimeIndex(pd.date_range("2024-07-01", "2024-07-20", freq="D"))
    series[events] *= 2.5
    pb = cf.placebos(series, events, 20, history=365, reps=200, max_origins=8)
    assert len(pb) >= cf.MIN_PLACEBOS
    for origin in pb.origins:
        window = pd.date_range(origin + pd.Timedelta(days=1), periods=20, freq="D")
        assert not window.isin(events).any()
    z = pb.standardized_errors(7, 7)
    assert len(z) == len(pb) and 0.3 < np.sqrt(np.mean(z ** 2)) < 2.5
