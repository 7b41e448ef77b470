"""Isola L14, "Density models": max likelihood = min KL, checked exactly on a
categorical, and the closed-form MLEs (categorical, Gaussian) checked as optima."""
import math

import numpy as np
import pytest

from autograd import Tensor
from scratch_gen import registry
from scratch_gen.common.errors import UserError
from scratch_gen.density import categorical
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit


def data(seed, n=500, k=7):
    rng = np.random.default_rng(seed)
    return rng.choice(k, size=n, p=rng.dirichlet(np.ones(k) * 2))


@pytest.mark.parametrize("seed", range(5))
def test_kl_minus_nll_is_minus_the_entropy_for_any_theta(seed):
    x = data(seed)
    p_hat = categorical.empirical(x, 7)
    rng = np.random.default_rng(100 + seed)
    for _ in range(10):
        theta = rng.normal(scale=3.0, size=7)
        q = np.exp(categorical.log_softmax(theta))
        gap = categorical.kl(p_hat, q) - categorical.nll(theta, x)
        assert gap == pytest.approx(-categorical.entropy(p_hat), abs=1e-10)
    # and the NLL written point by point is the same number as through the counts
    theta = rng.normal(size=7)
    direct = -np.mean([categorical.log_softmax(theta)[xi] for xi in x])
    assert categorical.nll(theta, x) == pytest.approx(direct, abs=1e-12)


def test_gradient_ascent_reaches_the_count_frequencies():
    x = data(7)
    p_hat = categorical.empirical(x, 7)
    assert (p_hat > 0).all()                         # otherwise the optimum is at -inf logits
    theta, history = categorical.fit_by_gradient_ascent(x, 7, steps=1500, lr=1.0)
    q = np.exp(categorical.log_softmax(theta))
    np.testing.assert_allclose(q, p_hat, atol=1e-9)
    assert categorical.kl(p_hat, q) < 1e-15
    assert np.all(np.diff(history) <= 1e-15)         # ascent: the NLL never rises
    assert history[-1] == pytest.approx(categorical.entropy(p_hat), abs=1e-12)


def test_the_autograd_gradient_is_counts_minus_model():
    x = data(3)
    p_hat = categorical.empirical(x, 7)
    theta = np.random.default_rng(0).normal(size=7)
    t = Tensor(theta.copy(), requires_grad=True)
    from autograd import functional as F
    (F.log_softmax(t, axis=0) * p_hat).sum().backward()
    np.testing.assert_allclose(t.grad, p_hat - np.exp(categorical.log_softmax(theta)), atol=1e-14)


def test_kl_and_entropy_edge_cases():
    assert categorical.kl([0.5, 0.5, 0.0], [0.5, 0.0, 0.5]) == math.inf
    assert categorical.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), abs=1e-15)
    assert categorical.entropy([0.25] * 4) == pytest.approx(math.log(4), abs=1e-15)
    with pytest.raises(UserError, match="integers in 0..2"):
        categorical.counts([0, 3], 3)


def test_gaussian_mle_formula_and_zero_gradient_at_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 3)) + [1.0, -2.0, 0.5]
    g = registry.build("density", "gaussian", DataSpec("continuous", (3,)))
    fit(g, x, quiet=True)
    mu = sum(x) / len(x)                                           # the formula, by hand
    cov = sum(np.outer(xi - mu, xi - mu) for xi in x) / len(x)     # 1/N, not 1/(N-1)
    np.testing.assert_allclose(g.mean, mu, atol=1e-12)
    np.testing.assert_allclose(g.cov, cov, atol=1e-12)
    # the log-likelihood's gradient vanishes there. In the precision P = Sigma^-1,
    # mean log N = 1/2 log det P - 1/2 mean (x - mu)^T P (x - mu) + const: autograd
    # gives the quadratic term's gradient, and d/dP 1/2 log det P = 1/2 P^-1 = Sigma/2
    m = Tensor(g.mean.copy(), requires_grad=True)
    prec = Tensor(np.linalg.inv(g.cov), requires_grad=True)
    r = Tensor(x) - m
    ll = (-0.5 * ((r @ prec) * r).sum(axis=1)).mean()
    ll.backward()
    np.testing.assert_allclose(m.grad, 0.0, atol=1e-10)
    np.testing.assert_allclose(prec.grad + 0.5 * g.cov, 0.0, atol=1e-10)
    # and any other Gaussian fits the training data worse
    base = g.log_prob(x).mean()
    for delta in (0.05 * np.eye(3)[0], -0.02 * np.ones(3)):
        other = registry.build("density", "gaussian", DataSpec("continuous", (3,)))
        other.load_state_dict({"mean": g.mean + delta, "cov": g.cov})
        assert other.log_prob(x).mean() < base
    other.load_state_dict({"mean": g.mean, "cov": 1.1 * g.cov})
    assert other.log_prob(x).mean() < base


def test_gaussian_ridge_is_the_mle_plus_reg_identity():
    x = np.random.default_rng(1).normal(size=(50, 4))
    plain = registry.build("density", "gaussian", DataSpec("continuous", (4,)))
    ridge = registry.build("density", "gaussian", DataSpec("continuous", (4,)), {"reg": 0.1})
    fit(plain, x, quiet=True)
    fit(ridge, x, quiet=True)
    np.testing.assert_allclose(ridge.cov, plain.cov + 0.1 * np.eye(4), atol=1e-14)
    with pytest.raises(UserError, match="reg=-1.0"):
        registry.build("density", "gaussian", DataSpec("continuous", (4,)), {"reg": -1.0})
