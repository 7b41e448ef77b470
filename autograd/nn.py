"""Layers: the learned mappings that the lectures' dependency graphs are built from.

PyTorch's names, layouts and default initialisations throughout (``torch.nn``), so that a
reader who learns a model here can carry it over, and a hyper-parameter copied from a
paper's PyTorch code means the same thing here.

A :class:`Module` owns :class:`Parameter` s (trained), sub-modules and buffers (fixed
arrays such as MADE's and PixelCNN's masks, saved in ``state_dict`` but never trained).
Assigning one of them to an attribute registers it, as in PyTorch.

Randomness only through an explicit generator: every layer that initialises takes
``rng`` (an ``np.random.Generator`` or an int seed). With ``rng=None`` it draws from this
module's generator, which :func:`manual_seed` resets (seed 0 at import), so the same
seed always builds the same network.
"""
from collections import OrderedDict
from contextlib import contextmanager
import math

import numpy as np

from .tensor import Tensor
from . import backend as _backend
from . import functional as F

__all__ = [
    "Parameter", "Module", "ModuleList", "Sequential", "manual_seed",
    "Linear", "Conv1d", "Conv2d", "Embedding", "LayerNorm", "Dropout",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "Identity", "Flatten",
    "spectral_norm",
]

# ------------------------------------------------------------------------ randomness

_default_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the generator that layers built with ``rng=None`` draw from."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def _generator(rng):
    """An ``np.random.Generator`` from None (this module's), a Generator, or an int seed."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or an np.random.Generator, got {rng!r}")


def _uniform(rng, shape, bound, dtype):
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _host(a):
    """A NumPy copy of a backend array (a CUDA array is copied to the host)."""
    if hasattr(a, "copy_to_host"):
        return a.copy_to_host()
    return np.array(a, copy=True)


# ------------------------------------------------------------------------ Parameter

class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad=True``, float32 unless told.

    float32 by default because NumPy's default float64 would double memory and time for
    no gain in training; gradient checks ask for ``dtype=np.float64`` explicitly.
    """

    def __init__(self, data, requires_grad=True, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None:
            dtype = np.float32
        if isinstance(data, _backend.DeviceArrayBase):    # stays on its device
            if data.dtype != dtype or not data.flags.c_contiguous:
                data = data.astype(dtype)
        else:
            data = np.ascontiguousarray(data, dtype=dtype)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self):
        return f"Parameter(shape={tuple(self.shape)}, dtype={np.dtype(self.dtype).name})"


# ------------------------------------------------------------------------ Module

# Bumped on every (de)registration anywhere, so a module's cached parameter list stays
# right even when a sub-module changes after the parent cached it.
_registry_version = 0


def _bump():
    global _registry_version
    _registry_version += 1


class Module:
    """Base class of every layer and model (``torch.nn.Module``'s contract).

    Parameters, sub-modules and buffers live both in ordered registries (which give
    ``named_parameters`` its registration order and ``state_dict`` its keys) and in the
    instance ``__dict__``, so reading ``self.weight`` in ``forward`` is a plain attribute
    lookup: the per-call path stays short.
    """

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_modules"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["training"] = True
        d["_params_cache"] = None
        d["_params_cache_version"] = -1

    # -- registration -------------------------------------------------------------
    def _registries(self):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "assigning parameters, modules or buffers")
        return d["_parameters"], d["_modules"], d["_buffers"]

    def _unregister(self, name):
        params, modules, buffers = self._registries()
        for reg in (params, modules, buffers):
            if name in reg:
                del reg[name]
                _bump()

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Parameter):
            params = self._registries()[0]
            self._unregister(name)
            params[name] = value
            _bump()
        elif isinstance(value, Module):
            modules = self._registries()[1]
            self._unregister(name)
            modules[name] = value
            _bump()
        elif name in d.get("_buffers", ()):
            d["_buffers"][name] = None if value is None else self._as_buffer(value)
            value = d["_buffers"][name]
        elif name in d.get("_parameters", ()) or name in d.get("_modules", ()):
            if value is not None:
                kind = "Parameter" if name in d["_parameters"] else "Module"
                raise TypeError(f"cannot assign {type(value).__name__} to {name!r}: "
                                f"it holds a {kind} (assign a {kind} or None)")
            self._unregister(name)
        d[name] = value

    def __delattr__(self, name):
        if name in self.__dict__.get("_parameters", ()) or \
                name in self.__dict__.get("_modules", ()) or \
                name in self.__dict__.get("_buffers", ()):
            self._unregister(name)
        object.__delattr__(self, name)

    def _as_buffer(self, value):
        """A buffer lives with the module's own parameters (on the default device when
        it has none), so a mask set after ``to('cuda')`` is on the GPU too."""
        if isinstance(value, Tensor):
            value = value.data
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            value = np.asarray(value)
        device = _backend._default_device
        for p in self.__dict__.get("_parameters", {}).values():
            device = p.device
            break
        if device != _backend.device_of(value):
            value = _backend.to_device(value, device)
        return value

    def register_buffer(self, name, array):
        """A fixed array (a mask, a running estimate): in ``state_dict``, never trained.
        ``None`` reserves the name and is left out of ``state_dict``."""
        if "." in name or not name:
            raise KeyError(f"buffer name {name!r} must be non-empty and contain no '.'")
        self._unregister(name)
        self._registries()[2][name] = None if array is None else self._as_buffer(array)
        self.__dict__[name] = self._buffers[name]
        _bump()

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter) under ``name``; same as assigning it."""
        if not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}) expects a Parameter, "
                            f"got {type(param).__name__}")
        setattr(self, name, param)

    # -- calling ------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    # -- traversal ----------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, depth first."""
        seen = set()
        stack = [(prefix, self)]
        out = []
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append((name, m))
            children = list(m._modules.items())
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))
        return out

    def modules(self):
        return [m for _, m in self.named_modules()]

    def children(self):
        return list(self._modules.values())

    def named_parameters(self):
        """(dotted name, Parameter) in registration order; a shared Parameter once."""
        if self._params_cache_version != _registry_version:
            seen = set()
            named = []
            for mname, m in self.named_modules():
                for pname, p in m._parameters.items():
                    if id(p) not in seen:
                        seen.add(id(p))
                        named.append((f"{mname}.{pname}" if mname else pname, p))
            d = self.__dict__
            d["_params_cache"] = (named, [p for _, p in named])
            d["_params_cache_version"] = _registry_version
        return list(self._params_cache[0])

    def parameters(self):
        """The Parameters, cached: rebuilt only after a registration anywhere."""
        if self._params_cache_version != _registry_version:
            self.named_parameters()
        return list(self._params_cache[1])

    def named_buffers(self):
        out = []
        for mname, m in self.named_modules():
            for bname, b in m._buffers.items():
                if b is not None:
                    out.append((f"{mname}.{bname}" if mname else bname, b))
        return out

    def num_parameters(self):
        """How many scalars training adjusts."""
        return int(sum(p.data.size for p in self.parameters()))

    def zero_grad(self):
        """Drop every gradient (PyTorch's default ``set_to_none=True``): the next
        backward writes fresh ones instead of adding into zeros."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Training mode (Dropout active, spectral norm's power iteration runs)."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant and on self (for custom inits)."""
        for m in reversed(self.modules()):
            fn(m)
        return self

    def to(self, *args, dtype=None, device=None):
        """Move and/or cast parameters and buffers in place, as PyTorch's ``to``:
        ``to('cuda')``, ``to('cpu')``, ``to(np.float64)`` (gradient checks), or both.
        Only floating buffers are cast. Gradients are dropped; build the optimizer after
        this, since its moment buffers take the parameters' dtype and device."""
        for a in args:
            if isinstance(a, str) and (a in _backend.DEVICES or a.startswith("cuda:")):
                device = a
            else:
                dtype = a
        dtype = None if dtype is None else np.dtype(dtype)
        if device is not None:
            device = _backend._device_name(device)
            if device == "cuda":
                _backend.cuda_module()          # one clear error if there is no GPU
        for m in self.modules():
            for p in m._parameters.values():
                d = p.data
                if device is not None:
                    d = _backend.to_device(d, device)
                if isinstance(d, np.ndarray):
                    d = np.ascontiguousarray(d, dtype=dtype)
                elif dtype is not None and d.dtype != dtype:
                    d = d.astype(dtype)
                p.data = d
                p.grad = None
            for name, b in list(m._buffers.items()):
                if b is None:
                    continue
                if device is not None:
                    b = _backend.to_device(b, device)
                if dtype is not None and np.issubdtype(b.dtype, np.floating):
                    b = b.astype(dtype)
                m._buffers[name] = m.__dict__[name] = b
        return self

    # -- checkpoints --------------------------------------------------------------
    def state_dict(self):
        """Ordered ``name -> NumPy array`` (copies) of every parameter and buffer."""
        out = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = _host(p.data)
        for name, b in self.named_buffers():
            out[name] = _host(b)
        return out

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters and buffers, in place (optimizer state and
        views stay valid). Names must match when ``strict``; shapes always.
        Returns ``(missing_keys, unexpected_keys)``."""
        targets = OrderedDict()
        for name, p in self.named_parameters():
            targets[name] = p.data
        for name, b in self.named_buffers():
            targets[name] = b
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        for name, dst in targets.items():
            if name not in state:
                continue
            src = np.asarray(state[name])
            if tuple(src.shape) != tuple(dst.shape):
                raise ValueError(f"load_state_dict: key {name!r} has shape "
                                 f"{tuple(src.shape)} in the state dict but "
                                 f"{tuple(dst.shape)} in the module")
        for name, dst in targets.items():
            if name in state:
                np.copyto(dst, np.asarray(state[name]), casting="same_kind")
        return missing, unexpected

    # -- printing -----------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, m in self._modules.items():
                child = repr(m).replace("\n", "\n  ")
                lines.append(f"  ({name}): {child}")
            return "\n".join(lines) + "\n)"
        return lines[0] + ")"


class ModuleList(Module):
    """A list of sub-modules registered under the names '0', '1', ..."""

    def __init__(self, modules=()):
        super().__init__()
        self.__dict__["_list"] = []
        self.extend(modules)

    def append(self, module):
        setattr(self, str(len(self._list)), module)
        self._list.append(module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ModuleList(self._list[i])
        return self._list[i]

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(Linear(2, 64), ReLU(), ...)``."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for m in self._list:
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self._list[i])
        return self._list[i]


# ------------------------------------------------------------------------ layers

class _MaskedWeight(Module):
    """Shared by Linear and the convolutions: the weight that forward uses may be
    masked or spectrally normalized.

    ``mask``: an optional fixed 0/1 array multiplied into the weight inside forward.
    Autoregressive models need it (MADE, Germain et al. 2015; PixelCNN, van den Oord
    et al. 2016): a masked entry contributes nothing, and since d(w*m)/dw = m its
    gradient is exactly zero, so it stays inert in training.
    ``_sn``: set by :func:`spectral_norm`.
    """

    _sn = None          # (n_power_iterations, eps) once spectral_norm is applied

    def set_mask(self, mask):
        """Install (or with None, remove) the mask; it must broadcast to the weight."""
        if mask is None:
            self.register_buffer("mask", None)
            return
        mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        wshape = tuple(self.weight.shape)
        try:
            full = np.broadcast_to(mask, wshape)
        except ValueError:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to "
                             f"the weight's shape {wshape}") from None
        self.register_buffer("mask", np.array(full, dtype=self.weight.dtype))

    def effective_weight(self):
        """The weight forward uses: spectrally normalized if asked, times the mask if
        one is set."""
        w = self._spectral_weight() if self._sn is not None else self.weight
        if self.mask is not None:
            w = w * Tensor(self.mask)
        return w

    def _spectral_weight(self):
        n_iter, eps = self._sn
        w_orig, u, v = self.weight_orig, self.weight_u, self.weight_v
        out = w_orig.shape[0]
        if self.training:
            u_new, v_new = _power_iteration(w_orig.data.reshape(out, -1), u, v, n_iter, eps)
            np.copyto(u, u_new)
            np.copyto(v, v_new)
        sigma = (w_orig.reshape(out, -1) * Tensor(np.outer(u, v))).sum()
        w = w_orig / sigma
        self.__dict__["weight"] = w
        return w


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


class Linear(_MaskedWeight):
    """y = x W^T + b, W of shape (out_features, in_features) as in PyTorch.

    Initialisation is PyTorch's default: W and b ~ U(-1/sqrt(in), 1/sqrt(in)), which is
    ``kaiming_uniform_(a=sqrt(5))`` (He et al. 2015 with a leaky-ReLU gain) -- kept so
    learning rates and results from PyTorch code carry over unchanged.
    ``mask`` (shape (out, in)) zeroes connections, as MADE needs.
    """

    def __init__(self, in_features, out_features, bias=True, mask=None, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        g = _generator(rng)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.weight = Parameter(_uniform(g, (self.out_features, self.in_features), bound,
                                         dtype), dtype=dtype)
        self.bias = Parameter(_uniform(g, (self.out_features,), bound, dtype),
                              dtype=dtype) if bias else None
        self.set_mask(mask)

    def forward(self, x):
        w = self.weight if self.mask is None and self._sn is None \
            else self.effective_weight()
        return F.linear(x, w, self.bias)         # one primitive: x @ w.T + b

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}" + (", masked" if self.mask is not None else ""))


class Conv1d(_MaskedWeight):
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in, K), as in PyTorch.

    ``causal=True`` pads dilation*(K-1) on the left only, so output t sees inputs <= t
    and, at stride 1, the output is as long as the input: WaveNet's causal dilated
    convolution (van den Oord et al. 2016; Isola L14, 'autoregressive models').
    Init as PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in * K.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, causal=False, bias=True, mask=None, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = int(kernel_size), int(stride), \
            int(dilation)
        self.causal = bool(causal)
        if causal:
            if padding not in (0, None):
                raise ValueError(f"Conv1d: causal=True sets the padding itself; "
                                 f"got padding={padding!r} (expected 0)")
            self.padding = (self.dilation * (self.kernel_size - 1), 0)
        else:
            self.padding = padding if isinstance(padding, (tuple, list)) else int(padding)
        g = _generator(rng)
        fan_in = self.in_channels * self.kernel_size
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = Parameter(_uniform(
            g, (self.out_channels, self.in_channels, self.kernel_size), bound, dtype),
            dtype=dtype)
        self.bias = Parameter(_uniform(g, (self.out_channels,), bound, dtype),
                              dtype=dtype) if bias else None
        self.set_mask(mask)

    def forward(self, x):
        w = self.weight if self.mask is None and self._sn is None \
            else self.effective_weight()
        return F.conv1d(x, w, self.bias, stride=self.stride, padding=self.padding,
                        dilation=self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}"
                + (", causal" if self.causal else ""))


class Conv2d(_MaskedWeight):
    """2-D convolution over (N, C_in, H, W) with weight (C_out, C_in, kH, kW).

    ``mask`` of shape (C_out, C_in, kH, kW), or (kH, kW) for every channel pair, is
    PixelCNN's masked convolution (van den Oord et al. 2016). Init as PyTorch:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in * kH * kW.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, mask=None, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        # F.conv2d takes one stride and one padding for both axes.
        self.stride, self.padding = int(stride), int(padding)
        g = _generator(rng)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = Parameter(_uniform(
            g, (self.out_channels, self.in_channels, kh, kw), bound, dtype), dtype=dtype)
        self.bias = Parameter(_uniform(g, (self.out_channels,), bound, dtype),
                              dtype=dtype) if bias else None
        self.set_mask(mask)

    def forward(self, x):
        w = self.weight if self.mask is None and self._sn is None \
            else self.effective_weight()
        # A mask's zeros must stay exact: no Winograd (see F.conv2d).
        return F.conv2d(x, w, self.bias, stride=self.stride, padding=self.padding,
                        winograd=None if self.mask is None else False)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (", masked" if self.mask is not None else ""))


class Embedding(Module):
    """A lookup table: row i is token i's vector. Init N(0, 1), PyTorch's default."""

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype=np.float32):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        g = _generator(rng)
        self.weight = Parameter(g.standard_normal((self.num_embeddings,
                                                   self.embedding_dim)).astype(dtype),
                                dtype=dtype)

    def forward(self, ids):
        return F.embedding(ids, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalise over the last dims, then scale and shift (Ba et al. 2016).
    Weight 1 and bias 0 at init, as PyTorch: the layer starts as a pure normaliser."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = float(eps)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype), dtype=dtype)
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype),
                                  dtype=dtype) if bias else None
        else:
            self.weight = self.bias = None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class Dropout(Module):
    """Zero each entry with probability p and scale the rest by 1/(1-p) in training,
    so the expected activation is unchanged; identity in eval mode (Srivastava et al.
    2014, PyTorch's 'inverted' dropout). ``rng=None`` draws from this module's
    generator at call time, so :func:`manual_seed` governs it."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = None if rng is None else _generator(rng)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return F.dropout(x, self.p, True, self.rng if self.rng is not None else _default_rng)

    def extra_repr(self):
        return f"p={self.p}"


# ------------------------------------------------------------------------ activations

class ReLU(Module):
    def forward(self, x):
        return x.relu()


class LeakyReLU(Module):
    """max(x, a x) for 0 <= a < 1; GAN discriminators' default (Radford et al. 2016)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class GELU(Module):
    def forward(self, x):
        return F.gelu(x)


class SiLU(Module):
    """x * sigmoid(x) (a.k.a. swish), the usual activation in diffusion networks."""

    def forward(self, x):
        return F.silu(x)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """(N, ...) -> (N, prod(...)): from a conv stack to a Linear head."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


# ------------------------------------------------------------------------ spectral norm

def _normalize(a, eps):
    return a / max(float(np.linalg.norm(a)), eps)


def _power_iteration(w_mat, u, v, n, eps):
    for _ in range(n):
        v = _normalize(w_mat.T @ u, eps)
        u = _normalize(w_mat @ v, eps)
    return u, v


def spectral_norm(module, n_power_iterations=1, eps=1e-12, rng=None):
    """Divide the weight of a Linear or Conv layer by its largest singular value sigma
    (Miyato et al. 2018), making the layer 1-Lipschitz: the GAN family's discriminator
    stabiliser. Returns the module, changed in place.

    sigma is estimated by power iteration on W reshaped to (out, -1): one step per
    forward in training mode (none in eval), with the left and right vectors u, v kept
    as buffers, so the estimate sharpens across training steps at almost no cost.
    sigma = u^T W v is differentiated through W with u, v held fixed, as in Miyato et
    al.'s Algorithm 1 and PyTorch. As in PyTorch, the trained parameter becomes
    ``weight_orig`` and ``weight`` holds the normalized weight of the last forward.
    The state lives in attributes and buffers, not closures, so the module still
    deep-copies and pickles.
    """
    if not isinstance(module, _MaskedWeight):
        raise TypeError(f"spectral_norm works on Linear, Conv1d and Conv2d, got "
                        f"{type(module).__name__}")
    if module._sn is not None:
        raise ValueError("spectral_norm is already applied to this module")
    w = module._parameters["weight"]
    g = _generator(rng)
    w_mat = w.data.reshape(w.shape[0], -1)
    u = _normalize(g.standard_normal(w_mat.shape[0]).astype(w.data.dtype), eps)
    v = _normalize(g.standard_normal(w_mat.shape[1]).astype(w.data.dtype), eps)
    # A good start, as PyTorch does: 15 iterations, so sigma is right from step one.
    u, v = _power_iteration(w_mat, u, v, 15, eps)
    # Rename in place, so the trained parameter keeps its position in parameters().
    params = module._parameters
    renamed = [("weight_orig" if k == "weight" else k, p) for k, p in params.items()]
    params.clear()
    params.update(renamed)
    d = module.__dict__
    d["weight_orig"] = w
    _bump()
    module.register_buffer("weight_u", u)
    module.register_buffer("weight_v", v)
    d["_sn"] = (int(n_power_iterations), float(eps))
    # Until the first forward, weight holds the normalized value (no graph).
    d["weight"] = Tensor(w.data / max(float(u @ w_mat @ v), eps))
    return module
