"""log Z and its gradient, exactly, where the space is small enough to add it all up.

Isola L14, "Energy-based models -- learning model parameters": the gradient of the
average log-likelihood is

    grad_theta E_data[log p_theta(x)] = -E_data[grad_theta E(x)] - grad_theta log Z(theta),

and the slide after it derives ``-grad log Z = -E_{x ~ p_theta}[grad_theta E(x)]`` (the
derivative of a log, the definition of Z, exchange of sum and gradient, the definition of
p_theta). On n binary units Z is a sum over 2^n states, so for n <= 20 we can compute
grad log Z three ways, each in its own function, and check that they agree:

(a) :func:`grad_logz_autograd`: build ``log Z = logsumexp(-E(x_s))`` over every state s as
    a graph and let the engine differentiate it. No identity used at all.
(b) :func:`grad_logz_identity`: the lecture's identity, ``-E_{p_theta}[grad E]``, with the
    expectation taken exactly: the weights ``p_s = exp(-E_s) / Z`` over all states.
(c) :func:`grad_logz_monte_carlo`: the same expectation estimated from model samples (Gibbs
    chains, :mod:`.mcmc`), with its standard error. This is the only one that scales past
    enumeration, and the one contrastive divergence approximates further.

(a) = (b) to rounding (tests/ebm/test_exact.py: 1e-10 in float64), and (c) agrees within
its standard error. For the Boltzmann machine (b) also has the textbook closed form
(:func:`grad_logz_boltzmann`): the moments E_p[x] and E_p[x x^T].

In 2D the same identity holds with the integral done by quadrature on a grid:
:func:`expected_energy_grad` on grid points is the model term of the exact gradient,
up to the midpoint rule's error (the "grid" training method of :mod:`.continuous`).
"""
import math

import numpy as np

from autograd import Tensor, grad
from autograd import functional as F
from autograd.backend import kernels

from ..common.errors import UserError
from .energies import energy_array, energy_dtype

MAX_BITS = 20          # 2^20 states x 20 units of float64 is 168 MB: the limit of "add it up"


# ------------------------------------------------------------------------ enumeration

def check_bits(n):
    """n binary units must be enumerable; a UserError names n otherwise."""
    if not 1 <= int(n) <= MAX_BITS:
        raise UserError(f"exact enumeration of 2^n states needs 1 <= n <= {MAX_BITS} "
                        f"binary units; got n={n}")
    return int(n)


def all_states(n, dtype=np.float64):
    """Every x in {0, 1}^n as rows of a (2^n, n) array; row s holds the bits of s (bit k
    is unit k), the order the enumeration kernel uses, so index s is the same state in
    both."""
    n = check_bits(n)
    idx = np.arange(1 << n, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(dtype)


def state_index(x):
    """The enumeration index of each row of a 0/1 array (inverse of all_states)."""
    x = np.asarray(x).astype(np.int64)
    return (x << np.arange(x.shape[1])).sum(axis=1)


def _logsumexp(a):
    m = float(np.max(a))
    return m + math.log(float(np.exp(a - m).sum()))


def log_partition(energy, states):
    """``log Z = log sum_s exp(-E(x_s))`` in float64 (any energy, any enumerable states)."""
    return _logsumexp(-energy_array(energy, states).astype(np.float64))


def log_partition_quadratic(energy):
    """log Z of a :class:`QuadraticEnergy` by the enumeration kernel (Numba, Gray-code
    order, never holding all 2^n energies): the fast path for evaluation and the
    independent check of :func:`log_partition`."""
    s, b = energy.coupling_array()
    return float(kernels().quadratic_logz(s, b, False))


def state_probabilities(energy, states):
    """``p_s = exp(-E_s - log Z)`` for every state, float64, summing to 1."""
    neg_e = -energy_array(energy, states).astype(np.float64)
    return np.exp(neg_e - _logsumexp(neg_e))


def _named(energy, grads):
    return {name: np.asarray(g.data, dtype=np.float64).copy()
            for (name, _), g in zip(energy.named_parameters(), grads)}


# ------------------------------------------------------------- the three gradients

def grad_logz_autograd(energy, states):
    """(a) grad_theta log Z by reverse mode through ``logsumexp(-E)`` over all states.

    Nothing of the lecture's derivation is used: the engine applies the chain rule to
    the sum as written in the definition of Z. Returns {parameter name: array}."""
    params = [p for _, p in energy.named_parameters()]
    e = energy(Tensor(np.ascontiguousarray(states, dtype=energy_dtype(energy))))
    log_z = F.logsumexp(-e, axis=0)
    return _named(energy, grad(log_z, params))


def expected_energy_grad(energy, points, weights):
    """``sum_s w_s grad_theta E(x_s)``: an expectation of grad E under weights w.

    Computed as one vector-Jacobian product: the gradient of ``sum_s w_s E(x_s)`` with w
    held constant is, by linearity, the weighted sum of the per-point gradients, so the
    2^n per-state gradients are never stored. With w = p_theta over all states this is
    the exact model term E_{p_theta}[grad E]; with w = 1/N over a batch, a sample average.
    """
    params = [p for _, p in energy.named_parameters()]
    dtype = energy_dtype(energy)
    e = energy(Tensor(np.ascontiguousarray(points, dtype=dtype)))
    return _named(energy, grad(e, params, grad_outputs=np.asarray(weights, dtype=dtype)))


def grad_logz_identity(energy, states):
    """(b) the lecture's identity ``grad log Z = -E_{x ~ p_theta}[grad_theta E(x)]``
    (Isola L14, "learning model parameters", second slide), with the expectation exact:
    weights ``p_s = exp(-E_s)/Z`` over all 2^n states. Returns {name: array}."""
    p = state_probabilities(energy, states)
    return {k: -g for k, g in expected_energy_grad(energy, states, p).items()}


def model_term_exact(energy, states):
    """``E_{p_theta}[grad_theta E]`` over all states with one forward and one backward
    pass (the training steps' version of (b)): the energies that give p come from the
    same graph that is differentiated. Returns ({name: array}, p, log Z)."""
    params = [p for _, p in energy.named_parameters()]
    e = energy(Tensor(np.ascontiguousarray(states, dtype=energy_dtype(energy))))
    neg_e = -e.data.astype(np.float64)
    log_z = _logsumexp(neg_e)
    p = np.exp(neg_e - log_z)
    grads = grad(e, params, grad_outputs=p.astype(e.dtype))
    return _named(energy, grads), p, log_z


def grad_logz_monte_carlo(energy, samples, groups=40):
    """(c) ``-1/N sum_i grad_theta E(xhat_i)``, xhat_i ~ p_theta, and its standard error.

    The error is by batch means: the N samples are split into ``groups`` equal groups,
    each group's mean gradient is one backward pass, and se = std(group means) /
    sqrt(groups). For independent samples (independent chains, each run to equilibrium,
    as :func:`scratch_gen.ebm.mcmc.gibbs_sample` gives) the group means are i.i.d., so
    this is the honest error of the average without per-sample gradients.
    Returns ({name: estimate}, {name: standard error}).
    """
    samples = np.asarray(samples)
    n = len(samples) - len(samples) % groups
    if groups < 2 or n == 0:
        raise UserError(f"need at least {max(groups, 2)} samples and groups >= 2; "
                        f"got {len(samples)} samples, groups={groups}")
    size = n // groups
    per_group = [expected_energy_grad(energy, samples[g * size:(g + 1) * size],
                                      np.full(size, 1.0 / size))
                 for g in range(groups)]
    est, se = {}, {}
    for name in per_group[0]:
        stack = np.stack([-pg[name] for pg in per_group])
        est[name] = stack.mean(axis=0)
        se[name] = stack.std(axis=0, ddof=1) / math.sqrt(groups)
    return est, se


def grad_logz_boltzmann(energy):
    """(b) in closed form for the Boltzmann machine: the moment-matching rule.

    With ``E = -1/2 x^T S x - b^T x`` and ``S = (W + W^T)/2`` masked off the diagonal,
    ``dE/db = -x`` and ``dE/dW_kl = -1/2 M_kl x_k x_l`` (M the off-diagonal mask; each of
    W_kl and W_lk feeds half of S_kl and S_lk), so
    ``grad_b log Z = E_p[x]`` and ``grad_W log Z = 1/2 M * E_p[x x^T]`` (Ackley, Hinton &
    Sejnowski 1985: learning matches the model's correlations to the data's).
    p comes from the enumeration kernel's energies of all 2^n states.
    """
    s, b = energy.coupling_array()
    neg_e = -kernels().quadratic_energies(s, b, False)
    p = np.exp(neg_e - _logsumexp(neg_e))
    x = all_states(len(b))
    mean = p @ x
    second = x.T @ (x * p[:, None])
    return {"W": 0.5 * energy.offdiag.astype(np.float64) * second, "b": mean}


# ------------------------------------------------------------------ distances to data

def kl_discrete(p_data, log_q):
    """``KL(p_data || q) = sum_x p_data(x) (log p_data(x) - log q(x))``, exactly, over the
    states where p_data > 0 (terms with p_data = 0 contribute 0)."""
    p = np.asarray(p_data, dtype=np.float64)
    lq = np.asarray(log_q, dtype=np.float64)
    keep = p > 0
    return float((p[keep] * (np.log(p[keep]) - lq[keep])).sum())


# ----------------------------------------------------------------- 2D: the grid

def grid_points(lo, hi, n):
    """Cell centres of an n x n grid on the box [lo, hi] (rows vary y slowest, as in
    scratch_gen.metrics.normalize_2d) and the log of one cell's area."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    xs = lo[0] + (np.arange(n) + 0.5) * (hi[0] - lo[0]) / n
    ys = lo[1] + (np.arange(n) + 0.5) * (hi[1] - lo[1]) / n
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return pts, math.log(float(np.prod(hi - lo)) / (n * n))


def grid_model_term(energy, points, log_cell):
    """The model term of the exact gradient in 2D, ``E_{p_theta}[grad_theta E]``, by the
    midpoint rule: p_theta restricted to the box is, cell by cell, ``exp(-E(c)) / sum``
    (the cell area cancels), and the expectation is the weighted sum over cell centres.
    Returns ({name: array}, weights, log Z of the box by the same rule)."""
    neg_e = -energy_array(energy, points).astype(np.float64)
    log_z = _logsumexp(neg_e)
    p = np.exp(neg_e - log_z)
    return expected_energy_grad(energy, points, p), p, log_z + log_cell
