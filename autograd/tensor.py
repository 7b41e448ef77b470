"""The Tensor and reverse-mode differentiation.

A Tensor made by a primitive remembers ``(primitive, inputs, keywords)``. ``backward``
walks that graph once in reverse topological order, asking each primitive for the
vector-Jacobian product (VJP) of every input that needs a gradient, and summing the
contributions that reach the same tensor (the multivariate chain rule).

Two choices keep the walk honest:

- The topological order is built with an explicit stack, not recursion, so a chain of
  100,000 operations backpropagates without ``RecursionError``.
- VJPs are written with Tensor operations. With ``create_graph=False`` they run under
  ``no_grad`` and record nothing; with ``create_graph=True`` they record a graph of their
  own, so gradients can be differentiated again (gradient penalties, score matching).

``.grad`` of a leaf is an array of the leaf's shape, dtype and device. It accumulates
across ``backward()`` calls until ``zero_grad()``, as in PyTorch.

A tensor's ``device`` is where its data lives: 'cpu' for a NumPy array, 'cuda' for a
``backend.cuda.DeviceArray``. Primitives run where their inputs are, so a graph built
from GPU tensors stays on the GPU; ``numpy()``, ``item()`` and printing copy to the host.
"""
import numpy as np

from . import backend as _backend
from .backend import DeviceArrayBase as _DeviceArray

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SUPPORTED = set(_FLOATS) | {np.dtype(t) for t in (
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_)}


class _State:
    """Global switches: is a graph being recorded, is anomaly detection on."""
    grad_enabled = True
    anomaly = False


_state = _State()


def is_grad_enabled():
    return _state.grad_enabled


class _GradMode:
    """Context manager (and decorator) that sets whether operations record a graph."""
    enabled = False

    def __enter__(self):
        self._prev = _state.grad_enabled
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        _state.grad_enabled = self._prev

    def __call__(self, fn):
        def wrapped(*args, **kw):
            with type(self)():
                return fn(*args, **kw)
        wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
        return wrapped


class no_grad(_GradMode):
    """Operations inside record no graph: sampling, evaluation, optimizer updates."""
    enabled = False


class enable_grad(_GradMode):
    """Record a graph even inside ``no_grad`` (used by ``grad(create_graph=True)``)."""
    enabled = True


class detect_anomaly:
    """Inside this context the first primitive whose output (or VJP) holds NaN or Inf
    raises ``FloatingPointError`` naming the primitive: the place to start debugging."""

    def __enter__(self):
        self._prev = _state.anomaly
        _state.anomaly = True

    def __exit__(self, *exc):
        _state.anomaly = self._prev


def _as_array(data, dtype, device=None):
    """``data`` as a backend array of a supported dtype, on ``device`` (default: where
    device arrays already are; host data goes to ``backend.default_device()``)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, _DeviceArray):
        if dtype is not None and np.dtype(dtype) != data.dtype:
            data = data.astype(dtype)
        if data.dtype not in _SUPPORTED:
            raise TypeError(f"unsupported dtype {data.dtype}; expected float32, float64, "
                            "an integer type or bool")
        return data if device is None else _backend.to_device(data, device)
    if dtype is not None:
        arr = np.asarray(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        # Python floats become float32, the training dtype; NumPy arrays keep theirs,
        # so float64 given is float64 kept (gradient checks need it).
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
    if arr.dtype not in _SUPPORTED:
        raise TypeError(f"unsupported dtype {arr.dtype}; expected float32, float64, "
                        "an integer type or bool")
    if device is None:
        device = _backend._default_device
    return arr if device == "cpu" else _backend.to_device(arr, device)


def _coerce(data):
    """A primitive's output as backend data: device arrays stay, anything else becomes
    a NumPy array (only called off the fast path, when the output is not an ndarray)."""
    return data if isinstance(data, _DeviceArray) else np.asarray(data)


def _host(data):
    return data.copy_to_host() if isinstance(data, _DeviceArray) else data


class Tensor:
    """An array with an optional gradient and the record of how it was made.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: lists and Python
    numbers become float32 (integers stay integer, for indices and targets); NumPy
    arrays keep their dtype. Only float tensors can require gradients. ``device``
    ('cpu' or 'cuda') says where the data goes; by default, device arrays stay where
    they are and host data goes to ``autograd.backend.default_device()`` ('cpu' unless
    ``use_device('cuda')`` was called).
    """
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "__weakref__")
    __array_ufunc__ = None      # ndarray (op) Tensor defers to Tensor's reflected op
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        self.data = _as_array(data, dtype, device)
        if requires_grad and self.data.dtype not in _FLOATS:
            raise TypeError(f"only float tensors can require gradients, got {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None

    @staticmethod
    def _wrap(data, ctx=None):
        """Fast constructor for primitive outputs (no dtype checks: trusted data)."""
        t = object.__new__(Tensor)
        t.data = data if type(data) is np.ndarray else _coerce(data)
        t.grad = None
        t.requires_grad = ctx is not None
        t._ctx = ctx
        return t

    # -- attributes ------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)
    device = property(lambda self: "cuda" if isinstance(self.data, _DeviceArray) else "cpu")

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(_host(self.data), precision=4, separator=", ", threshold=20)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        return f"Tensor({body}, dtype={self.dtype}{extra})"

    def __array__(self, dtype=None, copy=None):
        # np.asarray(tensor) is an explicit conversion: device data is copied to the host.
        data = _host(self.data)
        return data if dtype is None else data.astype(dtype)

    def numpy(self):
        """The data as a NumPy array (the array itself on the CPU, a copy from a GPU)."""
        return _host(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def to(self, target):
        """``to('cuda')``/``to('cpu')``: the same values on that device (differentiable:
        the gradient flows back to this tensor's device); ``to(dtype)``: a cast."""
        if isinstance(target, str) and (target in _backend.DEVICES or
                                        target.startswith("cuda:")):
            target = _backend._device_name(target)
            return self if target == self.device else _ops.to_device(self, device=target)
        return self.astype(target)

    def detach(self):
        """The same values, cut from the graph (a constant for whatever follows)."""
        return Tensor._wrap(self.data)

    def zero_grad(self):
        self.grad = None

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype not in _FLOATS:
            raise TypeError(f"only float tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    # -- reverse mode ----------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the upstream gradient (the vector of the vector-Jacobian product);
        it may be omitted only for a tensor with one element, as in PyTorch.
        """
        if not self.requires_grad:
            raise ValueError("backward() on a tensor that does not require grad "
                             "(no input of it has requires_grad=True)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a tensor with one "
                                 f"element, got shape {self.shape}; pass grad= of that shape")
            grad = np.ones_like(self.data)
        grad = _as_array(grad, None, self.device)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, expected {self.shape}")
        leaves = _backprop([self], [Tensor._wrap(grad)], create_graph=False)
        for leaf, g in leaves.values():
            g = g.data
            if g.dtype != leaf.dtype:
                g = g.astype(leaf.dtype)
            if leaf.grad is None:
                leaf.grad = g.copy()
            else:
                leaf.grad = leaf.grad + g

    # -- operators (the primitives live in ops.py) ------------------------------------
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, other): return _ops.power(self, other)
    def __rpow__(self, other): return _ops.power(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons give constant boolean tensors (no gradient), as in PyTorch.
    def _compare(self, other, fn):
        return Tensor._wrap(fn(self.data, other.data if isinstance(other, Tensor) else other))
    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)
    def __eq__(self, other): return self._compare(other, np.equal)
    def __ne__(self, other): return self._compare(other, np.not_equal)
    __hash__ = object.__hash__

    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis=_axis(axis), keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis=_axis(axis), keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return -_ops.max(-self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        axis = _axis(axis)
        n = self.data.size if axis is None else int(np.prod([self.shape[a] for a in
                                                              np.atleast_1d(axis)]))
        return _ops.sum(self, axis=axis, keepdims=keepdims) / max(n, 1)

    def var(self, axis=None, keepdims=False):
        """Biased (1/N) variance, as LayerNorm and maximum likelihood use."""
        d = self - self.mean(axis=axis, keepdims=True)
        return (d * d).mean(axis=axis, keepdims=keepdims)

    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def abs(self): return _ops.abs(self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _ops.reshape(self, shape=tuple(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        axes = tuple(axes) if axes else tuple(reversed(range(self.ndim)))
        return _ops.transpose(self, axes=axes)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """Swap the last two axes (matrix transpose of a batch)."""
        axes = list(range(self.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return _ops.transpose(self, axes=tuple(axes))

    def flatten(self, start=0):
        return self.reshape(self.shape[:start] + (-1,))

    def unsqueeze(self, axis):
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else self.ndim + 1 + axis, 1)
        return self.reshape(tuple(shape))

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axis = axis % self.ndim
        if self.shape[axis] != 1:
            raise ValueError(f"squeeze: axis {axis} has size {self.shape[axis]}, expected 1")
        return self.reshape(self.shape[:axis] + self.shape[axis + 1:])

    def astype(self, dtype):
        return _ops.cast(self, dtype=np.dtype(dtype))

    def float(self): return self.astype(np.float32)
    def double(self): return self.astype(np.float64)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _toposort(roots):
    """Nodes reachable from ``roots`` that need gradients, each after all its users.

    An explicit stack instead of recursion: deep graphs (long chains, RNN-like loops of
    100,000 steps) would otherwise overflow Python's recursion limit.
    """
    order, seen = [], set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for a in node._ctx[1]:
                if isinstance(a, Tensor) and a.requires_grad and id(a) not in seen:
                    stack.append((a, False))
    order.reverse()  # outputs first, inputs last
    return order


def _backprop(outputs, grad_outputs, create_graph):
    """The chain rule over the graph. Returns {id(leaf): (leaf, gradient Tensor)}."""
    grads = {}
    for out, g in zip(outputs, grad_outputs):
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    leaves = {}
    prev = _state.grad_enabled
    _state.grad_enabled = create_graph
    try:
        for node in _toposort(outputs):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._ctx is None:
                leaves[id(node)] = (node, g)
                continue
            prim, args, kw = node._ctx
            wanted = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
            if prim.joint_vjp is not None and not create_graph and len(wanted) > 1:
                joint = prim.joint_vjp(g, node, *args, **kw)      # all at once, shared work
                pairs = [(i, joint[i]) for i in wanted]
            else:
                pairs = ((i, prim.vjp(i)(g, node, *args, **kw)) for i in wanted)
            for i, ga in pairs:
                if _state.anomaly and not np.all(np.isfinite(ga.data)):
                    raise FloatingPointError(
                        f"the gradient of {prim.name} (input {i}) holds NaN or Inf")
                key = id(args[i])
                grads[key] = grads[key] + ga if key in grads else ga
    finally:
        _state.grad_enabled = prev
    return leaves


def grad(outputs, inputs, grad_outputs=None, create_graph=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    With ``create_graph=True`` the returned Tensors carry a graph of their own and can be
    differentiated again: the R1 penalty and score matching take gradients of gradients.
    An input that the outputs do not depend on gets a gradient of zeros.
    """
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        for o in outputs:
            if o.data.size != 1:
                raise ValueError(f"grad() without grad_outputs needs outputs with one "
                                 f"element, got shape {o.shape}")
        grad_outputs = [Tensor._wrap(np.ones_like(o.data)) for o in outputs]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, (Tensor, np.ndarray)) \
            else list(grad_outputs)
        grad_outputs = [g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))
                        for g in grad_outputs]
    for x in inputs:
        if not x.requires_grad:
            raise ValueError("grad(): an input does not require grad")
    # Treat the inputs as leaves for this walk, even if they are intermediate results.
    saved = [x._ctx for x in inputs]
    try:
        for x in inputs:
            x._ctx = None
        leaves = _backprop(outputs, grad_outputs, create_graph)
    finally:
        for x, ctx in zip(inputs, saved):
            x._ctx = ctx
    result = []
    for x in inputs:
        g = leaves[id(x)][1] if id(x) in leaves else Tensor._wrap(np.zeros_like(x.data))
        result.append(g if create_graph else g.detach())
    return result[0] if single else tuple(result)


from . import ops as _ops  # noqa: E402  (ops needs Tensor defined first)
