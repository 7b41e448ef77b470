"""The kernels of ``reference.py``, and every array function the primitives call, on an
NVIDIA GPU through numba.cuda.

Read this file in four parts:

1. :class:`DeviceArray`, the GPU's ndarray: a block of device memory plus shape,
   strides (in elements) and an offset, so that reshape, transpose, broadcast_to and
   basic slicing are views, as in NumPy. numba's own DeviceNDArray has no arithmetic,
   so this thin class adds it. Memory comes from a caching pool (cudaMalloc is slow and
   synchronising; a training step allocates the same sizes every time).
2. The generic kernels behind the array namespace: elementwise unary/binary/ternary
   with broadcasting and strided operands (one kernel per operation family, the
   operation chosen inside by an integer code: one module-level kernel, cached on disk,
   no closures), reductions along any axes, a tiled batched matmul, gather and
   scatter-add for indexing, fill and random numbers (numba's xoroshiro128+).
3. The namespace: NumPy hands ``np.add(a, b)``, ``np.sum(a, axis=1)``,
   ``scipy.special.expit(a)``, ``np.add.at(...)`` to :meth:`DeviceArray.__array_ufunc__` /
   ``__array_function__`` (NEP 13, NEP 18), which map them onto part 2. So ops.py keeps
   its NumPy spelling and a tensor made on the GPU stays there.
4. The engine's kernels, same names and signatures as ``reference.py`` and ``cpu.py``:
   im2col/col2im, fused cross-entropy, softmax rows, Gaussian-kernel sums, Adam,
   Langevin/MALA steps and the 2^n enumeration.

Rules every kernel follows (DESIGN.md, 'Numba rules'):
  * module-level ``@cuda.jit(cache=True)`` functions; no closures, no function arguments;
  * no NumPy calls inside kernels; float literals written ``float32(...)`` so that a
    float32 kernel never promotes to float64 (a float32 literal meets a float64 value
    as float64, so the same source serves both dtypes); tests/cuda compiles every
    kernel to PTX and checks the float32 ones hold no f64 arithmetic;
  * no shared accumulator without a reduction tree or atomics: each output element has
    one writer (col2im gathers instead of scattering), block reductions use a tree in
    shared memory with a barrier per level, and scatter-add uses ``cuda.atomic.add``;
  * accumulators start from a value of the data's type: an argument (a reduction's
    identity, a matmul's zero), or ``float32(0)`` where the data is always float (numba
    unifies it with float64 data as float64).

Only ``copy_to_host()``, ``item()``, ``float()``/``bool()`` and printing copy to the host.
An implicit conversion (``np.asarray(device_array)``, a NumPy function this module does
not implement) also works, by copying, and is counted in :data:`host_copies`; inside
:func:`strict` it raises instead (the tests use that to show a training step stays on
the GPU).

Without a GPU, Numba's simulator (NUMBA_ENABLE_CUDASIM=1) runs these kernels as Python
threads: correct and slow. Block sizes are then tiny (:data:`SIMULATOR`), and the
kernels' ``math`` is NumPy's ufuncs (see :class:`_SimulatedMath`).
"""
import builtins
import contextlib
import math
import os
import warnings

import numpy as np
from numba import config as _numba_config
from numba import cuda, float32, float64

with warnings.catch_warnings():     # the simulator's version warns about its own options
    warnings.simplefilter("ignore")
    from numba.cuda.random import (xoroshiro128p_dtype, xoroshiro128p_normal_float32,
                                   xoroshiro128p_normal_float64,
                                   xoroshiro128p_uniform_float32,
                                   xoroshiro128p_uniform_float64)

from . import DeviceArrayBase
from .reference import conv1d_out_size, conv_out_size, winograd_tiles

SIMULATOR = bool(_numba_config.ENABLE_CUDASIM)


class _SimulatedMath:
    """The simulator runs kernels as Python, where ``math.exp`` returns a Python float
    and raises on overflow or log(0). On a GPU, ``math.exp`` of a float32 is a float32
    and log(0) is -inf. Under the simulator the kernels' ``math`` is this object, whose
    functions are NumPy's ufuncs: scalar types and IEEE results then match the GPU's,
    so a float32 kernel computes in float32 and a float64 one in float64 there too.
    (Kernel source still says ``math.exp``; numba compiles that for the GPU.)"""
    from scipy.special import erf
    exp, expm1, log, log1p, log2, log10 = np.exp, np.expm1, np.log, np.log1p, np.log2, \
        np.log10
    sqrt, tanh, sin, cos, tan, atan, atan2 = np.sqrt, np.tanh, np.sin, np.cos, np.tan, \
        np.arctan, np.arctan2
    isinf, isnan = np.isinf, np.isnan

    def __getattr__(self, name):
        return getattr(_math_module, name)


_math_module = math
if SIMULATOR:
    math = _SimulatedMath()


# ---------------------------------------------------------------- the simulator's memory
# Two changes make the simulator a stricter stand-in for the GPU:
#
# 1. Shared arrays are created atomically. Numba's simulator (FakeCUDAShared.array)
#    gives the threads of a block one array per source line by a check-then-insert on
#    a dict, without a lock: when a thread switch lands between the check and the
#    insert, two threads of the block get *different* arrays, each writes its own, and
#    a reduction tree or a matmul tile reads values that no thread of the block wrote
#    (tests/cuda showed it as an intermittent wrong gradient through attention, whose
#    matmul and softmax kernels use shared memory). Here the lookup and the insert are
#    one step under a lock, and the caller is found with sys._getframe (the same
#    (file, line) key, without formatting a whole stack trace on every call).
# 2. New memory is poisoned: pool blocks, shared and local arrays start as NaN (floats),
#    True (bools) or an index far out of range (integers) instead of whatever np.empty
#    returns. On a GPU uninitialised memory is garbage too; poisoning makes a kernel
#    that reads memory it did not write fail every time, not only when the garbage left
#    by an earlier test happens to be wrong.

def _poison_value(dtype):
    """The value new simulator memory of ``dtype`` is filled with (None: left as is)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return True
    if dtype.kind in "iu":
        return np.iinfo(dtype).max // 2 + 1        # out of range as an index
    return None                                     # records (random-number states)


def _poisoned(shape, dtype):
    """np.empty, with every element set to :func:`_poison_value`."""
    a = np.empty(shape, dtype)
    value = _poison_value(a.dtype)
    if value is not None:
        a.fill(value)
    return a


def _install_simulator_memory():
    import sys
    import threading

    from numba.cuda.simulator import kernelapi
    lock = threading.Lock()
    as_dtype = kernelapi.numpy_support.as_dtype
    fake_type = kernelapi.types.Type
    numba_shared_array = kernelapi.FakeCUDAShared.array

    def shared_array(self, shape, dtype, alignment=None):
        if alignment is not None or shape == 0:    # errors, dynamic shared memory
            return numba_shared_array(self, shape, dtype, alignment)
        if isinstance(dtype, fake_type):
            dtype = as_dtype(dtype)
        frame = sys._getframe(1)
        caller = (frame.f_code.co_filename, frame.f_lineno)
        with lock:                                   # check and insert as one step
            res = self._allocations.get(caller)
            if res is None:
                res = self._allocations[caller] = _alloc_shared(shape, dtype)
        return res

    def local_array(self, shape, dtype, alignment=None):
        if alignment is not None:
            raise RuntimeError("Array alignment is not supported in cudasim")
        if isinstance(dtype, fake_type):
            dtype = as_dtype(dtype)
        return _poisoned(shape, dtype)

    kernelapi.FakeCUDAShared.array = shared_array
    kernelapi.FakeCUDALocal.array = local_array


def _alloc_shared(shape, dtype):
    """A new simulated shared array (a module function, so a test can slow it down to
    force a thread switch in the middle of an allocation)."""
    return _poisoned(shape, dtype)


if SIMULATOR:
    _install_simulator_memory()

# Launch shapes. The simulator runs one Python thread per CUDA thread, so there blocks
# are tiny; on a GPU they are the usual sizes. Kernels read these module constants at
# compile time (shared-memory sizes, unrolled loops).
_THREADS = 4 if SIMULATOR else 256          # 1-D elementwise blocks
_MAX_BLOCKS = 2 if SIMULATOR else 8192      # grid-stride loops cover the rest
_MAX_GRID = 2 if SIMULATOR else 65535       # blocks along a block-per-row/batch axis
_BLOCK = 4 if SIMULATOR else 256            # block-per-row kernels (power of two)
_COLS_X, _COLS_Y = (2, 2) if SIMULATOR else (32, 8)   # column reductions
# Matmul: a block of _MM_T x _MM_T threads computes a _MM_TILE x _MM_TILE tile of the
# output, each thread an _MM_R x _MM_R sub-tile held in registers, stepping through K
# in slices of _MM_K held in shared memory (the classic register-blocked SGEMM).
_MM_GPU, _MM_SIM = (16, 8, 8), (2, 4, 8)        # (_MM_T, _MM_R, _MM_K)


def _matmul_constants(T, R, K):
    """The matmul's module constants for T x T threads, R x R outputs each, K slices."""
    tile = T * R
    assert (tile * K) % (T * T) == 0, "each thread must load a whole number of elements"
    return {"_MM_T": T, "_MM_R": R, "_MM_K": K, "_MM_TILE": tile, "_MM_THREADS": T * T,
            "_MM_LOADS": tile * K // (T * T),   # tile elements each thread loads
            "_MM_PAD": tile + 1}                # shared row length (see _k_matmul)


_MM_T, _MM_R, _MM_K, _MM_TILE, _MM_THREADS, _MM_LOADS, _MM_PAD = \
    _matmul_constants(*(_MM_SIM if SIMULATOR else _MM_GPU)).values()
_RNG_THREADS = 8 if SIMULATOR else 64 * 256     # xoroshiro streams of a Generator

# Device functions are inlined by NVVM; the simulator's jit takes fewer options.
_DEVICE = {"device": True} if SIMULATOR else {"device": True, "forceinline": True}

host_copies = 0          # implicit device -> host copies so far (see module docstring)
_strict = False


_gpu_seen = False


def check_available():
    """Raise RuntimeError (one line) unless kernels can run here.

    On a GPU machine that is the GPU. Under Numba's simulator (NUMBA_ENABLE_CUDASIM=1,
    which tests/conftest.py turns on when there is no GPU) the kernels run as Python
    threads, thousands of times slower than NumPy: fine for tests at tiny sizes, never
    what a user without a GPU wants. So the simulator counts as a device only when
    SCRATCH_GEN_CUDASIM=1 says so too (tests/cuda sets it); otherwise asking for CUDA
    without a GPU gives the same clear line as without the simulator."""
    global _gpu_seen
    if SIMULATOR:
        if os.environ.get("SCRATCH_GEN_CUDASIM") == "1":
            return
        raise RuntimeError("no CUDA GPU (NUMBA_ENABLE_CUDASIM=1 selects Numba's CUDA "
                           "simulator, which is for tests: set SCRATCH_GEN_CUDASIM=1 to "
                           "run on it anyway)")
    if _gpu_seen:
        return
    if not cuda.is_available():
        raise RuntimeError("no CUDA GPU found (numba.cuda.is_available() is False; "
                           "is the NVIDIA driver installed?)")
    _gpu_seen = True


@contextlib.contextmanager
def strict():
    """Inside, an implicit device -> host copy raises TypeError instead of copying."""
    global _strict
    prev, _strict = _strict, True
    try:
        yield
    finally:
        _strict = prev


def _implicit_copy(what):
    global host_copies
    if _strict:
        raise TypeError(f"{what}: implicit copy of a CUDA array to the host (strict mode); "
                        "call .copy_to_host() or Tensor.numpy() to copy on purpose")
    host_copies += 1


# ====================================================================== memory pool
# cudaMalloc/cudaFree synchronise the device and cost tens of microseconds; a training
# step frees and allocates the same sizes every step. Blocks freed by Python go to a
# free list keyed by (dtype, rounded size) and are handed out again. Everything runs on
# one stream, so a block reused by the host is only touched by kernels queued after
# the ones that used it before: no race.

def _bucket(n):
    """Round a size up to one of four steps per power of two (at most 25% waste)."""
    if n <= 64:
        return 64
    step = 1 << max(0, n.bit_length() - 3)
    return -(-n // step) * step


class _Block:
    """One allocation; returns itself to the pool when no array refers to it."""
    __slots__ = ("mem", "key")

    def __init__(self, mem, key):
        self.mem, self.key = mem, key

    def __del__(self):
        try:
            _POOL.put(self.key, self.mem)
        except Exception:       # interpreter shutdown: the pool may be gone already
            pass


class _Pool:
    def __init__(self):
        self.free = {}
        self.cached_bytes = 0

    def get(self, n, dtype):
        count = _bucket(n)
        key = (dtype.str, count)
        free = self.free.get(key)
        if free:
            self.cached_bytes -= count * dtype.itemsize
            return self._poison(_Block(free.pop(), key))
        try:
            mem = cuda.device_array(count, dtype=dtype)
        except Exception:       # out of memory: give the cached blocks back, retry once
            self.release()
            mem = cuda.device_array(count, dtype=dtype)
        return self._poison(_Block(mem, key))

    @staticmethod
    def _poison(block):
        """In the simulator, fill a block handed out with NaN (see _poisoned); on a GPU
        it is handed out as it is."""
        if SIMULATOR:
            block.mem.copy_to_device(_poisoned(block.key[1], block.mem.dtype))
        return block

    def put(self, key, mem):
        self.free.setdefault(key, []).append(mem)
        self.cached_bytes += key[1] * np.dtype(key[0]).itemsize

    def release(self):
        """Drop every cached block (numba frees them)."""
        self.free.clear()
        self.cached_bytes = 0
        if not SIMULATOR:
            cuda.current_context().deallocations.clear()


_POOL = _Pool()


def release_memory():
    """Free the memory pool's cached blocks (arrays still alive keep theirs)."""
    _POOL.release()


# ====================================================================== DeviceArray

def _c_strides(shape):
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= s
    return tuple(reversed(st))


def _is_c_contiguous(shape, st):
    acc = 1
    for s, t in zip(reversed(shape), reversed(st)):
        if s != 1 and t != acc:
            return False
        acc *= s
    return True


class _Flags:
    __slots__ = ("c_contiguous",)

    def __init__(self, c):
        self.c_contiguous = c

    def __getitem__(self, key):
        if key in ("C_CONTIGUOUS", "C", "CONTIGUOUS"):
            return self.c_contiguous
        raise KeyError(key)


def _make(blk, shape, st, off, dtype):
    a = object.__new__(DeviceArray)
    a._blk, a.shape, a._st, a._off, a.dtype = blk, shape, st, off, dtype
    return a


def empty(shape, dtype=np.float32):
    """An uninitialised C-contiguous device array."""
    shape = _shape_tuple(shape)
    dtype = np.dtype(dtype)
    return _make(_POOL.get(math.prod(shape), dtype), shape, _c_strides(shape), 0, dtype)


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


class DeviceArray(DeviceArrayBase):
    """An n-dimensional array in GPU memory with NumPy's semantics (the subset the engine
    and the model families use). Views share memory as in NumPy."""
    __slots__ = ("_blk", "shape", "_st", "_off", "dtype", "__weakref__")
    __array_priority__ = 1000
    device = "cuda"

    # -- attributes ---------------------------------------------------------------------
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    strides = property(lambda self: tuple(s * self.dtype.itemsize for s in self._st))
    flags = property(lambda self: _Flags(_is_c_contiguous(self.shape, self._st)))
    T = property(lambda self: self.transpose())
    mT = property(lambda self: swapaxes(self, -1, -2))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self):
        return f"DeviceArray({np.array2string(self.copy_to_host(), separator=', ')}, " \
               f"dtype={self.dtype})"

    # -- to and from the host ------------------------------------------------------------
    def copy_to_host(self):
        """A NumPy copy (the explicit way off the GPU)."""
        a = self if _is_c_contiguous(self.shape, self._st) else self.copy()
        n = a.size
        if n == 0:
            return np.empty(self.shape, dtype=self.dtype)
        return a._blk.mem[a._off:a._off + n].copy_to_host().reshape(self.shape)

    get = copy_to_host

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a CUDA array cannot be viewed as a NumPy array without a copy")
        _implicit_copy("np.asarray")
        h = self.copy_to_host()
        return h if dtype is None else h.astype(dtype)

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.copy_to_host().reshape(-1)[0].item()

    def tolist(self):
        return self.copy_to_host().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError("only integer arrays can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self.item())

    def __reduce__(self):        # pickling goes through the host
        return (asarray, (self.copy_to_host(),))

    def __deepcopy__(self, memo):
        return self.copy()

    def __copy__(self):
        return self.copy()

    @property
    def __cuda_array_interface__(self):
        """Lets other CUDA libraries (PyTorch, CuPy) read this array without a copy."""
        base = self._blk.mem.__cuda_array_interface__["data"][0]
        return {"shape": self.shape, "strides": self.strides, "typestr": self.dtype.str,
                "data": (base + self._off * self.dtype.itemsize, False), "version": 3}

    # -- shape ---------------------------------------------------------------------------
    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return transpose(self, axes or None)

    def ravel(self):
        return reshape(self, (-1,))

    def flatten(self):
        return self.copy().reshape(-1)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def swapaxes(self, a, b):
        return swapaxes(self, a, b)

    def copy(self, order="C"):
        out = empty(self.shape, self.dtype)
        _copy_into(out, self)
        return out

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        out = empty(self.shape, dtype)
        _copy_into(out, self)
        return out

    def fill(self, value):
        _fill(self, value)

    def view(self, dtype=None):
        if dtype is None or np.dtype(dtype) == self.dtype:
            return _make(self._blk, self.shape, self._st, self._off, self.dtype)
        raise NotImplementedError("DeviceArray.view with another dtype")

    # -- reductions ----------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return amax(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return amin(self, axis=axis, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False):
        return all(self, axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return any(self, axis=axis, out=out, keepdims=keepdims)

    def clip(self, a_min=None, a_max=None):
        return clip(self, a_min, a_max)

    def __getattr__(self, name):
        # NumPy methods not written here (argmax, cumsum, ...) run on a host copy;
        # those that change the array in place would change only the copy: refused.
        if name in ("sort", "partition", "put", "resize", "itemset", "setfield",
                    "setflags", "byteswap"):
            raise AttributeError(f"DeviceArray.{name}: in-place NumPy method not "
                                 "supported on CUDA arrays")
        if hasattr(np.ndarray, name) and not name.startswith("_"):
            def method(*args, **kw):
                _implicit_copy(f"DeviceArray.{name}")
                return getattr(self.copy_to_host(), name)(*_host_args(args),
                                                          **_host_args(kw))
            return method
        raise AttributeError(f"'DeviceArray' object has no attribute {name!r}")

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, index):
        return _getitem(self, index)

    def __setitem__(self, index, value):
        _setitem(self, index, value)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # -- NumPy's dispatch protocols ------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        impl = _FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        return _host_fallback(func, args, kwargs)

    # -- operators -----------------------------------------------------------------------
    def __add__(self, o): return _binop(_ADD, self, o)
    def __radd__(self, o): return _binop(_ADD, o, self)
    def __sub__(self, o): return _binop(_SUB, self, o)
    def __rsub__(self, o): return _binop(_SUB, o, self)
    def __mul__(self, o): return _binop(_MUL, self, o)
    def __rmul__(self, o): return _binop(_MUL, o, self)
    def __truediv__(self, o): return _binop(_DIV, self, o)
    def __rtruediv__(self, o): return _binop(_DIV, o, self)
    def __floordiv__(self, o): return _binop(_FLOORDIV, self, o)
    def __rfloordiv__(self, o): return _binop(_FLOORDIV, o, self)
    def __mod__(self, o): return _binop(_MOD, self, o)
    def __rmod__(self, o): return _binop(_MOD, o, self)
    def __pow__(self, o): return _binop(_POW, self, o)
    def __rpow__(self, o): return _binop(_POW, o, self)
    def __lt__(self, o): return _binop(_LT, self, o)
    def __le__(self, o): return _binop(_LE, self, o)
    def __gt__(self, o): return _binop(_GT, self, o)
    def __ge__(self, o): return _binop(_GE, self, o)
    def __eq__(self, o): return _binop(_EQ, self, o)
    def __ne__(self, o): return _binop(_NE, self, o)
    def __and__(self, o): return _binop(_AND, self, o)
    def __rand__(self, o): return _binop(_AND, o, self)
    def __or__(self, o): return _binop(_OR, self, o)
    def __ror__(self, o): return _binop(_OR, o, self)
    def __xor__(self, o): return _binop(_XOR, self, o)
    def __rxor__(self, o): return _binop(_XOR, o, self)
    __hash__ = None

    def __iadd__(self, o): return _binop(_ADD, self, o, out=self)
    def __isub__(self, o): return _binop(_SUB, self, o, out=self)
    def __imul__(self, o): return _binop(_MUL, self, o, out=self)
    def __itruediv__(self, o): return _binop(_DIV, self, o, out=self)
    def __ipow__(self, o): return _binop(_POW, self, o, out=self)

    def __matmul__(self, o):
        o = _operand(o)
        return NotImplemented if o is None else matmul(self, o)

    def __rmatmul__(self, o):
        o = _operand(o)
        return NotImplemented if o is None else matmul(o, self)

    def __neg__(self): return _unary(_NEG, self)
    def __pos__(self): return self
    def __abs__(self): return _unary(_ABS, self)

    def __invert__(self):
        if self.dtype != np.bool_:
            raise TypeError("~ is supported on boolean CUDA arrays only")
        return _unary_pred(_NOT, self)


def _host_args(x):
    """Copy every DeviceArray inside (nested) arguments to the host."""
    if isinstance(x, DeviceArray):
        return x.copy_to_host()
    if isinstance(x, tuple):
        return tuple(_host_args(v) for v in x)
    if isinstance(x, list):
        return [_host_args(v) for v in x]
    if isinstance(x, dict):
        return {k: _host_args(v) for k, v in x.items()}
    return x


def _host_fallback(func, args, kwargs):
    """A NumPy function with no GPU version here: run it on host copies (counted, or
    refused in strict mode). Functions that write into an argument cannot be emulated
    this way and are refused."""
    if "out" in kwargs and kwargs["out"] is not None:
        raise TypeError(f"{getattr(func, '__name__', func)} with out= is not supported "
                        "on CUDA arrays")
    _implicit_copy(f"np.{getattr(func, '__name__', func)}")
    return func(*_host_args(args), **_host_args(kwargs))


def asarray(a, dtype=None):
    """``a`` as a DeviceArray: the same object if it already is one (cast if ``dtype``
    differs), else a copy of the host data on the GPU."""
    if isinstance(a, DeviceArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    h = np.ascontiguousarray(a, dtype=dtype)
    out = empty(h.shape, h.dtype)
    if h.size:
        out._blk.mem[:h.size].copy_to_device(h.reshape(-1))
    return out


to_device = asarray


def to_host(a):
    return a.copy_to_host() if isinstance(a, DeviceArray) else np.asarray(a)


def zeros(shape, dtype=np.float32):
    out = empty(shape, dtype)
    _fill(out, 0)
    return out


def ones(shape, dtype=np.float32):
    out = empty(shape, dtype)
    _fill(out, 1)
    return out


def full(shape, value, dtype=None):
    dtype = np.result_type(value) if dtype is None else dtype
    out = empty(shape, dtype)
    _fill(out, value)
    return out


def synchronize():
    """Wait for every queued kernel (for timing)."""
    cuda.synchronize()


# ====================================================================== device math
# Operation codes. Unary float functions, unary predicates, binary arithmetic and binary
# predicates are four kernels; the code selects the function inside.
(_NEG, _ABS, _SIGN, _EXP, _EXPM1, _LOG, _LOG1P, _LOG2, _LOG10, _SQRT, _SQUARE, _RECIP,
 _TANH, _SIN, _COS, _TAN, _ARCTAN, _EXPIT, _ERF, _COPY) = range(20)
_ISFINITE, _ISNAN, _ISINF, _NOT = range(4)
_ADD, _SUB, _MUL, _DIV, _POW, _MAX, _MIN, _FLOORDIV, _MOD, _ARCTAN2 = range(10)
_EQ, _NE, _LT, _LE, _GT, _GE, _AND, _OR, _XOR = range(100, 109)   # predicates
_SUM_OP, _MAX_OP, _MIN_OP = range(3)


@cuda.jit(**_DEVICE)
def _unary_value(op, x):
    """f(x) for the unary code ``op``; IEEE results as NumPy's (log(0) = -inf, ...)."""
    if op == _NEG:
        return -x
    elif op == _ABS:
        return abs(x)
    elif op == _SIGN:
        return float32(1) if x > float32(0) else (-float32(1) if x < float32(0) else x)
    elif op == _EXP:
        return math.exp(x)
    elif op == _EXPM1:
        return math.expm1(x)
    elif op == _LOG:
        return math.log(x)
    elif op == _LOG1P:
        return math.log1p(x)
    elif op == _LOG2:
        return math.log2(x)
    elif op == _LOG10:
        return math.log10(x)
    elif op == _SQRT:
        return math.sqrt(x)
    elif op == _SQUARE:
        return x * x
    elif op == _RECIP:
        return float32(1) / x
    elif op == _TANH:
        return math.tanh(x)
    elif op == _SIN:
        return math.sin(x)
    elif op == _COS:
        return math.cos(x)
    elif op == _TAN:
        return math.tan(x)
    elif op == _ARCTAN:
        return math.atan(x)
    elif op == _EXPIT:
        # For x << 0, e^-x overflows to inf and 1/(1+inf) = 0: the right limit, no NaN.
        return float32(1) / (float32(1) + math.exp(-x))
    elif op == _ERF:
        return math.erf(x)
    return x


@cuda.jit(**_DEVICE)
def _unary_pred_value(op, x):
    if op == _ISFINITE:
        return not (math.isinf(x) or math.isnan(x))
    elif op == _ISNAN:
        return math.isnan(x)
    elif op == _ISINF:
        return math.isinf(x)
    return not x


@cuda.jit(**_DEVICE)
def _binary_value(op, u, v):
    if op == _ADD:
        return u + v
    elif op == _SUB:
        return u - v
    elif op == _MUL:
        return u * v
    elif op == _DIV:
        return u / v
    elif op == _POW:
        return u ** v
    elif op == _MAX:                          # NaN propagates, as np.maximum
        return u if (u >= v or u != u) else v
    elif op == _MIN:
        return u if (u <= v or u != u) else v
    elif op == _FLOORDIV:
        return u // v
    elif op == _MOD:
        return u % v
    elif op == _ARCTAN2:
        return math.atan2(u, v)
    return u


@cuda.jit(**_DEVICE)
def _binary_pred_value(op, u, v):
    if op == _EQ:
        return u == v
    elif op == _NE:
        return u != v
    elif op == _LT:
        return u < v
    elif op == _LE:
        return u <= v
    elif op == _GT:
        return u > v
    elif op == _GE:
        return u >= v
    elif op == _AND:
        return (u != 0) and (v != 0)
    elif op == _OR:
        return (u != 0) or (v != 0)
    return (u != 0) != (v != 0)


@cuda.jit(**_DEVICE)
def _combine(op, a, b):
    """The reduction operators; max/min let NaN win, as NumPy's do."""
    if op == _SUM_OP:
        return a + b
    elif op == _MAX_OP:
        return a if (a >= b or a != a) else b
    return a if (a <= b or a != a) else b


# ====================================================================== elementwise kernels
# The output (possibly a strided view) has shape `shape`; each operand brings an offset
# and strides (0 along broadcast axes). The host collapses axes first, so a contiguous
# operation is one axis and needs no division. Each output element has one writer.

@cuda.jit(**_DEVICE)
def _offset1(i, shape, s0, o0):
    """Offset of flat index i (C order over `shape`) in an operand with strides s0."""
    rem = i
    for d in range(len(shape) - 1, 0, -1):
        o0 += (rem % shape[d]) * s0[d]
        rem //= shape[d]
    return o0 + rem * s0[0]


@cuda.jit(**_DEVICE)
def _offsets2(i, shape, s0, o0, s1, o1):
    """Offsets of flat output index i (C order over `shape`) in two operands."""
    rem = i
    for d in range(len(shape) - 1, 0, -1):
        k = rem % shape[d]
        rem //= shape[d]
        o0 += k * s0[d]
        o1 += k * s1[d]
    return o0 + rem * s0[0], o1 + rem * s1[0]


@cuda.jit(**_DEVICE)
def _offsets3(i, shape, s0, o0, s1, o1, s2, o2):
    rem = i
    for d in range(len(shape) - 1, 0, -1):
        k = rem % shape[d]
        rem //= shape[d]
        o0 += k * s0[d]
        o1 += k * s1[d]
        o2 += k * s2[d]
    return o0 + rem * s0[0], o1 + rem * s1[0], o2 + rem * s2[0]


@cuda.jit(**_DEVICE)
def _offsets4(i, shape, s0, o0, s1, o1, s2, o2, s3, o3):
    rem = i
    for d in range(len(shape) - 1, 0, -1):
        k = rem % shape[d]
        rem //= shape[d]
        o0 += k * s0[d]
        o1 += k * s1[d]
        o2 += k * s2[d]
        o3 += k * s3[d]
    return o0 + rem * s0[0], o1 + rem * s1[0], o2 + rem * s2[0], o3 + rem * s3[0]


@cuda.jit(cache=True)
def _k_unary(op, n, shape, out, oo, so, a, oa, sa):
    i = cuda.grid(1)
    while i < n:
        po, pa = _offsets2(i, shape, so, oo, sa, oa)
        out[po] = _unary_value(op, a[pa])
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_unary_pred(op, n, shape, out, oo, so, a, oa, sa):
    i = cuda.grid(1)
    while i < n:
        po, pa = _offsets2(i, shape, so, oo, sa, oa)
        out[po] = _unary_pred_value(op, a[pa])
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_cast(n, shape, out, oo, so, a, oa, sa):
    """Strided copy with dtype conversion: astype, ascontiguous, basic setitem."""
    i = cuda.grid(1)
    while i < n:
        po, pa = _offsets2(i, shape, so, oo, sa, oa)
        out[po] = a[pa]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_fill(n, shape, out, oo, so, value):
    i = cuda.grid(1)
    while i < n:
        out[_offset1(i, shape, so, oo)] = value
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_binary(op, mode, n, shape, out, oo, so, a, oa, sa, xa, b, ob, sb, xb):
    """mode 0: two arrays; 1: `a` is the scalar xa; 2: `b` is the scalar xb."""
    i = cuda.grid(1)
    while i < n:
        po, pa, pb = _offsets3(i, shape, so, oo, sa, oa, sb, ob)
        u = xa if mode == 1 else a[pa]
        v = xb if mode == 2 else b[pb]
        out[po] = _binary_value(op, u, v)
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_binary_pred(op, mode, n, shape, out, oo, so, a, oa, sa, xa, b, ob, sb, xb):
    i = cuda.grid(1)
    while i < n:
        po, pa, pb = _offsets3(i, shape, so, oo, sa, oa, sb, ob)
        u = xa if mode == 1 else a[pa]
        v = xb if mode == 2 else b[pb]
        out[po] = _binary_pred_value(op, u, v)
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_where(mode, n, shape, out, oo, so, c, oc, sc, a, oa, sa, xa, b, ob, sb, xb):
    i = cuda.grid(1)
    while i < n:
        po, pc, pa, pb = _offsets4(i, shape, so, oo, sc, oc, sa, oa, sb, ob)
        if c[pc]:
            out[po] = xa if mode == 1 or mode == 3 else a[pa]
        else:
            out[po] = xb if mode == 2 or mode == 3 else b[pb]
        i += cuda.gridsize(1)


# ---------------------------------------------------------------- host side: layouts

def _grid(n):
    return min(_MAX_BLOCKS, max(1, -(-n // _THREADS))), _THREADS


def _bstrides(a, shape):
    """a's strides broadcast to `shape` (0 along new or stretched axes)."""
    lead = len(shape) - a.ndim
    st = [0] * lead
    for s, t, full_s in zip(a.shape, a._st, shape[lead:]):
        st.append(0 if s == 1 and full_s != 1 else t)
    return st


def _collapse(shape, strides_list):
    """Drop size-1 axes and merge neighbours that are contiguous for every operand:
    a C-contiguous elementwise op becomes one axis."""
    dims = [d for d, s in enumerate(shape) if s != 1]
    if not dims:
        return (1,), [(0,) for _ in strides_list]
    out_shape = [shape[dims[0]]]
    out_st = [[st[dims[0]]] for st in strides_list]
    for d in dims[1:]:
        s = shape[d]
        if builtins.all(ost[-1] == st[d] * s for ost, st in zip(out_st, strides_list)):
            out_shape[-1] *= s
            for ost, st in zip(out_st, strides_list):
                ost[-1] = st[d]
        else:
            out_shape.append(s)
            for ost, st in zip(out_st, strides_list):
                ost.append(st[d])
    return tuple(out_shape), [tuple(x) for x in out_st]


_SCALAR_TYPES = (bool, int, float, np.generic)


def _operand(v):
    """A DeviceArray or a scalar (Python or NumPy); host arrays are uploaded. None for
    types this module does not combine with (a Tensor: its own operators take over)."""
    if isinstance(v, DeviceArray):
        return v
    if isinstance(v, _SCALAR_TYPES):
        return v
    if isinstance(v, np.ndarray):
        return v[()] if v.ndim == 0 else asarray(v)
    if isinstance(v, (list, tuple)):
        return _operand(np.asarray(v))
    return None


def _dtype_key(v):
    return v.dtype if isinstance(v, DeviceArray) else v


def _as_dtype(v, dtype):
    """An operand in `dtype`: a scalar of that type, or the array (cast if needed)."""
    if isinstance(v, DeviceArray):
        return v if v.dtype == dtype else v.astype(dtype)
    return dtype.type(v)


def _result_shape(*arrays):
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays if isinstance(a, DeviceArray)))
    except ValueError:
        shapes = " ".join(str(a.shape) for a in arrays if isinstance(a, DeviceArray))
        raise ValueError(f"operands could not be broadcast together with shapes {shapes}") \
            from None


def _prepare_out(out, shape, dtype):
    if out is None:
        return empty(shape, dtype)
    if not isinstance(out, DeviceArray):
        raise TypeError("out= must be a CUDA array")
    if out.shape != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, expected {tuple(shape)}")
    return out


def _unary(op, x, out=None):
    """Unary float function: ints and bools are computed in float64, as NumPy does,
    except for the sign-like ops that keep an integer dtype."""
    dt = x.dtype
    if op in (_NEG, _ABS, _SIGN, _SQUARE, _COPY) and dt.kind in "iu":
        pass
    elif dt.kind not in "f":
        if dt == np.bool_ and op in (_ABS, _COPY):
            return _copy_into(_prepare_out(out, x.shape, dt), x)
        dt = np.dtype(np.float64)
        x = x.astype(dt)
    out = _prepare_out(out, x.shape, dt)
    if out.size == 0:
        return out
    shape, st = _collapse(out.shape, [out._st, _bstrides(x, out.shape)])
    _k_unary[_grid(out.size)](op, out.size, shape, out._blk.mem, out._off, st[0],
                              x._blk.mem, x._off, st[1])
    return out


def _unary_pred(op, x, out=None):
    if op == _NOT and x.dtype != np.bool_:
        x = x.astype(np.bool_)
    elif x.dtype.kind not in "fb" and op != _NOT:   # integers are finite, never NaN
        x = x.astype(np.float64)
    out = _prepare_out(out, x.shape, np.dtype(np.bool_))
    if out.size == 0:
        return out
    shape, st = _collapse(out.shape, [out._st, _bstrides(x, out.shape)])
    _k_unary_pred[_grid(out.size)](op, out.size, shape, out._blk.mem, out._off, st[0],
                                   x._blk.mem, x._off, st[1])
    return out


_BOOL_ARITH = {_ADD: _OR, _MUL: _AND, _MAX: _OR, _MIN: _AND}


def _binop(op, a, b, out=None):
    """Operator entry: NotImplemented for operands this module does not handle."""
    a2, b2 = _operand(a), _operand(b)
    if a2 is None or b2 is None:
        return NotImplemented
    return _binary(op, a2, b2, out)


def _binary(op, a, b, out=None):
    """a (op) b with NumPy's broadcasting and type promotion (NEP 50: Python scalars
    are weak, NumPy scalars and arrays are not)."""
    pred = op >= _EQ
    ct = np.result_type(_dtype_key(a), _dtype_key(b))
    if op == _DIV and ct.kind in "iub":
        ct = np.dtype(np.float64)
    if op == _ARCTAN2 and ct.kind != "f":
        ct = np.dtype(np.float64)
    if ct == np.bool_ and not pred:
        if op not in _BOOL_ARITH:
            raise TypeError("this operation is not supported for boolean CUDA arrays")
        op, pred = _BOOL_ARITH[op], True
    if op in (_AND, _OR, _XOR):
        ct = np.dtype(np.bool_)
    a, b = _as_dtype(a, ct), _as_dtype(b, ct)
    shape = _result_shape(a, b)
    out = _prepare_out(out, shape, np.dtype(np.bool_) if pred else ct)
    n = out.size
    if n == 0:
        return out
    a_arr, b_arr = isinstance(a, DeviceArray), isinstance(b, DeviceArray)
    mode = 0 if (a_arr and b_arr) else (1 if b_arr else 2)
    ref = a if a_arr else b
    st_list = [out._st, _bstrides(a, shape) if a_arr else [0] * len(shape),
               _bstrides(b, shape) if b_arr else [0] * len(shape)]
    cshape, st = _collapse(shape, st_list)
    zero = ct.type(0)
    kernel = _k_binary_pred if pred else _k_binary
    kernel[_grid(n)](op, mode, n, cshape, out._blk.mem, out._off, st[0],
                     (a if a_arr else ref)._blk.mem, a._off if a_arr else 0, st[1],
                     zero if a_arr else a,
                     (b if b_arr else ref)._blk.mem, b._off if b_arr else 0, st[2],
                     zero if b_arr else b)
    return out


def where(condition, x=None, y=None):
    """np.where(c, x, y); the one-argument form (nonzero) runs on the host."""
    if x is None and y is None:
        return _host_fallback(np.where, (condition,), {})
    c, x, y = _operand(condition), _operand(x), _operand(y)
    if not isinstance(c, DeviceArray):
        c = asarray(np.asarray(c))
    if c.dtype != np.bool_:
        c = c.astype(np.bool_)
    ct = np.result_type(_dtype_key(x), _dtype_key(y))
    x, y = _as_dtype(x, ct), _as_dtype(y, ct)
    shape = _result_shape(c, *(v for v in (x, y) if isinstance(v, DeviceArray)))
    out = empty(shape, ct)
    n = out.size
    if n == 0:
        return out
    xa, ya = isinstance(x, DeviceArray), isinstance(y, DeviceArray)
    mode = 0 if xa and ya else (2 if xa else (1 if ya else 3))
    dummy = x if xa else (y if ya else out)
    zero = ct.type(0)
    st_list = [out._st, _bstrides(c, shape),
               _bstrides(x, shape) if xa else [0] * len(shape),
               _bstrides(y, shape) if ya else [0] * len(shape)]
    cshape, st = _collapse(shape, st_list)
    _k_where[_grid(n)](mode, n, cshape, out._blk.mem, out._off, st[0],
                       c._blk.mem, c._off, st[1],
                       (x if xa else dummy)._blk.mem, x._off if xa else 0, st[2],
                       zero if xa else x,
                       (y if ya else dummy)._blk.mem, y._off if ya else 0, st[3],
                       zero if ya else y)
    return out


def _copy_into(dst, src):
    """dst[...] = src (broadcast, cast to dst's dtype); dst may be a strided view."""
    src = _operand(src)
    if not isinstance(src, DeviceArray):
        _fill(dst, src)
        return dst
    if dst.size == 0:
        return dst
    shape = dst.shape
    if np.broadcast_shapes(src.shape, shape) != shape:
        raise ValueError(f"could not broadcast input array from shape {src.shape} into "
                         f"shape {shape}")
    cshape, st = _collapse(shape, [dst._st, _bstrides(src, shape)])
    _k_cast[_grid(dst.size)](dst.size, cshape, dst._blk.mem, dst._off, st[0],
                             src._blk.mem, src._off, st[1])
    return dst


def _fill(dst, value):
    if dst.size == 0:
        return dst
    cshape, st = _collapse(dst.shape, [dst._st])
    _k_fill[_grid(dst.size)](dst.size, cshape, dst._blk.mem, dst._off, st[0],
                             dst.dtype.type(value))
    return dst


def _contiguous(a):
    return a if _is_c_contiguous(a.shape, a._st) else a.copy()


# ====================================================================== reductions
# The reduced axes are moved last and collapsed, so a reduction is out[m] = op over k of
# x[base + m*sm + k*sk]. Two kernels: rows (one block per output, threads along k: for
# a contiguous last axis) and columns (threads along m: for sums over a leading axis,
# such as a bias gradient). Each ends in a tree in shared memory, one barrier per
# level; no two threads add into one slot. Long reductions with few outputs are split
# over blockIdx.y into partial results, reduced again by a second launch.

@cuda.jit(**_DEVICE)
def _block_tree(sh, t, op, v):
    """Combine one value per thread of a _BLOCK-thread block; every thread gets the
    result. Barriers before and after, so `sh` can be reused at once."""
    sh[t] = v
    cuda.syncthreads()
    s = _BLOCK // 2
    while s > 0:
        if t < s:
            sh[t] = _combine(op, sh[t], sh[t + s])
        cuda.syncthreads()
        s //= 2
    r = sh[0]
    cuda.syncthreads()
    return r


@cuda.jit(cache=True)
def _k_reduce_rows(op, M, K, x, ox, sm, sk, init, out):
    sh = cuda.shared.array(_BLOCK, dtype=out.dtype)
    t = cuda.threadIdx.x
    P = cuda.gridDim.y
    chunk = (K + P - 1) // P
    k0 = cuda.blockIdx.y * chunk
    k1 = min(K, k0 + chunk)
    m = cuda.blockIdx.x
    while m < M:                      # uniform across the block: barriers are safe
        base = ox + m * sm
        acc = init
        k = k0 + t
        while k < k1:
            acc = _combine(op, acc, x[base + k * sk])
            k += _BLOCK
        r = _block_tree(sh, t, op, acc)
        if t == 0:
            out[m * P + cuda.blockIdx.y] = r
        m += cuda.gridDim.x


@cuda.jit(cache=True)
def _k_reduce_serial(op, M, K, x, ox, sm, sk, init, out):
    """One thread per output, a plain loop over k: for short reductions (a few
    classes, a small last axis) where a block per output would idle most threads."""
    m = cuda.grid(1)
    while m < M:
        acc = init
        base = ox + m * sm
        for k in range(K):
            acc = _combine(op, acc, x[base + k * sk])
        out[m] = acc
        m += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_reduce_cols(op, M, K, x, ox, sm, sk, init, out):
    sh = cuda.shared.array((_COLS_Y, _COLS_X), dtype=out.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    P = cuda.gridDim.y
    chunk = (K + P - 1) // P
    k0 = cuda.blockIdx.y * chunk
    k1 = min(K, k0 + chunk)
    mb = cuda.blockIdx.x * _COLS_X
    while mb < M:
        m = mb + tx
        acc = init
        if m < M:
            k = k0 + ty
            while k < k1:
                acc = _combine(op, acc, x[ox + m * sm + k * sk])
                k += _COLS_Y
        sh[ty, tx] = acc
        cuda.syncthreads()
        s = _COLS_Y // 2
        while s > 0:
            if ty < s:
                sh[ty, tx] = _combine(op, sh[ty, tx], sh[ty + s, tx])
            cuda.syncthreads()
            s //= 2
        if ty == 0 and m < M:
            out[m * P + cuda.blockIdx.y] = sh[0, tx]
        cuda.syncthreads()
        mb += cuda.gridDim.x * _COLS_X


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out)) if ndim else ()


# Reductions of at most _SERIAL_K elements run one thread per output. Fewer output
# blocks than _REDUCE_TARGET_BLOCKS and a long reduction is split over blockIdx.y (each
# split at least _SPLIT_MIN elements per thread). In the simulator every barrier costs a
# round of thread polling, so it reduces serially unless a test asks for the trees.
_SERIAL_K = 4096 if SIMULATOR else 32
_REDUCE_TARGET_BLOCKS = 1 if SIMULATOR else 512
_SPLIT_MIN = 16


def _reduce_2d(op, x, ox, M, K, sm, sk, init, dtype):
    """out (M,) = op over k of x[ox + m sm + k sk], x a contiguous-or-not buffer."""
    out = empty((M,), dtype)
    if M == 0:
        return out
    if K == 0:
        return _fill(out, init)
    if K <= _SERIAL_K:
        _k_reduce_serial[_grid(M)](op, M, K, x, ox, sm, sk, init, out._blk.mem)
        return out
    use_cols = M > 1 and sk != 1 and (sm == 1 or abs(sm) < abs(sk))
    blocks_m = -(-M // _COLS_X) if use_cols else M
    per_split = (_COLS_Y if use_cols else _BLOCK) * _SPLIT_MIN
    P = 1 if blocks_m >= _REDUCE_TARGET_BLOCKS else \
        max(1, min(-(-_REDUCE_TARGET_BLOCKS // blocks_m), K // per_split, 65535))
    part = out if P == 1 else empty((M * P,), dtype)
    grid_x = min(blocks_m, _MAX_GRID)
    if use_cols:
        _k_reduce_cols[(grid_x, P), (_COLS_X, _COLS_Y)](op, M, K, x, ox, sm, sk, init,
                                                        part._blk.mem)
    else:
        _k_reduce_rows[(grid_x, P), _BLOCK](op, M, K, x, ox, sm, sk, init, part._blk.mem)
    if P > 1:
        return _reduce_2d(op, part._blk.mem, 0, M, P, P, 1, init, dtype)
    return out


def _reduce(op, x, axis, keepdims, dtype=None, out=None, initial=None):
    """op over `axis` (None: all); `initial` is the value of an empty reduction (only
    sums have one otherwise, as in NumPy)."""
    x = _operand(x)
    if not isinstance(x, DeviceArray):
        raise TypeError("reduction of a non-array")
    axes = _norm_axes(axis, x.ndim)
    if op == _SUM_OP:
        dt = np.dtype(dtype) if dtype is not None else (
            np.dtype(np.int64) if x.dtype.kind in "biu" else x.dtype)
    else:
        dt = x.dtype if x.dtype != np.bool_ else np.dtype(np.int8)
    if x.dtype != dt:
        x = x.astype(dt)
    kept = [d for d in range(x.ndim) if d not in axes]
    out_shape = tuple(1 if d in axes else s for d, s in enumerate(x.shape)) if keepdims \
        else tuple(x.shape[d] for d in kept)
    M = math.prod(x.shape[d] for d in kept)
    K = math.prod(x.shape[d] for d in axes)
    if K == 0 and op != _SUM_OP and initial is None:
        raise ValueError("zero-size array to reduction operation maximum which has no "
                         "identity")
    init = dt.type(0) if op == _SUM_OP else _extreme(dt, op == _MAX_OP)
    if initial is not None and K == 0:
        init = dt.type(initial)
    kshape, kst = _collapse([x.shape[d] for d in kept], [[x._st[d] for d in kept]])
    rshape, rst = _collapse([x.shape[d] for d in axes], [[x._st[d] for d in axes]])
    if len(kshape) == 1 and len(rshape) == 1:
        sm = kst[0][0] if M > 1 else 0
        sk = rst[0][0] if K > 1 else 0
        res = _reduce_2d(op, x._blk.mem, x._off, M, K, sm, sk, init, dt)
    else:   # the axes do not collapse to a (kept, reduced) pair: copy them into place
        xt = transpose(x, kept + list(axes)).copy()
        res = _reduce_2d(op, xt._blk.mem, 0, M, K, K, 1, init, dt)
    res = res.reshape(out_shape)
    if out is not None:
        return _copy_into(_prepare_out(out, out_shape, out.dtype), res)
    return res


def _extreme(dt, for_max):
    """The identity of max (smallest value) or min (largest) in dtype dt."""
    if dt.kind == "f":
        return dt.type(-np.inf if for_max else np.inf)
    info = np.iinfo(dt)
    return dt.type(info.min if for_max else info.max)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduce(_SUM_OP, a, axis, keepdims, dtype=dtype, out=out)


def amax(a, axis=None, out=None, keepdims=False, **kw):
    r = _reduce(_MAX_OP, a, axis, keepdims, out=out)
    return r if a.dtype != np.bool_ else r.astype(np.bool_)


def amin(a, axis=None, out=None, keepdims=False, **kw):
    r = _reduce(_MIN_OP, a, axis, keepdims, out=out)
    return r if a.dtype != np.bool_ else r.astype(np.bool_)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    a = _operand(a)
    axes = _norm_axes(axis, a.ndim)
    count = math.prod(a.shape[d] for d in axes)
    dt = np.dtype(dtype) if dtype is not None else (
        a.dtype if a.dtype.kind == "f" else np.dtype(np.float64))
    s = _reduce(_SUM_OP, a, axis, keepdims, dtype=dt)
    r = _binary(_DIV, s, dt.type(count) if count else dt.type(np.nan))
    return r if out is None else _copy_into(out, r)


def all(a, axis=None, out=None, keepdims=False, **kw):
    a = _operand(a)
    b = a if a.dtype == np.bool_ else a.astype(np.bool_)
    r = _reduce(_MIN_OP, b, axis, keepdims, initial=1).astype(np.bool_)
    return r if out is None else _copy_into(out, r)


def any(a, axis=None, out=None, keepdims=False, **kw):
    a = _operand(a)
    b = a if a.dtype == np.bool_ else a.astype(np.bool_)
    r = _reduce(_MAX_OP, b, axis, keepdims, initial=0).astype(np.bool_)
    return r if out is None else _copy_into(out, r)


# ====================================================================== matmul
# Register-blocked tiles (Volkov & Demmel 2008; the CUTLASS/'SGEMM from scratch' layout):
# a block loads a _MM_TILE x _MM_K slice of A and a _MM_K x _MM_TILE slice of B into
# shared memory, then each thread multiplies _MM_R values of A by _MM_R values of B
# from registers: _MM_R^2 multiply-adds per 2 _MM_R shared-memory reads. Thread (tx, ty)
# owns rows ty + i*_MM_T and columns tx + j*_MM_T, so a warp's shared reads hit distinct
# banks (B) or one broadcast address (A), and its global writes are coalesced. Loads go
# along whichever axis of the operand is contiguous (transposed views are common in
# backward passes). The padded row (+1) keeps the transposing stores conflict-free.

@cuda.jit(cache=True)
def _k_matmul(nb, M, N, K, a, oa, sab, sam, sak, b, ob, sbb, sbk, sbn, out, zero):
    As = cuda.shared.array((_MM_K, _MM_PAD), dtype=out.dtype)
    Bs = cuda.shared.array((_MM_K, _MM_PAD), dtype=out.dtype)
    acc = cuda.local.array((_MM_R, _MM_R), dtype=out.dtype)
    ar = cuda.local.array(_MM_R, dtype=out.dtype)
    br = cuda.local.array(_MM_R, dtype=out.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * _MM_T + tx
    m0 = cuda.blockIdx.y * _MM_TILE
    n0 = cuda.blockIdx.x * _MM_TILE
    batch = cuda.blockIdx.z
    while batch < nb:
        for i in range(_MM_R):
            for j in range(_MM_R):
                acc[i, j] = zero
        pa = oa + batch * sab
        pb = ob + batch * sbb
        for k0 in range(0, K, _MM_K):
            for r in range(_MM_LOADS):
                e = tid + r * _MM_THREADS
                if sak == 1:                  # A's rows contiguous: threads along k
                    mm = e // _MM_K
                    kk = e % _MM_K
                else:                         # A's columns contiguous: along m
                    kk = e // _MM_TILE
                    mm = e % _MM_TILE
                gm = m0 + mm
                gk = k0 + kk
                As[kk, mm] = a[pa + gm * sam + gk * sak] if gm < M and gk < K else zero
                if sbn == 1:                  # B's rows contiguous: threads along n
                    kk = e // _MM_TILE
                    nn = e % _MM_TILE
                else:
                    nn = e // _MM_K
                    kk = e % _MM_K
                gn = n0 + nn
                gk = k0 + kk
                Bs[kk, nn] = b[pb + gk * sbk + gn * sbn] if gn < N and gk < K else zero
            cuda.syncthreads()
            for kk in range(_MM_K):
                for i in range(_MM_R):
                    ar[i] = As[kk, ty + i * _MM_T]
                for j in range(_MM_R):
                    br[j] = Bs[kk, tx + j * _MM_T]
                for i in range(_MM_R):
                    for j in range(_MM_R):
                        acc[i, j] += ar[i] * br[j]
            cuda.syncthreads()
        po = batch * M * N
        for i in range(_MM_R):
            gm = m0 + ty + i * _MM_T
            if gm < M:
                for j in range(_MM_R):
                    gn = n0 + tx + j * _MM_T
                    if gn < N:
                        out[po + gm * N + gn] = acc[i, j]
        batch += cuda.gridDim.z


def _batch_layout(x, bshape):
    """(x, batch stride) with x's batch axes broadcast to `bshape` and collapsed to one
    stride; x is copied when its batch axes do not collapse."""
    lead = x.shape[:-2]
    st = _bstrides(_make(x._blk, lead, x._st[:len(lead)], x._off, x.dtype), bshape) \
        if bshape else []
    if not bshape:
        return x, 0
    cshape, cst = _collapse(bshape, [st])
    if len(cshape) == 1:
        return x, cst[0][0] if math.prod(bshape) > 1 else 0
    full = empty(tuple(bshape) + x.shape[-2:], x.dtype)
    _copy_into(full, x)
    return full, x.shape[-2] * x.shape[-1]


def matmul(a, b, out=None, **kw):
    """np.matmul with NumPy's rules (1-D operands, broadcast batch axes)."""
    a, b = _operand(a), _operand(b)
    if not isinstance(a, DeviceArray):
        a = asarray(np.asarray(a))
    if not isinstance(b, DeviceArray):
        b = asarray(np.asarray(b))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    av, bv = a.ndim == 1, b.ndim == 1
    if av:
        a = a.reshape(1, -1)
    if bv:
        b = b.reshape(-1, 1)
    M, K = a.shape[-2:]
    K2, N = b.shape[-2:]
    if K != K2:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension "
                         f"0 (size {K2} is different from {K})")
    dt = np.result_type(a.dtype, b.dtype)
    if dt == np.bool_:
        dt = np.dtype(np.int64)
    a, b = _as_dtype(a, dt), _as_dtype(b, dt)
    try:
        bshape = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    except ValueError:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not broadcast") from None
    a, sab = _batch_layout(a, bshape)
    b, sbb = _batch_layout(b, bshape)
    nb = math.prod(bshape)
    res = empty(bshape + (M, N), dt)
    if res.size:
        if K == 0:
            _fill(res, 0)
        else:
            grid = (-(-N // _MM_TILE), -(-M // _MM_TILE), min(nb, _MAX_GRID))
            _k_matmul[grid, (_MM_T, _MM_T)](nb, M, N, K, a._blk.mem, a._off, sab,
                                            a._st[-2], a._st[-1], b._blk.mem, b._off, sbb,
                                            b._st[-2], b._st[-1], res._blk.mem, dt.type(0))
    shape = res.shape
    if bv:
        shape = shape[:-1]
    if av:
        shape = shape[:-2] + shape[-1:] if not bv else shape[:-1]
    res = res.reshape(shape)
    return res if out is None else _copy_into(out, res)


# ====================================================================== indexing
# Basic indices (ints, slices, None, Ellipsis) make views. Integer-array indices (and
# boolean masks, turned into integer arrays) gather: the host works out each indexed
# element's offset as an elementwise sum over the index arrays, then one kernel copies
# out[p, j, q] = src[base + offs[j] + pre(p) + post(q)], p over the sliced axes before
# the indexed block, q over those after (NumPy's rule puts the indexed block first when
# the array indices are not adjacent; then there is no p). Scatter is the same walk
# writing instead of reading, with atomic adds for np.add.at (repeated indices add up).

@cuda.jit(cache=True)
def _k_gather(n, J, Q, out, src, base, offs, pre_shape, pre_st, post_shape, post_st):
    i = cuda.grid(1)
    while i < n:
        q = i % Q
        r = i // Q
        j = r % J
        p = r // J
        out[i] = src[base + offs[j] + _offset1(p, pre_shape, pre_st, 0)
                     + _offset1(q, post_shape, post_st, 0)]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_scatter(accumulate, n, J, Q, dst, base, offs, pre_shape, pre_st, post_shape,
               post_st, vals):
    i = cuda.grid(1)
    while i < n:
        q = i % Q
        r = i // Q
        j = r % J
        p = r // J
        at = base + offs[j] + _offset1(p, pre_shape, pre_st, 0) \
            + _offset1(q, post_shape, post_st, 0)
        if accumulate:
            cuda.atomic.add(dst, at, vals[i])
        else:
            dst[at] = vals[i]
        i += cuda.gridsize(1)


def _index_items(index, ndim):
    """Normalise an index into a list of ('int', i) / ('slice', s) / ('none',) /
    ('adv', int DeviceArray-or-ndarray) items covering every axis."""
    if not isinstance(index, tuple):
        index = (index,)
    items = []
    for it in index:
        if isinstance(it, DeviceArray):
            if it.dtype == np.bool_:       # the result's shape depends on the data:
                for nz in np.nonzero(it.copy_to_host()):     # one sync, as in PyTorch
                    items.append(("adv", nz))
                continue
            if it.dtype.kind not in "iu":
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            items.append(("adv", it) if it.ndim else ("int", int(it.item())))
        elif isinstance(it, (list, np.ndarray)):
            arr = np.asarray(it)
            if arr.dtype == np.bool_:
                for nz in np.nonzero(arr):
                    items.append(("adv", nz))
            elif arr.ndim == 0 and arr.dtype.kind in "iu":
                items.append(("int", int(arr)))
            else:
                if arr.size and arr.dtype.kind not in "iu":
                    raise IndexError("arrays used as indices must be of integer (or "
                                     "boolean) type")
                items.append(("adv", arr.astype(np.int64)))
        elif isinstance(it, slice):
            items.append(("slice", it))
        elif it is None:
            items.append(("none",))
        elif it is Ellipsis:
            items.append(("ellipsis",))
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            items.append(("int", int(it)))
        else:
            raise IndexError(f"only integers, slices, ellipsis, None and integer or boolean "
                             f"arrays are valid indices, got {type(it).__name__}")
    used = builtins.sum(1 for it in items if it[0] in ("int", "slice", "adv"))
    if builtins.sum(1 for it in items if it[0] == "ellipsis") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{used} were indexed")
    fill = [("slice", slice(None))] * (ndim - used)
    if any_ellipsis(items):
        k = [i for i, it in enumerate(items) if it[0] == "ellipsis"][0]
        items = items[:k] + fill + items[k + 1:]
    else:
        items = items + fill
    return items


def any_ellipsis(items):
    return builtins.any(it[0] == "ellipsis" for it in items)


def _basic_view(x, items):
    """Apply int/slice/None items; 'adv' items keep their axis whole. Returns the view
    and, for each 'adv' item, the axis of the view it applies to."""
    shape, st, off = [], [], x._off
    adv_axes = []
    d = 0
    for it in items:
        kind = it[0]
        if kind == "none":
            shape.append(1)
            st.append(0)
            continue
        size, stride = x.shape[d], x._st[d]
        if kind == "int":
            i = it[1]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {size}")
            off += (i % size) * stride
        elif kind == "slice":
            start, stop, step = it[1].indices(size)
            n = len(range(start, stop, step))
            shape.append(n)
            st.append(stride * step)
            off += start * stride if n else 0
        else:
            adv_axes.append(len(shape))
            shape.append(size)
            st.append(stride)
        d += 1
    return _make(x._blk, tuple(shape), tuple(st), off, x.dtype), adv_axes


def _index_plan(x, index):
    """(view, None) for basic indices; else the gather plan."""
    items = _index_items(index, x.ndim)
    if not builtins.any(it[0] == "adv" for it in items):
        return _basic_view(x, items)[0], None
    # With array indices present, integers count as (0-d) array indices too (NumPy).
    items = [("adv", np.asarray(it[1], dtype=np.int64)) if it[0] == "int" else it
             for it in items]
    view, axes = _basic_view(x, items)
    arrays = [it[1] for it in items if it[0] == "adv"]
    positions = [k for k, it in enumerate(items) if it[0] == "adv"]
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    try:
        S = tuple(np.broadcast_shapes(*(a.shape for a in arrays)))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         "with shapes " + " ".join(str(a.shape) for a in arrays)) from None
    J = math.prod(S)
    offs = None
    # With host indices only, the offsets are also kept on the host: an assignment
    # uses them to find repeated targets (see _setitem).
    host_offs = 0 if builtins.all(isinstance(a, np.ndarray) for a in arrays) else None
    for arr, ax in zip(arrays, axes):
        size, stride = view.shape[ax], view._st[ax]
        if isinstance(arr, np.ndarray):        # host indices: checked and wrapped here
            if arr.size and (arr.min() < -size or arr.max() >= size):
                bad = arr[(arr < -size) | (arr >= size)][0]
                raise IndexError(f"index {bad} is out of bounds for axis {ax} with size "
                                 f"{size}")
            h = np.broadcast_to(np.where(arr < 0, arr + size, arr) * stride, S).reshape(-1)
            term = asarray(h)
            if host_offs is not None:
                host_offs = host_offs + h
        else:                                  # device indices: one check, then wrap
            arr = arr.astype(np.int64, copy=False)
            if arr.size:
                lo_hi = asarray(np.zeros(2, np.int64))
                lo_hi[0:1] = amin(arr).reshape(1)
                lo_hi[1:2] = amax(arr).reshape(1)
                lo, hi = lo_hi.copy_to_host()
                if lo < -size or hi >= size:
                    raise IndexError(f"index {lo if lo < -size else hi} is out of bounds "
                                     f"for axis {ax} with size {size}")
            wrapped = where(_binary(_LT, arr, 0), _binary(_ADD, arr, size), arr)
            term = broadcast_to(_binary(_MUL, wrapped, stride), S).reshape(-1)
            term = _contiguous(term)
        offs = term if offs is None else _binary(_ADD, offs, term)
    offs = _contiguous(offs)
    rest = [k for k in range(view.ndim) if k not in axes]
    if adjacent:
        pre = [k for k in rest if k < axes[0]]
        post = [k for k in rest if k > axes[0]]
    else:
        pre, post = [], rest
    out_shape = tuple(view.shape[k] for k in pre) + S + tuple(view.shape[k] for k in post)
    plan = dict(J=J, offs=offs, base=view._off, out_shape=out_shape, host_offs=host_offs,
                pre=_axes_layout(view, pre), post=_axes_layout(view, post))
    return view, plan


def _axes_layout(view, axes):
    """(count, collapsed shape, strides) of a set of view axes; (1, (1,), (0,)) if none."""
    shape = [view.shape[k] for k in axes]
    if not shape:
        return 1, (1,), (0,)
    cshape, cst = _collapse(shape, [[view._st[k] for k in axes]])
    return math.prod(shape), cshape, cst[0]


def _getitem(x, index):
    view, plan = _index_plan(x, index)
    if plan is None:
        return view
    out = empty(plan["out_shape"], x.dtype)
    n = out.size
    if n:
        _, pre_shape, pre_st = plan["pre"]
        Q, post_shape, post_st = plan["post"]
        _k_gather[_grid(n)](n, plan["J"], Q, out._blk.mem, x._blk.mem, plan["base"],
                            plan["offs"]._blk.mem, pre_shape, pre_st, post_shape, post_st)
    return out


def _setitem(x, index, value, accumulate=False):
    view, plan = _index_plan(x, index)
    if plan is None:
        if accumulate:
            _binary(_ADD, view, _operand(value), out=view)
        else:
            _copy_into(view, value)
        return
    v = _operand(value)
    vals = empty(plan["out_shape"], x.dtype)
    if isinstance(v, DeviceArray):
        _copy_into(vals, v)
    else:
        _fill(vals, v)
    n = vals.size
    if n:
        _, pre_shape, pre_st = plan["pre"]
        Q, post_shape, post_st = plan["post"]
        J, offs = plan["J"], plan["offs"]
        if not accumulate and plan["host_offs"] is not None and J > 1:
            J, offs, vals = _last_writers(plan["host_offs"], J, Q, vals, offs)
            n = vals.size
        _k_scatter[_grid(n)](bool(accumulate), n, J, Q, x._blk.mem, plan["base"],
                             offs._blk.mem, pre_shape, pre_st, post_shape, post_st,
                             vals._blk.mem)


def _last_writers(host_offs, J, Q, vals, offs):
    """An assignment ``x[idx] = v`` with a repeated index: NumPy writes in order, so the
    last value wins, while one kernel writing every value at once would race (two
    threads, one element, either may land last). Only each target's last occurrence is
    kept, so every element has one writer; (J, offs, vals) for the scatter.
    (Device index arrays are not checked: which repeated write wins is then unspecified,
    as NumPy's documentation and PyTorch's index_put_ say.)"""
    first_from_end = np.unique(host_offs[::-1], return_index=True)[1]
    if len(first_from_end) == J:
        return J, offs, vals
    keep = np.sort(J - 1 - first_from_end)
    rows = vals.reshape(vals.size // (J * Q), J, Q)
    return len(keep), asarray(host_offs[keep]), _getitem(rows, (slice(None), keep,
                                                                  slice(None)))


def add_at(a, index, values):
    """np.add.at(a, index, values): repeated indices each add their share (atomics)."""
    if a.dtype == np.bool_:
        raise TypeError("add.at on a boolean CUDA array")
    _setitem(a, index, values, accumulate=True)


# ====================================================================== shapes

def reshape(a, shape, order="C", **kw):
    if order != "C":
        raise NotImplementedError("reshape with order other than 'C' on a CUDA array")
    shape = _shape_tuple(shape) if not isinstance(shape, (int, np.integer)) else (int(shape),)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if shape.count(-1) > 1 or (known == 0 or a.size % known):
            raise ValueError(f"cannot reshape array of size {a.size} into shape {shape}")
        shape = tuple(a.size // known if s == -1 else s for s in shape)
    if math.prod(shape) != a.size:
        raise ValueError(f"cannot reshape array of size {a.size} into shape {shape}")
    src = a if _is_c_contiguous(a.shape, a._st) else a.copy()
    return _make(src._blk, shape, _c_strides(shape), src._off, a.dtype)


def transpose(a, axes=None):
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    axes = tuple(int(x) % a.ndim for x in axes) if a.ndim else ()
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError("axes don't match array")
    return _make(a._blk, tuple(a.shape[x] for x in axes), tuple(a._st[x] for x in axes),
                 a._off, a.dtype)


def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    i, j = axis1 % a.ndim, axis2 % a.ndim
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


def moveaxis(a, source, destination):
    src = [s % a.ndim for s in np.atleast_1d(source)]
    dst = [d % a.ndim for d in np.atleast_1d(destination)]
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def broadcast_to(a, shape, subok=False):
    a = _operand(a)
    if not isinstance(a, DeviceArray):
        a = asarray(np.asarray(a))
    shape = _shape_tuple(shape)
    if len(shape) < a.ndim or np.broadcast_shapes(a.shape, shape) != shape:
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {a.shape} and requested shape {shape}")
    return _make(a._blk, shape, tuple(_bstrides(a, shape)), a._off, a.dtype)


def broadcast_arrays(*args, subok=False):
    arrs = [_operand(x) for x in args]
    shape = _result_shape(*arrs)
    return tuple(broadcast_to(x, shape) for x in arrs)


def expand_dims(a, axis):
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = a.ndim + len(axes)
    axes = sorted(x % nd for x in axes)
    shape = list(a.shape)
    for x in axes:
        shape.insert(x, 1)
    return reshape(a, shape)


def squeeze(a, axis=None):
    if axis is None:
        return reshape(a, tuple(s for s in a.shape if s != 1))
    axes = _norm_axes(axis, a.ndim)
    for x in axes:
        if a.shape[x] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not "
                             "equal to one")
    return reshape(a, tuple(s for k, s in enumerate(a.shape) if k not in axes))


def ravel(a, order="C"):
    return reshape(a, (-1,))


def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrs = [_operand(x) for x in arrays]
    arrs = [x if isinstance(x, DeviceArray) else asarray(np.asarray(x)) for x in arrs]
    if not arrs:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrs = [x.reshape(-1) for x in arrs]
        axis = 0
    nd = arrs[0].ndim
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _norm_axes(axis, nd)[0]
    for x in arrs:
        if x.ndim != nd or builtins.any(x.shape[d] != arrs[0].shape[d]
                                       for d in range(nd) if d != axis):
            raise ValueError("all the input array dimensions except for the concatenation "
                             "axis must match exactly, but shapes are " +
                             ", ".join(str(y.shape) for y in arrs))
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*(x.dtype for x in arrs))
    shape = list(arrs[0].shape)
    shape[axis] = builtins.sum(x.shape[axis] for x in arrs)
    res = empty(tuple(shape), dt) if out is None else _prepare_out(out, tuple(shape), out.dtype)
    start = 0
    for x in arrs:
        sl = [slice(None)] * nd
        sl[axis] = slice(start, start + x.shape[axis])
        _copy_into(res[tuple(sl)], x)
        start += x.shape[axis]
    return res


def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrs = [_operand(x) for x in arrays]
    arrs = [x if isinstance(x, DeviceArray) else asarray(np.asarray(x)) for x in arrs]
    nd = arrs[0].ndim + 1
    axis = axis % nd
    return concatenate([expand_dims(x, axis) for x in arrs], axis=axis, out=out, dtype=dtype)


def pad(a, pad_width, mode="constant", constant_values=0, **kw):
    if mode != "constant":
        return _host_fallback(np.pad, (a, pad_width), dict(mode=mode, **kw))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
    if np.ndim(constant_values) != 0:
        return _host_fallback(np.pad, (a, pad_width), dict(constant_values=constant_values))
    shape = tuple(int(s + lo + hi) for s, (lo, hi) in zip(a.shape, widths))
    res = full(shape, constant_values, a.dtype)
    inner = tuple(slice(int(lo), int(lo) + s) for s, (lo, _) in zip(a.shape, widths))
    _copy_into(res[inner], a)
    return res


def copyto(dst, src, casting="same_kind", where=None):
    if where is not None:
        raise NotImplementedError("np.copyto with where= on CUDA arrays")
    if isinstance(dst, DeviceArray):
        _copy_into(dst, src)
        return
    _implicit_copy("np.copyto into a host array")      # dst is on the host
    np.copyto(dst, src.copy_to_host() if isinstance(src, DeviceArray) else src,
              casting=casting)


def _like(proto, dtype, shape):
    dt = proto.dtype if dtype is None else np.dtype(dtype)
    shape = proto.shape if shape is None else _shape_tuple(shape)
    return dt, shape


def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    dt, shape = _like(a, dtype, shape)
    return zeros(shape, dt)


def ones_like(a, dtype=None, order="K", subok=True, shape=None):
    dt, shape = _like(a, dtype, shape)
    return ones(shape, dt)


def empty_like(a, dtype=None, order="K", subok=True, shape=None):
    dt, shape = _like(a, dtype, shape)
    return empty(shape, dt)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    dt, shape = _like(a, dtype, shape)
    return full(shape, fill_value, dt)


def clip(a, a_min=None, a_max=None, out=None, **kw):
    r = a
    if a_min is not None:
        r = _binary(_MAX, _operand(r), _operand(a_min))
    if a_max is not None:
        r = _binary(_MIN, _operand(r), _operand(a_max))
    if r is a:
        r = a.copy()
    return r if out is None else _copy_into(out, r)


def outer(a, b, out=None):
    a, b = _operand(a), _operand(b)
    r = _binary(_MUL, a.reshape(-1, 1), b.reshape(1, -1))
    return r if out is None else _copy_into(out, r)


def dot(a, b, out=None):
    a, b = _operand(a), _operand(b)
    if not (isinstance(a, DeviceArray) and isinstance(b, DeviceArray)) or \
            a.ndim == 0 or b.ndim == 0:
        return _binary(_MUL, a, b)
    if a.ndim > 2 or b.ndim > 2:
        return _host_fallback(np.dot, (a, b), {})
    return matmul(a, b, out=out)


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord is not None and ord not in (2, "fro"):
        return _host_fallback(np.linalg.norm, (x,), dict(ord=ord, axis=axis,
                                                         keepdims=keepdims))
    x = _operand(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if ord == 2 and (axis is None and x.ndim == 2):
        return _host_fallback(np.linalg.norm, (x,), dict(ord=ord))
    s = _reduce(_SUM_OP, _binary(_MUL, x, x), axis, keepdims)
    return _unary(_SQRT, s)


def _isclose_host(*args, **kw):
    return _host_fallback(np.isclose, args, kw)


# ====================================================================== NumPy dispatch

_UNARY_UFUNCS = {np.negative: _NEG, np.absolute: _ABS, np.sign: _SIGN, np.exp: _EXP,
                 np.expm1: _EXPM1, np.log: _LOG, np.log1p: _LOG1P, np.log2: _LOG2,
                 np.log10: _LOG10, np.sqrt: _SQRT, np.square: _SQUARE,
                 np.reciprocal: _RECIP, np.tanh: _TANH, np.sin: _SIN, np.cos: _COS,
                 np.tan: _TAN, np.arctan: _ARCTAN, np.positive: _COPY}
_PRED_UFUNCS = {np.isfinite: _ISFINITE, np.isnan: _ISNAN, np.isinf: _ISINF,
                np.logical_not: _NOT}
_BINARY_UFUNCS = {np.add: _ADD, np.subtract: _SUB, np.multiply: _MUL,
                  np.true_divide: _DIV, np.power: _POW, np.maximum: _MAX,
                  np.minimum: _MIN, np.floor_divide: _FLOORDIV, np.remainder: _MOD,
                  np.arctan2: _ARCTAN2, np.equal: _EQ, np.not_equal: _NE, np.less: _LT,
                  np.less_equal: _LE, np.greater: _GT, np.greater_equal: _GE,
                  np.logical_and: _AND, np.logical_or: _OR, np.logical_xor: _XOR}
_REDUCE_UFUNCS = {np.add: sum, np.maximum: amax, np.minimum: amin,
                  np.logical_and: all, np.logical_or: any}

try:                                   # scipy's ufuncs that the primitives use
    from scipy import special as _special
    _UNARY_UFUNCS[_special.expit] = _EXPIT
    _UNARY_UFUNCS[_special.erf] = _ERF
except ImportError:                    # pragma: no cover - scipy is a dependency
    pass


def _array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if out is not None:
        out = out[0] if isinstance(out, tuple) else out
    if method == "__call__" and not kwargs:
        if isinstance(out, np.ndarray):      # a host out= for device inputs
            _implicit_copy(f"np.{ufunc.__name__} into a host array")
            res = _array_ufunc(ufunc, method, inputs, {})
            np.copyto(out, res.copy_to_host(), casting="unsafe")
            return out
        ops = [_operand(x) for x in inputs]
        if not builtins.any(o is None for o in ops):
            if ufunc in _BINARY_UFUNCS and len(ops) == 2:
                return _binary(_BINARY_UFUNCS[ufunc], ops[0], ops[1], out=out)
            if ufunc in _UNARY_UFUNCS and len(ops) == 1:
                return _unary(_UNARY_UFUNCS[ufunc], ops[0], out=out)
            if ufunc in _PRED_UFUNCS and len(ops) == 1:
                return _unary_pred(_PRED_UFUNCS[ufunc], ops[0], out=out)
            if ufunc is np.matmul:
                return matmul(ops[0], ops[1], out=out)
    if method == "at" and ufunc is np.add and not kwargs:
        add_at(*inputs)
        return None
    if method == "reduce" and ufunc in _REDUCE_UFUNCS and out is None:
        return _REDUCE_UFUNCS[ufunc](inputs[0], axis=kwargs.get("axis", 0),
                                     keepdims=kwargs.get("keepdims", False))
    if out is not None:
        return NotImplemented
    _implicit_copy(f"np.{ufunc.__name__}.{method}")
    return getattr(ufunc, method)(*_host_args(inputs), **_host_args(kwargs))


def _shape_of(a):
    return a.shape


_FUNCTIONS = {
    np.sum: sum, np.max: amax, np.amax: amax, np.min: amin, np.amin: amin,
    np.mean: mean, np.all: all, np.any: any, np.where: where, np.reshape: reshape,
    np.transpose: transpose, np.swapaxes: swapaxes, np.moveaxis: moveaxis,
    np.broadcast_to: broadcast_to, np.broadcast_arrays: broadcast_arrays,
    np.expand_dims: expand_dims, np.squeeze: squeeze, np.ravel: ravel,
    np.concatenate: concatenate, np.stack: stack, np.pad: pad, np.copyto: copyto,
    np.zeros_like: zeros_like, np.ones_like: ones_like, np.empty_like: empty_like,
    np.full_like: full_like, np.clip: clip, np.outer: outer, np.dot: dot,
    np.matmul: matmul, np.linalg.norm: _norm, np.shape: _shape_of,
    np.ndim: lambda a: a.ndim, np.size: lambda a, axis=None: a.size if axis is None
    else a.shape[axis], np.copy: lambda a, order="K", subok=False: a.copy(),
    np.atleast_1d: lambda a: a if a.ndim >= 1 else a.reshape(1),
    np.atleast_2d: lambda a: a if a.ndim >= 2 else a.reshape((1,) * (2 - a.ndim) + a.shape),
}


# ====================================================================== random numbers

@cuda.jit(cache=True)
def _k_random32(kind, n, out, states):
    t = cuda.grid(1)
    i = t
    while i < n:
        if kind == 0:
            out[i] = xoroshiro128p_uniform_float32(states, t)
        else:
            out[i] = xoroshiro128p_normal_float32(states, t)
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_random64(kind, n, out, states):
    t = cuda.grid(1)
    i = t
    while i < n:
        if kind == 0:
            out[i] = xoroshiro128p_uniform_float64(states, t)
        else:
            out[i] = xoroshiro128p_normal_float64(states, t)
        i += cuda.gridsize(1)


def _splitmix64(x):
    """SplitMix64 (Steele et al. 2014), the seeding function xoroshiro's authors
    recommend: consecutive inputs give statistically independent 64-bit outputs."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _rng_states(n, seed):
    """n xoroshiro128+ states seeded by SplitMix64 of (seed, stream). numba's own
    initialiser jumps 2^64 steps per stream, but it is CPU-jitted on every start (5 s,
    11 s in the simulator); random 128-bit starting points overlap with probability
    about n^2 L / 2^128 for L draws per stream, which is nil here."""
    with np.errstate(over="ignore"):
        k = np.arange(2 * n, dtype=np.uint64) + np.uint64(seed % 2**64) * np.uint64(2 * n)
        words = _splitmix64(_splitmix64(k))
    states = np.empty(n, dtype=xoroshiro128p_dtype)
    states["s0"], states["s1"] = words[0::2], words[1::2]
    return cuda.to_device(states)


class Generator:
    """Random numbers drawn on the GPU (xoroshiro128+, Blackman & Vigna 2018, one stream
    per thread): the method names of ``np.random.Generator``, so code that takes an
    ``rng`` can be handed one. The same seed gives the same numbers."""

    def __init__(self, seed=0):
        self.seed = int(seed)
        self.states = _rng_states(_RNG_THREADS, self.seed)

    def _draw(self, kind, shape, dtype):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"random numbers are float32 or float64, not {dtype}")
        out = empty(() if shape is None else shape, dtype)
        n = out.size
        if n:
            kernel = _k_random32 if dtype == np.float32 else _k_random64
            kernel[_RNG_THREADS // _THREADS, _THREADS](kind, n, out._blk.mem, self.states)
        return out

    def random(self, size=None, dtype=np.float64):
        """Uniform on [0, 1)."""
        return self._draw(0, size, dtype)

    def standard_normal(self, size=None, dtype=np.float64):
        return self._draw(1, size, dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return _binary(_ADD, _binary(_MUL, self.random(size, dtype), high - low), low)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=np.float64):
        return _binary(_ADD, _binary(_MUL, self.standard_normal(size, dtype), scale), loc)


# ====================================================================== engine kernels
# The twins of reference.py / cpu.py. Host arrays given to them are uploaded; results
# are DeviceArrays (Python floats where the reference returns a float).

def _float_dev(a, dtype=None):
    """A C-contiguous device array of one floating dtype (a's own if float32/64)."""
    a = a if isinstance(a, DeviceArray) else asarray(np.asarray(a))
    if dtype is None:
        dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    a = a if a.dtype == dtype else a.astype(dtype)
    return _contiguous(a)


def _targets_dev(targets, V):
    """Integer targets on the device, range-checked (one host sync for device input)."""
    if isinstance(targets, DeviceArray):
        t = _contiguous(targets.astype(np.int64, copy=False))
        if t.size:
            lo, hi = int(amin(t).item()), int(amax(t).item())
            if lo < 0 or hi >= V:
                raise ValueError(f"targets must lie in [0, {V}); got values in [{lo}, {hi}]")
        return t
    t = np.ascontiguousarray(targets, dtype=np.int64)
    if t.size and (t.min() < 0 or t.max() >= V):
        raise ValueError(f"targets must lie in [0, {V}); got values in [{t.min()}, {t.max()}]")
    return asarray(t)


# --------------------------------------------------------------------------- convolution
# The columns are (C*kh*kw, N*Ho*Wo), the batch side by side (see reference.py).
# im2col: one thread per column entry, reading its pixel (or 0 in the padding).
# col2im: one thread per pixel, summing the column entries that read it; the adjoint is
# computed as a gather, so overlapping windows need no atomics and the sum has a fixed
# order.  Entry (row, n, q) of the columns sits at (row * N + n) * Ho*Wo + q; N is
# n_total // (C * H * W) or n_total // (C*kh*kw * Ho*Wo), so the argument lists did not
# change with the layout.

@cuda.jit(cache=True)
def _k_im2col2d(x, C, H, W, kh, kw, stride, padding, Ho, Wo, cols, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        N = n_total // (C * kh * kw * Ho * Wo)
        q = i % (Ho * Wo)
        n = (i // (Ho * Wo)) % N
        row = i // (Ho * Wo * N)
        c = row // (kh * kw)
        tap = row % (kh * kw)
        h = (q // Wo) * stride - padding + tap // kw
        w = (q % Wo) * stride - padding + tap % kw
        if 0 <= h < H and 0 <= w < W:
            cols[i] = x[((n * C + c) * H + h) * W + w]
        else:
            cols[i] = zero
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_col2im2d(cols, C, H, W, kh, kw, stride, padding, Ho, Wo, x, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        w = i % W
        h = (i // W) % H
        c = (i // (W * H)) % C
        n = i // (W * H * C)
        N = n_total // (C * H * W)
        acc = zero
        for ki in range(kh):
            t = h + padding - ki               # = oh * stride for the window that reads it
            if t >= 0 and t % stride == 0 and t // stride < Ho:
                oh = t // stride
                for kj in range(kw):
                    u = w + padding - kj
                    if u >= 0 and u % stride == 0 and u // stride < Wo:
                        row = (c * kh + ki) * kw + kj
                        acc += cols[((row * N + n) * Ho + oh) * Wo + u // stride]
        x[i] = acc
        i += cuda.gridsize(1)


def im2col2d(x, kh, kw, stride, padding):
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo); see reference.im2col2d."""
    x = _float_dev(x)
    N, C, H, W = x.shape
    Ho, Wo = conv_out_size(H, kh, stride, padding), conv_out_size(W, kw, stride, padding)
    cols = empty((C * kh * kw, N * Ho * Wo), x.dtype)
    n = cols.size
    if n:
        _k_im2col2d[_grid(n)](_flat(x), C, H, W, kh, kw, stride, padding, Ho, Wo,
                              _flat(cols), x.dtype.type(0), n)
    return cols


def col2im2d(cols, H, W, kh, kw, stride, padding):
    """Adjoint of im2col2d: (C*kh*kw, N*Ho*Wo) -> (N, C, H, W); see reference.col2im2d."""
    cols = _float_dev(cols)
    C = cols.shape[0] // (kh * kw)
    Ho, Wo = conv_out_size(H, kh, stride, padding), conv_out_size(W, kw, stride, padding)
    N = cols.shape[1] // (Ho * Wo)
    x = empty((N, C, H, W), cols.dtype)
    n = x.size
    if n:
        _k_col2im2d[_grid(n)](_flat(cols), C, H, W, kh, kw, stride, padding, Ho, Wo,
                              _flat(x), cols.dtype.type(0), n)
    return x


@cuda.jit(cache=True)
def _k_im2col1d(x, C, L, k, stride, dilation, pad_left, Lo, cols, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        N = n_total // (C * k * Lo)
        o = i % Lo
        n = (i // Lo) % N
        row = i // (Lo * N)
        t = o * stride - pad_left + (row % k) * dilation
        if 0 <= t < L:
            cols[i] = x[(n * C + row // k) * L + t]
        else:
            cols[i] = zero
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_col2im1d(cols, C, L, k, stride, dilation, pad_left, Lo, x, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        t = i % L
        c = (i // L) % C
        n = i // (L * C)
        N = n_total // (C * L)
        acc = zero
        for j in range(k):
            u = t + pad_left - j * dilation      # = o * stride for the window reading t
            if u >= 0 and u % stride == 0 and u // stride < Lo:
                acc += cols[((c * k + j) * N + n) * Lo + u // stride]
        x[i] = acc
        i += cuda.gridsize(1)


def im2col1d(x, k, stride, dilation, pad_left, pad_right):
    """(N, C, L) -> (C*k, N*Lo); see reference.im2col1d (causal: pad_right = 0)."""
    x = _float_dev(x)
    N, C, L = x.shape
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    cols = empty((C * k, N * max(Lo, 0)), x.dtype)
    n = cols.size
    if n:
        _k_im2col1d[_grid(n)](_flat(x), C, L, k, stride, dilation, pad_left, Lo,
                              _flat(cols), x.dtype.type(0), n)
    return cols


def col2im1d(cols, L, k, stride, dilation, pad_left, pad_right):
    """Adjoint of im2col1d: (C*k, N*Lo) -> (N, C, L); see reference.col2im1d."""
    cols = _float_dev(cols)
    C = cols.shape[0] // k
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    N = cols.shape[1] // Lo
    x = empty((N, C, L), cols.dtype)
    n = x.size
    if n:
        _k_col2im1d[_grid(n)](_flat(cols), C, L, k, stride, dilation, pad_left, Lo,
                              _flat(x), cols.dtype.type(0), n)
    return x


def swap01(y):
    """(A, B, L) -> (B, A, L), contiguous; see reference.swap01 (the generic strided
    copy kernel does it)."""
    return _float_dev(y).transpose(1, 0, 2).copy()


# ----------------------------------------------------- Winograd's 3x3 convolution F(2x2, 3x3)
# reference.py has the algorithm and the tile layout (the spare tile of each row too).
# One thread per output entry, each a gather, so no atomics: a transformed entry sums the
# signed entries of the patch (or 2x2 block, or 3x3 kernel) it comes from; an input pixel
# or weight sums what the (at most 2 x 2) tiles that read it send back.  The matrices'
# entries are 0, +-1 and +-1/2: small device functions give them as integers and
# _wg_times multiplies by one without leaving the array's dtype (a float32 kernel must not
# compute in float64; test_cuda_ptx checks).

@cuda.jit(device=True, cache=True)
def _wg_bt(a, r):
    """B^T[a, r]; B^T's rows are (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)."""
    if a == 0:
        return 1 if r == 0 else (-1 if r == 2 else 0)
    if a == 1:
        return 1 if r == 1 or r == 2 else 0
    if a == 2:
        return -1 if r == 1 else (1 if r == 2 else 0)
    return 1 if r == 1 else (-1 if r == 3 else 0)


@cuda.jit(device=True, cache=True)
def _wg_at(r, a):
    """A^T[r, a]; A^T's rows are (1, 1, 1, 0) and (0, 1, -1, -1)."""
    if r == 0:
        return 1 if a < 3 else 0
    return 1 if a == 1 else (-1 if a >= 2 else 0)


@cuda.jit(device=True, cache=True)
def _wg_g2(a, k):
    """2 G[a, k]; G's rows are (1, 0, 0), (1/2, 1/2, 1/2), (1/2, -1/2, 1/2), (0, 0, 1)."""
    if a == 0:
        return 2 if k == 0 else 0
    if a == 1:
        return 1
    if a == 2:
        return -1 if k == 1 else 1
    return 2 if k == 2 else 0


@cuda.jit(device=True, cache=True)
def _wg_times(c, val):
    """c * val for c in {+-1, +-2, +-4}, by negation and doubling (exact, in val's dtype)."""
    t = -val if c < 0 else val
    m = -c if c < 0 else c
    if m >= 2:
        t = t + t
    if m == 4:
        t = t + t
    return t


@cuda.jit(device=True, cache=True)
def _wg_entry(i, channels, th, tw, n_total):
    """Entry i of a tile array (16, channels, N*th*(tw+1)): (p, channel, n, ti, tj)."""
    T = th * (tw + 1)
    N = n_total // (16 * channels * T)
    u = i % T
    return (i // (T * N * channels), (i // (T * N)) % channels, (i // T) % N,
            u // (tw + 1), u % (tw + 1))


@cuda.jit(cache=True)
def _k_winograd_in(x, C, H, W, padding, th, tw, v, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        p, c, n, ti, tj = _wg_entry(i, C, th, tw, n_total)
        acc = zero
        if tj < tw:                                   # (the spare tile stays 0)
            for r in range(4):
                ca = _wg_bt(p // 4, r)
                h = 2 * ti + r - padding
                if ca != 0 and 0 <= h < H:
                    for s in range(4):
                        cb = _wg_bt(p % 4, s)
                        w = 2 * tj + s - padding
                        if cb != 0 and 0 <= w < W:
                            acc += _wg_times(ca * cb, x[((n * C + c) * H + h) * W + w])
        v[i] = acc
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_winograd_in_adjoint(v, C, H, W, padding, th, tw, x, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        T = th * (tw + 1)
        N = n_total // (C * H * W)
        ph = (i // W) % H + padding                   # the pixel in the padded image
        pw = i % W + padding
        c = (i // (W * H)) % C
        n = i // (W * H * C)
        acc = zero
        for di in range(2):                           # the tiles whose patch holds it
            ti = ph // 2 - di
            r = ph - 2 * ti
            if 0 <= ti < th:
                for dj in range(2):
                    tj = pw // 2 - dj
                    s = pw - 2 * tj
                    if 0 <= tj < tw:
                        for a in range(4):
                            ca = _wg_bt(a, r)
                            if ca != 0:
                                for b in range(4):
                                    cb = _wg_bt(b, s)
                                    if cb != 0:
                                        at = (((4 * a + b) * C + c) * N + n) * T
                                        acc += _wg_times(ca * cb, v[at + ti * (tw + 1) + tj])
        x[i] = acc
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_winograd_out(m, Co, Ho, Wo, th, tw, y, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        T = th * (tw + 1)
        N = n_total // (Co * Ho * Wo)
        oh = (i // Wo) % Ho
        ow = i % Wo
        k = (i // (Wo * Ho)) % Co
        n = i // (Wo * Ho * Co)
        u = (oh // 2) * (tw + 1) + ow // 2
        acc = zero
        for a in range(4):
            ca = _wg_at(oh % 2, a)
            if ca != 0:
                for b in range(4):
                    cb = _wg_at(ow % 2, b)
                    if cb != 0:
                        acc += _wg_times(ca * cb, m[(((4 * a + b) * Co + k) * N + n) * T + u])
        y[i] = acc
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_winograd_out_adjoint(g, Co, Ho, Wo, th, tw, dm, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        p, k, n, ti, tj = _wg_entry(i, Co, th, tw, n_total)
        acc = zero
        if tj < tw:                                   # (the spare tile stays 0)
            for r in range(2):
                ca = _wg_at(r, p // 4)
                if ca != 0 and 2 * ti + r < Ho:
                    for s in range(2):
                        cb = _wg_at(s, p % 4)
                        if cb != 0 and 2 * tj + s < Wo:
                            at = ((n * Co + k) * Ho + 2 * ti + r) * Wo + 2 * tj + s
                            acc += _wg_times(ca * cb, g[at])
        dm[i] = acc
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_winograd_weight(w2, Co, C, u, quarter, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        c = i % C
        k = (i // C) % Co
        p = i // (C * Co)
        acc = zero
        for ki in range(3):
            ca = _wg_g2(p // 4, ki)
            if ca != 0:
                for kj in range(3):
                    cb = _wg_g2(p % 4, kj)
                    if cb != 0:
                        acc += _wg_times(ca * cb, w2[(k * C + c) * 9 + ki * 3 + kj])
        u[i] = acc * quarter
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_winograd_weight_adjoint(u, Co, C, w2, quarter, zero, n_total):
    i = cuda.grid(1)
    while i < n_total:
        kj = i % 3
        ki = (i // 3) % 3
        c = (i // 9) % C
        k = i // (9 * C)
        acc = zero
        for a in range(4):
            ca = _wg_g2(a, ki)
            if ca != 0:
                for b in range(4):
                    cb = _wg_g2(b, kj)
                    if cb != 0:
                        acc += _wg_times(ca * cb, u[((4 * a + b) * Co + k) * C + c])
        w2[i] = acc * quarter
        i += cuda.gridsize(1)


def _winograd_launch(kernel, src, out, *sizes, scale=None):
    n = out.size
    if n:
        extra = () if scale is None else (src.dtype.type(scale),)
        kernel[_grid(n)](_flat(src), *sizes, _flat(out), *extra, src.dtype.type(0), n)
    return out


def winograd_weight(w2):
    """(C_out, C*9) -> (16, C_out, C); see reference.winograd_weight."""
    w2 = _float_dev(w2)
    co, c = w2.shape[0], w2.shape[1] // 9
    return _winograd_launch(_k_winograd_weight, w2, empty((16, co, c), w2.dtype), co, c,
                            scale=0.25)


def winograd_weight_adjoint(u):
    """(16, C_out, C) -> (C_out, C*9); see reference.winograd_weight_adjoint."""
    u = _float_dev(u)
    co, c = u.shape[1], u.shape[2]
    return _winograd_launch(_k_winograd_weight_adjoint, u, empty((co, c * 9), u.dtype),
                            co, c, scale=0.25)


def winograd_in(x, padding):
    """(N, C, H, W) -> (16, C, N*th*(tw+1)); see reference.winograd_in."""
    x = _float_dev(x)
    N, C, H, W = x.shape
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    return _winograd_launch(_k_winograd_in, x, empty((16, C, N * th * (tw + 1)), x.dtype),
                            C, H, W, padding, th, tw)


def winograd_in_adjoint(v, N, H, W, padding):
    """(16, C, N*th*(tw+1)) -> (N, C, H, W); see reference.winograd_in_adjoint."""
    v = _float_dev(v)
    C = v.shape[1]
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    return _winograd_launch(_k_winograd_in_adjoint, v, empty((N, C, H, W), v.dtype),
                            C, H, W, padding, th, tw)


def winograd_out(m, N, Ho, Wo):
    """(16, C_out, N*th*(tw+1)) -> (N, C_out, Ho*Wo); see reference.winograd_out."""
    m = _float_dev(m)
    co = m.shape[1]
    return _winograd_launch(_k_winograd_out, m, empty((N, co, Ho * Wo), m.dtype),
                            co, Ho, Wo, *winograd_tiles(Ho, Wo))


def winograd_out_adjoint(g, Ho, Wo):
    """(N, C_out, Ho*Wo) -> (16, C_out, N*th*(tw+1)); see reference.winograd_out_adjoint."""
    g = _float_dev(g)
    N, co = g.shape[0], g.shape[1]
    th, tw = winograd_tiles(Ho, Wo)
    return _winograd_launch(_k_winograd_out_adjoint, g,
                            empty((16, co, N * th * (tw + 1)), g.dtype), co, Ho, Wo, th, tw)


# The whole convolution and its gradients: the transforms above with the batched matmul
# (as reference.py composes them; on a GPU the batch is one block).

def winograd_conv(x, u, padding):
    """y = winograd_out(U @ winograd_in(x)): (N, C, H, W), u = winograd_weight(w) ->
    (N, C_out, Ho*Wo)."""
    N, _, H, W = x.shape
    return winograd_out(matmul(u, winograd_in(x, padding)), N, H + 2 * padding - 2,
                        W + 2 * padding - 2)


def winograd_conv_input_grad(g, u, H, W, padding):
    """dx = winograd_in_adjoint(U^T @ winograd_out_adjoint(g)): (N, C_out, Ho*Wo) ->
    (N, C, H, W)."""
    dm = winograd_out_adjoint(g, H + 2 * padding - 2, W + 2 * padding - 2)
    return winograd_in_adjoint(matmul(u.mT, dm), g.shape[0], H, W, padding)


def winograd_conv_weight_grad(x, g, padding):
    """dU = winograd_out_adjoint(g) @ winograd_in(x)^T, (16, C_out, C); the weight
    gradient is winograd_weight_adjoint(dU)."""
    H, W = x.shape[2], x.shape[3]
    dm = winograd_out_adjoint(g, H + 2 * padding - 2, W + 2 * padding - 2)
    return matmul(dm, winograd_in(x, padding).mT)


def winograd_conv_grads(x, g, u, padding):
    """(dx, dU): both gradients of winograd_conv."""
    return (winograd_conv_input_grad(g, u, x.shape[2], x.shape[3], padding),
            winograd_conv_weight_grad(x, g, padding))


def _flat(a):
    """The device buffer of a C-contiguous array, starting at its first element. It may
    run past the array's end (pool blocks are rounded up): kernels take sizes as
    arguments, never from a buffer's shape."""
    return a._blk.mem if a._off == 0 else a._blk.mem[a._off:]


# ------------------------------------------------------------- softmax and cross-entropy
# One block per row: the row's max and its sum of exp(z - max) each come out of a tree
# in shared memory (_block_tree), so a row of any length is read by all the block's
# threads and no partial sum is shared without a barrier.

@cuda.jit(cache=True)
def _k_row_lse(z, V, R, lse, neg_inf):
    sh = cuda.shared.array(_BLOCK, dtype=z.dtype)
    t = cuda.threadIdx.x
    r = cuda.blockIdx.x
    while r < R:
        base = r * V
        m = neg_inf
        j = t
        while j < V:
            m = _combine(_MAX_OP, m, z[base + j])
            j += _BLOCK
        m = _block_tree(sh, t, _MAX_OP, m)
        s = float32(0)          # meets z's dtype as z's dtype (float32 or float64)
        j = t
        while j < V:
            s += _unary_value(_EXP, z[base + j] - m)
            j += _BLOCK
        s = _block_tree(sh, t, _SUM_OP, s)
        if t == 0:                    # a row of -inf has logsumexp -inf, not NaN
            lse[r] = m if m == neg_inf else m + _unary_value(_LOG, s)
        r += cuda.gridDim.x


@cuda.jit(cache=True)
def _k_xent_loss(z, V, targets, lse, loss, N):
    i = cuda.grid(1)
    while i < N:
        loss[i] = lse[i] - z[i * V + targets[i]]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_xent_backward(z, V, targets, lse, g, dz, n):
    i = cuda.grid(1)
    while i < n:
        r = i // V
        v = g[r] * _unary_value(_EXP, z[i] - lse[r])
        if i % V == targets[r]:
            v -= g[r]
        dz[i] = v
        i += cuda.gridsize(1)


def _row_blocks(R):
    return max(1, min(R, _MAX_GRID))


def _row_lse(z2):
    """logsumexp of each row of a contiguous (R, V) device array."""
    R, V = z2.shape
    lse = empty((R,), z2.dtype)
    if R:
        _k_row_lse[_row_blocks(R), _BLOCK](_flat(z2), V, R, lse._blk.mem,
                                           z2.dtype.type(-np.inf))
    return lse


def xent_forward(logits, targets):
    """(loss (N,), lse (N,)) for logits (N, V); see reference.xent_forward."""
    logits = _float_dev(logits)
    N, V = logits.shape
    t = _targets_dev(targets, V)
    lse = _row_lse(logits)
    loss = empty((N,), logits.dtype)
    if N:
        _k_xent_loss[_grid(N)](_flat(logits), V, _flat(t), lse._blk.mem, loss._blk.mem, N)
    return loss, lse


def xent_backward(logits, targets, lse, g):
    """g_i (softmax_i - onehot(t_i)); see reference.xent_backward."""
    logits = _float_dev(logits)
    V = logits.shape[1]
    t = _targets_dev(targets, V)
    lse, g = _float_dev(lse, logits.dtype), _float_dev(g, logits.dtype)
    dz = empty(logits.shape, logits.dtype)
    if dz.size:
        _k_xent_backward[_grid(dz.size)](_flat(logits), V, _flat(t), _flat(lse), _flat(g),
                                         _flat(dz), dz.size)
    return dz


@cuda.jit(cache=True)
def _k_softmax_rows(x, T, S, R, causal, out, neg_inf):
    sh = cuda.shared.array(_BLOCK, dtype=x.dtype)
    t = cuda.threadIdx.x
    r = cuda.blockIdx.x
    while r < R:
        q = r % T
        n = min(S, q + S - T + 1) if causal else S    # keys visible to query q
        base = r * S
        m = neg_inf
        j = t
        while j < n:
            m = _combine(_MAX_OP, m, x[base + j])
            j += _BLOCK
        m = _block_tree(sh, t, _MAX_OP, m)
        s = float32(0)
        j = t
        while j < n:
            e = _unary_value(_EXP, x[base + j] - m)
            out[base + j] = e
            s += e
            j += _BLOCK
        s = _block_tree(sh, t, _SUM_OP, s)
        j = t
        while j < S:
            out[base + j] = out[base + j] / s if j < n else float32(0)
            j += _BLOCK
        r += cuda.gridDim.x


def softmax_lastaxis(x, causal):
    """Softmax over the last axis of x (..., T, S), causal mask optional; see
    reference.softmax_lastaxis."""
    x = _float_dev(x)
    shape = x.shape
    T, S = (shape[-2], shape[-1]) if x.ndim >= 2 else (1, shape[-1])
    out = empty(shape, x.dtype)
    R = x.size // S if S else 0
    if R:
        _k_softmax_rows[_row_blocks(R), _BLOCK](_flat(x), T, S, R, bool(causal),
                                                _flat(out), x.dtype.type(-np.inf))
    return out


def logsumexp(x, axis=-1, keepdims=False):
    """log sum exp along one axis, max-shifted, in one kernel (the row kernel of the
    cross-entropy). Rows that are all -inf give -inf."""
    x = _float_dev(x)
    axis = axis % x.ndim
    moved = _contiguous(moveaxis(x, axis, -1))
    lse = _row_lse(moved.reshape(-1, x.shape[axis]))
    shape = tuple(s for k, s in enumerate(x.shape) if k != axis)
    lse = lse.reshape(shape)
    return expand_dims(lse, axis) if keepdims else lse


# ----------------------------------------------------------- Gaussian kernels on point sets
# One block per query row x_i; its threads split the centres, computing each squared
# distance directly (exact, no Gram-matrix cancellation). logsumexp in two sweeps (the
# smallest distance, then the shifted sum) like cpu.py; the MMD sums accumulate in
# float64 (a difference of three large sums, it cancels) and one more reduction adds the
# rows.

@cuda.jit(**_DEVICE)
def _sq_dist(x, i, c, j, D):
    d2 = float32(0)
    for k in range(D):
        diff = x[i * D + k] - c[j * D + k]
        d2 += diff * diff
    return d2


@cuda.jit(cache=True)
def _k_gauss_lse(x, c, M, N, D, scale, out, big):
    sh = cuda.shared.array(_BLOCK, dtype=x.dtype)
    t = cuda.threadIdx.x
    i = cuda.blockIdx.x
    while i < M:
        lo = big
        j = t
        while j < N:
            lo = _combine(_MIN_OP, lo, _sq_dist(x, i, c, j, D))
            j += _BLOCK
        lo = _block_tree(sh, t, _MIN_OP, lo)
        s = float32(0)
        j = t
        while j < N:
            s += _unary_value(_EXP, -(_sq_dist(x, i, c, j, D) - lo) * scale)
            j += _BLOCK
        s = _block_tree(sh, t, _SUM_OP, s)
        if t == 0:
            out[i] = -lo * scale + _unary_value(_LOG, s)
        i += cuda.gridDim.x


@cuda.jit(cache=True)
def _k_kernel_rows(a, b, M, N, D, scale, skip_diagonal, out):
    """out[i] = sum_j exp(-||a_i - b_j||^2 scale) in float64 (j != i if skip)."""
    sh = cuda.shared.array(_BLOCK, dtype=float64)
    t = cuda.threadIdx.x
    i = cuda.blockIdx.x
    while i < M:
        s = float64(0)
        j = t
        while j < N:
            if not (skip_diagonal and j == i):
                s += _unary_value(_EXP, -float64(_sq_dist(a, i, b, j, D)) * scale)
            j += _BLOCK
        s = _block_tree(sh, t, _SUM_OP, s)
        if t == 0:
            out[i] = s
        i += cuda.gridDim.x


def gauss_logsumexp(x, c, h):
    """out_i = logsumexp_j(-||x_i - c_j||^2 / (2 h^2)); see reference.gauss_logsumexp."""
    x = _float_dev(x)
    c = _float_dev(c, x.dtype)
    M, D = x.shape
    out = empty((M,), x.dtype)
    if M:
        scale = x.dtype.type(1.0 / (2.0 * float(h) ** 2))
        _k_gauss_lse[_row_blocks(M), _BLOCK](_flat(x), _flat(c), M, c.shape[0], D, scale,
                                             out._blk.mem, x.dtype.type(np.inf))
    return out


def _kernel_sum(a, b, scale, skip_diagonal):
    M = a.shape[0]
    rows = empty((M,), np.float64)
    _k_kernel_rows[_row_blocks(M), _BLOCK](_flat(a), _flat(b), M, b.shape[0], a.shape[1],
                                           float(scale), bool(skip_diagonal), rows._blk.mem)
    return float(sum(rows).item())


def mmd2(x, y, h):
    """Unbiased MMD^2 with a Gaussian kernel (Gretton et al. 2012, eq. 3); see
    reference.mmd2."""
    x = _float_dev(x)
    y = _float_dev(y, x.dtype)
    n, m = x.shape[0], y.shape[0]
    scale = 1.0 / (2.0 * float(h) ** 2)
    kxx = _kernel_sum(x, x, scale, True) / (n * (n - 1))
    kyy = _kernel_sum(y, y, scale, True) / (m * (m - 1))
    kxy = _kernel_sum(x, y, scale, False) / (n * m)
    return kxx + kyy - 2.0 * kxy


# ---------------------------------------------------------------------------- optimizers

@cuda.jit(cache=True)
def _k_adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, bc1, bc2, decoupled, n):
    one = float32(1)
    i = cuda.grid(1)
    while i < n:
        gi = g[i]
        pi = p[i]
        if decoupled:
            pi *= one - lr * weight_decay
        else:
            gi += weight_decay * pi
        mi = beta1 * m[i] + (one - beta1) * gi
        vi = beta2 * v[i] + (one - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = pi - lr * (mi / bc1) / (_unary_value(_SQRT, vi / bc2) + eps)
        i += cuda.gridsize(1)


def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """Fused Adam / AdamW step, in place on 1-D device arrays p, m, v; see
    reference.adam_update. Hyper-parameters go in as scalars of p's dtype."""
    for name, a in (("p", p), ("m", m), ("v", v)):
        if not isinstance(a, DeviceArray) or a.ndim != 1 or \
                not _is_c_contiguous(a.shape, a._st) or a.dtype != p.dtype:
            raise ValueError(f"adam_update updates {name} in place: it must be a 1-D, "
                             f"C-contiguous CUDA array of p's dtype {p.dtype}")
    g = _float_dev(g, p.dtype)
    dt = p.dtype.type
    n = p.size
    if n:
        _k_adam[_grid(n)](_flat(p), _flat(g), _flat(m), _flat(v), dt(lr), dt(beta1),
                          dt(beta2), dt(eps), dt(weight_decay),
                          dt(1.0 - float(beta1) ** step), dt(1.0 - float(beta2) ** step),
                          bool(decoupled), n)


# ---------------------------------------------------------------------------- MCMC steps

@cuda.jit(cache=True)
def _k_langevin(x, grad_e, noise, half, root, out, n):
    i = cuda.grid(1)
    while i < n:
        out[i] = x[i] - half * grad_e[i] + root * noise[i]
        i += cuda.gridsize(1)


def langevin_step(x, grad_e, noise, eps):
    """x - (eps/2) grad E + sqrt(eps) noise for a batch; see reference.langevin_step."""
    x = _float_dev(x)
    grad_e, noise = _float_dev(grad_e, x.dtype), _float_dev(noise, x.dtype)
    out = empty(x.shape, x.dtype)
    if x.size:
        dt = x.dtype.type
        _k_langevin[_grid(x.size)](_flat(x), _flat(grad_e), _flat(noise), dt(0.5 * eps),
                                   dt(math.sqrt(eps)), _flat(out), x.size)
    return out


@cuda.jit(cache=True)
def _k_mala(x, gx, ex, y, gy, ey, log_u, B, D, half, inv_two_eps, x_new, accepted):
    """One thread per chain: the two proposal log-densities (their shared constant
    cancels in the ratio), the accept test, then the chosen row."""
    b = cuda.grid(1)
    while b < B:
        back = float64(0)
        fwd = float64(0)
        for k in range(D):
            r = float64(x[b * D + k]) - float64(y[b * D + k]) + half * gy[b * D + k]
            back += r * r
            r = float64(y[b * D + k]) - float64(x[b * D + k]) + half * gx[b * D + k]
            fwd += r * r
        log_alpha = (ex[b] - ey[b]) + (fwd - back) * inv_two_eps
        ok = log_u[b] < log_alpha
        accepted[b] = ok
        for k in range(D):
            x_new[b * D + k] = y[b * D + k] if ok else x[b * D + k]
        b += cuda.gridsize(1)


def mala_accept(x, gx, ex, y, gy, ey, log_u, eps):
    """MALA accept/reject for a batch (Roberts & Tweedie 1996); see reference.mala_accept.
    The (B,) energies and log-uniforms are taken in float64, as cpu.py does."""
    x = _float_dev(x)
    gx, y, gy = (_float_dev(a, x.dtype) for a in (gx, y, gy))
    ex, ey, log_u = (_float_dev(a, np.float64) for a in (ex, ey, log_u))
    B = x.shape[0]
    D = x.size // B if B else 0
    x_new = empty(x.shape, x.dtype)
    accepted = empty((B,), np.bool_)
    if B:
        _k_mala[_grid(B)](_flat(x), _flat(gx), _flat(ex), _flat(y), _flat(gy), _flat(ey),
                          _flat(log_u), B, D, 0.5 * float(eps), 1.0 / (2.0 * float(eps)),
                          _flat(x_new), accepted._blk.mem)
    return x_new, accepted


# ------------------------------------------------------------ exact enumeration of 2^n states
# As cpu.py: the states are split by their high bits into chunks, one thread each; a
# chunk walks its low-bit states in Gray-code order, so each step flips one unit and
# updates the energy in O(n) (dE = -d (W x)_k - W_kk d^2 / 2 - b_k d). Float64 by
# contract (log Z is the ground truth the lecture's estimators are checked against).

_MAX_UNITS = 30
_GPU_CHUNK_BITS = 14 if not SIMULATOR else 2     # 2^14 threads; the rest is each chunk's


@cuda.jit(**_DEVICE)
def _chunk_start(W, b, n, spin, state, x, field):
    for k in range(n):
        bit = (state >> k) & 1
        x[k] = float64(2 * bit - 1) if spin else float64(bit)
    energy = float64(0)
    for k in range(n):
        f = float64(0)
        for l in range(n):
            f += W[k * n + l] * x[l]
        field[k] = f
        energy -= 0.5 * x[k] * f + b[k] * x[k]
    return energy


@cuda.jit(**_DEVICE)
def _flip(W, b, n, spin, k, x, field, energy):
    new = -x[k] if spin else 1.0 - x[k]
    d = new - x[k]
    energy -= d * field[k] + 0.5 * W[k * n + k] * d * d + b[k] * d
    x[k] = new
    for l in range(n):
        field[l] += d * W[k * n + l]
    return energy


@cuda.jit(**_DEVICE)
def _trailing_zeros(i):
    k = 0
    while (i >> k) & 1 == 0:
        k += 1
    return k


@cuda.jit(cache=True)
def _k_quadratic_energies(W, b, n, spin, low_bits, n_chunks, out):
    x = cuda.local.array(_MAX_UNITS, dtype=float64)
    field = cuda.local.array(_MAX_UNITS, dtype=float64)
    chunk = cuda.grid(1)
    while chunk < n_chunks:
        base = chunk << low_bits
        energy = _chunk_start(W, b, n, spin, base, x, field)
        out[base] = energy
        for i in range(1, 1 << low_bits):
            energy = _flip(W, b, n, spin, _trailing_zeros(i), x, field, energy)
            out[base | (i ^ (i >> 1))] = energy
        chunk += cuda.gridsize(1)


@cuda.jit(cache=True)
def _k_quadratic_logz(W, b, n, spin, low_bits, n_chunks, chunk_max, chunk_sum):
    x = cuda.local.array(_MAX_UNITS, dtype=float64)
    field = cuda.local.array(_MAX_UNITS, dtype=float64)
    chunk = cuda.grid(1)
    while chunk < n_chunks:
        energy = _chunk_start(W, b, n, spin, chunk << low_bits, x, field)
        m = -energy
        s = float64(1)
        for i in range(1, 1 << low_bits):
            energy = _flip(W, b, n, spin, _trailing_zeros(i), x, field, energy)
            a = -energy
            if a > m:                      # a running (max, sum) pair per chunk
                s = s * math.exp(m - a) + 1.0
                m = a
            else:
                s += math.exp(a - m)
        chunk_max[chunk] = m
        chunk_sum[chunk] = s
        chunk += cuda.gridsize(1)


def _quadratic_args(W, b):
    b = np.ascontiguousarray(to_host(b), dtype=np.float64).reshape(-1)
    n = b.shape[0]
    if n > _MAX_UNITS:
        raise ValueError(f"exact enumeration needs n <= 30 units (2^n states); got n={n}")
    W = np.ascontiguousarray(to_host(W), dtype=np.float64)
    if W.shape != (n, n):
        raise ValueError(f"W must have shape ({n}, {n}) to match b; got {W.shape}")
    low_bits = max(0, n - _GPU_CHUNK_BITS)
    return asarray(0.5 * (W + W.T)).reshape(-1), asarray(b), n, low_bits


def quadratic_energies(W, b, spin):
    """E(x) = -1/2 x^T W x - b^T x for all 2^n states, float64 device array; see
    reference.quadratic_energies."""
    Wd, bd, n, low_bits = _quadratic_args(W, b)
    out = empty((1 << n,), np.float64)
    n_chunks = 1 << (n - low_bits)
    _k_quadratic_energies[_grid(n_chunks)](_flat(Wd), _flat(bd), n, bool(spin), low_bits,
                                           n_chunks, out._blk.mem)
    return out


def quadratic_logz(W, b, spin):
    """log sum_x exp(-E(x)) without storing the energies: per-chunk running (max, sum)
    pairs, combined on the host (a few thousand numbers)."""
    Wd, bd, n, low_bits = _quadratic_args(W, b)
    n_chunks = 1 << (n - low_bits)
    cmax, csum = empty((n_chunks,), np.float64), empty((n_chunks,), np.float64)
    _k_quadratic_logz[_grid(n_chunks)](_flat(Wd), _flat(bd), n, bool(spin), low_bits,
                                       n_chunks, cmax._blk.mem, csum._blk.mem)
    cmax, csum = cmax.copy_to_host(), csum.copy_to_host()
    top = cmax.max()
    return float(top + np.log(np.sum(csum * np.exp(cmax - top))))


# Kernels and their launch signatures, for tests/cuda/test_ptx.py (every kernel above
# must be listed there; the test checks that against this module's dispatchers).
KERNELS = [name for name, obj in list(globals().items()) if name.startswith("_k_")]
