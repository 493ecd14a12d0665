"""The marketing response model (issue 13): identified when spend varies, honest intervals, and "not identified"
when the data cannot tell carry-over, saturation and size apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seeded_shops import min_covered
from workbench.stats import response as R

TRUTH = {"a": (0.15, 800.0, 0.5), "b": (0.10, 1500.0, 0.2)}  # beta, gamma (CNY/day), decay


def synth(seed: int, varied: bool = True, days: int = 730, week_shock: float = 0.0) -> pd.DataFrame:
    """Daily orders from the model's own form; spend switched on and off in 2-week blocks, or nearly constant.

    ``week_shock``: sd of a log-demand shock shared by the seven days of each calendar week (weather,
    a competitor's sale), which makes the days of a week correlated."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    spend = {}
    for c, (_b, g, _lam) in TRUTH.items():
        if varied:
            on = np.repeat(rng.random(days // 14 + 1) < 0.5, 14)[:days]
            spend[c] = np.where(on, rng.uniform(0.5, 3.0, days) * g, 0.0)
        else:
            spend[c] = g * (1 + 0.05 * rng.standard_normal(days))
    mult = 1 + sum(b * R.saturation(R.adstock(spend[c], lam), g) for c, (b, g, lam) in TRUTH.items())
    base = 400 * np.exp(0.1 * np.arange(days) / 365) * (1 + 0.1 * (dates.day_of_week >= 5))
    shock = np.repeat(rng.normal(0, week_shock, days // 7 + 1), 7)[:days] if week_shock else 0.0
    orders = rng.poisson(base * mult * np.exp(rng.normal(0, 0.05, days) + shock))
    return pd.DataFrame({"date": dates, "gmv": orders * 100.0, "orders": orders.astype(float), **spend,
                         "campaign": False})


def test_varied_spend_is_identified_and_its_intervals_cover_the_truth():
    covered = cases = 0
    for seed in range(1, 7):
        m = R.fit_response(synth(seed))
        assert m.converged and m.identified, m.shrink
        p = m.params.set_index("marketing_channel")
        true_theta = np.concatenate([[TRUTH[c][0] for c in m.channels], [np.log(TRUTH[c][1]) for c in m.channels],
                                     [TRUTH[c][2] for c in m.channels]])
        mroas = R.marginal_roas_table(m)
        planted = m.marginal_roas(m.current_spend[m.channels].to_numpy(), true_theta)
        for j, c in enumerate(m.channels):
            b, g, lam = TRUTH[c]
            checks = [p.loc[c, "beta_low"] <= b <= p.loc[c, "beta_high"],
                      p.loc[c, "gamma_low"] <= g <= p.loc[c, "gamma_high"],
                      p.loc[c, "decay_low"] <= lam <= p.loc[c, "decay_high"],
                      mroas.loc[j, "marginal_roas_low"] <= planted[j] <= mroas.loc[j, "marginal_roas_high"]]
            covered += sum(checks)
            cases += len(checks)
    assert covered >= min_covered(cases), (covered, cases)


def test_constant_spend_is_not_identified_and_no_reallocation_is_built_on_it():
    m = R.fit_response(synth(3, varied=False))
    assert not m.identified and set(m.unidentified()) == {"a", "b"}
    assert not m.params["identified"].any()


def test_intervals_are_feasible_and_hold_their_point_estimates():
    for varied in (True, False):
        m = R.fit_response(synth(5, varied))
        p = m.params
        assert ((0 < p["decay_low"]) & (p["decay_low"] <= p["decay"]) & (p["decay"] <= p["decay_high"])
                & (p["decay_high"] < 1)).all()
        assert ((0 < p["beta_low"]) & (p["beta_low"] <= p["beta"]) & (p["beta"] <= p["beta_high"])).all()
        assert ((p["gamma_low"] <= p["gamma"]) & (p["gamma"] <= p["gamma_high"])).all()
        t = R.marginal_roas_table(m)
        assert ((t["marginal_roas_low"] <= t["marginal_roas"]) & (t["marginal_roas"] <= t["marginal_roas_high"])).all()
        draws = m.draws(200)
        k = len(m.channels)
        assert (draws[:, :k] > 0).all() and ((draws[:, 2 * k:] > 0) & (draws[:, 2 * k:] < 1)).all()


def _true_theta(m: R.ResponseModel) -> np.ndarray:
    return np.concatenate([[TRUTH[c][0] for c in m.channels], [np.log(TRUTH[c][1]) for c in m.channels],
                           [TRUTH[c][2] for c in m.channels]])


def test_week_shocks_widen_the_intervals_and_they_still_cover():
    """Days of one week sharing a shock: the week-clustered posterior is wider than the one for independent
    days where the data speak through weeks, and its intervals hold the truth at the binomial bound.

    The size of each channel (log beta) is learnt from its 2-week on/off blocks. Day noise has variance
    about 0.05² + 1/500 (Poisson at ~500 orders) = 0.0045 and the week shock 0.06² = 0.0036, an
    intra-week correlation of 0.44 and a design effect of 1 + 6 × 0.44 ≈ 3.7 for week-level contrasts:
    their standard errors should grow by up to √3.7 ≈ 1.9 (less where daily changes inform too)."""
    covered = cases = 0
    ratios = []
    for seed in range(11, 17):
        data = synth(seed, week_shock=0.06)  # 2.4 x the day's own noise (0.05) plus Poisson noise
        m = R.fit_response(data)
        plain = R.fit_response(data, cluster=None)
        ratios.append(np.sqrt(np.diag(m.u_cov) / np.diag(plain.u_cov)))
        p = m.params.set_index("marketing_channel")
        mroas = R.marginal_roas_table(m)
        planted = m.marginal_roas(m.current_spend[m.channels].to_numpy(), _true_theta(m))
        for j, c in enumerate(m.channels):
            b, _g, lam = TRUTH[c]
            checks = [p.loc[c, "beta_low"] <= b <= p.loc[c, "beta_high"],
                      p.loc[c, "decay_low"] <= lam <= p.loc[c, "decay_high"],
                      mroas.loc[j, "marginal_roas_low"] <= planted[j] <= mroas.loc[j, "marginal_roas_high"]]
            covered += sum(checks)
            cases += len(checks)
    ratios = np.array(ratios)
    assert covered >= min_covered(cases), (covered, cases)
    assert np.median(ratios[:, :2]) > 1.3, ratios  # log beta of both channels
    assert np.median(ratios) > 1.0, ratios


def test_independent_days_keep_the_laplace_width():
    """Without shared shocks the sandwich is the Laplace covariance again (within its sampling noise)."""
    ratios = []
    for seed in (21, 22, 23):
        data = synth(seed)
        ratios.append(np.sqrt(np.diag(R.fit_response(data).u_cov) / np.diag(R.fit_response(data, cluster=None).u_cov)))
    assert 0.75 < np.median(ratios) < 1.3, np.median(ratios, axis=0)


def test_holiday_days_are_left_out_and_the_price_index_is_a_control_not_a_channel():
    data = synth(4)
    data["holiday"] = (data["date"] >= "2024-02-08") & (data["date"] <= "2024-02-15")
    data.loc[data["holiday"], "orders"] *= 0.6
    data["price_index"] = 0.9 + 0.02 * np.sin(np.arange(len(data)) / 7)
    m = R.fit_response(data)
    assert m.channels == ["a", "b"]
    assert not m.daily.loc[data["holiday"].to_numpy(), "used"].any()
    assert m.daily.loc[~data["holiday"].to_numpy(), "used"].all()


def test_response_curve_bands_are_the_quantiles_of_every_draws_steady_response():
    """The curves' bands, computed for all draws at once, are the 2.5% and 97.5% quantiles of
    steady_response over the posterior draws one at a time (the same numbers, to the bit)."""
    m = R.fit_response(synth(2))
    curves = R.response_curves(m, points=6)
    draws = m.draws(300)
    for j, c in enumerate(m.channels):
        mine = curves[curves["marketing_channel"] == c]
        assert len(mine) == 6 and mine["daily_spend"].iloc[0] == 0
        for _, row in mine.iterrows():
            spend = np.zeros(len(m.channels))
            spend[j] = row["daily_spend"]
            sims = np.array([m.steady_response(spend, th)[j] for th in draws])
            assert row["low"] == np.quantile(sims, 0.025) and row["high"] == np.quantile(sims, 0.975)
            assert row["response_gmv"] == m.steady_response(spend)[j]
        assert mine["high"].iloc[-1] > mine["low"].iloc[-1] > 0
