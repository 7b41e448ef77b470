"""The energies E_theta(x): the representation part of an energy-based model.

Isola L14, "Energy-based models": p_theta(x) = exp(-E_theta(x)) / Z(theta). Any function
that maps x to one real number is an energy; the model is only as good as the family of
functions it can write. Three families here, from the textbook to a neural network:

- :class:`QuadraticEnergy`: the Boltzmann machine (Ackley, Hinton & Sejnowski 1985),
  ``E(x) = -1/2 x^T W x - b^T x`` on binary x. Its exponential family has sufficient
  statistics x and x x^T, so maximum likelihood matches those moments, and a data set
  drawn from an Ising model (itself quadratic) is inside the family.
- :class:`DiscreteMLPEnergy`: the same linear term plus an MLP,
  ``E(x) = -b^T x - v^T softplus(U x + c)``: with ``v = 1`` it is the free energy of a
  restricted Boltzmann machine (Smolensky 1986; Hinton 2002) -- hidden units summed out
  in closed form -- and letting v be learned makes it a one-hidden-layer MLP energy. It
  can put low energy on patterns (bars and stripes) that no pairwise energy can single out.
- :class:`MLPEnergy`: a network R^2 -> R for continuous data, plus a weak quadratic
  "leash" ``|x - c|^2 / (2 s^2)``. Why the leash: an MLP with smooth activations grows at
  most linearly, so without it exp(-E) can fail to be integrable (Z = infinity) and a
  Langevin chain can drift off to infinity; the quadratic term guarantees Z < infinity
  whatever the network does, and with s several times the data's scale it changes
  nothing where the data is.

Every energy is an :class:`autograd.nn.Module` mapping a ``(B, D)`` Tensor to a ``(B,)``
Tensor, so the gradients the lecture needs, grad_theta E and grad_x E, both come from the
engine. ``dtype=np.float64`` builds a network for the derivation tests.
"""
import numpy as np

from autograd import Tensor
from autograd import functional as F
from autograd import nn


def _generator(rng):
    """An np.random.Generator from a Generator or an int seed (None: seed 0, so an
    energy built without rng is still reproducible)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else int(rng))


class QuadraticEnergy(nn.Module):
    """``E(x) = -1/2 x^T S x - b^T x`` with ``S = (W + W^T)/2`` off the diagonal.

    Why symmetrise and zero the diagonal: ``x^T W x`` only sees the symmetric part, and on
    0/1 units ``x_k^2 = x_k`` makes a diagonal entry a copy of the bias; writing S this way
    leaves exactly one parameter per pair and per unit (n(n-1)/2 + n in effect).
    The log-likelihood of this exponential family is concave in (S, b), hence in (W, b),
    so the start does not matter for exact maximum likelihood; W starts at small random
    values (``init_scale``) so that tests can ask for a non-trivial energy.
    """

    def __init__(self, n, rng=None, dtype=np.float32, init_scale=0.01):
        super().__init__()
        g = _generator(rng)
        self.n = int(n)
        self.W = nn.Parameter(init_scale * g.standard_normal((n, n)), dtype=dtype)
        self.b = nn.Parameter(np.zeros(n), dtype=dtype)
        self.register_buffer("offdiag", np.ones((n, n), dtype=dtype) - np.eye(n, dtype=dtype))

    def coupling(self):
        """The symmetric, zero-diagonal S as a Tensor (differentiable in W)."""
        return (self.W + self.W.T) * Tensor(self.offdiag * 0.5)

    def coupling_array(self):
        """S and b as float64 NumPy arrays, for the enumeration kernel."""
        w = self.W.data.astype(np.float64)
        return (w + w.T) * 0.5 * self.offdiag, self.b.data.astype(np.float64)

    def forward(self, x):
        s = self.coupling()
        return -0.5 * ((x @ s) * x).sum(axis=1) - x @ self.b


class DiscreteMLPEnergy(nn.Module):
    """``E(x) = -1/2 x^T S x - b^T x - v^T softplus(U x + c)``: a Boltzmann machine's
    quadratic energy plus a one-hidden-layer MLP (``quadratic=False`` drops the S term).

    With v fixed at 1 and no S this is an RBM's free energy, ``-log sum_h exp(-E(x, h))``
    (Hinton 2002, eq. 1 with the binary hidden units summed out), which is why the
    softplus: each hidden unit contributes ``log(1 + e^{U_j x + c_j})``. v starts at 1
    (the RBM) and is learned, which makes it a general MLP energy. Why keep S: pairwise
    terms say "neighbours agree" directly, leaving the hidden units only the choice
    between patterns (bars or stripes) that no pairwise energy can make.
    """

    def __init__(self, n, hidden=32, quadratic=True, rng=None, dtype=np.float32):
        super().__init__()
        g = _generator(rng)
        self.n, self.hidden = int(n), int(hidden)
        self.quadratic = bool(quadratic)
        self.b = nn.Parameter(np.zeros(n), dtype=dtype)
        if self.quadratic:
            self.W = nn.Parameter(0.01 * g.standard_normal((n, n)), dtype=dtype)
            self.register_buffer("offdiag", np.ones((n, n), dtype=dtype) - np.eye(n, dtype=dtype))
        self.U = nn.Linear(n, hidden, rng=g, dtype=dtype)
        self.v = nn.Parameter(np.ones(hidden), dtype=dtype)

    def forward(self, x):
        e = -(x @ self.b) - F.softplus(self.U(x)) @ self.v
        if self.quadratic:
            s = (self.W + self.W.T) * Tensor(self.offdiag * 0.5)
            e = e - 0.5 * ((x @ s) * x).sum(axis=1)
        return e


class MLPEnergy(nn.Module):
    """``E(x) = f_theta((x - c) / h) + |x - c|^2 / (2 s^2)``, f an MLP (SiLU, ``depth``
    hidden layers); c, h and s are buffers set from the data's box by :meth:`set_box`.

    SiLU rather than ReLU because Langevin dynamics follows grad_x E: a ReLU network's
    x-gradient is piecewise constant and its energy has kinks; SiLU keeps both smooth,
    which MALA's acceptance and the quadrature of Z both like.

    Why h = (box half-width) / gain with gain ~ 4: with PyTorch's initialisation a
    first-layer unit varies on the scale of one input unit, so the inputs must span
    several units for the network to draw wells as narrow as the data's modes (0.35 on
    gaussians8, in a box of half-width 4). With gain 1 the same network needs first-layer
    weights ~10 and learns them slowly (measured: KL 0.40 vs 0.03 on gaussians8 after
    the same 900 steps). The leash's s = ``leash`` x half-width; ``leash=0`` removes it.
    """

    def __init__(self, dim=2, hidden=64, depth=2, leash=1.0, gain=4.0, rng=None,
                 dtype=np.float32):
        super().__init__()
        g = _generator(rng)
        layers, width = [], int(dim)
        for _ in range(int(depth)):
            layers += [nn.Linear(width, hidden, rng=g, dtype=dtype), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, 1, rng=g, dtype=dtype))
        self.net = nn.Sequential(*layers)
        self.dim, self.leash, self.gain = int(dim), float(leash), float(gain)
        self.register_buffer("center", np.zeros(dim, dtype=dtype))
        self.register_buffer("inv_scale", np.full(1, self.gain, dtype=dtype))
        self.register_buffer("leash_coef", np.full(1, 0.5 / max(self.leash, 1e-12) ** 2
                                                   if self.leash > 0 else 0.0, dtype=dtype))
        self.set_box(-np.ones(dim), np.ones(dim))

    def set_box(self, lo, hi):
        """c, h and s from the box [lo, hi] the data lives in."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        half = float(np.max(hi - lo)) / 2
        self.center[:] = (lo + hi) / 2
        self.inv_scale[:] = self.gain / half
        self.leash_coef[:] = 0.5 / (self.leash * half) ** 2 if self.leash > 0 else 0.0

    def forward(self, x):
        r = x - Tensor(self.center)
        e = self.net(r * Tensor(self.inv_scale)).reshape(-1)
        if self.leash > 0:
            e = e + (r * r).sum(axis=1) * Tensor(self.leash_coef)
        return e


def energy_array(energy, x):
    """E(x) as a NumPy array, no graph recorded: what samplers and metrics need."""
    from autograd import no_grad
    dtype = energy_dtype(energy)
    with no_grad():
        return energy(Tensor(np.ascontiguousarray(x, dtype=dtype))).data


def energy_dtype(energy):
    """The float dtype of an energy's parameters (inputs are cast to it)."""
    return next(iter(energy.parameters())).data.dtype
