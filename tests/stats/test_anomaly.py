"""The one daily baseline (workbench.stats.anomaly): planted breaks are found, long events do not leak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.stats.anomaly import Z_ALERT, pattern_breaks, robust_baseline


def _series(days: int = 210, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    date = pd.date_range("2025-01-06", periods=days, freq="D")
    weekly = np.array([1.0, 0.9, 0.95, 1.0, 1.1, 1.3, 1.25])[date.day_of_week]
    return pd.DataFrame({"date": date, "value": 1000 * weekly * rng.lognormal(0, 0.05, days)})


def test_a_planted_spike_is_flagged_and_ordinary_days_are_not():
    d = _series()
    d.loc[150, "value"] *= 3
    out = pattern_breaks(d, "value")
    assert out.loc[150, "flag"] and out.loc[150, "robust_z"] > Z_ALERT
    assert out["flag"].sum() <= 3
    assert list(robust_baseline(d, "value").columns) == ["date", "value", "baseline", "scale", "low", "high",
                                                          "robust_z"]


def test_excluded_days_are_scored_but_do_not_lift_the_weeks_after_them():
    d = _series()
    event = (d.index >= 100) & (d.index < 123)  # a 23-day campaign at twice the usual level
    d.loc[event, "value"] *= 2
    plain = robust_baseline(d, "value")
    clean = robust_baseline(d, "value", exclude=event)
    after = slice(123, 150)
    usual = robust_baseline(_series(), "value")["baseline"].iloc[after]
    assert (clean["baseline"].iloc[after] - usual).abs().max() < (plain["baseline"].iloc[after] - usual).abs().max()
    assert (clean["robust_z"][event] > Z_ALERT).mean() > 0.9  # the event itself still stands out
    shuffled = d.sample(frac=1, random_state=1)
    again = robust_baseline(shuffled, "value", exclude=event[shuffled.index.to_numpy()])
    np.testing.assert_allclose(again["baseline"], clean["baseline"], equal_nan=True)


def test_a_history_without_variation_gives_no_absurd_z():
    """Mostly zeros (MAD 0) falls back to the mean absolute deviation; all zeros gives no z at all."""
    d = _series()
    d["value"] = 0.0
    d.loc[[100, 120, 140], "value"] = 1.0  # rare small refunds: the MAD is 0
    d.loc[150, "value"] = 90.0
    out = pattern_breaks(d, "value")
    z = out["robust_z"].dropna()
    assert len(z) and z.abs().max() < 1e4, z.abs().max()
    assert out.loc[150, "flag"]
    flat = _series().assign(value=0.0)
    flat.loc[150, "value"] = 90.0
    out = pattern_breaks(flat, "value")
    assert out.loc[:150, "robust_z"].isna().all() and not out.loc[:150, "flag"].any()
    assert out["robust_z"].abs().max() < 1e4
