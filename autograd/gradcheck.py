"""Gradient checks by central differences along random directions, in float64.

For f: R^n -> R^m, a random direction u in input space and v in output space,
reverse mode gives <J^T v, u> and central differences give
<v, (f(x + eps u) - f(x - eps u)) / (2 eps)> = <v, J u> + O(eps^2).
One scalar comparison checks the whole Jacobian along (u, v) — the idea of HIPS
autograd's ``check_grads`` — cheaper than building J column by column.

Order 2 applies the same check to the function x -> <J(x)^T v, u>, whose gradient is
computed with ``create_graph=True``: it checks that VJPs are themselves differentiable.
"""
import numpy as np

from .tensor import Tensor, grad


def _check_once(fn, inputs, rng, eps, rtol, atol, label):
    out = fn(*inputs)
    v = rng.standard_normal(out.shape)
    us = [rng.standard_normal(x.shape) for x in inputs]
    gs = grad(out, inputs, grad_outputs=Tensor(v), create_graph=False)
    analytic = float(sum(np.sum(g.data * u) for g, u in zip(gs, us)))

    def at(sign):
        shifted = [Tensor(x.data + sign * eps * u, requires_grad=True) for x, u in zip(inputs, us)]
        return np.sum(fn(*shifted).data * v)
    numeric = float((at(+1) - at(-1)) / (2 * eps))
    if not abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric)):
        raise AssertionError(f"{label}: reverse mode gives {analytic!r}, central "
                             f"differences give {numeric!r} (rtol={rtol}, atol={atol})")


def gradcheck(fn, inputs, order=1, eps=1e-6, rtol=1e-6, atol=1e-8, seed=0):
    """Check ``fn``'s derivatives at ``inputs`` up to ``order`` (1 or 2).

    ``inputs`` are arrays or Tensors; they are converted to float64 Tensors that
    require gradients. Raises AssertionError with both numbers on a mismatch and
    returns True otherwise.
    """
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = [inputs]
    xs = [Tensor(np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64),
                 requires_grad=True) for x in inputs]
    rng = np.random.default_rng(seed)
    _check_once(fn, xs, rng, eps, rtol, atol, "first derivative")
    if order >= 2:
        v = rng.standard_normal(fn(*xs).shape)
        us = [rng.standard_normal(x.shape) for x in xs]

        def directional(*args):
            gs = grad(fn(*args), args, grad_outputs=Tensor(v), create_graph=True)
            total = None
            for g, u in zip(gs, us):
                term = (g * u).sum()
                total = term if total is None else total + term
            return total
        _check_once(directional, xs, rng, eps, rtol, atol, "second derivative")
    if order > 2:
        raise ValueError(f"gradcheck: order={order}, expected 1 or 2")
    return True
