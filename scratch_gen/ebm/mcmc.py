"""Sampling from p_theta = exp(-E)/Z without knowing Z: Markov chains.

Isola L14, "Energy-based models": "relative probabilities are often all you need (e.g.,
for sampling)" -- ``p(x1)/p(x2) = exp(-E(x1))/exp(-E(x2))``, Z cancels. Every sampler
here uses only energy differences or the score ``grad_x log p = -grad_x E``:

- :func:`gibbs_sweep` (binary units; Geman & Geman 1984): each unit in turn is redrawn
  from its conditional, ``p(x_k = 1 | rest) = sigmoid(E(x_k=0) - E(x_k=1))``, a ratio in
  which Z cancels. Each update leaves p_theta invariant, hence so does the sweep.
- :func:`langevin` (unadjusted, "ULA"): ``x <- x - (eps/2) grad_x E + sqrt(eps) noise``,
  the fused backend kernel. Its stationary law is exp(-E) only as eps -> 0: for
  ``E = x^2/(2 sigma^2)`` it is Gaussian with variance ``sigma^2/(1 - eps/(4 sigma^2))``
  (tests/ebm/test_mcmc.py derives and checks it).
- :func:`mala` (Roberts & Tweedie 1996): the Langevin step as a proposal, then a
  Metropolis-Hastings accept/reject (the kernel ``mala_accept``), which makes exp(-E)
  exactly stationary at any eps; the price is rejected moves.
- :class:`ReplayBuffer` (Du & Mordatch 2019, section 3.1): a pool of persistent chains;
  each training step restarts 95% of its chains from the pool and 5% from fresh noise.

All randomness comes from the ``rng`` passed in. Chains are (B, D) float arrays.
"""
import contextlib

import numpy as np

from autograd import Tensor, grad
from autograd.backend import kernels

from ..common.errors import UserError
from .energies import energy_array, energy_dtype


# ------------------------------------------------------------------------ binary units

def gibbs_sweep(energy, x, rng):
    """One systematic-scan Gibbs sweep over all units, in place, on a (B, n) 0/1 array.

    For unit k the two candidate states (x_k = 0 and x_k = 1, the rest unchanged) go
    through the energy in one batch of 2B rows; ``p(x_k=1 | rest) = e^{-E1}/(e^{-E0} +
    e^{-E1}) = sigmoid(E0 - E1)``. Works for any energy; for the Boltzmann machine it is
    the familiar ``sigmoid(b_k + sum_l S_kl x_l)`` (a test checks the two agree)."""
    B, n = x.shape
    for k in range(n):
        both = np.concatenate([x, x])
        both[:B, k] = 0.0
        both[B:, k] = 1.0
        e = energy_array(energy, both).astype(np.float64)
        p1 = 1.0 / (1.0 + np.exp(np.clip(e[B:] - e[:B], -700, 700)))
        x[:, k] = rng.random(B) < p1
    return x


def gibbs_sample(energy, n, sweeps, rng, x0=None):
    """n independent chains, each started from uniform random bits (or x0) and run for
    ``sweeps`` sweeps; returns the final states (B, n) as floats. With enough sweeps the
    rows are independent draws from (nearly) p_theta, which is what the Monte Carlo
    gradient and its standard error assume."""
    if x0 is None:
        x = (rng.random((n, energy.n)) < 0.5).astype(energy_dtype(energy))
    else:
        x = np.array(x0, dtype=energy_dtype(energy))
    for _ in range(int(sweeps)):
        gibbs_sweep(energy, x, rng)
    return x


# ------------------------------------------------------------------- continuous x

@contextlib.contextmanager
def frozen(energy):
    """Parameters stop requiring grad for the duration: a sampler needs grad_x E only,
    and without this every step would also compute the (unused) weight gradients."""
    params = list(energy.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield energy
    finally:
        for p, f in zip(params, flags):
            p.requires_grad = f


def energy_and_grad(energy, x):
    """E(x) (B,) and grad_x E (B, D) for a batch. The gradient of ``sum_b E(x_b)`` with
    respect to x is grad E at each row, since row b's energy depends on row b only."""
    xt = Tensor(np.ascontiguousarray(x, dtype=energy_dtype(energy)), requires_grad=True)
    e = energy(xt)
    return e.data, grad(e.sum(), xt).data


def score(energy, x):
    """``grad_x log p_theta(x) = -grad_x E(x)``: log Z does not depend on x, which is why
    an energy-based model has a score even when Z is unknown."""
    return -energy_and_grad(energy, x)[1]


def _check_eps(eps):
    if not eps > 0:
        raise UserError(f"step size eps={eps!r}: expected a positive number")
    return float(eps)


def langevin(energy, x, steps, eps, rng, keep_path=False):
    """Unadjusted Langevin dynamics: ``steps`` steps of
    ``x <- x - (eps/2) grad_x E(x) + sqrt(eps) xi``, xi ~ N(0, I) (the backend's fused
    ``langevin_step``). It is the Euler-Maruyama discretisation of the diffusion whose
    stationary law is exp(-E)/Z, so it is right only up to O(eps).

    Returns the final chains, or (final, path) with path of shape (steps+1, B, D)."""
    eps = _check_eps(eps)
    step = kernels().langevin_step
    x = np.array(x, dtype=energy_dtype(energy))
    path = [x.copy()] if keep_path else None
    with frozen(energy):
        for _ in range(int(steps)):
            _, g = energy_and_grad(energy, x)
            x = step(x, g, rng.standard_normal(x.shape).astype(x.dtype), eps)
            if keep_path:
                path.append(x.copy())
    return (x, np.stack(path)) if keep_path else x


def mala(energy, x, steps, eps, rng, keep_path=False):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996): propose one Langevin step
    y from x, accept with probability
    ``min(1, exp(E(x) - E(y)) q(x | y) / q(y | x))``, q the Gaussian proposal; the
    backend's ``mala_accept`` does the ratio. Detailed balance then holds for exp(-E)
    exactly, whatever eps.

    Returns (final chains, acceptance rate), or (final, rate, path)."""
    eps = _check_eps(eps)
    K = kernels()
    x = np.array(x, dtype=energy_dtype(energy))
    path = [x.copy()] if keep_path else None
    accepted = 0
    with frozen(energy):
        e, g = energy_and_grad(energy, x)
        for _ in range(int(steps)):
            y = K.langevin_step(x, g, rng.standard_normal(x.shape).astype(x.dtype), eps)
            ey, gy = energy_and_grad(energy, y)
            log_u = np.log(rng.random(len(x)))
            x, acc = K.mala_accept(x, g, e.astype(np.float64), y, gy, ey.astype(np.float64),
                                   log_u, eps)
            e = np.where(acc, ey, e)
            g = np.where(acc[:, None], gy, g)
            accepted += int(acc.sum())
            if keep_path:
                path.append(x.copy())
    rate = accepted / max(1, int(steps) * len(x))
    return (x, rate, np.stack(path)) if keep_path else (x, rate)


def run_sampler(name, energy, x, steps, eps, rng, keep_path=False):
    """Dispatch by name ('langevin' or 'mala'); returns (x, acceptance rate or None[,
    path]) so callers treat both alike."""
    if name == "langevin":
        out = langevin(energy, x, steps, eps, rng, keep_path)
        return (out[0], None, out[1]) if keep_path else (out, None)
    if name == "mala":
        return mala(energy, x, steps, eps, rng, keep_path)
    raise UserError(f"sampler {name!r}: expected 'langevin' or 'mala'")


class ReplayBuffer:
    """A pool of persistent chains (Du & Mordatch 2019, section 3.1; PCD, Tieleman 2008).

    Why: a short chain from noise cannot reach equilibrium, and a chain from the data
    (CD) never leaves the data's neighbourhood, so neither shows the model its own
    spurious modes. Chains kept across steps keep mixing as the energy changes. Each
    draw takes ``1 - reinit`` of its chains from the pool and ``reinit`` fresh from
    uniform noise on the box (so the pool never collapses onto a few modes); after the
    MCMC steps, :meth:`put` writes the chains back where they came from.
    """

    def __init__(self, size, lo, hi, rng, dtype=np.float32):
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.x = self.noise(int(size), rng).astype(dtype)

    def noise(self, n, rng):
        return rng.uniform(self.lo, self.hi, size=(n, len(self.lo)))

    def draw(self, n, rng, reinit=0.05):
        idx = rng.integers(0, len(self.x), size=n)
        x = self.x[idx].copy()
        fresh = rng.random(n) < reinit
        x[fresh] = self.noise(int(fresh.sum()), rng)
        return x, idx

    def put(self, idx, x):
        self.x[idx] = x
