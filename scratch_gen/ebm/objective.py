"""The objective: maximum likelihood, whose gradient is "green minus red".

Isola L14, "Energy-based models -- learning model parameters" (third slide):

    grad_theta E_data[log p_theta(x)] = -E_{x ~ p_data}[grad_theta E(x)]
                                        + E_{x ~ p_theta}[grad_theta E(x)]
                                      ~ -1/N sum_i grad E(x_i) + 1/N sum_i grad E(xhat_i),

x_i from the data (green on the slide), xhat_i from the model (red). We minimise the
negative log-likelihood, so the step follows ``data_term - model_term``: push the energy
of data down and the energy of model samples up. "At convergence, green (data) and red
(model) samples are identical and model update (green-red) cancels out."

The two terms are computed here separately (:func:`data_term`, :func:`model_term`), and
the training steps of :mod:`.discrete` and :mod:`.continuous` write them out. No loss is
differentiated to get them; :func:`contrastive_surrogate` is the loss one *would* write
(``mean E(data) - mean E(samples)``, samples held fixed) and the tests check that its
autograd gradient is exactly ``data_term - model_term`` -- and, with the model term taken
exactly over all states, exactly the gradient of the true NLL ``E_data[E] + log Z``.

Where the model samples come from is the whole difference between the methods:
- exact: the expectation over all 2^n states (:mod:`.exact`) -- true maximum likelihood;
- grid (2D): the same by quadrature on a grid;
- CD-k (Hinton 2002): k MCMC steps from the data batch -- biased, cheap;
- PCD (Tieleman 2008): chains that persist across steps (the replay buffer of Du &
  Mordatch 2019 in 2D).
"""
import numpy as np

from autograd import Tensor

from .energies import energy_array, energy_dtype
from .exact import expected_energy_grad


def data_term(energy, x_data):
    """``E_{x ~ p_data}[grad_theta E(x)] ~ 1/N sum_i grad E(x_i)``: green."""
    return expected_energy_grad(energy, x_data, np.full(len(x_data), 1.0 / len(x_data)))


def model_term(energy, x_model, weights=None):
    """``E_{x ~ p_theta}[grad_theta E(x)]``: red. A sample average over model samples,
    or, with ``weights`` (the exact p_theta over enumerated states or grid cells), the
    exact expectation."""
    if weights is None:
        weights = np.full(len(x_model), 1.0 / len(x_model))
    return expected_energy_grad(energy, x_model, weights)


def nll_gradient(g_data, g_model):
    """``grad_theta NLL = E_data[grad E] - E_model[grad E]``: minus the slide's gradient
    of the log-likelihood."""
    return {k: g_data[k] - g_model[k] for k in g_data}


def norm(grads):
    """The Euclidean norm of a gradient given as {name: array}, all parameters together."""
    return float(np.sqrt(sum(float((np.asarray(g, np.float64) ** 2).sum())
                             for g in grads.values())))


def energy_penalty(energy, x_data, x_model, alpha):
    """Gradient of ``alpha * (mean E(x_data)^2 + mean E(x_model)^2)`` (Du & Mordatch 2019,
    section 3.3): keeps energies near 0 so their scale cannot run away while the NLL
    gradient only sees differences. Written as a weighted energy gradient:
    d/dtheta mean E^2 = mean 2 E grad E. Returns ({name: array}, penalty value)."""
    pts = np.concatenate([x_data, x_model])
    e = energy_array(energy, pts).astype(np.float64)
    n, m = len(x_data), len(x_model)
    w = np.concatenate([np.full(n, 2 * alpha / n), np.full(m, 2 * alpha / m)]) * e
    value = alpha * (float((e[:n] ** 2).mean()) + float((e[n:] ** 2).mean()))
    return expected_energy_grad(energy, pts, w), value


def contrastive_surrogate(energy, x_data, x_model, weights=None):
    """``mean_i E(x_i) - sum_j w_j E(xhat_j)`` as a Tensor: a loss whose gradient, with the
    model samples (and weights) held fixed, is ``data_term - model_term``. It is not the
    NLL (its value is not log-likelihood; it can be any number), only its gradient is."""
    dtype = energy_dtype(energy)
    if weights is None:
        weights = np.full(len(x_model), 1.0 / len(x_model))
    e_data = energy(Tensor(np.ascontiguousarray(x_data, dtype=dtype)))
    e_model = energy(Tensor(np.ascontiguousarray(x_model, dtype=dtype)))
    return e_data.mean() - (e_model * Tensor(np.asarray(weights, dtype=dtype))).sum()


def apply_gradient(energy, grads, optimizer, max_norm=None):
    """Hand the written-out gradient to the optimiser (as ``.grad``, the engine's
    convention) and take one step. ``max_norm`` clips the joint norm first: MCMC model
    terms are noisy, and one wild step can undo a thousand. Returns the norm."""
    for name, p in energy.named_parameters():
        p.grad = np.asarray(grads[name], dtype=p.data.dtype).reshape(p.shape)
    total = norm(grads)
    if max_norm is not None and total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in energy.parameters():
            p.grad = p.grad * np.asarray(scale, dtype=p.grad.dtype)
    optimizer.step()
    optimizer.zero_grad()
    return total
