"""The forward process: how data becomes noise, and what we know exactly about it.

Isola L14, "Gaussian diffusion models", forward process:

    eps_t ~ N(0, I),   x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t,

i.e. ``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)`` (Ho et al. 2020, eq. 2).
"The variances, beta and sigma, are modeling choices": this module holds the betas
(linear, Ho et al. 2020 section 4; cosine, Nichol & Dhariwal 2021 eq. 17) and the
three closed forms every other part of the family rests on:

- the marginal ``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` with
  ``alpha_t = 1 - beta_t`` and ``abar_t = prod_{s<=t} alpha_s`` (Ho et al. eq. 4),
  so training never has to run the chain;
- the posterior ``q(x_{t-1} | x_t, x_0) = N(mu~_t(x_t, x_0), beta~_t I)`` (Ho et al.
  eqs. 6-7): the target of every reverse step, and the KL terms of the bound;
- the inversion ``x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` (eq. 4 solved for
  x_0), which turns a noise prediction into a data prediction (Ho et al. eq. 11, DDIM).

Indexing follows the paper: t = 1..T. Every array here has length T + 1 and index 0
means "no noise yet" (beta_0 = 0, abar_0 = 1), so ``abar[t]`` reads like the paper's
``abar_t`` and ``abar[t - 1]`` is defined for t = 1.

The chain must actually reach noise: sampling starts from x_T ~ N(0, I), which is only
right when ``abar_T ~ 0``. tanelp/tiny-diffusion's default (T = 50 with Ho's betas) stops
at abar_T = 0.6, i.e. x_T still holds 77% of the data's signal; :func:`check_reaches_noise`
warns about exactly that mistake.
"""
import math
import warnings

import numpy as np

from ..common.errors import UserError

NOISE_TOLERANCE = 1e-3        # abar_T above this: x_T is not N(0, I), warn


class ScheduleWarning(UserWarning):
    """A schedule whose chain never reaches noise (abar_T too large)."""


def linear_betas(T, beta_1=1e-4, beta_T=0.02):
    """Ho et al. 2020, section 4: betas rising linearly from 1e-4 to 0.02 over T = 1000.
    Small beta_1 keeps the last reverse steps fine enough to place points precisely."""
    return np.linspace(beta_1, beta_T, T, dtype=np.float64)


def cosine_betas(T, s=0.008, max_beta=0.999):
    """Nichol & Dhariwal 2021, eq. 17: ``abar_t = f(t)/f(0)``, ``f(t) = cos^2(((t/T + s)
    / (1 + s)) pi/2)``, and ``beta_t = 1 - abar_t / abar_{t-1}`` clipped at 0.999
    (their section 3.2: the last betas would otherwise approach 1 and blow up the reverse
    step). abar falls slowly at both ends, so fewer steps are spent on pure noise."""
    t = np.arange(T + 1, dtype=np.float64)
    f = np.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return np.minimum(1.0 - abar[1:] / abar[:-1], max_beta)


def check_reaches_noise(abar_T, tolerance=NOISE_TOLERANCE, stacklevel=3):
    """Warn when ``abar_T > tolerance``: x_T ~ N(0, I) is then the wrong start for
    sampling (the std of the data's signal left in x_T is sqrt(abar_T))."""
    if abar_T > tolerance:
        warnings.warn(
            f"this noise schedule ends at abar_T = {abar_T:.3g} > {tolerance:g}: x_T keeps "
            f"{math.sqrt(abar_T):.0%} of the data's signal, so sampling from x_T ~ N(0, I) "
            "starts from the wrong distribution; use more steps T or larger betas",
            ScheduleWarning, stacklevel=stacklevel)
        return False
    return True


class Schedule:
    """A noise schedule ``beta_1..beta_T`` and everything derived from it, in float64.

    Attributes (arrays of length T + 1, index 0 = no noise): ``beta``, ``alpha``,
    ``abar``, ``beta_tilde`` (the posterior variance of Ho et al. eq. 7; beta~_1 = 0
    because q(x_0 | x_1, x_0) is a point mass), and the posterior-mean coefficients ``coef_x0``,
    ``coef_xt`` (eq. 7).
    """

    def __init__(self, betas, warn=True):
        b = np.asarray(betas, dtype=np.float64).reshape(-1)
        if b.size < 1 or not np.all((b > 0) & (b < 1)):
            raise UserError(f"betas must be a non-empty list of numbers in (0, 1); got "
                            f"{b.size} values in [{b.min() if b.size else 'none'}, "
                            f"{b.max() if b.size else 'none'}]")
        self.T = int(b.size)
        self.beta = np.concatenate([[0.0], b])
        self.alpha = 1.0 - self.beta
        self.abar = np.cumprod(self.alpha)                  # abar[0] = 1
        prev = np.concatenate([[1.0], self.abar[:-1]])      # abar_{t-1}; index 0 unused
        with np.errstate(divide="ignore", invalid="ignore"):
            self.beta_tilde = np.where(np.arange(self.T + 1) >= 1,
                                       (1.0 - prev) / (1.0 - self.abar) * self.beta, 0.0)
            self.coef_x0 = np.where(np.arange(self.T + 1) >= 1,
                                    np.sqrt(prev) * self.beta / (1.0 - self.abar), 1.0)
            self.coef_xt = np.where(np.arange(self.T + 1) >= 1,
                                    np.sqrt(self.alpha) * (1.0 - prev) / (1.0 - self.abar), 0.0)
        self.abar_prev = prev
        self.reaches_noise = check_reaches_noise(self.abar[-1], stacklevel=3) if warn else \
            self.abar[-1] <= NOISE_TOLERANCE

    @classmethod
    def make(cls, kind="linear", T=1000, beta_1=1e-4, beta_T=0.02, warn=True, max_beta=0.999):
        """``kind`` "linear" (Ho et al.) or "cosine" (Nichol & Dhariwal, its betas clipped
        at ``max_beta``)."""
        if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
            raise UserError(f"number of diffusion steps T={T!r}: expected an integer >= 1")
        if kind == "linear":
            if not 0 < beta_1 <= beta_T < 1:
                raise UserError(f"linear schedule beta_1={beta_1}, beta_T={beta_T}: expected "
                                "0 < beta_1 <= beta_T < 1")
            return cls(linear_betas(int(T), beta_1, beta_T), warn=warn)
        if kind == "cosine":
            if not 0 < max_beta < 1:
                raise UserError(f"cosine schedule max_beta={max_beta!r}: expected a number "
                                "in (0, 1)")
            return cls(cosine_betas(int(T), max_beta=max_beta), warn=warn)
        raise UserError(f"noise schedule {kind!r}: expected 'linear' or 'cosine'")

    # ---- helpers ------------------------------------------------------------------
    def _at(self, arr, t, ndim):
        """``arr[t]`` shaped to broadcast against a batch with ``ndim`` axes: t is an int
        or an int array of shape (N,) (one time per example)."""
        t = np.asarray(t)
        if np.any(t < 0) or np.any(t > self.T):
            raise UserError(f"time step t={t.min() if t.size else t} .. "
                            f"{t.max() if t.size else t}: expected 0 <= t <= T={self.T}")
        v = arr[t]
        return v.reshape(v.shape + (1,) * (ndim - v.ndim)) if v.ndim else v

    # ---- the forward process ------------------------------------------------------
    def forward_step(self, x_prev, t, eps):
        """One step of the slide's chain: ``x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t)
        eps_t`` (Isola L14, "Gaussian diffusion models"; Ho et al. eq. 2)."""
        x_prev = np.asarray(x_prev, dtype=np.float64)
        b = self._at(self.beta, t, x_prev.ndim)
        return np.sqrt(1.0 - b) * x_prev + np.sqrt(b) * eps

    def forward_chain(self, x0, rng, t_max=None):
        """The whole sequence ``x_0, x_1, ..., x_{t_max}`` by iterating the slide's step,
        as Algorithm 1.2 lines 4-7 generate training sequences. Returns an array of shape
        ``(t_max + 1,) + x0.shape``."""
        x = np.asarray(x0, dtype=np.float64)
        t_max = self.T if t_max is None else int(t_max)
        out = np.empty((t_max + 1,) + x.shape)
        out[0] = x
        for t in range(1, t_max + 1):
            x = self.forward_step(x, t, rng.standard_normal(x.shape))
            out[t] = x
        return out

    def q_mean_var(self, x0, t):
        """``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` (Ho et al. eq. 4): the
        product of t Gaussian steps is one Gaussian, because each step scales the mean by
        sqrt(alpha_s) and maps the variance v to alpha_s v + beta_s, so 1 - v stays
        ``prod alpha_s`` times what it was."""
        x0 = np.asarray(x0, dtype=np.float64)
        ab = self._at(self.abar, t, x0.ndim)
        return np.sqrt(ab) * x0, 1.0 - ab

    def q_sample(self, x0, t, eps):
        """``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (Ho et al. eq. 4 as a
        reparameterization): any x_t in one draw, which is what makes training cheap."""
        x0 = np.asarray(x0, dtype=np.float64)
        ab = self._at(self.abar, t, x0.ndim)
        return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps

    def posterior(self, x0, x_t, t):
        """``q(x_{t-1} | x_t, x_0) = N(mu~, beta~_t I)`` (Ho et al. eqs. 6-7) with
        ``mu~ = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1})
        / (1 - abar_t) x_t``. Returns ``(mean, variance)``; t >= 1."""
        x_t = np.asarray(x_t, dtype=np.float64)
        if np.any(np.asarray(t) < 1):
            raise UserError("the posterior q(x_{t-1} | x_t, x_0) needs t >= 1")
        mean = self._at(self.coef_x0, t, x_t.ndim) * x0 + self._at(self.coef_xt, t, x_t.ndim) * x_t
        return mean, self._at(self.beta_tilde, t, x_t.ndim)

    def x0_from_eps(self, x_t, t, eps):
        """Eq. 4 solved for x_0: the data a noise prediction implies (Ho et al. eq. 15)."""
        x_t = np.asarray(x_t, dtype=np.float64)
        ab = self._at(self.abar, t, x_t.ndim)
        return (x_t - np.sqrt(1.0 - ab) * eps) / np.sqrt(ab)

    def eps_from_x0(self, x_t, t, x0):
        """The noise that takes x_0 to x_t (eq. 4 solved for eps)."""
        x_t = np.asarray(x_t, dtype=np.float64)
        ab = self._at(self.abar, t, x_t.ndim)
        return (x_t - np.sqrt(ab) * x0) / np.sqrt(1.0 - ab)

    def mean_from_eps(self, x_t, t, eps):
        """Ho et al. eq. 11: ``mu_theta = (x_t - beta_t / sqrt(1 - abar_t) eps) /
        sqrt(alpha_t)``, which is exactly the posterior mean mu~(x_t, x_0) at the x_0 that
        eps implies (a test checks the two agree)."""
        x_t = np.asarray(x_t, dtype=np.float64)
        b = self._at(self.beta, t, x_t.ndim)
        ab = self._at(self.abar, t, x_t.ndim)
        return (x_t - b / np.sqrt(1.0 - ab) * eps) / np.sqrt(1.0 - b)

    def reverse_variance(self, t, kind="beta_tilde"):
        """sigma_t^2 of the reverse step ``p(x_{t-1} | x_t) = N(mu, sigma_t^2 I)``: Ho et
        al. section 3.2 try ``beta_t`` (right when x_0 ~ N(0, I)) and ``beta~_t`` (right
        when x_0 is one point); both give similar samples. At t = 1 beta~_1 = 0, so the
        decoder p(x_0 | x_1) uses beta_1 either way (its log-density must be finite)."""
        t = np.asarray(t)
        if kind == "beta":
            return self.beta[t]
        if kind == "beta_tilde":
            return np.where(t == 1, self.beta[1], self.beta_tilde[t])
        raise UserError(f"reverse variance {kind!r}: expected 'beta' or 'beta_tilde'")

    def to_dict(self):
        return {"T": self.T, "abar_T": float(self.abar[-1])}
