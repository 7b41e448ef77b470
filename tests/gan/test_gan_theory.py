"""The optimal discriminator and the value of the game, on finite spaces where they are
exact (Goodfellow et al. 2014, Proposition 1 and Theorem 1; Isola L14, "GANs")."""
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.spatial.distance import jensenshannon

from scratch_gen.common.errors import UserError
from scratch_gen.gan import theory


def pairs(seed, count=5, k=7):
    rng = np.random.default_rng(seed)
    return [(rng.dirichlet(np.ones(k) * 2), rng.dirichlet(np.ones(k) * 2)) for _ in range(count)]


def test_optimal_discriminator_is_p_over_p_plus_q_by_direct_maximization():
    # Each outcome is its own problem max_y p log y + q log(1 - y); solve it numerically,
    # knowing nothing of the closed form, and compare.
    for p, q in pairs(0):
        d = theory.optimal_discriminator(p, q)
        for px, qx, dx in zip(p, q, d):
            res = minimize_scalar(lambda y: -(px * math.log(y) + qx * math.log(1 - y)),
                                  bounds=(1e-12, 1 - 1e-12), method="bounded",
                                  options={"xatol": 1e-12})
            assert abs(res.x - dx) < 1e-7
        np.testing.assert_allclose(d, p / (p + q), rtol=0, atol=0)
        # the first-order condition p/d - q/(1-d) = 0 holds to rounding
        np.testing.assert_allclose(p / d - q / (1 - d), 0.0, atol=1e-12)


def test_no_other_discriminator_does_better():
    rng = np.random.default_rng(1)
    for p, q in pairs(2):
        d = theory.optimal_discriminator(p, q)
        best = theory.value(d, p, q)
        for _ in range(200):
            other = np.clip(d + rng.normal(0, 0.05, d.shape), 1e-6, 1 - 1e-6)
            assert theory.value(other, p, q) < best


def test_tabular_discriminator_trained_by_gradient_ascent_converges_to_d_star():
    for p, q in pairs(3, count=3, k=6):
        d, history = theory.train_tabular_discriminator(p, q, steps=600)
        np.testing.assert_allclose(d, p / (p + q), atol=1e-6)
        assert np.all(np.diff(history) >= -1e-15), "ascent on a concave V never goes down"
        assert abs(history[-1] - theory.optimal_value(p, q)) < 1e-10


def test_value_at_d_star_is_minus_log4_plus_two_jsd():
    for p, q in pairs(4, count=10, k=9):
        js = jensenshannon(p, q) ** 2          # scipy: sqrt of the divergence, natural log
        assert abs(theory.jsd(p, q) - js) < 1e-12
        assert abs(theory.optimal_value(p, q) - (-math.log(4) + 2 * js)) < 1e-10


def test_at_the_global_optimum_d_star_is_one_half_and_v_is_minus_log4():
    p = np.random.default_rng(5).dirichlet(np.ones(12))
    np.testing.assert_array_equal(theory.optimal_discriminator(p, p), 0.5)
    assert abs(theory.optimal_value(p, p) + math.log(4)) < 1e-12
    assert theory.jsd(p, p) == 0.0


def test_disjoint_supports_give_the_largest_value_zero():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.25, 0.75])
    np.testing.assert_array_equal(theory.optimal_discriminator(p, q), [1, 1, 0, 0])
    assert abs(theory.jsd(p, q) - math.log(2)) < 1e-15
    assert abs(theory.optimal_value(p, q)) < 1e-15       # -log 4 + 2 log 2 = 0
    assert theory.kl(p, q) == math.inf


def test_the_generator_descending_v_at_d_star_moves_toward_the_data():
    # min over q of V(q, d*(q)) = -log4 + 2 JSD: along the segment from q to p the value
    # falls monotonically and reaches -log 4 only at p.
    p, q = pairs(6, count=1)[0]
    vals = [theory.optimal_value(p, (1 - t) * q + t * p) for t in np.linspace(0, 1, 11)]
    assert np.all(np.diff(vals) < 0)
    assert abs(vals[-1] + math.log(4)) < 1e-12


def test_bad_distributions_are_user_errors_naming_the_value():
    with pytest.raises(UserError, match="sum to 1"):
        theory.optimal_discriminator([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(UserError, match="3 outcomes"):
        theory.jsd([0.5, 0.5, 0.0], [1.0, 0.0])
