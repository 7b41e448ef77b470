"""Samplers that need only energy differences or grad_x E (Isola L14, 'Energy-based
models': relative probabilities are all you need for sampling).

The Gaussian target E(x) = x^2 / (2 sigma^2) has a known answer for both samplers.
Unadjusted Langevin, x' = x - (eps/2) x / sigma^2 + sqrt(eps) xi = a x + sqrt(eps) xi
with a = 1 - eps / (2 sigma^2), has stationary variance v = a^2 v + eps, i.e.

    v = eps / (1 - a^2) = sigma^2 / (1 - eps / (4 sigma^2)),

larger than sigma^2: the discretisation bias. MALA's accept/reject removes it exactly
(Roberts & Tweedie 1996): v = sigma^2.
"""
import math

import numpy as np
import pytest

from autograd import nn
from scratch_gen.common.errors import UserError
from scratch_gen.ebm import exact, mcmc
from scratch_gen.ebm.energies import MLPEnergy, QuadraticEnergy, energy_array
from scratch_gen.metrics import normalize_2d


class GaussianEnergy(nn.Module):
    """E(x) = |x|^2 / (2 sigma^2), sigma a (float64) parameter."""

    def __init__(self, sigma):
        super().__init__()
        self.sigma = nn.Parameter(np.array([sigma]), dtype=np.float64)

    def forward(self, x):
        return (x * x).sum(axis=1) / (self.sigma * self.sigma * 2.0)


SIGMA, EPS = 1.0, 0.4          # eps / (4 sigma^2) = 0.1: a 11% variance bias for ULA


def variance_and_se(x):
    """Sample variance of i.i.d. zero-mean normals and its standard error v sqrt(2/N)."""
    v = float((x * x).mean())
    return v, v * math.sqrt(2.0 / x.size)


def test_langevin_stationary_variance_is_the_derived_biased_one():
    rng = np.random.default_rng(0)
    e = GaussianEnergy(SIGMA)
    x = mcmc.langevin(e, np.zeros((20000, 2)), 120, EPS, rng)   # a^120 = 0.8^120 ~ 0
    v, se = variance_and_se(x)
    theory = SIGMA ** 2 / (1 - EPS / (4 * SIGMA ** 2))
    assert abs(v - theory) < 4 * se
    assert abs(v - SIGMA ** 2) > 8 * se            # the bias is real and visible


def test_mala_stationary_variance_is_exact():
    rng = np.random.default_rng(1)
    e = GaussianEnergy(SIGMA)
    start = rng.normal(scale=2.0, size=(20000, 2))  # overdispersed start
    x, rate = mcmc.mala(e, start, 150, EPS, rng)
    v, se = variance_and_se(x)
    assert abs(v - SIGMA ** 2) < 4 * se
    assert 0.5 < rate < 1.0                         # it does reject, and moves


def test_langevin_path_and_mala_path_shapes_and_endpoints():
    rng = np.random.default_rng(2)
    e = GaussianEnergy(SIGMA)
    x, path = mcmc.langevin(e, np.ones((5, 2)), 7, 0.1, rng, keep_path=True)
    assert path.shape == (8, 5, 2)
    np.testing.assert_array_equal(path[0], np.ones((5, 2)))
    np.testing.assert_array_equal(path[-1], x)
    x, rate, path = mcmc.mala(e, np.ones((5, 2)), 7, 0.1, rng, keep_path=True)
    assert path.shape == (8, 5, 2) and 0 <= rate <= 1
    np.testing.assert_array_equal(path[-1], x)


def test_samplers_leave_the_parameters_trainable():
    e = GaussianEnergy(SIGMA)
    mcmc.mala(e, np.zeros((3, 2)), 2, 0.1, np.random.default_rng(0))
    assert all(p.requires_grad for p in e.parameters())


def test_score_is_minus_grad_energy_by_finite_differences():
    """grad_x log p = -grad_x E: log p = -E - log Z and log Z does not depend on x.
    Checked against central differences of the quadrature-normalized log p."""
    e = MLPEnergy(2, hidden=16, depth=2, leash=1.0, rng=3, dtype=np.float64)
    e.set_box([-3, -3], [3, 3])
    log_z = normalize_2d(lambda p: -energy_array(e, p), (-3, -3), (3, 3), 128).log_z

    def log_p(p):
        return -energy_array(e, p) - log_z

    x = np.random.default_rng(4).uniform(-2.5, 2.5, size=(20, 2))
    h = 1e-5
    fd = np.stack([(log_p(x + h * d) - log_p(x - h * d)) / (2 * h)
                   for d in np.eye(2)], axis=1)
    s = mcmc.score(e, x)
    assert np.abs(s).max() > 0.1
    np.testing.assert_allclose(s, fd, rtol=1e-7, atol=1e-8)


def test_gibbs_conditional_is_the_boltzmann_sigmoid():
    """For the quadratic energy, sigmoid(E(x_k=0) - E(x_k=1)) = sigmoid(b_k + (S x)_k)."""
    e = QuadraticEnergy(6, rng=0, dtype=np.float64, init_scale=0.5)
    e.b.data[:] = np.linspace(-1, 1, 6)
    s, b = e.coupling_array()
    x = np.random.default_rng(1).integers(0, 2, size=(30, 6)).astype(float)
    for k in range(6):
        x0, x1 = x.copy(), x.copy()
        x0[:, k], x1[:, k] = 0, 1
        lhs = 1 / (1 + np.exp(energy_array(e, x1) - energy_array(e, x0)))
        rhs = 1 / (1 + np.exp(-(b[k] + x0 @ s[k])))
        np.testing.assert_allclose(lhs, rhs, atol=1e-13)


def test_gibbs_samples_have_the_enumerated_distribution():
    """Chi-square of 20000 Gibbs samples (independent chains) against the exact p over
    all 32 states: within 5 standard deviations of its mean (31 dof)."""
    e = QuadraticEnergy(5, rng=2, dtype=np.float64, init_scale=0.8)
    p = exact.state_probabilities(e, exact.all_states(5))
    rng = np.random.default_rng(3)
    x = mcmc.gibbs_sample(e, 20000, 20, rng)
    counts = np.bincount(exact.state_index(x), minlength=32)
    expected = 20000 * p
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 31 + 5 * math.sqrt(62)
    # ... and the statistic has teeth: a uniform sample is rejected.
    u = np.bincount(rng.integers(0, 32, 20000), minlength=32)
    assert float(((u - expected) ** 2 / expected).sum()) > 31 + 5 * math.sqrt(62)


def test_replay_buffer_restarts_the_stated_fraction_from_noise():
    rng = np.random.default_rng(5)
    buf = mcmc.ReplayBuffer(1000, [-1, -1], [1, 1], rng)
    buf.x[:] = 5.0                                  # every stored chain sits far outside
    x, idx = buf.draw(20000, rng, reinit=0.05)
    fresh = np.all(np.abs(x) <= 1, axis=1).mean()
    assert abs(fresh - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 20000)
    buf.put(idx[:3], np.zeros((3, 2)))
    np.testing.assert_array_equal(buf.x[idx[:3]], 0.0)


def test_bad_step_size_and_sampler_are_user_errors():
    e = GaussianEnergy(1.0)
    with pytest.raises(UserError, match="eps=0"):
        mcmc.langevin(e, np.zeros((2, 2)), 1, 0, np.random.default_rng(0))
    with pytest.raises(UserError, match="'hmc'"):
        mcmc.run_sampler("hmc", e, np.zeros((2, 2)), 1, 0.1, np.random.default_rng(0))
