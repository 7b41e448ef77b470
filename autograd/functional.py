"""Composite functions, built only from the primitives in ops.py (import as ``F``).

Nothing here has a hand-written derivative: each gradient is the chain rule through
primitives, so second derivatives work everywhere. Names and layouts follow PyTorch
(conv1d input (N, C, L), weight (C_out, C_in, K); conv2d input (N, C, H, W), weight
(C_out, C_in, kH, kW)), so what a reader learns here carries over.

Numerical stability is part of the math, not an afterthought:
- logsumexp subtracts the max (a constant: the shift cancels exactly in the value and
  contributes nothing to the gradient);
- softplus(x) = max(x, 0) + log1p(exp(-|x|)) never exponentiates a large number, so it
  is exact for |x| up to 1e4 and beyond;
- cross_entropy is the fused log-softmax of the logits at the target, never log(softmax).
"""
import numpy as np

from . import ops
from .ops import (abs, concatenate, exp, log, log1p, maximum, minimum, relu,  # noqa: F401
                  sigmoid, tanh, where as _where)
from .tensor import Tensor


def _t(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def where(condition, x, y):
    """Elementwise choice; ``condition`` is a constant (no gradient flows into it)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return _where(cond.astype(bool), x, y)


def stack(tensors, axis=0):
    """Join along a new axis: concatenate after inserting a size-1 axis in each."""
    return concatenate(*[_t(x).unsqueeze(axis) for x in tensors], axis=axis)


def cat(tensors, axis=0):
    return concatenate(*[_t(x) for x in tensors], axis=axis)


def pad(x, pad, value=0.0):
    """Constant padding with PyTorch's convention: ``pad`` lists (before, after) pairs
    starting from the LAST axis, e.g. (1, 1) pads the last axis, (1, 1, 2, 2) also the
    one before it."""
    if len(pad) % 2:
        raise ValueError(f"pad: expected an even number of values, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return ops.pad(x, pad_width=tuple(widths), value=value)


# -- normalisers ---------------------------------------------------------------------
def logsumexp(x, axis=None, keepdims=False):
    """log sum exp x, shifted by the max so that nothing overflows.

    log sum_i e^{x_i} = m + log sum_i e^{x_i - m} for any constant m; m = max x makes
    every exponent <= 0. Rows that are all -inf give -inf, not NaN.
    """
    m = np.max(x.data, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype)
    s = log(exp(x - m).sum(axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return s.reshape(np.squeeze(s.data, axis=axis).shape if axis is not None else ())


def softmax(x, axis=-1):
    """exp(x - logsumexp(x)): a categorical distribution along ``axis``.

    Along the last axis this is the fused row kernel (also used by attention)."""
    if axis in (-1, x.ndim - 1) and x.ndim >= 1:
        shape = x.shape
        rows = x.reshape(1, -1, shape[-1]) if x.ndim != 3 else x
        return ops.softmax_rows(rows, causal=False).reshape(shape)
    return exp(log_softmax(x, axis=axis))


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): exact for |x| up to 1e4."""
    return maximum(x, 0.0) + log1p(exp(-abs(x)))


def log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x)."""
    return -softplus(-x)


def leaky_relu(x, negative_slope=0.01):
    return maximum(x, x * negative_slope)


def silu(x):
    """x * sigmoid(x) (also called swish); common in diffusion U-Nets."""
    return x * sigmoid(x)


def gelu(x):
    """x * Phi(x) with the exact normal CDF (PyTorch's default, Hendrycks & Gimpel 2016)."""
    return 0.5 * x * (1.0 + ops.erf(x * (1.0 / np.sqrt(2.0))))


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each entry with probability p and scale the rest by 1/(1-p), so the
    expectation is unchanged (inverted dropout). ``rng`` is required when training:
    randomness only through an explicit generator."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p={p}, expected 0 <= p < 1")
    if rng is None:
        raise ValueError("dropout: pass rng= (an np.random.Generator) when training")
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / (1.0 - p)
    return x * keep


def embedding(ids, weight):
    """Rows of ``weight`` picked by integer ``ids`` (a lookup = one-hot times matrix)."""
    ids = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= weight.shape[0]):
        raise ValueError(f"embedding: ids must lie in [0, {weight.shape[0]}), got "
                         f"[{ids.min()}, {ids.max()}]")
    return weight[ids]


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes (Ba et al. 2016)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    if tuple(x.shape[-len(normalized_shape):]) != tuple(normalized_shape):
        raise ValueError(f"layer_norm: input shape {x.shape} does not end with "
                         f"{tuple(normalized_shape)}")
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    d = x - mu
    y = d / ((d * d).mean(axis=axes, keepdims=True) + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# -- losses --------------------------------------------------------------------------
def _reduce(loss, reduction, count=None):
    if reduction == "mean":
        return loss.sum() / (count if count is not None else max(loss.data.size, 1))
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction={reduction!r}; expected 'mean', 'sum' or 'none'")


def cross_entropy(logits, target, reduction="mean", ignore_index=-100):
    """-log softmax(logits)[target] for integer targets: the NLL of a categorical.

    Layout as PyTorch: logits (N, C) or (N, C, d1, ...) with targets (N,) or
    (N, d1, ...). Positions whose target is ``ignore_index`` (padding after the end of
    a sequence) add nothing and are not counted in the mean.
    """
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integers, got {t.dtype}")
    if logits.ndim > 2:   # move the class axis last, then flatten to rows
        perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
        logits = logits.transpose(*perm)
    C = logits.shape[-1]
    if logits.shape[:-1] != t.shape:
        raise ValueError(f"cross_entropy: logits {logits.shape} and targets {t.shape} "
                         "disagree")
    rows, t = logits.reshape(-1, C), t.reshape(-1)
    valid = t != ignore_index
    if np.any((t[valid] < 0) | (t[valid] >= C)):
        raise ValueError(f"cross_entropy: targets must lie in [0, {C}), got "
                         f"[{t[valid].min()}, {t[valid].max()}]")
    loss = ops.softmax_xent(rows, np.where(valid, t, 0))
    if not valid.all():
        loss = loss * valid.astype(loss.dtype)
    loss = _reduce(loss, reduction, count=max(int(valid.sum()), 1))
    return loss.reshape(target.shape) if reduction == "none" else loss


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[t log s(x) + (1 - t) log(1 - s(x))] = softplus(x) - t x, stable for any x."""
    return _reduce(softplus(logits) - logits * target, reduction)


def mse_loss(input, target, reduction="mean"):
    d = input - target
    return _reduce(d * d, reduction)


def linear(x, weight, bias=None):
    """x @ weight.T + bias with PyTorch's layout (weight (out_features, in_features))."""
    return ops.linear(x, weight, bias)


# -- convolutions: im2col (a kernel) then one matrix product (BLAS) --------------------
# ops.conv_forward lays the receptive fields of a block of examples out as columns
# (C k, n L_out) and multiplies them by the weight (C_out, C k): one BLAS product per
# block; its gradients are the primitives conv_input_grad and conv_weight_grad.  See
# ops.py, 'convolution', and backend/reference.py, 'convolution'.
def _conv(x, weight, bias, geom):
    """(N, C, ...) conv weight (C_out, C, ...) plus bias, as (N, C_out, L_out)."""
    co = weight.shape[0]
    out = ops.conv_forward(x, weight.reshape(co, -1), geom=geom)
    return out if bias is None else out + bias.reshape(co, 1)


def _too_small(name, x, weight, out_sizes):
    if min(out_sizes) < 1:
        raise ValueError(f"{name}: input {x.shape} is smaller than the kernel "
                         f"{weight.shape[2:]} with this padding/dilation (output size "
                         f"{out_sizes}); expected every output size >= 1")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """1-D cross-correlation. ``padding`` is an int or a (left, right) pair; a causal
    convolution (WaveNet) pads ``dilation * (k - 1)`` on the left only."""
    if x.ndim != 3 or weight.ndim != 3 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv1d: input {x.shape} and weight {weight.shape}; expected "
                         "(N, C, L) and (C_out, C, K)")
    pl, pr = (padding, padding) if np.ndim(padding) == 0 else padding
    k = weight.shape[2]
    lo = (x.shape[2] + pl + pr - dilation * (k - 1) - 1) // stride + 1
    _too_small("conv1d", x, weight, (lo,))
    return _conv(x, weight, bias, (k, stride, dilation, pl, pr))


def conv2d(x, weight, bias=None, stride=1, padding=0, winograd=None):
    """2-D cross-correlation: im2col then a matrix product, or for a 3x3 kernel at
    stride 1, Winograd's F(2x2, 3x3) (2.25x fewer multiplications; ops.py).

    ``winograd``: None picks it whenever it applies; False forces the columns' product.
    The two agree up to rounding, but Winograd's transforms mix the taps of a patch, so a
    weight with exact zeros (a PixelCNN mask) still lets the masked pixels reach the
    output at rounding level (about 1e-7 relative in float32).  nn.Conv2d passes False
    when it has a mask, so that a masked pixel contributes exactly nothing."""
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input {x.shape} and weight {weight.shape}; expected "
                         "(N, C, H, W) and (C_out, C, kH, kW)")
    n, _, h, w = x.shape
    co, _, kh, kw = weight.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    _too_small("conv2d", x, weight, (ho, wo))
    if winograd is None:
        winograd = (kh, kw, stride) == (3, 3, 1)
    elif winograd and (kh, kw, stride) != (3, 3, 1):
        raise ValueError(f"conv2d: winograd=True needs a 3x3 kernel at stride 1; got "
                         f"kernel {(kh, kw)}, stride {stride}")
    geom = ("winograd", padding) if winograd else (kh, kw, stride, padding)
    return _conv(x, weight, bias, geom).reshape(n, co, ho, wo)


def scaled_dot_product_attention(q, k, v, is_causal=False, scale=None):
    """softmax(q k^T / sqrt(d)) v (Vaswani et al. 2017, eq. 1), over (..., T, d) inputs.

    With ``is_causal`` position t attends only to positions <= t (aligned at the end
    when the key sequence is longer): the designed dependency graph of an
    autoregressive model (He, lecture 1).
    """
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.mT) * scale
    lead, (T, S) = scores.shape[:-2], scores.shape[-2:]
    p = ops.softmax_rows(scores.reshape(-1, T, S), causal=bool(is_causal))
    return p.reshape(lead + (T, S)) @ v
