"""The forward process: the slide's chain against its closed forms (Ho et al. 2020)."""
import math
import warnings

import numpy as np
import pytest

from scratch_gen.common.errors import UserError
from scratch_gen.diffusion.schedule import (Schedule, ScheduleWarning, cosine_betas,
                                            linear_betas)


@pytest.fixture(scope="module")
def sched():
    return Schedule.make("linear", 1000)


def test_linear_betas_are_ho_et_al_section_4():
    b = linear_betas(1000)
    assert b[0] == 1e-4 and b[-1] == 0.02 and np.allclose(np.diff(b), (0.02 - 1e-4) / 999,
                                                          rtol=0, atol=1e-15)


def test_alpha_bar_is_the_product_of_alphas(sched):
    # abar_t = prod_{s <= t} (1 - beta_s), with abar_0 = 1, by an independent running product
    prod, out = 1.0, [1.0]
    for b in sched.beta[1:]:
        prod *= 1.0 - b
        out.append(prod)
    np.testing.assert_allclose(sched.abar, out, rtol=1e-12, atol=0)
    assert sched.abar[-1] < 1e-4          # Ho's schedule does reach noise


def test_cosine_schedule_reproduces_its_alpha_bar():
    T, s = 200, 0.008
    sch = Schedule(cosine_betas(T, s))
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    want = [f(t) / f(0) for t in range(T)]        # beta clipping only touches t = T
    np.testing.assert_allclose(sch.abar[:T], want, rtol=1e-10, atol=1e-15)
    assert sch.beta[1:].max() <= 0.999 and sch.abar[-1] < 1e-3
    # clipped lower (the river benchmark: 0.05), the chain still ends at noise
    low = Schedule.make("cosine", 1000, max_beta=0.05)
    assert low.beta[1:].max() == 0.05 and low.abar[-1] < 1e-3
    np.testing.assert_array_equal(low.beta[1:][low.beta[1:] < 0.05],
                                  cosine_betas(1000)[cosine_betas(1000) < 0.05])


def test_short_schedule_warns_like_tiny_diffusion():
    # tanelp/tiny-diffusion: T = 50 with betas 1e-4..0.02 stops at abar_T ~ 0.6
    with pytest.warns(ScheduleWarning, match=r"abar_T = 0\.6"):
        sch = Schedule.make("linear", 50)
    assert not sch.reaches_noise and 0.55 < sch.abar[-1] < 0.65
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Schedule.make("linear", 1000).reaches_noise
        assert Schedule.make("cosine", 100).reaches_noise


@pytest.mark.parametrize("bad", [dict(kind="quadratic"), dict(T=0), dict(T=2.5),
                                 dict(beta_1=0.0), dict(beta_1=0.1, beta_T=0.01),
                                 dict(kind="cosine", max_beta=0.0)])
def test_bad_schedules_are_user_errors(bad):
    with pytest.raises(UserError):
        Schedule.make(**{"kind": "linear", "T": 10, **bad})


def test_iterated_chain_matches_closed_form_in_mean_and_variance(sched):
    """Algorithm 1.2's sequences (the slide's step applied t times) have the marginal
    q(x_t | x_0) = N(sqrt(abar_t) x_0, 1 - abar_t) of Ho et al. eq. 4."""
    rng = np.random.default_rng(0)
    n = 20000
    x0 = np.array([1.5, -0.5])
    chain = sched.forward_chain(np.tile(x0, (n, 1)), rng, t_max=1000)
    for t in (1, 10, 100, 400, 1000):
        xt = chain[t]
        mean, var = sched.q_mean_var(x0, t)
        # sample mean within 4 standard errors; sample variance within 4 of its std error
        se_mean = math.sqrt(var / n)
        assert np.all(np.abs(xt.mean(0) - mean) < 4 * se_mean), (t, xt.mean(0), mean)
        se_var = var * math.sqrt(2.0 / (n - 1))
        assert np.all(np.abs(xt.var(0, ddof=1) - var) < 4 * se_var), (t, xt.var(0), var)


def test_q_sample_is_the_closed_form_reparameterization(sched):
    rng = np.random.default_rng(1)
    x0, eps = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    t = np.array([1, 2, 50, 999, 1000])
    xt = sched.q_sample(x0, t, eps)
    for i in range(5):
        ab = np.prod(1.0 - sched.beta[1:t[i] + 1])
        np.testing.assert_allclose(xt[i], math.sqrt(ab) * x0[i] + math.sqrt(1 - ab) * eps[i],
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sched.x0_from_eps(xt, t, eps), x0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sched.eps_from_x0(xt, t, x0), eps, rtol=1e-9, atol=1e-9)


def test_posterior_is_the_product_of_gaussians(sched):
    """q(x_{t-1} | x_t, x_0) is proportional to q(x_t | x_{t-1}) q(x_{t-1} | x_0): a
    product of two Gaussians in x_{t-1}, whose precision and mean are the sums written
    out here independently of Ho et al. eq. 7."""
    rng = np.random.default_rng(2)
    for t in (2, 3, 10, 500, 1000):
        x0, xt = rng.standard_normal(4), rng.standard_normal(4)
        a, b = 1.0 - sched.beta[t], sched.beta[t]
        ab_prev = np.prod(1.0 - sched.beta[1:t])
        # q(x_t | x_{t-1}) = N(sqrt(a) x_{t-1}, b): as a function of x_{t-1}, precision a / b
        prec = a / b + 1.0 / (1.0 - ab_prev)
        mean = (math.sqrt(a) * xt / b + math.sqrt(ab_prev) * x0 / (1.0 - ab_prev)) / prec
        m, v = sched.posterior(x0, xt, t)
        np.testing.assert_allclose(m, mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(v, 1.0 / prec, rtol=1e-10, atol=0)


def test_posterior_density_is_the_normalized_product_on_a_grid(sched):
    """The same identity checked on densities: log q(x_t|x_{t-1}) + log q(x_{t-1}|x_0),
    normalized over a fine 1D grid of x_{t-1}, equals log N(mu~, beta~) there."""
    t, x0, xt = 7, 0.8, 0.3
    a, b = 1.0 - sched.beta[t], sched.beta[t]
    ab_prev = sched.abar[t - 1]
    m, v = sched.posterior(np.array([x0]), np.array([xt]), t)
    grid = np.linspace(m[0] - 12 * math.sqrt(v), m[0] + 12 * math.sqrt(v), 20001)
    logq = (-(xt - math.sqrt(a) * grid) ** 2 / (2 * b)
            - (grid - math.sqrt(ab_prev) * x0) ** 2 / (2 * (1 - ab_prev)))
    h = grid[1] - grid[0]
    logq -= logq.max()
    logq -= math.log(np.exp(logq).sum() * h)
    want = -0.5 * (math.log(2 * math.pi * v) + (grid - m[0]) ** 2 / v)
    np.testing.assert_allclose(logq, want, rtol=0, atol=1e-8)


def test_posterior_at_t1_is_the_data_point(sched):
    x0, x1 = np.array([0.3]), np.array([-2.0])
    m, v = sched.posterior(x0, x1, 1)
    assert m[0] == pytest.approx(0.3, abs=1e-12) and v == 0.0


def test_eq11_mean_is_the_posterior_mean_at_the_implied_x0(sched):
    """Ho et al. eq. 11 (mean from a noise prediction) = eq. 7 at x0_hat (eq. 15)."""
    rng = np.random.default_rng(3)
    t = np.array([1, 2, 17, 300, 1000])
    xt, eps = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    mu11 = sched.mean_from_eps(xt, t, eps)
    mu7, _ = sched.posterior(sched.x0_from_eps(xt, t, eps), xt, t)
    np.testing.assert_allclose(mu11, mu7, rtol=1e-9, atol=1e-10)


def test_times_out_of_range_are_user_errors(sched):
    with pytest.raises(UserError, match="T=1000"):
        sched.q_sample(np.zeros((1, 2)), 1001, np.zeros((1, 2)))
    with pytest.raises(UserError):
        sched.posterior(np.zeros(2), np.zeros(2), 0)
