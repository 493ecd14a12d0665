"""Pooled Pareto/NBD terms and repeated simulations: computed once, the same numbers bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.stats import clv


def _histories(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generated (x, t_x, T) in weeks on a daily grid, as the summaries give them."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 105 * 7, n) / 7
    x = rng.poisson(rng.gamma(0.7, 1.5, n)).astype(float)
    tx = np.where(x > 0, np.floor(T * 7 * rng.beta(np.maximum(x, 1), 1, n)) / 7, 0.0)
    return x, tx, T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_union_of_pairs_gathers_each_rows_own_pairs(seed: int) -> None:
    x, tx, T = _histories(seed)
    ux, uv, inv_tx, inv_T = clv.pareto_pairs(x, tx, T)
    assert np.array_equal(ux[inv_tx], x) and np.array_equal(uv[inv_tx], tx)
    assert np.array_equal(ux[inv_T], x) and np.array_equal(uv[inv_T], T)
    assert len(np.unique(np.stack([ux, uv], 1), axis=0)) == len(ux)              # distinct
    separate = len(np.unique(np.stack([x, tx], 1), axis=0)) + len(np.unique(np.stack([x, T], 1), axis=0))
    assert len(ux) < separate
    # a customer's t_x is another customer's T: the union is smaller than the two sets apart


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pooled_pareto_likelihood_and_predictions_are_the_row_by_row_ones(seed: int) -> None:
    x, tx, T = _histories(seed)
    rows = clv.Rows.of(x, tx, T)
    rng = np.random.default_rng(10 + seed)
    for _ in range(8):
        p = np.exp(rng.uniform(-2, 7, 4))
        with np.errstate(all="ignore"):
            assert np.array_equal(clv._pareto_loglik(p, x, tx, T), clv._pareto_loglik(p, x, tx, T, rows),
                                  equal_nan=True), p
            assert np.array_equal(clv.probability_alive(p, x, tx, T, "pareto"),
                                  clv.probability_alive(p, x, tx, T, "pareto", rows.pairs), equal_nan=True), p


@pytest.mark.parametrize("variant", ["bgnbd", "mbgnbd", "pareto"])
def test_simulating_with_the_probability_alive_given_draws_the_same(variant: str) -> None:
    x, tx, T = _histories(4)
    p = np.array([0.6, 8.0, 0.9, 3.0]) if variant != "pareto" else np.array([0.6, 8.0, 0.7, 9.0])
    pairs = clv.pareto_pairs(x, tx, T) if variant == "pareto" else None
    alive = clv.probability_alive(p, x, tx, T, variant, pairs)
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):
        own = clv.simulate_purchases(p, 52, x, tx, T, variant, a, pairs)
        given = clv.simulate_purchases(p, 52, x, tx, T, variant, b, pairs, alive)
        assert np.array_equal(own, given) and own.sum() > 0
    assert a.random() == b.random()                                   # the generators moved alike
