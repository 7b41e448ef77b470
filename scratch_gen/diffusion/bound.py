"""Likelihood: the variational bound of a diffusion model, in nats per example.

Sohl-Dickstein et al. 2015 and Ho et al. 2020, eq. 5: with the forward process q as a
fixed encoder and the reverse process p_theta as decoder,

    -log p_theta(x_0) <= L = L_T + sum_{t=2}^T L_{t-1} + L_0,
    L_T     = KL(q(x_T | x_0) || N(0, I))                      (no parameters)
    L_{t-1} = E_q KL(q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t))
    L_0     = -E_q log p_theta(x_0 | x_1).

Every KL is between Gaussians, so each term is exact given x_t; only x_t ~ q(x_t | x_0)
and which t's to visit are sampled. The slack ``L + log p_theta(x_0)`` is
``KL(q(x_{1:T} | x_0) || p_theta(x_{1:T} | x_0)) >= 0``: L is an upper bound on the
model's NLL, so ``L - H(p_data)`` is an upper bound on the KL to the truth.

The decoder p_theta(x_0 | x_1) decides what the bound is a bound *of*:

- continuous data: a Gaussian ``N(x_0; mu_theta(x_1, 1), sigma_1^2 I)``, so L bounds
  the NLL of the density (it can be negative, as a density's log can be positive);
- images with ``levels`` values per pixel: Ho et al. section 3.3, eq. 13, the Gaussian
  integrated over each value's bin of width 2 / (levels - 1) in [-1, 1] (edges at +-1
  extended to +-infinity), so L bounds the NLL of the *discrete* data in nats, and
  bits/dim = L / (D ln 2) is comparable with any discrete model's.

The sum over t is estimated by stratified sampling: {2..T} is cut into at most K
contiguous, log-spaced strata, one t drawn uniformly in each, the term weighted by the
stratum's size. That is unbiased for every K; K >= T - 1 visits every term. The
per-example values carry the Monte Carlo noise, so their standard error across examples covers it.
"""
import math

import numpy as np
from scipy import special

from ..common.errors import UserError

LOG_2PI = math.log(2.0 * math.pi)


def normal_kl(mean1, var1, mean2, var2):
    """KL(N(mean1, var1) || N(mean2, var2)) per coordinate, the usual closed form:
    ``1/2 (log(var2 / var1) + (var1 + (mean1 - mean2)^2) / var2 - 1)``."""
    return 0.5 * (np.log(var2) - np.log(var1) + (var1 + (mean1 - mean2) ** 2) / var2 - 1.0)


def normal_log_prob(x, mean, var):
    """log N(x; mean, var) per coordinate."""
    return -0.5 * (LOG_2PI + np.log(var) + (x - mean) ** 2 / var)


def _log_diff_cdf(a, b):
    """``log(Phi(b) - Phi(a))`` for a < b without cancellation: in the upper tail use
    ``Phi(b) - Phi(a) = Phi(-a) - Phi(-b)``, where the numbers are not near 1."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    upper = (a + b) > 0
    hi = np.where(upper, special.log_ndtr(-a), special.log_ndtr(b))
    lo = np.where(upper, special.log_ndtr(-b), special.log_ndtr(a))
    with np.errstate(divide="ignore"):
        return hi + np.log1p(-np.exp(lo - hi))


def discretized_log_prob(x, mean, std, levels):
    """Ho et al. 2020, eq. 13: the probability that ``N(mean, std^2)`` falls in the bin
    of the pixel value x, per coordinate, in nats. x lies on the grid of ``levels`` values
    spread evenly over [-1, 1]; each bin is x +- 1 / (levels - 1), the first and last
    bins open to -inf and +inf, so the masses over all levels sum to exactly 1."""
    if levels < 2:
        raise UserError(f"discretized decoder: levels={levels}, expected >= 2")
    x = np.asarray(x, dtype=np.float64)
    half = 1.0 / (levels - 1)
    lo = np.where(x <= -1.0 + 1e-9, -np.inf, (x - half - mean) / std)
    hi = np.where(x >= 1.0 - 1e-9, np.inf, (x + half - mean) / std)
    return _log_diff_cdf(lo, hi)


def strata(T, k):
    """Cut {2, ..., T} into at most ``k`` contiguous blocks, log-spaced: the terms fall
    roughly like 1/t (a test prints them), so equal widths in log t give each block a
    similar share of the sum and the early, large terms are visited one by one. Returns
    (start, size) pairs."""
    n = T - 1
    if n <= 0:
        return []
    if k >= n:
        return [(t, 1) for t in range(2, T + 1)]           # every term, exactly once
    edges = np.unique(np.round(np.geomspace(1, n + 1, max(1, int(k)) + 1)).astype(np.int64) - 1)
    return [(2 + int(a), int(b - a)) for a, b in zip(edges[:-1], edges[1:])]


def variational_bound(mean_fn, schedule, x0, rng, variance="beta_tilde", levels=None,
                      n_strata=100):
    """Per-example terms of Ho et al. eq. 5 for data ``x0`` (already in model units).

    mean_fn(x_t, t) -> mu_theta(x_t, t), the reverse-step mean (Ho et al. eq. 11 for an
    eps network; f_theta itself for the lecture's model).
    variance: sigma_t^2 of p_theta(x_{t-1} | x_t) for t >= 2, "beta_tilde" or "beta";
    the decoder at t = 1 uses sigma_1^2 = beta_1 (see Schedule.reverse_variance).
    levels: None for the continuous Gaussian decoder, else the discretized one.
    Returns a dict of arrays (N,): ``prior`` (L_T), ``diffusion`` (the estimated sum
    over t = 2..T), ``decoder`` (L_0) and ``total``, all in nats per example.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    n = len(x0)
    axes = tuple(range(1, x0.ndim))
    T = schedule.T

    # L_T: q(x_T | x_0) = N(sqrt(abar_T) x_0, 1 - abar_T) against N(0, 1), per coordinate.
    m_T, v_T = schedule.q_mean_var(x0, T)
    prior = normal_kl(m_T, v_T, 0.0, 1.0).sum(axis=axes)

    # sum_{t=2}^T L_{t-1}, stratified over t.
    diffusion = np.zeros(n)
    for start, size in strata(T, n_strata):
        t = rng.integers(start, start + size, size=n)
        x_t = schedule.q_sample(x0, t, rng.standard_normal(x0.shape))
        mu_q, var_q = schedule.posterior(x0, x_t, t)
        var_p = schedule.reverse_variance(t, variance)
        var_p = var_p.reshape(var_p.shape + (1,) * (x0.ndim - 1))
        kl = normal_kl(mu_q, var_q, mean_fn(x_t, t), var_p).sum(axis=axes)
        diffusion += size * kl

    # L_0: the decoder at t = 1.
    t1 = np.ones(n, dtype=np.int64)
    x_1 = schedule.q_sample(x0, t1, rng.standard_normal(x0.shape))
    mu_0 = mean_fn(x_1, t1)
    var_1 = schedule.reverse_variance(1, variance)
    if levels is None:
        decoder = -normal_log_prob(x0, mu_0, var_1).sum(axis=axes)
    else:
        decoder = -discretized_log_prob(x0, mu_0, math.sqrt(var_1), levels).sum(axis=axes)
    return {"prior": prior, "diffusion": diffusion, "decoder": decoder,
            "total": prior + diffusion + decoder}
