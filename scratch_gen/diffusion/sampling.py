"""Inference: running the reverse process from noise to data.

Isola L14, "Gaussian diffusion models", reverse process: ``mu = f_theta(x_t, t)``,
``x_{t-1} ~ N(mu, sigma^2)``, from ``x_T ~ N(0, I)`` down to x_0; and "Diffusion
models": "different noise samples (dice rolls) result in different images" -- the
sampler is a function of x_T and the per-step noise, nothing else.

Three samplers, all driven by a plain function of arrays, so they can be tested with
exact closed-form denoisers as well as run with a trained network:

- :func:`lecture_sampler`: the slide literally, for a network that predicts the mean
  of x_{t-1} (the lecture's Algorithm 1.2 model).
- :func:`ancestral`: Ho et al. 2020, Algorithm 2, for a noise predictor eps_theta: the
  mean is Ho et al. eq. 11, i.e. the posterior mean mu~(x_t, x0_hat) at the x_0 the
  predicted noise implies, and the last step returns that mean without noise.
- :func:`ddim`: Song, Meng & Ermon 2021, eq. 12, on a subsequence of the T steps, from
  the *same* eps network: ``eta = 0`` is deterministic (an ODE solver of sorts, so far
  fewer steps suffice), ``eta = 1`` is the DDPM step again (eq. 16; a test checks it).

Classifier-free guidance (Ho & Salimans 2022) is one line, :func:`guided_eps`.

Every function takes an explicit ``rng``; the same rng state gives the same samples.
"""
import numpy as np

from ..common.errors import UserError


def guided_eps(eps_uncond, eps_cond, w):
    """Classifier-free guidance: ``eps_u + w (eps_c - eps_u)``.

    Since ``eps_theta(x_t) = -sqrt(1 - abar_t) grad log p_t(x_t)`` (the noise predictor is
    a scaled score), this is the noise of ``grad log p_t(x) + w (grad log p_t(x | y) -
    grad log p_t(x)) = grad log [p_t(x) p_t(y | x)^w]`` by Bayes' rule: w = 0 samples
    p(x), w = 1 samples p(x | y), w > 1 sharpens towards what the implicit classifier
    p(y | x) is sure of. (Ho & Salimans write ``(1 + w') eps_c - w' eps_u``: the same
    thing with ``w' = w - 1``.) A test checks the identity on a Gaussian mixture.
    """
    if w == 1.0:
        return eps_cond
    return eps_uncond + w * (eps_cond - eps_uncond)


def timesteps(T, steps=None, spacing="quadratic"):
    """The decreasing times a sampler visits: all of T..1 (``steps`` None or T), or about
    ``steps`` of them from T down to 1 (DDIM's subsequence tau, Song et al. 2021,
    Appendix D.2): "linear" spacing, or "quadratic" ``tau_i ~ c i^2``, which spends more
    of the steps at low noise, where the fine detail (and a 2D mode's width) is decided.
    Duplicates after rounding are dropped, so a large ``steps`` may visit a few fewer."""
    if steps is None:
        steps = T
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= T:
        raise UserError(f"sampling steps={steps!r}: expected an integer in 1..T={T}")
    if steps == T:
        return np.arange(T, 0, -1, dtype=np.int64)
    if spacing == "linear":
        grid = np.linspace(1, T, int(steps))
    elif spacing == "quadratic":
        grid = np.linspace(1.0, np.sqrt(T), int(steps)) ** 2
    else:
        raise UserError(f"time spacing {spacing!r}: expected 'linear' or 'quadratic'")
    return np.unique(np.clip(np.round(grid), 1, T).astype(np.int64))[::-1]


def _clip(x, clip):
    return x if clip is None else np.clip(x, -clip, clip)


def ancestral(eps_fn, schedule, x_T, rng, variance="beta_tilde", clip=None, record=False):
    """Ho et al. 2020, Algorithm 2: for t = T..1, ``x_{t-1} = mu_theta(x_t, t) + sigma_t
    z`` with z = 0 at t = 1 (the last step is the posterior mean: noise added there would
    only blur the data).

    eps_fn(x_t, t) -> predicted noise (arrays; t an int array, one per example).
    variance: sigma_t^2 = "beta_tilde" or "beta" (Ho et al. section 3.2).
    clip: for images in [-1, 1], clip x0_hat to [-clip, clip] before forming the mean
    (Ho et al.'s released code does this); None for unbounded data, where the mean is
    exactly eq. 11.
    record: also return the path ``(T + 1, *x_T.shape)`` from x_T to x_0.
    """
    x = np.asarray(x_T, dtype=np.float64)
    n = len(x)
    path = [x] if record else None
    for t in range(schedule.T, 0, -1):
        eps = eps_fn(x, np.full(n, t, dtype=np.int64))
        x0_hat = _clip(schedule.x0_from_eps(x, t, eps), clip)
        mean, _ = schedule.posterior(x0_hat, x, t)        # = eq. 11 when not clipped
        if t > 1:
            sigma2 = schedule.reverse_variance(t, variance)
            x = mean + np.sqrt(sigma2) * rng.standard_normal(x.shape)
        else:
            x = mean
        if record:
            path.append(x)
    return (x, np.stack(path)) if record else x


def ddim_sigma(schedule, t, t_prev, eta):
    """Song et al. 2021, eq. 16: ``sigma = eta sqrt((1 - abar_prev) / (1 - abar_t))
    sqrt(1 - abar_t / abar_prev)``. With eta = 1 and t_prev = t - 1 this is sqrt(beta~_t),
    the DDPM posterior std; with eta = 0 the step is deterministic."""
    ab, ab_prev = schedule.abar[t], schedule.abar[t_prev]
    return eta * np.sqrt((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev))


def ddim_step(schedule, x_t, t, t_prev, eps, eta, z, clip=None):
    """One generalized step (Song et al. eq. 12) from time t to t_prev < t:

        x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma z,

    "predicted x_0", "direction pointing to x_t", "random noise". Returns ``(x_prev,
    mean, sigma)``."""
    x0_hat = _clip(schedule.x0_from_eps(x_t, t, eps), clip)
    if clip is not None:                  # keep eps consistent with the clipped x0_hat
        eps = schedule.eps_from_x0(x_t, t, x0_hat)
    sigma = ddim_sigma(schedule, t, t_prev, eta)
    ab_prev = schedule.abar[t_prev]
    mean = np.sqrt(ab_prev) * x0_hat + np.sqrt(np.maximum(1.0 - ab_prev - sigma ** 2, 0.0)) * eps
    return mean + sigma * z, mean, sigma


def ddim(eps_fn, schedule, x_T, rng, steps=50, eta=0.0, clip=None, record=False,
         spacing="quadratic"):
    """Song et al. 2021: generalized (non-Markovian) sampling on ``steps`` of the T times,
    from the same eps network DDPM trains, since the training objective only involves the
    marginals q(x_t | x_0), which DDIM's process shares. The final step lands on
    abar_0 = 1, i.e. returns x0_hat (sigma = 0 there for every eta)."""
    x = np.asarray(x_T, dtype=np.float64)
    n = len(x)
    ts = timesteps(schedule.T, steps, spacing)
    path = [x] if record else None
    for i, t in enumerate(ts):
        t_prev = int(ts[i + 1]) if i + 1 < len(ts) else 0
        eps = eps_fn(x, np.full(n, t, dtype=np.int64))
        z = rng.standard_normal(x.shape) if eta > 0 and t_prev > 0 else 0.0
        x, _, _ = ddim_step(schedule, x, int(t), t_prev, eps, eta, z, clip)
        if record:
            path.append(x)
    return (x, np.stack(path)) if record else x


def lecture_sampler(mean_fn, schedule, x_T, rng, variance="beta", record=False):
    """Isola L14, "Gaussian diffusion models", reverse process, literally: ``mu =
    f_theta(x_t, t)``, ``x_{t-1} ~ N(mu, sigma_t^2)``; the last step returns mu (as in
    Ho et al.'s Algorithm 2, no noise is added on the way to x_0)."""
    x = np.asarray(x_T, dtype=np.float64)
    n = len(x)
    path = [x] if record else None
    for t in range(schedule.T, 0, -1):
        mean = mean_fn(x, np.full(n, t, dtype=np.int64))
        if t > 1:
            sigma = np.sqrt(schedule.reverse_variance(t, variance))
            x = mean + sigma * rng.standard_normal(x.shape)
        else:
            x = mean
        if record:
            path.append(x)
    return (x, np.stack(path)) if record else x
