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


def _ar1_shop(seed: int, n: int = 420) -> tuple[pd.Series, pd.DatetimeIndex]:
    """A daily series with weekly and yearly pattern, AR(1) log errors, a few zero (missing) days."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.4 * e[t - 1] + rng.normal(0, 0.1)
    season = 0.1 * np.sin(2 * np.pi * days.day_of_year / 365.25) + 0.08 * (days.day_of_week >= 5)
    values = np.round(200 * np.exp(0.3 * np.arange(n) / 365.25 + season.to_numpy() + e))
    values[rng.choice(n, 6, replace=False)] = 0
    return pd.Series(values, index=days), days


def test_the_vectorised_paths_are_the_paths_statsmodels_simulates():
    """:func:`_simulate` draws the same variates in the same order as ``res.simulate``: the same paths."""
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    series, days = _ar1_shop(11)
    y = np.log1p(series.iloc[:380].to_numpy(float))
    y[series.iloc[:380].to_numpy() <= 0] = np.nan
    x = cf.design(days, days[0], True).to_numpy()
    for concentrate in (True, False):
        model = SARIMAX(y, exog=x[:380], order=(1, 0, 0), mle_regression=False, concentrate_scale=concentrate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp=False, maxiter=100)
        ours = cf._simulate(res, x[380:], 50, np.random.default_rng(4))
        theirs = res.simulate(nsimulations=40, repetitions=50, anchor="end", exog=x[380:],
                              rng=np.random.default_rng(4))
        np.testing.assert_allclose(ours, np.asarray(theirs).reshape(40, 50).T, rtol=1e-12, atol=1e-12)


def test_the_fit_reaches_the_maximum_of_the_full_likelihood():
    """The two one-dimensional searches of :func:`fit` (AR coefficient with sigma2 profiled out, then
    sigma2 on the full likelihood) land where the two-parameter likelihood is highest: a Nelder-Mead
    search from there gains less than 2e-3 (the likelihood's own numerical roughness with its 1e10
    approximate-diffuse start; lbfgs stops 0.08 short on seed 3), and the point beats lbfgs's."""
    import warnings

    from scipy.optimize import minimize

    for seed in (3, 5):
        series, days = _ar1_shop(seed)
        y = np.log1p(series.iloc[:365].to_numpy(float))
        y[series.iloc[:365].to_numpy() <= 0] = np.nan
        x = cf.design(days[:365], days[0], True).to_numpy()
        full, ours = cf._mle(y, x)
        phi = ours[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lbfgs = full.fit(disp=False, maxiter=100, return_params=True)
            polish = minimize(lambda p, m=full: -m.loglike(p) if abs(p[0]) < 1 and p[1] > 0 else np.inf, ours,
                              method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
        assert abs(phi - 0.4) < 0.15 and abs(np.sqrt(ours[1]) - 0.1) < 0.02   # the generating AR(1)
        assert full.loglike(ours) >= full.loglike(lbfgs) - 1e-6
        assert -polish.fun - full.loglike(ours) < 2e-3
        assert abs(polish.x[0] - phi) < 5e-3 and abs(polish.x[1] / ours[1] - 1) < 5e-3  # se(phi) ≈ 0.05


def test_fit_simulates_the_baseline_over_the_horizon():
    series, days = _ar1_shop(3)
    horizon = pd.date_range(days[390], days[399], freq="D")
    out = cf.fit(series, days[385], horizon, reps=120, seed=2)
    assert out is not None and list(out.dates) == list(horizon) and out.paths.shape == (120, 10)
    assert out.n_train == int((series[days[21]:days[385]] > 0).sum())
    level = series[days[300]:days[385]].replace(0, np.nan).mean()
    assert 0.7 < out.mean.mean() / level < 1.5
    lower, upper = out.band()
    assert np.all(lower < out.mean) and np.all(out.mean < upper)
    again = cf.fit(series, days[385], horizon, reps=120, seed=2)
    np.testing.assert_array_equal(out.paths, again.paths)


def test_placebo_origins_equal_the_scan_of_every_window():
    """The running-count walk finds the origins a scan of the whole series per day finds: zero days,
    excluded days, gaps in the index, windows reaching the last day, steps and history lengths."""
    rng = np.random.default_rng(11)
    for trial in range(6):
        dates = pd.date_range("2024-01-01", periods=500 + 40 * trial, freq="D")
        if trial % 2:
            dates = dates.delete(rng.choice(len(dates), 25, replace=False))  # days missing from the index
        s = pd.Series(rng.poisson(30.0, len(dates)).astype(float), index=dates)
        s[rng.random(len(s)) < 0.02] = 0.0
        exclude = pd.DatetimeIndex(rng.choice(dates, 30, replace=False)).sort_values()
        for days, step, min_history in ((16, 21, 120), (30, 7, 60), (5, 1, 10)):
            bad = np.asarray((s <= 0) | s.index.isin(exclude))
            first = s.index.min() + pd.Timedelta(days=min_history)
            want = cf._placebo_origins_scan(s.index, bad, first, days, step)
            got = cf.placebo_origins(s, exclude, days, step, min_history)
            assert got == want and len(want) > 0
    assert cf.placebo_origins(pd.Series([], dtype=float, index=pd.DatetimeIndex([])), None, 10) == []


def test_design_values_are_the_design_frames_values():
    for start, n, yearly in (("2024-01-01", 400, True), ("2025-02-27", 30, False), ("2023-12-25", 1, True)):
        dates = pd.date_range(start, periods=n, freq="D")
        frame = cf.design(dates, pd.Timestamp("2023-06-01"), yearly).to_numpy()
        values = cf.design_values(dates, pd.Timestamp("2023-06-01"), yearly)
        np.testing.assert_array_equal(values, frame)
        assert values.flags.f_contiguous == frame.flags.f_contiguous
