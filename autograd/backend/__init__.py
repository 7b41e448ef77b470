"""Where hot loops run.

Three modules define the same kernel names with the same signatures:
``reference`` (plain NumPy, the readable truth and the test oracle), ``cpu`` (Numba,
parallel, cached) and ``cuda`` (numba.cuda, imported only when asked for).

``SCRATCH_GEN_KERNELS=numpy`` selects the references; the default is ``numba``.
Primitives look the active module up at call time through :func:`kernels`, so a test
can switch with :func:`use_kernels` and compare both.
"""
import importlib
import os

_NAMES = {"numpy": "reference", "reference": "reference", "numba": "cpu", "cpu": "cpu"}
_active = None


def use_kernels(name):
    """Select the kernel set by name: 'numpy' (references) or 'numba' (compiled CPU)."""
    global _active
    if name not in _NAMES:
        raise ValueError(f"unknown kernel set {name!r}; expected one of 'numpy', 'numba'")
    _active = importlib.import_module(f"{__name__}.{_NAMES[name]}")
    return _active


def kernels():
    """The active kernel module (chosen by SCRATCH_GEN_KERNELS on first use)."""
    return _active if _active is not None else use_kernels(
        os.environ.get("SCRATCH_GEN_KERNELS", "numba"))
