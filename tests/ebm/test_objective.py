"""The lecture's two-term gradient (Isola L14, 'learning model parameters'):

    grad NLL = E_data[grad E] - E_model[grad E]   (minus the slide's grad log-likelihood).

Checked here: the surrogate loss ``mean E(data) - mean E(samples)`` has exactly this
gradient; with the model term exact it is the gradient of the true NLL (autograd and
finite differences); and when the model IS the data distribution, the expected CD
gradient is zero -- exactly for Gibbs on bits (the sweep leaves p invariant), within
Monte Carlo error for MALA in 2D, and not for unadjusted Langevin, whose bias shows.
"""
import math

import numpy as np
import pytest

from autograd import Tensor, grad, nn
from autograd import functional as F
from autograd import optim
from scratch_gen.ebm import exact, mcmc
from scratch_gen.ebm.energies import DiscreteMLPEnergy, MLPEnergy, QuadraticEnergy, energy_array
from scratch_gen.ebm.objective import (apply_gradient, contrastive_surrogate, data_term,
                                       energy_penalty, model_term, nll_gradient)


def params_of(energy):
    return [p for _, p in energy.named_parameters()]


def autograd_of(energy, scalar):
    return {name: g.data for (name, _), g in zip(energy.named_parameters(),
                                                  grad(scalar, params_of(energy)))}


def test_surrogate_loss_has_exactly_the_two_term_gradient():
    rng = np.random.default_rng(0)
    e = MLPEnergy(2, hidden=8, depth=2, rng=1, dtype=np.float64)
    x_data, x_model = rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) * 2
    want = nll_gradient(data_term(e, x_data), model_term(e, x_model))
    got = autograd_of(e, contrastive_surrogate(e, x_data, x_model))
    # (the output bias's is exactly 0: a constant shift of E moves data and samples alike)
    assert max(np.abs(g).max() for g in want.values()) > 1e-2
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: QuadraticEnergy(9, rng=2, dtype=np.float64, init_scale=0.4),
    lambda: DiscreteMLPEnergy(9, hidden=5, rng=3, dtype=np.float64)], ids=["boltzmann", "mlp"])
def test_with_the_exact_model_term_it_is_the_gradient_of_the_true_nll(make):
    """NLL(theta) = mean_i E(x_i) + log Z(theta). Its autograd gradient, and a central
    finite difference along a random direction, equal data_term - exact model_term."""
    e = make()
    states = exact.all_states(9)
    rng = np.random.default_rng(4)
    x = (rng.random((200, 9)) < 0.3).astype(float)
    p = exact.state_probabilities(e, states)
    two_term = nll_gradient(data_term(e, x), model_term(e, states, weights=p))

    def nll_tensor():
        return e(Tensor(x)).mean() + F.logsumexp(-e(Tensor(states)), axis=0)

    by_autograd = autograd_of(e, nll_tensor())
    surrogate = autograd_of(e, contrastive_surrogate(e, x, states, weights=p))
    for name in two_term:
        np.testing.assert_allclose(by_autograd[name], two_term[name], rtol=0, atol=1e-10)
        np.testing.assert_allclose(surrogate[name], two_term[name], rtol=0, atol=1e-10)

    # Finite differences of the NLL computed without any graph.
    def nll_value():
        return float(energy_array(e, x).mean()) + exact.log_partition(e, states)

    direction = {name: rng.normal(size=p_.shape) for name, p_ in e.named_parameters()}
    h = 1e-6
    for sign in (1, -1):
        for name, p_ in e.named_parameters():
            p_.data += sign * h * direction[name]
        if sign == 1:
            up = nll_value()
        else:
            down = nll_value()
        for name, p_ in e.named_parameters():
            p_.data -= sign * h * direction[name]
    fd = (up - down) / (2 * h)
    analytic = sum(float((two_term[k] * direction[k]).sum()) for k in two_term)
    assert fd == pytest.approx(analytic, rel=1e-6)


def gibbs_sweep_matrix(energy, n):
    """The exact transition matrix of one systematic Gibbs sweep (unit 0 first), built
    from the conditionals sigmoid(E(x_k=0) - E(x_k=1)) -- the reference for the sweep."""
    states = exact.all_states(n)
    e = energy_array(energy, states)
    size = 1 << n
    t = np.eye(size)
    for k in range(n):
        tk = np.zeros((size, size))
        for s in range(size):
            s0, s1 = s & ~(1 << k), s | (1 << k)
            p1 = 1.0 / (1.0 + math.exp(e[s1] - e[s0]))
            tk[s, s1] += p1
            tk[s, s0] += 1.0 - p1
        t = t @ tk
    return t


def test_expected_cd_gradient_is_exactly_zero_when_model_equals_data():
    """E_{x ~ p}[grad E(x)] - E_{x ~ p, x' ~ T^k(x, .)}[grad E(x')] = grad-weighted
    (p - p T^k), and p T = p because each Gibbs update leaves p invariant. With data
    from another distribution the same expression is far from zero."""
    n = 5
    e = QuadraticEnergy(n, rng=5, dtype=np.float64, init_scale=0.7)
    e.b.data[:] = np.linspace(-0.5, 0.8, n)
    states = exact.all_states(n)
    p = exact.state_probabilities(e, states)
    t = gibbs_sweep_matrix(e, n)
    np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-14)
    for k in (1, 3):
        tk = np.linalg.matrix_power(t, k)
        cd = model_term(e, states, weights=p - p @ tk)       # data term - CD model term
        assert max(np.abs(g).max() for g in cd.values()) < 1e-12
        q = np.full(len(p), 1.0 / len(p))                     # data != model
        cd_q = model_term(e, states, weights=q - q @ tk)
        assert max(np.abs(g).max() for g in cd_q.values()) > 1e-2


def test_gibbs_sweep_follows_the_exact_transition_matrix():
    """The code's sweep against the matrix: 40000 chains from one state, one sweep."""
    n = 4
    e = DiscreteMLPEnergy(n, hidden=3, rng=6, dtype=np.float64)
    t = gibbs_sweep_matrix(e, n)
    start = 5
    x = np.repeat(exact.all_states(n)[[start]], 40000, axis=0)
    mcmc.gibbs_sweep(e, x, np.random.default_rng(7))
    freq = np.bincount(exact.state_index(x), minlength=16) / 40000
    se = np.sqrt(t[start] * (1 - t[start]) / 40000)
    assert np.all(np.abs(freq - t[start]) <= 4.5 * se + 1e-12)


class Gaussian(nn.Module):
    def __init__(self, sigma):
        super().__init__()
        self.sigma = nn.Parameter(np.array([sigma]), dtype=np.float64)

    def forward(self, x):
        return (x * x).sum(axis=1) / (self.sigma * self.sigma * 2.0)


def cd_gradient_draws(sampler, eps, reps=40, batch=2000, seed=0):
    """CD-1 gradients d/dsigma of independent batches, data drawn exactly from the
    model N(0, sigma^2 I) with sigma = 1."""
    rng = np.random.default_rng(seed)
    e = Gaussian(1.0)
    out = []
    for _ in range(reps):
        x = rng.normal(size=(batch, 2))
        x_model = mcmc.run_sampler(sampler, e, x, 1, eps, rng)[0]
        out.append(nll_gradient(data_term(e, x), model_term(e, x_model))["sigma"][0])
    out = np.array(out)
    return out.mean(), out.std(ddof=1) / math.sqrt(reps)


def test_cd_with_mala_from_the_model_has_zero_expected_gradient_and_ula_does_not():
    """MALA leaves N(0, sigma^2) invariant, so CD's expected gradient at model = data is 0
    (within 4 standard errors). One ULA step inflates E|x|^2 by eps^2/(4 sigma^2) per
    dimension (see test_mcmc), so its CD gradient at model = data is
    d/dsigma: E_data[-|x|^2/sigma^3] - E_model[-|x|^2/sigma^3] = 2 eps^2/4 = 0.08 at eps=0.4."""
    mean, se = cd_gradient_draws("mala", 0.4)
    assert abs(mean) < 4 * se
    mean, se = cd_gradient_draws("langevin", 0.4)
    assert abs(mean - 0.08) < 4 * se and mean > 6 * se


def test_energy_penalty_gradient_matches_autograd():
    rng = np.random.default_rng(8)
    e = MLPEnergy(2, hidden=8, depth=1, rng=9, dtype=np.float64)
    a, b = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    g, value = energy_penalty(e, a, b, 0.3)
    ea, eb = e(Tensor(a)), e(Tensor(b))
    loss = ((ea * ea).mean() + (eb * eb).mean()) * 0.3
    assert value == pytest.approx(float(loss.data), rel=1e-12)
    want = autograd_of(e, loss)
    for name in want:
        np.testing.assert_allclose(g[name], want[name], rtol=0, atol=1e-12)


def test_apply_gradient_steps_along_the_given_gradient_and_clips():
    e = Gaussian(1.0)
    opt = optim.SGD(e.parameters(), lr=0.1)
    norm = apply_gradient(e, {"sigma": np.array([3.0])}, opt, max_norm=1.0)
    assert norm == pytest.approx(3.0)
    assert e.sigma.data[0] == pytest.approx(1.0 - 0.1 * 1.0, rel=1e-5)
    assert e.sigma.grad is None
