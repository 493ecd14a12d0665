"""The marketing response model (issue 13): identified when spend varies, honest intervals, and "not identified"
when the data cannot tell carry-over, saturation and size apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seeded_shops import min_covered
from workbench.stats import response as R

TRUTH = {"a": (0.15, 800.0, 0.5), "b": (0.10, 1500.0, 0.2)}  # beta, gamma (CNY/day), decay


def synth(seed: int, varied: bool = True, days: int = 730) -> pd.DataFrame:
    """Daily orders from the model's own form; spend switched on and off in 2-week blocks, or nearly constant."""
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
    orders = rng.poisson(base * mult * np.exp(rng.normal(0, 0.05, days)))
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
