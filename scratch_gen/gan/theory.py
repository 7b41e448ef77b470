"""The GAN game solved exactly, on a finite space where every expectation is a sum.

Isola L14, "Generative Adversarial Networks (GANs)": d tries to tell real from fake,

    d* = argmax_phi  E_{x~p_data}[log d(x)] + E_{z~p_z}[log(1 - d(g(z)))],

and g tries to fool the *best* d. When x takes finitely many values, p (the data) and q
(the generator's distribution of g(z)) are vectors, the value function is

    V(d) = sum_x p(x) log d(x) + q(x) log(1 - d(x)),

and d may be any table of numbers in (0, 1). Each entry is then its own concave problem,
``a log y + b log(1 - y)``, maximized where ``a / y = b / (1 - y)``, i.e. at

    d*(x) = p(x) / (p(x) + q(x))                     (Goodfellow et al. 2014, Prop. 1)

and putting d* back in gives

    V(g, d*) = -log 4 + 2 JSD(p || q)                (Goodfellow et al. 2014, Thm. 1),

so the generator that minimizes it is the one with JSD = 0: q = p, the slide's "global
optimum when g reproduces data distribution", where d* = 1/2 everywhere and V = -log 4.

This module writes those facts down in float64 NumPy so the tests can check them to
1e-10, and trains a *tabular* discriminator (one logit per outcome) with the engine by
plain gradient ascent on V, to show that the training the slide describes ("iterate
between training d and g with backprop") reaches d* when d is free to be anything.
"""
import math

import numpy as np

from ..common.errors import UserError

LOG4 = math.log(4.0)


def _distribution(p, name):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise UserError(f"{name} must be a non-empty 1-D probability vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
        raise UserError(f"{name} must be non-negative and sum to 1, got sum {p.sum()!r}")
    return p


def _pair(p, q):
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape != q.shape:
        raise UserError(f"p has {p.size} outcomes but q has {q.size}; expected the same space")
    return p, q


def optimal_discriminator(p, q):
    """``d*(x) = p(x) / (p(x) + q(x))`` (Goodfellow et al. 2014, Proposition 1).

    Where both are zero the value function does not depend on d(x) at all; we return
    1/2 there (any value is optimal). Where q = 0 < p, d* = 1 exactly: a logit of +inf,
    which gradient ascent approaches but never reaches."""
    p, q = _pair(p, q)
    s = p + q
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, p / np.where(s > 0, s, 1.0), 0.5)


def _xlogy(x, y):
    """``x log y`` with the convention ``0 log 0 = 0`` (an outcome of probability zero
    contributes nothing to an expectation, whatever d says there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def value(d, p, q):
    """The slide's value function on a finite space, in float64:
    ``V = sum_x p(x) log d(x) + q(x) log(1 - d(x))``."""
    p, q = _pair(p, q)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != p.shape:
        raise UserError(f"d has shape {d.shape}; expected one value per outcome, {p.shape}")
    return float(_xlogy(p, d).sum() + _xlogy(q, 1.0 - d).sum())


def kl(p, q):
    """``KL(p || q) = sum p log(p / q)`` in nats; +inf when p puts mass where q has none."""
    p, q = _pair(p, q)
    if np.any((p > 0) & (q == 0)):
        return math.inf
    m = p > 0
    return float((p[m] * (np.log(p[m]) - np.log(q[m]))).sum())


def jsd(p, q):
    """Jensen-Shannon divergence ``1/2 KL(p || m) + 1/2 KL(q || m)``, ``m = (p + q)/2``:
    symmetric, always finite, between 0 (p = q) and log 2 (disjoint supports)."""
    p, q = _pair(p, q)
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def optimal_value(p, q):
    """``V(g, d*)``: the value the best discriminator reaches against q. Theorem 1 of
    Goodfellow et al. says it equals ``-log 4 + 2 JSD(p || q)``; computed here by
    plugging d* into :func:`value`, so the tests can compare the two."""
    return value(optimal_discriminator(p, q), p, q)


def train_tabular_discriminator(p, q, steps=500, lr=None, logits=None):
    """Gradient ascent on V over a table of logits ``a`` (d = sigmoid(a)), with the engine.

    ``log d = log_sigmoid(a)`` and ``log(1 - d) = log_sigmoid(-a)`` keep V exact for any
    logit. V is separable and concave in each a_x, with second derivative
    ``-(p+q) d (1-d) >= -(p+q)/4``, so the step ``lr = 4 / max(p + q)`` (the default)
    is below 2/L and every coordinate moves monotonically to ``log p - log q``: the
    logit of d*. Returns ``(d, history)``: the final d and V after each step.
    """
    import autograd
    from autograd import functional as F

    p, q = _pair(p, q)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise UserError(f"steps must be an integer >= 0, got {steps!r}")
    lr = 4.0 / float((p + q).max()) if lr is None else float(lr)
    a = autograd.Tensor(np.zeros_like(p) if logits is None else np.array(logits, np.float64),
                        requires_grad=True)
    pt, qt = autograd.Tensor(p), autograd.Tensor(q)
    history = []
    for _ in range(int(steps)):
        v = (pt * F.log_sigmoid(a)).sum() + (qt * F.log_sigmoid(-a)).sum()
        (g,) = autograd.grad(v, [a])
        a = autograd.Tensor(a.data + lr * g.data, requires_grad=True)   # ascent: d maximizes V
        history.append(float(v.item()))
    d = 1.0 / (1.0 + np.exp(-a.data))
    return d, np.array(history)
