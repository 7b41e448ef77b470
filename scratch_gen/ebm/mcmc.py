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

Chains live where the energy's parameters live: on a GPU (``--device cuda``) the chains,
the energies, the gradients and the accept/reject all stay there, and the kernels are
the backend's for the chains' device (``backend.kernels_for``). The random numbers are
still drawn by ``rng`` on the host and uploaded (small, and the same draws as on the
CPU, so both devices take the same path); nothing is copied back until the caller asks.
On the CPU every step is what it was, array for array.
"""
import contextlib

import numpy as np

from autograd import Tensor, backend, grad, no_grad

from ..common.errors import UserError
from .energies import energy_dtype


# ------------------------------------------------------------------------ devices

def energy_device(energy):
    """'cpu' or 'cuda': where the energy's parameters live."""
    return backend.device_of(next(iter(energy.parameters())).data)


def chains(energy, x):
    """A fresh copy of ``x`` in the energy's dtype, on the energy's device (the sampler
    then updates its own array, never the caller's)."""
    dtype, device = energy_dtype(energy), energy_device(energy)
    if isinstance(x, backend.DeviceArrayBase):
        x = x.astype(dtype)                             # a copy, on the device
        return x if device == "cuda" else backend.to_host(x)
    return backend.to_device(np.array(x, dtype=dtype), device)


def _energies(energy, x):
    """E(x) (B,) with no graph, on x's device (x already in the energy's dtype)."""
    with no_grad():
        return energy(Tensor(x)).data


# ------------------------------------------------------------------------ binary units

def gibbs_sweep(energy, x, rng):
    """One systematic-scan Gibbs sweep over all units, in place, on a (B, n) 0/1 array.

    For unit k the two candidate states (x_k = 0 and x_k = 1, the rest unchanged) go
    through the energy in one batch of 2B rows; ``p(x_k=1 | rest) = e^{-E1}/(e^{-E0} +
    e^{-E1}) = sigmoid(E0 - E1)``. Works for any energy; for the Boltzmann machine it is
    the familiar ``sigmoid(b_k + sum_l S_kl x_l)`` (a test checks the two agree)."""
    B, n = x.shape
    dtype, device = energy_dtype(energy), energy_device(energy)
    own = x if (x.dtype == dtype and backend.device_of(x) == device) else chains(energy, x)
    for k in range(n):
        both = np.concatenate([own, own])
        both[:B, k] = 0.0
        both[B:, k] = 1.0
        e = _energies(energy, both).astype(np.float64)
        p1 = 1.0 / (1.0 + np.exp(np.clip(e[B:] - e[:B], -700, 700)))
        own[:, k] = rng.random(B) < p1
    if own is not x:     # x on another device or in another dtype: written back once
        x[...] = backend.to_host(own) if backend.device_of(x) == "cpu" else own
    return x


def gibbs_sample(energy, n, sweeps, rng, x0=None):
    """n independent chains, each started from uniform random bits (or x0) and run for
    ``sweeps`` sweeps; returns the final states (B, n) as floats. With enough sweeps the
    rows are independent draws from (nearly) p_theta, which is what the Monte Carlo
    gradient and its standard error assume."""
    if x0 is None:
        x = chains(energy, (rng.random((n, energy.n)) < 0.5).astype(energy_dtype(energy)))
    else:
        x = chains(energy, x0)
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
    dtype = energy_dtype(energy)
    if isinstance(x, backend.DeviceArrayBase):     # stays on the GPU
        x = x if x.dtype == dtype else x.astype(dtype)
    else:
        x = np.ascontiguousarray(x, dtype=dtype)
    xt = Tensor(x, requires_grad=True)
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
    x = chains(energy, x)
    step = backend.kernels_for(x).langevin_step
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
    x = chains(energy, x)
    K = backend.kernels_for(x)
    path = [x.copy()] if keep_path else None
    accepted = 0                  # summed where the chains are; one copy at the end
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
            accepted = accepted + acc.sum()
            if keep_path:
                path.append(x.copy())
    rate = int(accepted) / max(1, int(steps) * len(x))
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
        # On the default device (the GPU under --device cuda, where the model is built),
        # so that draw and put are a gather and a scatter there.
        self.x = backend.to_device(self.noise(int(size), rng).astype(dtype),
                                   backend.default_device())

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
