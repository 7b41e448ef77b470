"""Test-wide settings: a non-interactive matplotlib backend (tests write PNGs only),
Numba's CUDA simulator when there is no GPU, and one thread for most folders.

The simulator (NUMBA_ENABLE_CUDASIM=1) runs CUDA kernels as Python threads, so
tests/cuda checks every kernel without a GPU. Numba reads the variable once, when it is
first imported, so it is set here, before any test module imports numba. It changes
numba.cuda only: the CPU kernels (@njit) compile and run as before. A GPU is detected
cheaply (a /dev/nvidia* device or nvidia-smi on the PATH) rather than by importing
numba.cuda; NUMBA_ENABLE_CUDASIM set by the user (0 or 1) is left as it is.
"""
import ctypes
import glob
import os
import pathlib
import shutil
import site
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def _gpu_present():
    return bool(glob.glob("/dev/nvidia[0-9]*")) or shutil.which("nvidia-smi") is not None


if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _gpu_present():
    if "numba" in sys.modules:       # too late for this process: say so instead of lying
        sys.stderr.write("tests/conftest.py: numba was imported before conftest; the CUDA "
                         "simulator is not enabled\n")
    else:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"


# ----------------------------------------------------------------- thread pools
#
# Most tests make many small calls (Adam steps on a few hundred points, 64-wide MLPs,
# MCMC steps), where waking a thread pool costs more than the work. Numba's parallel
# kernels and the OpenBLAS bundled with NumPy and SciPy each keep one, and on a shared
# 2-core machine they only wait on each other: measured, tests/diffusion took 55 s with
# one thread each and 11 min with the default pools; tests/ebm's tour test 72 s against
# 310 s. The numbers do not depend on it (every tolerance is far above summation-order
# rounding). tests/kernels keeps the default pools: it checks that the parallel kernels,
# with their thread-private partial sums, equal the references. Subprocesses (the demos,
# the CLI) get the same rule through the environment.

PARALLEL_FOLDERS = {"kernels"}
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _blas_thread_controls():
    """``(get, set)`` pairs of every bundled OpenBLAS (NumPy's and SciPy's builds export
    ``scipy_openblas[64_]_{get,set}_num_threads[64_]``)."""
    found = []
    for root in site.getsitepackages():
        for path in glob.glob(os.path.join(root, "*.libs", "*openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for name in ("scipy_openblas64_", "scipy_openblas", "openblas"):
                pair = [getattr(lib, f"{name}_{op}_num_threads{tail}", None)
                        for tail in ("64_", "") for op in ("get", "set")]
                pair = next(((g, s) for g, s in zip(pair[::2], pair[1::2]) if g and s), None)
                if pair:
                    pair[0].restype = ctypes.c_int
                    pair[1].argtypes = [ctypes.c_int]
                    found.append(pair)
                    break
    return found


_BLAS = _blas_thread_controls()
_TESTS = pathlib.Path(__file__).resolve().parent
_default_threads = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the item's fixtures (module- and package-scoped ones that train a model
    included): one thread for Numba and every OpenBLAS, unless the test lives in one of
    PARALLEL_FOLDERS, which gets the counts found at the first test."""
    import numba
    if not _default_threads:
        _default_threads.extend([numba.get_num_threads()] + [get() for get, _ in _BLAS])
    folders = set(pathlib.Path(item.path).resolve().relative_to(_TESTS).parts[:-1])
    counts = _default_threads if folders & PARALLEL_FOLDERS else [1] * len(_default_threads)
    numba.set_num_threads(counts[0])
    for (_, put), n in zip(_BLAS, counts[1:]):
        put(n)


@pytest.fixture
def one_thread_env():
    """The environment for a subprocess (a demo, the CLI) under the same rule."""
    return {**os.environ, **ONE_THREAD_ENV, "MPLBACKEND": "Agg"}
