"""autograd: a tiny reverse-mode automatic differentiation engine on NumPy.

Knows nothing of generative models. The names follow PyTorch so that what a reader
learns here carries over: ``Tensor``, ``backward``, ``grad``, ``no_grad``,
``autograd.functional`` (as ``F``), ``autograd.nn``, ``autograd.optim``.
"""
import importlib
import os

# GNU OpenMP (Numba's default threading layer here) keeps idle workers spinning after
# each parallel region.  A spinning worker eats the time slice that OpenBLAS's threads or
# the next region need: on the idle 2-core machine `scratch-gen tour --quick` took 109 s
# wall (206 s CPU) spinning and 26 s passive; with other processes on the cores a launch
# cost ~20 ms instead of ~0.2 ms.  Waiting passively costs a few microseconds of
# wake-up per launch.  Set before the OpenMP runtime loads (at the first parallel launch of
# any Numba kernel, ours or scratch_gen.data's, so it is set on import of the engine);
# an explicit OMP_WAIT_POLICY from the user wins.  It is process-wide: an OpenMP runtime
# loaded later in this process (e.g. PyTorch's) sees it too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# OpenBLAS's own threads, in turn, spin (yielding) for about 2^28 cycles after each
# product before they sleep: long enough to hold the second core while the next Numba
# kernel wants it.  2^12 cycles (a microsecond) lets them sleep at once.  Measured on the
# idle 2-core machine: the 3x3 conv2d layer of benchmarks/kernels.py after a matrix
# product 26.8 -> 10.9 ms, `scratch-gen tour --quick` 39.0 -> 33.8 s wall (51.6 -> 34.7 s
# CPU); the price, a wake-up per product: the MLP step of benchmarks/engine.py 0.33 ->
# 0.92 ms (PyTorch: 2.5 ms).  Read when NumPy loads OpenBLAS, so it only takes effect if
# this package is imported before NumPy; an explicit value from the user wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "12")

from .tensor import (Tensor, detect_anomaly, enable_grad, grad, is_grad_enabled,  # noqa: F401
                     no_grad)
from .gradcheck import gradcheck  # noqa: F401
from . import functional  # noqa: F401

__all__ = ["Tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
           "gradcheck", "functional", "nn", "optim", "zeros", "ones"]


def zeros(*shape, dtype="float32", requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    import numpy as np
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype="float32", requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    import numpy as np
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def __getattr__(name):
    # nn and optim load on first use: `import autograd` stays light.
    if name in ("nn", "optim"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
