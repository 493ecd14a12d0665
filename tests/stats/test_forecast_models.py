"""Forecasters, backtest, intermittent demand and replenishment on series with known truths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.stats import forecast as fc
from workbench.stats import intermittent, replenish

WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2])


def _shop(seed: int, days: int = 731, lam: float = 200.0, uplift: float = 2.0):
    """A daily Poisson series: growth, weekday, yearly season and a ten-day campaign each June and November."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    t = np.arange(days) / 365.25
    mean = lam * np.exp(0.2 * t) * WEEKDAY[dates.day_of_week] * (1 + 0.1 * np.cos(2 * np.pi * dates.day_of_year / 365.25))
    events = pd.DataFrame({"kind": ["mid", "mid", "autumn", "autumn"],
                           "start": pd.to_datetime(["2024-06-05", "2025-06-05", "2024-11-10", "2025-11-10"]),
                           "end": pd.to_datetime(["2024-06-14", "2025-06-14", "2024-11-19", "2025-11-19"])})
    mult = np.ones(days)
    for row in events.itertuples():
        mult[(dates >= row.start) & (dates <= row.end)] = uplift
    return dates, rng.poisson(mean * mult).astype(float), events, mean * mult


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_calendar_model_forecasts_a_campaign_in_the_holdout(seed):
    dates, y, events, _ = _shop(seed)
    cut = len(y) - 56  # the holdout holds the November campaign
    assert ((dates[cut:] >= "2025-11-10") & (dates[cut:] <= "2025-11-19")).sum() == 10
    model = fc.fit_calendar(y[:cut], dates[:cut], events)
    f = model.simulate(events, 56, seed=seed)
    naive = fc.seasonal_naive(y[:cut], dates[:cut], 7, 56)
    actual = y[cut:]
    m_model = fc.mase(actual, f.frame["forecast"], y[:cut], 7)
    m_naive = fc.mase(actual, naive.frame["forecast"], y[:cut], 7)
    assert m_model < 1 and m_model < m_naive
    # 95% of 56 days: the binomial band (±3 sd of 56 draws at p = 0.95) around the nominal level
    cov = fc.coverage(actual, f.frame["low_95"], f.frame["high_95"])
    sd = math.sqrt(0.95 * 0.05 / 56)
    assert 0.95 - 3 * sd - 0.02 <= cov <= 1.0
    # the campaign multiplier is recovered: log error within 4 standard errors of Poisson counts
    camp = (dates >= "2025-06-07") & (dates <= "2025-06-12")
    index = model.event_index(dates[camp], events)
    se = 1 / math.sqrt(200 * 2.0 * 20)
    assert np.all(np.abs(np.log(index / 2.0)) < 4 * se + 0.03)


def test_intervals_are_asymmetric_and_ordered():
    dates, y, events, _ = _shop(5)
    f = fc.fit_calendar(y, dates, events).simulate(events, 28)
    fr = f.frame
    assert (fr["low_95"] <= fr["low_80"]).all() and (fr["low_80"] <= fr["forecast"]).all()
    assert (fr["forecast"] <= fr["high_80"]).all() and (fr["high_80"] <= fr["high_95"]).all()
    assert ((fr["high_95"] - fr["forecast"]) > (fr["forecast"] - fr["low_95"])).mean() > 0.5  # log scale: right skew
    weekly = f.aggregate("W")
    assert weekly.frame["forecast"].sum() == pytest.approx(fr["forecast"].sum(), rel=0.02)
    assert (weekly.frame["high_95"] - weekly.frame["low_95"] < (fr["high_95"] - fr["low_95"]).sum()).all()


def test_seasonal_naive_repeats_the_last_season_and_widens_per_season():
    dates = pd.date_range("2025-01-06", periods=28, freq="D")
    y = np.tile([10.0, 12, 11, 13, 20, 30, 25], 4) + np.r_[np.zeros(21), [1, -1, 2, -2, 1, 0, 1]]
    f = fc.seasonal_naive(y, dates, 7, 14)
    assert list(f.frame["forecast"]) == list(y[-7:]) * 2
    width = (f.frame["high_95"] - f.frame["low_95"]).to_numpy()
    assert width[7:].mean() > width[:7].mean()
    assert f.frame["date"].iloc[0] == pd.Timestamp("2025-02-03")


def test_mase_by_hand():
    history = np.array([1.0, 2, 3, 4, 5, 6])  # lag-2 differences are all 2
    assert fc.mase(np.array([7.0, 9]), np.array([8.0, 8]), history, 2) == pytest.approx(0.5)
    assert fc.coverage(np.array([1.0, 2, 3, 4]), np.zeros(4), np.array([5.0, 5, 2, 5])) == 0.75


def test_backtest_scores_each_origin_and_choose_falls_back_to_naive():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=364, freq="D")
    y = np.tile([5.0, 50, 5, 50, 5, 50, 100], 52) + rng.normal(0, 0.5, 364)  # a pure weekly pattern
    bt = fc.backtest(y, dates, lambda a, d, h: fc.seasonal_naive(a, d, 7, h), 28, 7, origins=3)
    assert bt.origins == 3 and bt.points == 84 and bt.ratio == pytest.approx(1.0)
    flat = lambda a, d, h: fc.Forecast(pd.DataFrame({"date": pd.date_range(d[-1], periods=h + 1)[1:],
                                                      "forecast": a.mean(), "low_80": 0.0, "high_80": 1e9,
                                                      "low_95": 0.0, "high_95": 1e9}), "flat")
    assert not fc.backtest(y, dates, flat, 28, 7).beats_naive
    chosen = fc.choose(y, dates, "D", 28, only=("calendar",))
    assert chosen.method in ("calendar", "seasonal_naive")
    if chosen.method == "seasonal_naive":
        assert chosen.reason == "naive_best"


@pytest.mark.parametrize("bad, message", [
    ({"dates": pd.date_range("2025-01-01", periods=10), "values": np.ones(10)}, "at least 14"),
    ({"dates": pd.date_range("2025-01-01", periods=30).delete(5), "values": np.ones(29)}, "missing"),
    ({"dates": [*pd.date_range("2025-01-01", periods=30), pd.Timestamp("2025-01-03")], "values": np.ones(31)},
     "duplicated"),
    ({"dates": pd.date_range("2025-01-01", periods=30), "values": np.r_[np.ones(29), -1]}, "negative"),
    ({"dates": ["2025-01-01", "soon"] + [f"2025-02-{d:02d}" for d in range(1, 28)], "values": np.ones(29)},
     "cannot be read"),
])
def test_bad_series_are_refused_with_the_reason(bad, message):
    with pytest.raises(fc.ForecastInputError, match=message):
        fc.check_series(pd.Series(bad["dates"]), pd.Series(bad["values"]), "D")


def test_ets_beats_naive_on_a_trending_monthly_series():
    rng = np.random.default_rng(3)
    dates = pd.date_range("2015-01-01", periods=96, freq="MS")
    season = np.tile(np.array([0.8, 0.85, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.0, 0.95, 1.05, 1.3]), 8)
    y = 100 * np.exp(0.01 * np.arange(96)) * season * rng.lognormal(0, 0.02, 96)
    chosen = fc.choose(y[:-12], dates[:-12], "M", 12, origins=2)
    assert chosen.method == "ets"
    m = fc.mase(y[-12:], chosen.forecast.frame["forecast"], y[:-12], 12)
    n = fc.mase(y[-12:], fc.seasonal_naive(y[:-12], dates[:-12], 12, 12).frame["forecast"], y[:-12], 12)
    assert m < n


# ----- intermittent demand ------------------------------------------------------------------------------
def test_croston_sba_and_tsb_on_a_regular_intermittent_pattern():
    y = np.tile([4.0, 0, 0, 0], 100)[None, :]  # 4 units every 4th day: 1 unit a day
    sba = intermittent._one_step(np.c_[y, [[0.0]]], "sba", 0.1, 0.05)[0, -1]
    assert sba == pytest.approx((1 - 0.1 / 2) * 4 / 4, rel=1e-3)  # SBA's debiasing factor on Croston's 1.0
    tsb = intermittent._one_step(np.c_[y, [[0.0]]], "tsb", 0.1, 0.05)[0, -1]
    assert 0.8 < tsb < 1.2
    r = intermittent.rates(np.vstack([y, np.full((1, 400), 3.0)]))
    assert list(r.method) == ["sba", "ses"]
    assert r.rate[1] == pytest.approx(3.0) and r.sigma[1] == pytest.approx(0.0)
    assert r.adi[0] == pytest.approx(4.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rates_recover_planted_rates(seed):
    rng = np.random.default_rng(seed)
    p, size = rng.uniform(0.05, 0.3, 300), rng.uniform(1, 4, 300)
    y = (rng.random((300, 365)) < p[:, None]) * rng.poisson(size[:, None], (300, 365))
    truth = p * size  # mean daily demand
    r = intermittent.rates(y.astype(float))
    # smoothing over ~1/alpha = 10 demands: each rate is noisy, the mean relative error is not
    rel = (r.rate - truth) / truth
    assert abs(np.median(rel)) < 0.15


# ----- replenishment, by hand ---------------------------------------------------------------------------
def test_replenishment_hand_computed():
    # 10 units a day, one day's error sd 3, lead time 9 days, 95% service: z = 1.6449
    # safety stock = 1.6449 × 3 × √9 = 14.80; reorder point = 90 + 14.80 = 104.80; cover = 150 / 10 = 15 days
    r = replenish.replenish(np.full((2, 30), 10.0), np.array([3.0, 3.0]), np.array([150.0, 100.0]), 9, 0.95)
    assert r.lead_time_demand[0] == pytest.approx(90.0)
    assert r.safety_stock[0] == pytest.approx(14.80, abs=0.01)
    assert r.reorder_point[0] == pytest.approx(104.80, abs=0.01)
    assert r.days_of_cover[0] == pytest.approx(15.0)
    assert list(r.reorder_now) == [False, True]
    # a campaign in the lead time raises the lead-time demand
    lifted = np.full((1, 30), 10.0)
    lifted[0, 3:5] = 30.0
    assert replenish.replenish(lifted, np.array([3.0]), np.array([150.0]), 9).lead_time_demand[0] == pytest.approx(130)
    with pytest.raises(ValueError, match="service level"):
        replenish.replenish(np.ones((1, 5)), np.ones(1), np.ones(1), 3, 1.2)


def test_calendar_design_cut_from_a_kept_span_equals_the_design_computed_afresh():
    """The design rows of a sub-range, of days after it and of a wider range are the same values as
    base_features and event_features give for those dates directly; and a choice made with designs kept
    from earlier calls is the same to the bit as one made with none kept."""
    dates, y, events, _ = _shop(4)
    origin = dates[0]

    def direct(d: pd.DatetimeIndex, yearly: int) -> pd.DataFrame:
        return pd.concat([fc.base_features(d, origin, yearly), fc.event_features(d, events)], axis=1)

    fc._DESIGNS.clear()
    spans = [dates[:400], dates[100:300], pd.date_range(dates[399] + pd.Timedelta(days=1), periods=56, freq="D"),
             pd.date_range(dates[0], dates[-1] + pd.Timedelta(days=90), freq="D")]
    for d in spans:
        for yearly in (0, 3):
            pd.testing.assert_frame_equal(fc.calendar_design(d, origin, yearly, events), direct(d, yearly))
    assert fc._DESIGNS, "the spans were kept"
    odd = pd.DatetimeIndex([dates[0], dates[2], dates[5]])  # not consecutive: computed as given
    pd.testing.assert_frame_equal(fc.calendar_design(odd, origin, 2, events), direct(odd, 2))

    warm = fc.choose(y, dates, "D", 56, events, origins=2, only=("calendar",))
    fc._DESIGNS.clear()
    cold = fc.choose(y, dates, "D", 56, events, origins=2, only=("calendar",))
    pd.testing.assert_frame_equal(warm.forecast.frame, cold.forecast.frame, check_exact=True)
    assert warm.backtest == cold.backtest


def test_column_quantiles_equal_numpy_quantile_to_the_bit():
    """The one-sort quantiles are np.quantile's (linear method) exactly, for any number of draws, ties,
    infinities, and the quantiles a forecast frame asks; a column with NaN is np.quantile's NaN."""
    rng = np.random.default_rng(7)
    qs = [0.5, 0.1, 0.9, 0.025, 0.975, 0.0, 1.0, 1 / 3]
    for n in (1, 2, 3, 7, 40, 999, 1000):
        for x in (rng.gamma(2.0, 1000.0, (n, 13)), np.floor(rng.gamma(1.0, 3.0, (n, 5)))):
            np.testing.assert_array_equal(fc.column_quantiles(x, qs), np.quantile(x, qs, axis=0))
    x = rng.normal(size=(50, 4))
    x[3, 1], x[7, 2] = np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf on the way, in both
        np.testing.assert_array_equal(fc.column_quantiles(x, qs), np.quantile(x, qs, axis=0))
        x[5, 0] = np.nan
        np.testing.assert_array_equal(fc.column_quantiles(x, qs), np.quantile(x, qs, axis=0))


def test_design_values_are_the_design_frames_values():
    """The design as an array (the model's columns, zeros for columns the events lack) holds the values of
    the frame the model's design gives, laid out alike, for days inside, after and around the kept span and
    for days that are not consecutive; a simulation from it equals one from the frame's values."""
    dates, y, events, _ = _shop(6)
    model = fc.fit_calendar(y, dates, events)
    fewer = events.iloc[:2]  # the autumn kind's columns are missing from this calendar
    spans = [dates[:300], pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=56, freq="D"),
             pd.date_range(dates[0] - pd.Timedelta(days=30), periods=60, freq="D"),
             pd.DatetimeIndex([dates[0], dates[3], dates[9]])]
    for d in spans:
        for ev in (events, fewer, None):
            frame = model.design(d, ev).to_numpy()
            values = model.design_values(d, ev)
            np.testing.assert_array_equal(values, frame)
            assert values.flags.f_contiguous == frame.flags.f_contiguous
    full, names = fc.design_values(dates, dates[0], 3, events)
    direct = pd.concat([fc.base_features(dates, dates[0], 3), fc.event_features(dates, events)], axis=1)
    assert names == list(direct.columns)
    np.testing.assert_array_equal(full, direct.to_numpy())
    # the simulation's draws as before, from the frame's values (the straightforward way)
    ahead = pd.concat([events, pd.DataFrame({"kind": ["mid"], "start": [pd.Timestamp("2026-01-10")],
                                             "end": [pd.Timestamp("2026-01-16")]})], ignore_index=True)
    sim = model.simulate(ahead, 56, seed=3)
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=56, freq="D")
    x = model.design(future, ahead)
    rng = np.random.default_rng(3)
    is_event = x.filter(like="ev.").to_numpy().sum(axis=1) > 0
    calm = rng.choice(model.shocks_calm, size=(fc.PATHS, 56))
    assert len(model.shocks_event) >= 10 and is_event.any()  # event days ahead draw event days' shocks
    eps = np.where(is_event[None, :], rng.choice(model.shocks_event, size=(fc.PATHS, 56)), calm)
    draws = model.beta[:, None] + model.beta_chol @ rng.standard_normal((len(model.beta), fc.PATHS))
    mu = (x.to_numpy() @ draws).T
    e = np.empty((fc.PATHS, 56))
    prev = np.full(fc.PATHS, model.last_resid)
    for t in range(56):
        prev = model.phi * prev + eps[:, t]
        e[:, t] = prev
    np.testing.assert_array_equal(sim.paths, np.maximum(np.expm1(mu + e), 0.0))
    np.testing.assert_array_equal(sim.frame["forecast"], np.quantile(sim.paths, 0.5, axis=0))
