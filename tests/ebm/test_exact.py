"""log Z and grad log Z on enumerable binary spaces (Isola L14, 'learning model parameters').

The three ways of computing grad_theta log Z -- (a) autograd through logsumexp, (b) the
lecture's identity -E_p[grad E] as an exact expectation, (c) Monte Carlo from Gibbs
samples -- are checked against each other, and log Z against a brute-force sum.
"""
import itertools
import math

import numpy as np
import pytest

from autograd.backend import kernels
from scratch_gen.common.errors import UserError
from scratch_gen.ebm import exact, mcmc
from scratch_gen.ebm.energies import DiscreteMLPEnergy, QuadraticEnergy, energy_array


def quadratic(n, seed, scale=0.4):
    e = QuadraticEnergy(n, rng=seed, dtype=np.float64, init_scale=scale)
    e.b.data[:] = np.random.default_rng(seed + 100).normal(scale=0.5, size=n)
    return e


def mlp(n, seed, hidden=6):
    return DiscreteMLPEnergy(n, hidden=hidden, rng=seed, dtype=np.float64)


def unique_components(energy, grads):
    """Flatten gradients, keeping each free parameter once: a pairwise W's gradient is
    symmetric and zero on the diagonal (S only sees (W + W^T)/2 off it), so only its
    strict upper triangle is independent."""
    out = []
    for name, g in grads.items():
        if name == "W":                    # both energies' pairwise couplings
            g = g[np.triu_indices(energy.n, 1)]
        out.append(np.ravel(g))
    return np.concatenate(out)


# ------------------------------------------------------------------------- log Z

def test_log_z_matches_a_brute_force_sum_over_states():
    n = 5
    e = quadratic(n, 0)
    s, b = e.coupling_array()
    total = 0.0
    for bits in itertools.product((0.0, 1.0), repeat=n):
        x = np.array(bits)
        total += math.exp(0.5 * x @ s @ x + b @ x)
    truth = math.log(total)
    states = exact.all_states(n)
    assert exact.log_partition(e, states) == pytest.approx(truth, abs=1e-12)
    assert exact.log_partition_quadratic(e) == pytest.approx(truth, abs=1e-12)


def test_state_order_is_the_kernels_order():
    """Row s of all_states is the state whose energy the kernel puts at index s."""
    e = quadratic(9, 1)
    s, b = e.coupling_array()
    np.testing.assert_allclose(energy_array(e, exact.all_states(9)),
                               kernels().quadratic_energies(s, b, False), atol=1e-12)
    x = np.random.default_rng(0).integers(0, 2, size=(50, 9))
    np.testing.assert_array_equal(exact.all_states(9)[exact.state_index(x)], x)


def test_log_z_of_16_bits_by_kernel_and_by_autograd_states_agree():
    e = quadratic(16, 2, scale=0.15)
    states = exact.all_states(16)
    assert exact.log_partition(e, states) == pytest.approx(exact.log_partition_quadratic(e),
                                                           abs=1e-9)


def test_probabilities_sum_to_one_and_match_energy_ratios():
    e = mlp(7, 3)
    states = exact.all_states(7)
    p = exact.state_probabilities(e, states)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    en = energy_array(e, states)
    # Isola L14: p(x1)/p(x2) = exp(-E(x1))/exp(-E(x2)); Z cancels.
    np.testing.assert_allclose(np.log(p[5] / p[77]), en[77] - en[5], atol=1e-12)


# --------------------------------------------------------- the three gradients

@pytest.mark.parametrize("make", [quadratic, mlp], ids=["boltzmann", "mlp"])
def test_autograd_through_logsumexp_equals_the_lecture_identity(make):
    """(a) == (b) to 1e-10: differentiating log sum exp(-E) is -E_p[grad E]."""
    n = 10
    e = make(n, 4)
    states = exact.all_states(n)
    a = exact.grad_logz_autograd(e, states)
    b = exact.grad_logz_identity(e, states)
    assert set(a) == set(b) == {name for name, _ in e.named_parameters()}
    for name in a:
        assert np.abs(a[name]).max() > 1e-3          # a real gradient, not zeros
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-10)


def test_boltzmann_identity_is_moment_matching():
    """For E = -x^T S x / 2 - b^T x the identity is the textbook rule:
    grad_b log Z = E_p[x], grad_W log Z = M * E_p[x x^T] / 2."""
    n = 12
    e = quadratic(n, 5)
    a = exact.grad_logz_autograd(e, exact.all_states(n))
    m = exact.grad_logz_boltzmann(e)
    for name in a:
        np.testing.assert_allclose(a[name], m[name], rtol=0, atol=1e-10)


@pytest.mark.parametrize("make", [quadratic, mlp], ids=["boltzmann", "mlp"])
def test_monte_carlo_gradient_agrees_within_its_standard_error(make):
    """(c): 4000 independent Gibbs chains of 25 sweeps; every free component of the
    estimate within 4.5 standard errors of the exact value (about 40 components; the
    chance that an honest estimate fails is below 1e-3), while samples from the wrong
    distribution fail by far."""
    n = 8
    e = make(n, 6)
    truth = exact.grad_logz_identity(e, exact.all_states(n))
    rng = np.random.default_rng(7)
    samples = mcmc.gibbs_sample(e, 4000, 25, rng)
    est, se = exact.grad_logz_monte_carlo(e, samples, groups=40)
    z = (unique_components(e, est) - unique_components(e, truth)) / unique_components(e, se)
    assert np.abs(z).max() < 4.5

    # The same check rejects samples from the wrong distribution: uniform bits.
    wrong = (rng.random((4000, n)) < 0.5).astype(float)
    est_w, se_w = exact.grad_logz_monte_carlo(e, wrong, groups=40)
    z_w = (unique_components(e, est_w) - unique_components(e, truth)) / unique_components(e, se_w)
    assert np.abs(z_w).max() > 10


def test_too_many_bits_is_a_user_error():
    with pytest.raises(UserError, match="n=21"):
        exact.all_states(21)
    with pytest.raises(UserError, match="n=0"):
        exact.check_bits(0)


def test_kl_discrete_is_zero_for_the_truth_and_positive_otherwise():
    p = np.array([0.5, 0.25, 0.25, 0.0])
    assert exact.kl_discrete(p, np.log(np.array([0.5, 0.25, 0.25, 1e-300]))) == pytest.approx(0, abs=1e-15)
    q = np.full(4, 0.25)
    assert exact.kl_discrete(p, np.log(q)) == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(1.0), abs=1e-15)
