"""A mixture of Gaussians, fitted two ways that must agree: EM and gradient ascent.

    p_theta(x) = sum_k w_k N(x; mu_k, Sigma_k),   theta = (w, mu, Sigma)

The smallest model with a latent variable and a density: a hidden k ~ Categorical(w)
picks the component, then x ~ N(mu_k, Sigma_k) (Isola L14, "noise is latent variables";
He L1, "latent factors z ... have simple distributions"). Summing the latent out gives
the density, so maximum likelihood (L14, "Density models": max likelihood = min KL) is
on the table, and there are two ways to climb it:

- EM (Dempster, Laird & Rubin 1977): alternate the posterior over the latent,
  ``r_ik = p(k | x_i)`` (E-step), with the weighted closed-form Gaussian fits given those
  responsibilities (M-step). Each round never lowers the log-likelihood (their
  Theorem 1; the tests check it step by step).
- Gradient ascent on ``1/N sum_i log p_theta(x_i)`` with the engine's autograd and Adam:
  no derivation, just the chain rule through logsumexp. The covariances are kept valid
  by parametrizing the Cholesky factor P of the *precision*, ``Sigma^-1 = P P^T``, with
  a positive diagonal ``exp(s)``: then ``log N(x; mu, Sigma) = -D/2 log 2 pi + sum log
  diag P - |P^T (x - mu)|^2 / 2``, only matrix products and no solve.

Both are local methods: started from the same point on a problem with one clear
optimum, they reach the same one (tests/density/test_mixture.py).
"""
import math

import numpy as np

import autograd
from autograd import backend, nn
from autograd import functional as F
from autograd import optim

from ..common.errors import UserError
from ..registry import Model, register
from .points import as_points

LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------- the density, in NumPy

def component_log_pdf(x, means, covs):
    """``log N(x_i; mu_k, Sigma_k)`` for every point and component, shape (N, K)."""
    n, d = x.shape
    out = np.empty((n, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covs)):
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, (x - mu).T)          # L z = x - mu: |z|^2 = Mahalanobis
        out[:, k] = -0.5 * (d * LOG_2PI + (z * z).sum(0)) - np.log(np.diag(chol)).sum()
    return out


def _logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.exp(a - m).sum(axis=axis))


def log_prob(x, weights, means, covs):
    """``log p_theta(x_i) = logsumexp_k(log w_k + log N(x_i; mu_k, Sigma_k))``."""
    with np.errstate(divide="ignore"):
        return _logsumexp(np.log(weights) + component_log_pdf(x, means, covs), axis=1)


def mean_log_likelihood(x, weights, means, covs):
    return float(log_prob(x, weights, means, covs).mean())


# ---------------------------------------------------------------- initialization

def init_params(x, k, rng):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with the greedy choice
    among ``2 + log k`` candidates that they suggest and scikit-learn uses) for the
    means: each next centre is drawn with probability proportional to the squared
    distance to the nearest centre so far, which spreads the components over the data,
    and of several such draws the one leaving the smallest total squared distance is
    kept. Equal weights; every covariance the data's covariance shrunk to one
    component's share of the volume."""
    n, d = x.shape
    if n < k:
        raise UserError(f"{n} training points for {k} components; expected at least one each")
    tries = 2 + int(math.log(k))
    means = [x[rng.integers(n)]]
    d2 = ((x - means[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        cand = rng.choice(n, size=tries, p=d2 / total) if total > 0 else rng.integers(n, size=tries)
        new_d2 = [np.minimum(d2, ((x - x[i]) ** 2).sum(1)) for i in cand]
        j = int(np.argmin([v.sum() for v in new_d2]))
        means.append(x[cand[j]])
        d2 = new_d2[j]
    cov = np.atleast_2d(np.cov(x.T, bias=True)) / k ** (2.0 / d)
    cov = cov + 1e-6 * np.trace(cov) / d * np.eye(d)
    return np.full(k, 1.0 / k), np.array(means, dtype=np.float64), np.repeat(cov[None], k, 0)


# ---------------------------------------------------------------- EM

def em_step(x, weights, means, covs, reg=0.0):
    """One round of EM; returns the new parameters and the mean log-likelihood of the
    *old* ones (a free by-product of the E-step).

    E-step: ``r_ik = w_k N(x_i; mu_k, Sigma_k) / p(x_i)``, the latent's posterior (Bayes'
    rule, He L1). M-step: the Gaussian MLE of each component with every point weighted by
    its responsibility, ``N_k = sum_i r_ik``, ``w_k = N_k / N``, ``mu_k = sum_i r_ik x_i /
    N_k``, ``Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k`` (+ ``reg I``, off by
    default: with it the fit is no longer exactly maximum likelihood).
    """
    n, d = x.shape
    with np.errstate(divide="ignore"):
        joint = np.log(weights) + component_log_pdf(x, means, covs)
    lp = _logsumexp(joint, axis=1)
    r = np.exp(joint - lp[:, None])
    nk = r.sum(0)
    if (nk < 1e-8 * n).any():
        k = int(np.argmin(nk))
        raise UserError(f"mixture component {k} lost all its points (responsibility {nk[k]:.3g}); "
                        "use fewer components or another seed")
    means = (r.T @ x) / nk[:, None]
    covs = np.empty((len(nk), d, d))
    for k in range(len(nk)):
        c = x - means[k]
        covs[k] = (r[:, k, None] * c).T @ c / nk[k] + reg * np.eye(d)
        w = np.linalg.eigvalsh(covs[k])
        if not w[0] > 1e-12 * max(w[-1], 1e-300):
            raise UserError(f"mixture component {k} collapsed onto too few points "
                            "(singular covariance); set reg > 0 or use fewer components")
    return nk / n, means, covs, float(lp.mean())


def em(x, weights, means, covs, iters=500, tol=1e-10, reg=0.0):
    """EM until the mean log-likelihood rises by less than ``tol`` in a round, or
    ``iters`` rounds. Returns ``(weights, means, covs, history)``, ``history`` the mean
    log-likelihood before each round and after the last."""
    history = []
    for _ in range(iters):
        weights, means, covs, ll = em_step(x, weights, means, covs, reg)
        history.append(ll)
        if len(history) > 1 and history[-1] - history[-2] < tol:
            break
    history.append(mean_log_likelihood(x, weights, means, covs))
    return weights, means, covs, history


# ---------------------------------------------------------------- gradient ascent

def to_unconstrained(weights, means, covs):
    """``(logits, means, A, s)`` with ``Sigma^-1 = P P^T``, ``P = tril(A, -1) +
    diag(exp(s))`` (see the module docstring)."""
    d = means.shape[1]
    p = np.linalg.cholesky(np.linalg.inv(covs))            # (K, D, D), lower triangular
    diag = np.diagonal(p, axis1=1, axis2=2)
    a = p * np.tril(np.ones((d, d)), -1)
    return np.log(weights), means.copy(), a, np.log(diag).copy()


def from_unconstrained(logits, means, a, s):
    d = means.shape[1]
    w = np.exp(logits - logits.max())
    p = a * np.tril(np.ones((d, d)), -1) + np.exp(s)[:, :, None] * np.eye(d)
    covs = np.linalg.inv(p @ np.swapaxes(p, 1, 2))
    return w / w.sum(), means.copy(), 0.5 * (covs + np.swapaxes(covs, 1, 2))


_MASKS = {}


def _masks(d, device):
    """The strictly-lower-triangular mask and the identity, (D, D) float64, on
    ``device`` (made once per size and device, not uploaded every step)."""
    key = (d, device)
    if key not in _MASKS:
        _MASKS[key] = tuple(backend.to_device(m, device)
                            for m in (np.tril(np.ones((d, d)), -1), np.eye(d)))
    return _MASKS[key]


def autograd_log_likelihood(x, logits, means, a, s):
    """Mean log-likelihood as an engine Tensor (so ``.backward()`` gives every gradient):
    the mean over points of ``logsumexp_k(log_softmax(logits)_k - D/2 log 2 pi +
    sum_d s_kd - |(x - mu_k)^T P_k|^2 / 2)``. ``x`` is an (N, D) array, or a Tensor
    already on the parameters' device (gradient_ascent uploads the data once)."""
    x = x if isinstance(x, autograd.Tensor) else autograd.Tensor(x)
    n, d = x.shape
    k = means.shape[0]
    lower, eye = _masks(d, a.device)
    p = a * lower + s.exp().reshape(k, d, 1) * eye                   # (K, D, D)
    r = x.reshape(1, n, d) - means.reshape(k, 1, d)                  # (K, N, D)
    y = r @ p                                                        # rows (P^T r)^T
    log_n = s.sum(axis=1).reshape(k, 1) - 0.5 * (y * y).sum(axis=2) - 0.5 * d * LOG_2PI
    joint = log_n + F.log_softmax(logits, axis=0).reshape(k, 1)      # (K, N)
    return F.logsumexp(joint, axis=0).mean()


def gradient_ascent(x, weights, means, covs, steps=2000, lr=0.05, callback=None):
    """Adam (PyTorch's update) on the negative mean log-likelihood, full batch, float64,
    the learning rate decayed by a cosine to 0 so the iterates settle on the optimum
    rather than circle it. Returns ``(weights, means, covs, history)``."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    params = [nn.Parameter(v, dtype=np.float64)
              for v in to_unconstrained(weights, means, covs)]
    xt = autograd.Tensor(x, device=params[0].device)   # the data goes to the device once
    opt = optim.Adam(params, lr=lr)
    values = []           # each step's log-likelihood, left where it was computed
    for t in range(steps):
        opt.lr = lr * 0.5 * (1 + math.cos(math.pi * t / steps))
        opt.zero_grad()
        ll = autograd_log_likelihood(xt, *params)
        (-ll).backward()
        opt.step()
        values.append(ll.data)
        if callback is not None:
            callback(t, float(ll.item()))
    # One copy of the whole curve at the end (on a GPU, one sync instead of one a step).
    history = [float(v) for v in backend.to_host(np.stack(values))] if values else []
    w, m, c = from_unconstrained(*(backend.to_host(p.data) for p in params))
    history.append(mean_log_likelihood(x, w, m, c))
    return w, m, c, history


# ---------------------------------------------------------------- the workbench model

@register("density", "mixture")
class Mixture(Model):
    description = "mixture of Gaussians, maximum likelihood by EM or by gradient ascent"
    slide = "Isola L14, 'Density models'; Dempster, Laird & Rubin 1977 (EM)"
    data_kinds = ("continuous",)
    default_steps = 0
    default_config = {"components": 8, "method": "em", "iters": 500, "tol": 1e-10,
                      "lr": 0.05, "reg": 0.0, "restarts": 2}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if c["components"] < 1:
            raise UserError(f"components={c['components']}: expected an integer >= 1")
        if c["method"] not in ("em", "gradient"):
            raise UserError(f"method={c['method']!r}: expected 'em' or 'gradient'")
        if c["iters"] < 1 or c["restarts"] < 1:
            raise UserError(f"iters={c['iters']}, restarts={c['restarts']}: expected integers >= 1")
        if c["reg"] < 0 or c["lr"] <= 0:
            raise UserError(f"reg={c['reg']}, lr={c['lr']}: expected reg >= 0 and lr > 0")
        k, d = c["components"], spec.n_dims
        self.weights = np.full(k, 1.0 / k)
        self.means = np.zeros((k, d))
        self.covs = np.repeat(np.eye(d)[None], k, 0)
        self.history = []

    def setup(self, train_x, train_y, rng):
        """The whole fit happens here, so the workbench sees a closed-form model
        (``default_steps = 0``): k-means++ seeding from ``rng``, then EM rounds or Adam
        steps (``iters`` of them) on the full training set.

        Both methods climb to the nearest local optimum, and with 8 components on 8
        modes a poor seeding can leave two components on one mode and one across two.
        So the fit is repeated from ``restarts`` seedings and the one with the highest
        *training* likelihood is kept: a choice among maxima of the same objective, so
        the result is still a maximum-likelihood fit (the best one found)."""
        x = as_points(train_x, self.spec.shape, "training data")
        c = self.config
        best = None
        for _ in range(c["restarts"]):
            start = init_params(x, c["components"], rng)
            if c["method"] == "em":
                fit = em(x, *start, iters=c["iters"], tol=c["tol"], reg=c["reg"])
            else:
                fit = gradient_ascent(x, *start, steps=c["iters"], lr=c["lr"])
            if best is None or fit[3][-1] > best[3][-1]:
                best = fit
        self.weights, self.means, self.covs, self.history = best

    def state_dict(self):
        return {"weights": self.weights.copy(), "means": self.means.copy(),
                "covs": self.covs.copy()}

    def load_state_dict(self, state):
        self.weights = np.array(state["weights"], dtype=np.float64)
        self.means = np.array(state["means"], dtype=np.float64)
        self.covs = np.array(state["covs"], dtype=np.float64)

    def log_prob(self, x, y=None):
        return log_prob(as_points(x, self.spec.shape), self.weights, self.means, self.covs)

    def sample(self, n, rng, label=None, **options):
        """Ancestral sampling: the latent first, ``k ~ Categorical(w)``, then
        ``x = mu_k + L_k z`` with ``z ~ N(0, I)`` (noise is latent variables)."""
        self.check_label(label)
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        chol = np.linalg.cholesky(self.covs)
        x = self.means[k] + np.einsum("nij,nj->ni", chol[k], z)
        return x.reshape((n,) + self.spec.shape)

    def evaluate(self, test, dataset):
        return {"train_log_likelihood": self.history[-1] if self.history else None,
                "fit_rounds": max(len(self.history) - 1, 0)}
