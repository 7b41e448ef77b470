"""Samplers driven by exact, closed-form denoisers: what is left is the sampler itself."""
import math

import numpy as np
import pytest

from autograd import Tensor, grad
from scratch_gen.common.errors import UserError
from scratch_gen.diffusion import sampling
from scratch_gen.diffusion.schedule import Schedule

M = np.array([0.5, -1.0])        # the data: N(M, S^2 I) in 2D
S = 0.3


@pytest.fixture(scope="module")
def sched():
    return Schedule.make("linear", 1000)


def optimal_eps(sched, m=M, s=S):
    """E[eps | x_t] for x_0 ~ N(m, s^2 I): x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps is
    jointly Gaussian with eps, so the regression is linear:
    E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar).
    This is the minimizer of Ho et al.'s eq. 14, the network a perfect training run
    would give."""
    def eps_fn(x, t):
        ab = sched.abar[t][:, None]
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * m) / (ab * s * s + 1 - ab)
    return eps_fn


def check_mean_var(x, m, var, n_se=4.5):
    n = len(x)
    assert np.all(np.abs(x.mean(0) - m) < n_se * np.sqrt(var / n)), (x.mean(0), m)
    se_var = var * math.sqrt(2.0 / (n - 1))
    assert np.all(np.abs(x.var(0, ddof=1) - var) < n_se * se_var), (x.var(0, ddof=1), var)


def test_ancestral_with_the_optimal_predictor_recovers_the_data(sched):
    """Ho et al. Algorithm 2 with sigma_t^2 = beta_t and the exact E[eps | x_t]: samples
    have the data's mean and variance within Monte Carlo error."""
    rng = np.random.default_rng(0)
    x = sampling.ancestral(optimal_eps(sched), sched, rng.standard_normal((20000, 2)), rng,
                           variance="beta")
    check_mean_var(x, M, S * S)


def test_ancestral_output_distribution_by_exact_propagation(sched):
    """With a linear denoiser every step is linear-Gaussian, so the sampler's output law is
    computable without sampling: push (mean, variance) of x_T ~ N(0, 1) through
    x_{t-1} = A x_t + B + sigma z. It lands on N(0.5, S^2) up to the discretization of
    1000 steps (0.6% in the variance), below the Monte Carlo error (1% standard error of
    the variance from 20,000 samples) of the sampling test above."""
    eps_fn = optimal_eps(sched, m=np.array([0.5]), s=S)
    mean, var = 0.0, 1.0
    for t in range(sched.T, 0, -1):
        tt = np.array([t])
        # the step's affine map, read off by evaluating it at x = 0 and x = 1
        f = lambda x: sched.mean_from_eps(np.array([[x]]), tt, eps_fn(np.array([[x]]), tt))[0, 0]
        b = f(0.0)
        a = f(1.0) - b
        mean, var = a * mean + b, a * a * var + (sched.beta[t] if t > 1 else 0.0)
    # x_T ~ N(0, 1) misses q(x_T)'s mean sqrt(abar_T) 0.5 = 3e-3, which the reverse
    # chain shrinks by about S^2: the start's error is all that is left in the mean.
    assert mean == pytest.approx(0.5, abs=1e-5)
    assert var == pytest.approx(S * S, rel=1e-2)


def test_lecture_sampler_with_the_optimal_mean_recovers_the_data(sched):
    """The slide's reverse process x_{t-1} ~ N(f(x_t, t), sigma^2) with f the exact
    E[x_{t-1} | x_t] (Ho et al. eq. 11 at the optimal eps) and sigma^2 = beta_t."""
    eps_fn = optimal_eps(sched)
    rng = np.random.default_rng(1)
    x = sampling.lecture_sampler(lambda x, t: sched.mean_from_eps(x, t, eps_fn(x, t)), sched,
                                 rng.standard_normal((20000, 2)), rng, variance="beta")
    check_mean_var(x, M, S * S)


def test_ddim_with_the_optimal_predictor_recovers_the_mean_and_roughly_the_variance(sched):
    """Deterministic DDIM (eta = 0) with 200 of the 1000 steps: an ODE-like solver, exact
    in the limit of many steps; at 200 steps the variance is within a few percent."""
    rng = np.random.default_rng(2)
    x = sampling.ddim(optimal_eps(sched), sched, rng.standard_normal((20000, 2)), rng,
                      steps=200, eta=0.0)
    check_mean_var(x, M, x.var(0, ddof=1).mean())
    assert np.all(np.abs(x.std(0) / S - 1.0) < 0.04), x.std(0)


def test_ddim_eta0_is_deterministic_given_x_T(sched):
    x_T = np.random.default_rng(3).standard_normal((50, 2))
    a = sampling.ddim(optimal_eps(sched), sched, x_T, np.random.default_rng(4), steps=20)
    b = sampling.ddim(optimal_eps(sched), sched, x_T, np.random.default_rng(5), steps=20)
    np.testing.assert_array_equal(a, b)


def test_ddim_eta1_reproduces_the_ddpm_step(sched):
    """Song et al. eq. 16 at eta = 1 between consecutive steps is the DDPM posterior
    variance beta~_t (Ho et al. eq. 7), and the DDIM mean is then the posterior mean
    mu~(x_t, x0_hat) of eq. 7 -- the same step as Algorithm 2."""
    rng = np.random.default_rng(6)
    for t in (2, 3, 10, 100, 999, 1000):
        sigma = sampling.ddim_sigma(sched, t, t - 1, 1.0)
        assert sigma ** 2 == pytest.approx(sched.beta_tilde[t], rel=1e-12)
        xt, eps = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
        _, mean, _ = sampling.ddim_step(sched, xt, t, t - 1, eps, 1.0, 0.0)
        want, var = sched.posterior(sched.x0_from_eps(xt, t, eps), xt, t)
        np.testing.assert_allclose(mean, want, rtol=1e-9, atol=1e-10)
        assert var == pytest.approx(sigma ** 2, rel=1e-12)
    assert sampling.ddim_sigma(sched, 10, 9, 0.0) == 0.0


def test_ddim_eta1_step_variance_by_monte_carlo(sched):
    """... and the spread of actual DDIM(eta=1) steps from one x_t is beta~_t."""
    rng = np.random.default_rng(7)
    t, n = 40, 40000
    xt = np.tile([[0.2, -0.4]], (n, 1))
    eps = optimal_eps(sched)(xt, np.full(n, t))
    x_prev, _, _ = sampling.ddim_step(sched, xt, t, t - 1, eps, 1.0, rng.standard_normal(xt.shape))
    v = sched.beta_tilde[t]
    assert np.all(np.abs(x_prev.var(0, ddof=1) - v) < 4.5 * v * math.sqrt(2.0 / n))


def test_timesteps():
    np.testing.assert_array_equal(sampling.timesteps(5), [5, 4, 3, 2, 1])
    for spacing in ("linear", "quadratic"):
        ts = sampling.timesteps(1000, 50, spacing)
        assert ts[0] == 1000 and ts[-1] == 1 and np.all(np.diff(ts) < 0) and 45 <= len(ts) <= 50
    quad = sampling.timesteps(1000, 50, "quadratic")
    assert (quad < 100).sum() > (sampling.timesteps(1000, 50, "linear") < 100).sum()
    for bad in (0, 1001, 2.5, True):
        with pytest.raises(UserError):
            sampling.timesteps(1000, bad)


def test_guidance_is_the_score_of_p_x_times_p_y_given_x_to_the_w(sched):
    """Ho & Salimans 2022: eps_u + w (eps_c - eps_u) is -sqrt(1 - abar_t) times the score
    of p_t(x) p_t(y | x)^w. Check on a 2D Gaussian mixture at time t, where p_t(x | y) is
    a Gaussian and p_t(x) the mixture; the score is taken by the autograd engine from the
    log-densities written out directly."""
    t = 150
    ab = sched.abar[t]
    means = np.array([[1.0, 0.0], [-0.5, 0.8], [0.0, -1.2]])
    weights = np.array([0.5, 0.3, 0.2])
    s2 = 0.05
    mt, vt = math.sqrt(ab) * means, ab * s2 + 1 - ab       # components of p_t
    x = np.random.default_rng(8).standard_normal((6, 2)) * 0.8
    y, w = 1, 2.5

    def log_comp(xx):                      # (N, K) log N(x; mt_k, vt) as Tensors
        cols = []
        for k in range(3):
            d = xx - Tensor(mt[k])
            cols.append((d * d).sum(axis=1, keepdims=True) * (-0.5 / vt)
                        - math.log(2 * math.pi * vt))
        return cols

    def eps_of(fn):
        xx = Tensor(x, requires_grad=True)
        (g,) = grad(fn(xx).sum(), [xx])
        return -math.sqrt(1 - ab) * np.asarray(g)

    def log_px(xx):
        c = log_comp(xx)
        import autograd.functional as F
        return F.logsumexp(F.cat([c[k] + math.log(weights[k]) for k in range(3)], axis=1), axis=1)

    def log_px_given_y(xx):
        return log_comp(xx)[y][:, 0]

    def log_target(xx):                   # log p(x) + w log p(y | x), p(y|x) by Bayes
        lp = log_px(xx)
        return lp + w * (log_comp(xx)[y][:, 0] + math.log(weights[y]) - lp)

    eps_u, eps_c = eps_of(log_px), eps_of(log_px_given_y)
    np.testing.assert_allclose(sampling.guided_eps(eps_u, eps_c, w), eps_of(log_target),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sampling.guided_eps(eps_u, eps_c, 0.0), eps_u, rtol=0, atol=0)
    np.testing.assert_allclose(sampling.guided_eps(eps_u, eps_c, 1.0), eps_c, rtol=0, atol=0)
