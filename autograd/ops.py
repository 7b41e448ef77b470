"""Every primitive: a forward on arrays and the vector-Jacobian product of each input.

One entry per primitive. The forward computes on the backend arrays; each VJP maps the
upstream gradient ``g`` (a Tensor shaped like the output ``ans``) to the gradient of one
input, written with Tensor operations so that it can itself be differentiated
(``grad(..., create_graph=True)``). Everything else in the engine (functional.py, nn.py)
is built from these.

The calculus is the usual table (see any calculus text; HIPS autograd's numpy_vjps.py
lays out the same table). Broadcasting is undone in one place, :func:`unbroadcast`.

The forwards call NumPy's functions. On GPU data NumPy hands each call to the device
array (``__array_ufunc__``/``__array_function__``, see backend/__init__.py), so the same
line runs on either device; the kernel primitives pick their module with
``backend.kernels_for(array)``. Arrays are created with ``np.zeros_like``-style calls on
an input, never ``np.zeros``, so that they land on the input's device.
"""
import numpy as np
from scipy import special

from . import backend
from .tensor import Tensor, _state


class Primitive:
    """A differentiable operation: ``forward(*arrays, **kw)`` plus one VJP per input.

    ``vjps[i](g, ans, *inputs, **kw)`` returns the gradient for input ``i``. Variadic
    primitives (concatenate) give ``vjp_of(i)`` instead. ``has_aux`` forwards return
    ``(out, aux)``; ``aux`` is handed to the VJPs as the keyword ``aux`` (the fused
    cross-entropy keeps its log-sum-exp this way rather than computing it twice).

    ``joint_vjp(g, ans, *inputs, **kw)``, optional, returns the gradients of ALL inputs
    at once, sharing work between them (a convolution's two gradients start from the
    same transform of ``g``). The backward uses it only when no graph is recorded
    (``create_graph=False``) and more than one input wants a gradient; it must give the
    same numbers as the ``vjps``, which every other case still uses.
    """
    __slots__ = ("name", "forward", "vjps", "vjp_of", "joint_vjp", "has_aux", "broadcasts")

    def __init__(self, name, forward, vjps=(), vjp_of=None, joint_vjp=None, has_aux=False,
                 broadcasts=False):
        self.name, self.forward, self.vjps = name, forward, tuple(vjps)
        self.vjp_of, self.joint_vjp = vjp_of, joint_vjp
        self.has_aux, self.broadcasts = has_aux, broadcasts

    def vjp(self, i):
        return self.vjp_of(i) if self.vjp_of is not None else self.vjps[i]

    def __call__(self, *args, **kw):
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        try:
            out = self.forward(*arrays, **kw)
        except ValueError as e:
            if not self.broadcasts:
                raise
            shapes = " and ".join(str(np.shape(a)) for a in arrays if a is not None)
            raise ValueError(f"{self.name}: incompatible shapes {shapes}") from e
        if self.has_aux:
            out, aux = out
            kw = dict(kw, aux=aux)
        if _state.anomaly and not np.all(np.isfinite(out)):
            raise FloatingPointError(f"{self.name} produced NaN or Inf")
        if _state.grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    return Tensor._wrap(out, (self, args, kw))
        return Tensor._wrap(out)

    def __repr__(self):
        return f"<primitive {self.name}>"


REGISTRY = {}


def primitive(name, forward, *vjps, **options):
    """Define and register a primitive (the one registry of the engine)."""
    p = Primitive(name, forward, vjps, **options)
    REGISTRY[name] = p
    return p


def unbroadcast(g, shape):
    """Sum ``g`` back to ``shape``: the adjoint of NumPy broadcasting.

    A broadcast input was used once for every copy, so its gradient is the sum over the
    copies: over the leading axes it lacks and over the axes where it had size 1.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g.shape[lead + i] != 1)
    if axes:
        g = sum(g, axis=axes, keepdims=True)
    return reshape(g, shape=shape)


def _shape(x):
    return x.shape if isinstance(x, Tensor) else np.shape(x)


def _data(x):
    if isinstance(x, Tensor):
        return x.data
    return x if isinstance(x, backend.DeviceArrayBase) else np.asarray(x)


# -- arithmetic: d(x+y) = dx + dy, d(xy) = y dx + x dy, d(x/y) = dx/y - x dy/y^2 --------
add = primitive("add", np.add,
                lambda g, ans, x, y: unbroadcast(g, _shape(x)),
                lambda g, ans, x, y: unbroadcast(g, _shape(y)), broadcasts=True)
sub = primitive("sub", np.subtract,
                lambda g, ans, x, y: unbroadcast(g, _shape(x)),
                lambda g, ans, x, y: unbroadcast(-g, _shape(y)), broadcasts=True)
mul = primitive("mul", np.multiply,
                lambda g, ans, x, y: unbroadcast(g * y, _shape(x)),
                lambda g, ans, x, y: unbroadcast(g * x, _shape(y)), broadcasts=True)
div = primitive("div", np.divide,
                lambda g, ans, x, y: unbroadcast(g / y, _shape(x)),
                lambda g, ans, x, y: unbroadcast(-g * ans / y, _shape(y)), broadcasts=True)
neg = primitive("neg", np.negative, lambda g, ans, x: -g)


def _pow_vjp_base(g, ans, x, y):
    # d x^y / dx = y x^(y-1)
    return unbroadcast(g * y * x ** (y - 1), _shape(x))


def _pow_vjp_exponent(g, ans, x, y):
    # d x^y / dy = x^y log x, taken as 0 where x == 0 (the limit for y > 0)
    xd = _data(x)
    safe = where(xd > 0, x, 1.0) if isinstance(x, Tensor) else np.where(xd > 0, xd, 1.0)
    return unbroadcast(g * ans * log(safe), _shape(y))


power = primitive("power", np.power, _pow_vjp_base, _pow_vjp_exponent, broadcasts=True)


def _matmul_forward(x, y):
    if np.ndim(x) < 2 or np.ndim(y) < 2:
        raise ValueError("matmul primitive takes arrays of 2 or more dimensions")
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(f"inner dimensions {x.shape[-1]} and {y.shape[-2]} differ")
    return np.matmul(x, y)


# d(XY) = dX Y + X dY  =>  X-bar = G Y^T,  Y-bar = X^T G  (summed over broadcast batches)
_matmul2 = primitive("matmul", _matmul_forward,
                     lambda g, ans, x, y: unbroadcast(g @ y.mT, x.shape),
                     lambda g, ans, x, y: unbroadcast(x.mT @ g, y.shape), broadcasts=True)


def matmul(x, y):
    """Matrix product with NumPy's rules for 1-D operands (a vector is a row on the left,
    a column on the right), reduced to the 2-D-or-more primitive by reshapes."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))
    y = y if isinstance(y, Tensor) else Tensor._wrap(np.asarray(y))
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: incompatible shapes {x.shape} and {y.shape} "
                         "(scalars have no matrix product; use *)")
    if x.ndim >= 2 and y.ndim >= 2:
        return _matmul2(x, y)
    xv, yv = x.ndim == 1, y.ndim == 1
    x2 = x.reshape(1, -1) if xv else x
    y2 = y.reshape(-1, 1) if yv else y
    if x2.shape[-1] != y2.shape[-2]:
        raise ValueError(f"matmul: incompatible shapes {x.shape} and {y.shape}")
    out = _matmul2(x2, y2)
    shape = out.shape
    if yv:
        shape = shape[:-1]
    if xv:
        shape = shape[:-2] + shape[-1:] if not yv else shape[:-1]
    return out.reshape(shape)


def _linear_forward(x, w, b):
    if x.shape[-1] != w.shape[-1] or w.ndim != 2:
        raise ValueError(f"input features {x.shape[-1]} do not match weight {w.shape} "
                         "(expected weight (out_features, in_features))")
    y = np.matmul(x, w.T)
    if b is not None:
        y += b
    return y


def _rows(t):
    """(..., n) -> (rows, n); already 2-D arrays pass through (the common MLP case)."""
    return t if t.ndim == 2 else t.reshape(-1, t.shape[-1])


# y = x W^T + b, fused because it is most of an MLP: one primitive instead of a
# transpose, a matmul and an add (and their VJPs). Same calculus as matmul:
# x-bar = G W,  W-bar = G^T x (summed over leading axes),  b-bar = sum of G.
linear = primitive(
    "linear", _linear_forward,
    lambda g, ans, x, w, b: g @ w,
    lambda g, ans, x, w, b: _rows(g).mT @ _rows(x),
    lambda g, ans, x, w, b: sum(_rows(g), axis=0),
    broadcasts=True)


# -- elementwise functions: the derivative table -------------------------------------
exp = primitive("exp", np.exp, lambda g, ans, x: g * ans)                    # e^x
log = primitive("log", np.log, lambda g, ans, x: g / x)                      # 1/x
log1p = primitive("log1p", np.log1p, lambda g, ans, x: g / (1.0 + x))        # 1/(1+x)
sqrt = primitive("sqrt", np.sqrt, lambda g, ans, x: g * 0.5 / ans)           # 1/(2 sqrt x)
tanh = primitive("tanh", np.tanh, lambda g, ans, x: g * (1.0 - ans * ans))   # 1 - tanh^2
sigmoid = primitive("sigmoid", special.expit,
                    lambda g, ans, x: g * ans * (1.0 - ans))                 # s (1 - s)
sin = primitive("sin", np.sin, lambda g, ans, x: g * cos(x))
cos = primitive("cos", np.cos, lambda g, ans, x: -g * sin(x))
erf = primitive("erf", special.erf,                                          # 2/sqrt(pi) e^-x^2
                lambda g, ans, x: g * (2.0 / np.sqrt(np.pi)) * exp(-(x * x)))
# Piecewise-linear functions: the derivative is a constant mask, so second derivatives
# are zero, as they should be almost everywhere.
relu = primitive("relu", lambda x: np.maximum(x, 0),
                 lambda g, ans, x: g * (x.data > 0).astype(x.dtype))
abs = primitive("abs", np.abs, lambda g, ans, x: g * np.sign(x.data).astype(x.dtype))
cast = primitive("cast", lambda x, dtype: x.astype(dtype),
                 lambda g, ans, x, dtype: cast(g, dtype=x.dtype))


def _tie_weights(x, y):
    """Share of the gradient that goes to x in max(x, y): 1, 0, or 1/2 on a tie."""
    return (x > y) + 0.5 * (x == y)


maximum = primitive(
    "maximum", np.maximum,
    lambda g, ans, x, y: unbroadcast(g * _tie_weights(_data(x), _data(y)).astype(g.dtype), _shape(x)),
    lambda g, ans, x, y: unbroadcast(g * _tie_weights(_data(y), _data(x)).astype(g.dtype), _shape(y)),
    broadcasts=True)
minimum = primitive(
    "minimum", np.minimum,
    lambda g, ans, x, y: unbroadcast(g * _tie_weights(_data(y), _data(x)).astype(g.dtype), _shape(x)),
    lambda g, ans, x, y: unbroadcast(g * _tie_weights(_data(x), _data(y)).astype(g.dtype), _shape(y)),
    broadcasts=True)


def _where_forward(cond, x, y):
    return np.where(cond, x, y)


def _bool_data(c):
    d = _data(c)
    return d if d.dtype == np.bool_ else d.astype(bool)


where = primitive(
    "where", _where_forward,
    None,
    lambda g, ans, c, x, y: unbroadcast(g * _bool_data(c).astype(g.dtype), _shape(x)),
    lambda g, ans, c, x, y: unbroadcast(g * (~_bool_data(c)).astype(g.dtype), _shape(y)),
    broadcasts=True)


# -- reductions ----------------------------------------------------------------------
def _keepdims_shape(shape, axis):
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in np.atleast_1d(axis)}
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _sum_vjp(g, ans, x, axis=None, keepdims=False):
    # every input element contributed once: the gradient is g copied back out
    return broadcast_to(g.reshape(_keepdims_shape(x.shape, axis)), shape=x.shape)


sum = primitive("sum", lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
                _sum_vjp)


def _max_vjp(g, ans, x, axis=None, keepdims=False):
    # The gradient goes to the arg-max; ties split it evenly, so the VJP stays the
    # average of the one-sided derivatives (HIPS autograd does the same).
    kshape = _keepdims_shape(x.shape, axis)
    hit = (x.data == ans.data.reshape(kshape))
    share = (hit / hit.sum(axis=axis, keepdims=True)).astype(x.dtype)
    return broadcast_to(g.reshape(kshape), shape=x.shape) * share


max = primitive("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
                _max_vjp)
broadcast_to = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                         lambda g, ans, x, shape: unbroadcast(g, x.shape), broadcasts=True)


# -- shapes and indexing -------------------------------------------------------------
reshape = primitive("reshape", lambda x, shape: np.reshape(x, shape),
                    lambda g, ans, x, shape: reshape(g, shape=x.shape))
transpose = primitive("transpose", lambda x, axes: np.transpose(x, axes),
                      lambda g, ans, x, axes: transpose(g, axes=tuple(np.argsort(axes))))


def _plain_index(index):
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


def _has_array_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list, backend.DeviceArrayBase)) for i in items)


def _unindex_forward(g, index, shape):
    out = np.zeros_like(g, shape=shape)
    if _has_array_index(index):
        np.add.at(out, index, g)     # repeated indices each add their share
    else:
        out[index] = g               # basic indexing never repeats an element
    return out


# x[i] and its adjoint, the scatter-add of g into zeros of x's shape.
_getitem = primitive("getitem", lambda x, index: x[index],
                     lambda g, ans, x, index: unindex(g, index=index, shape=x.shape))
unindex = primitive("unindex", _unindex_forward,
                    lambda g, ans, x, index, shape: _getitem(g, index=index))


def getitem(x, index):
    return _getitem(x, index=_plain_index(index))


def _concat_vjp(i):
    def vjp(g, ans, *xs, axis=0):
        start = int(np.sum([x.shape[axis] for x in xs[:i]], dtype=np.int64))
        index = [slice(None)] * ans.ndim
        index[axis] = slice(start, start + xs[i].shape[axis])
        return _getitem(g, index=tuple(index))
    return vjp


concatenate = Primitive("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                        vjp_of=_concat_vjp, broadcasts=True)
REGISTRY["concatenate"] = concatenate


def _pad_vjp(g, ans, x, pad_width, value=0.0):
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
    return _getitem(g, index=index)


pad = primitive("pad", lambda x, pad_width, value=0.0: np.pad(x, pad_width, constant_values=value),
                _pad_vjp)


# -- convolution: three primitives closed under the VJP ------------------------------
# With C = im2col(x) (C k, N L), W the weight as (C_out, C k) and G the upstream gradient
# as (C_out, N L):
#     forward       y  = W C                 conv_forward(x, W)
#     input grad    dx = col2im(W^T G)       conv_input_grad(g, W)
#     weight grad   dW = G C^T               conv_weight_grad(x, g)
# Each is linear in each argument, and the VJP of each is one of the three again (from
# <A, B C> = <A C^T, B> = <B^T A, C>), so a convolution has derivatives of every order.
# ``geom`` is (kh, kw, stride, padding) for conv2d, ("winograd", padding) for a 3x3,
# stride-1 conv2d by Winograd's algorithm (below), and (k, stride, dilation, pad_left,
# pad_right) for conv1d; outputs are (N, C_out, L_out) with the spatial axes flattened.
#
# On the CPU each primitive runs over blocks of examples whose columns take about
# _CONV_BLOCK_BYTES: the block's columns are made (or, in the backward, remade from x),
# used by one BLAS product while they are still in cache, and dropped.  Materializing
# the whole batch's columns (29 MB on the benchmark's conv2d) and streaming them through
# memory three times costs more than the products: measured on the idle 2-core machine
# (forward+backward, benchmarks/kernels.py shapes), conv2d 54-63 GFLOP/s with 2 MB blocks
# against 21 with one block at 2 threads, and 51 against 34 at 1 thread (1 MB blocks: 47,
# 8 MB: 31).  On a GPU the batch is one block: one big product.
_CONV_BLOCK_BYTES = 2 * 2**20


def _im2col(x, geom):
    K = backend.kernels_for(x)
    return K.im2col2d(x, *geom) if len(geom) == 4 else K.im2col1d(x, *geom)


def _col2im(c, geom, spatial):
    K = backend.kernels_for(c)
    return K.col2im2d(c, *spatial, *geom) if len(geom) == 4 else K.col2im1d(c, *spatial, *geom)


def _conv_blocks(x, ck, out_size):
    """(n0, n1) ranges of examples, each block's columns about _CONV_BLOCK_BYTES."""
    N = x.shape[0]
    if isinstance(x, backend.DeviceArrayBase):
        step = N
    else:
        per_example = ck * out_size * x.dtype.itemsize       # (max is a primitive here)
        step = _CONV_BLOCK_BYTES // per_example if 0 < per_example <= _CONV_BLOCK_BYTES else 1
    return [(n0, min(N, n0 + step)) for n0 in range(0, N, step)] or [(0, 0)]


def _channel_major(g):
    """(n, C_out, L) -> (C_out, n*L), the layout of a product with the columns."""
    return backend.kernels_for(g).swap01(g).reshape(g.shape[1], g.shape[0] * g.shape[2])


def _conv_forward(x, w2, geom):
    if _is_winograd(geom):
        return _winograd_forward(x, w2, geom[1])
    N, co, L = x.shape[0], w2.shape[0], _out_size(x, w2, geom)
    blocks = _conv_blocks(x, w2.shape[1], L)
    if len(blocks) == 1:
        y = np.matmul(w2, _im2col(x, geom))
        return backend.kernels_for(y).swap01(y.reshape(co, N, L))
    out = None
    for n0, n1 in blocks:
        y = np.matmul(w2, _im2col(x[n0:n1], geom)).reshape(co, n1 - n0, L)
        if out is None:
            out = np.empty((N, co, L), dtype=y.dtype)
        out[n0:n1] = y.transpose(1, 0, 2)
    return out


def _conv_input_grad(g, w2, geom, spatial):
    if _is_winograd(geom):
        return _winograd_input_grad(g, w2, geom[1], spatial)
    blocks = _conv_blocks(g, w2.shape[1], g.shape[2])
    w2t = w2.transpose(1, 0)
    if len(blocks) == 1:
        return _col2im(np.matmul(w2t, _channel_major(g)), geom, spatial)
    dx = None
    for n0, n1 in blocks:
        d = _col2im(np.matmul(w2t, _channel_major(g[n0:n1])), geom, spatial)
        if dx is None:
            dx = np.empty((g.shape[0],) + d.shape[1:], dtype=d.dtype)
        dx[n0:n1] = d
    return dx


def _conv_weight_grad(x, g, geom):
    if _is_winograd(geom):
        return _winograd_weight_grad(x, g, geom[1])
    acc = None
    for n0, n1 in _conv_blocks(x, _ck(x, geom), g.shape[2]):
        # (C k, n L) @ (n L, C_out): BLAS runs this orientation 1.2-1.4x faster than
        # G @ C^T on these shapes (measured, OpenBLAS); the result is transposed once.
        p = np.matmul(_im2col(x[n0:n1], geom), _channel_major(g[n0:n1]).transpose(1, 0))
        if acc is None:
            acc = p
        else:
            acc += p
    return acc.transpose(1, 0).copy()


def _ck(x, geom):
    """Rows of the columns: C * kh * kw (2-D) or C * k (1-D)."""
    return x.shape[1] * (geom[0] * geom[1] if len(geom) == 4 else geom[0])


def _out_size(x, w2, geom):
    """Output positions per example (Ho * Wo, or L_out)."""
    if len(geom) == 4:
        kh, kw, stride, padding = geom
        return (((x.shape[2] + 2 * padding - kh) // stride + 1)
                * ((x.shape[3] + 2 * padding - kw) // stride + 1))
    k, stride, dilation, pl, pr = geom
    return (x.shape[2] + pl + pr - dilation * (k - 1) - 1) // stride + 1


# The 3x3, stride-1 convolutions of conv2d (most of a U-Net's work) run as Winograd's
# F(2x2, 3x3) instead: reference.py, 'Winograd', has the algorithm.  The same three
# primitives, so derivatives of every order still work; only how each is computed
# changes (U = winograd_weight(W)):
#     forward       y  = out(U @ in(x))                        winograd_conv
#     input grad    dx = in_adjoint(U^T @ out_adjoint(G))      winograd_conv_input_grad
#     weight grad   dW = weight_adjoint(out_adjoint(G) @ in(x)^T)
# 2.25x fewer multiplications than the columns' product, and four cheap transforms.
# The kernels do the blocking themselves (cpu.py: one parallel pass over blocks of
# examples, each block's tiles in cache from transform to product and back).

def _is_winograd(geom):
    return geom[0] == "winograd"


def _winograd_forward(x, w2, padding):
    K = backend.kernels_for(x)
    return K.winograd_conv(x, K.winograd_weight(w2), padding)


def _winograd_input_grad(g, w2, padding, spatial):
    K = backend.kernels_for(g)
    return K.winograd_conv_input_grad(g, K.winograd_weight(w2), *spatial, padding)


def _winograd_weight_grad(x, g, padding):
    K = backend.kernels_for(x)
    return K.winograd_weight_adjoint(K.winograd_conv_weight_grad(x, g, padding))


def _conv_joint_vjp(g, ans, x, w2, geom):
    """Both gradients of conv_forward; Winograd's share the transform of G."""
    if not _is_winograd(geom):
        return (conv_input_grad(g, w2, geom=geom, spatial=x.shape[2:]),
                conv_weight_grad(x, g, geom=geom))
    K = backend.kernels_for(x.data)
    dx, du = K.winograd_conv_grads(x.data, g.data, K.winograd_weight(w2.data), geom[1])
    return Tensor._wrap(dx), Tensor._wrap(K.winograd_weight_adjoint(du))


conv_forward = primitive(
    "conv_forward", _conv_forward,
    lambda g, ans, x, w2, geom: conv_input_grad(g, w2, geom=geom, spatial=x.shape[2:]),
    lambda g, ans, x, w2, geom: conv_weight_grad(x, g, geom=geom),
    joint_vjp=_conv_joint_vjp)
conv_input_grad = primitive(
    "conv_input_grad", _conv_input_grad,
    lambda h, ans, g, w2, geom, spatial: conv_forward(h, w2, geom=geom),
    lambda h, ans, g, w2, geom, spatial: conv_weight_grad(h, g, geom=geom))
conv_weight_grad = primitive(
    "conv_weight_grad", _conv_weight_grad,
    lambda h, ans, x, g, geom: conv_input_grad(g, h, geom=geom, spatial=x.shape[2:]),
    lambda h, ans, x, g, geom: conv_forward(x, h, geom=geom))


def _xent_vjp(g, ans, logits, targets, aux):
    # d/dz [logsumexp(z) - z_t] = softmax(z) - onehot(t)
    if not _state.grad_enabled:   # no graph wanted: the fused kernel does it in one pass
        return Tensor._wrap(backend.kernels_for(logits.data).xent_backward(
            logits.data, _data(targets), aux, g.data))
    # With a graph (second derivatives), the softmax is rebuilt from primitives so that
    # its dependence on z is recorded; the shift by the row max is a constant.
    e = exp(logits - logits.data.max(axis=1, keepdims=True))
    onehot = np.zeros_like(logits.data)
    onehot[np.arange(len(onehot)), _data(targets)] = 1
    return g.reshape(-1, 1) * (e / sum(e, axis=1, keepdims=True) - onehot)


softmax_xent = primitive("softmax_xent",
                         lambda z, t: backend.kernels_for(z).xent_forward(z, t),
                         _xent_vjp, None, has_aux=True)


def _softmax_rows_vjp(g, ans, x, causal):
    # Jacobian of softmax: diag(p) - p p^T  =>  p * (g - <g, p>)
    return ans * (g - sum(g * ans, axis=-1, keepdims=True))


softmax_rows = primitive("softmax_rows",
                         lambda x, causal: backend.kernels_for(x).softmax_lastaxis(x, causal),
                         _softmax_rows_vjp)


# -- devices -------------------------------------------------------------------------
# Moving data is the identity map, so its VJP moves the gradient back to where the
# input lives: a model can start on the CPU, run on the GPU, and its leaves still get
# gradients on their own device. Not in REGISTRY, which lists the primitives whose
# gradients tests/autograd checks on the CPU; this one needs a GPU (or the simulator)
# and is checked in tests/cuda/test_engine.py.
to_device = Primitive("to_device", lambda x, device: backend.to_device(x, device),
                      (lambda g, ans, x, device: to_device(g, device=x.device),))
