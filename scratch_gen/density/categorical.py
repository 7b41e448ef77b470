"""Maximum likelihood = minimum KL, on the smallest distribution there is.

Isola L14, "Density models":

    argmin_theta KL(p_data, p_theta) = argmax_theta E_{x ~ p_data}[log p_theta(x)]
                                     ~ argmax_theta 1/N sum_i log p_theta(x_i).

With finite data the last line is exact for the *empirical* distribution p_hat (the
histogram of the counts): ``1/N sum_i log p_theta(x_i) = sum_k p_hat_k log p_theta(k)``,
so

    KL(p_hat || p_theta) - NLL(theta) = sum_k p_hat_k log p_hat_k = -H(p_hat)

for every theta: the two objectives differ by a constant (the lecture's "dropped second
term since no dependence on p_theta"), so they have the same argmin. On a categorical
p_theta = softmax(theta) the argmin is reachable: KL is 0 exactly at p_theta = p_hat, the
count frequencies, which gradient ascent on the log-likelihood finds (its gradient in
the logits is ``p_hat - p_theta``).
"""
import numpy as np

from autograd import Tensor
from autograd import functional as F

from ..common.errors import UserError


def counts(x, k):
    """Occurrences of each of the values ``0..k-1`` in ``x``."""
    x = np.asarray(x)
    if x.size and (not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() >= k):
        raise UserError(f"categorical data must be integers in 0..{k - 1}")
    return np.bincount(x.reshape(-1), minlength=k)


def empirical(x, k):
    """p_hat: the count frequencies, the maximum-likelihood categorical."""
    c = counts(x, k)
    if not c.sum():
        raise UserError("no data to count; expected at least one value")
    return c / c.sum()


def entropy(p):
    """``H(p) = -sum_k p_k log p_k`` in nats, with 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum())


def kl(p, q):
    """``KL(p || q) = sum_k p_k log(p_k / q_k)`` in nats (0 where p_k = 0; +inf where
    q_k = 0 < p_k)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    nz = p > 0
    if (q[nz] == 0).any():
        return float("inf")
    return float((p[nz] * (np.log(p[nz]) - np.log(q[nz]))).sum())


def log_softmax(theta):
    """``log p_theta`` for logits theta, in NumPy (the engine's F.log_softmax for
    gradients)."""
    theta = np.asarray(theta, dtype=np.float64)
    m = theta.max()
    return theta - m - np.log(np.exp(theta - m).sum())


def nll(theta, x):
    """``-1/N sum_i log p_theta(x_i)``, the average negative log-likelihood of the data
    under ``p_theta = softmax(theta)``."""
    x = np.asarray(x).reshape(-1)
    return float(-log_softmax(theta)[x].mean())


def fit_by_gradient_ascent(x, k, steps=500, lr=1.0, theta=None):
    """Maximize the log-likelihood of ``x`` over the logits with plain gradient ascent
    through the engine's autograd: ``theta <- theta + lr * grad (1/N sum_i log
    softmax(theta)[x_i])``. Returns the logits and the NLL after each step.

    The Hessian of the NLL in the logits is ``diag(p) - p p^T``, whose eigenvalues lie in
    [0, 1], so ``lr = 1`` is stable and the error shrinks geometrically."""
    c = counts(x, k).astype(np.float64)
    n = c.sum()
    theta = Tensor(np.zeros(k) if theta is None else np.array(theta, dtype=np.float64),
                   requires_grad=True)
    history = []
    for _ in range(steps):
        # 1/N sum_i log p(x_i) = sum_k (c_k / N) log p(k): one term per value, not per point
        ll = (F.log_softmax(theta, axis=0) * (c / n)).sum()
        theta.grad = None
        ll.backward()
        theta.data = theta.data + lr * theta.grad
        history.append(-float(ll.item()))
    return theta.data.copy(), history
