"""One thread for Numba's kernels and for OpenBLAS while the diffusion tests run.

These tests multiply small matrices (a 64-wide MLP on a few hundred points) thousands of
times. On a shared 2-core machine, a thread pool per library only makes the threads
wait on each other: measured here, 57 tests took 55 s with one thread each and 11 min
with the default pools. The numbers are the same either way (BLAS splits a product by
blocks of the output, each summed in the same order). Package scope, so that the
module-scoped fixtures that train a model are covered too; both settings are restored
when the package's tests end.
"""
import ctypes
import glob
import os

import numba
import numpy as np
import pytest


def _openblas():
    """numpy's bundled OpenBLAS (scipy-openblas64), or None where it is not found."""
    folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            get = getattr(lib, prefix + "get_num_threads64_", None)
            put = getattr(lib, prefix + "set_num_threads64_", None)
            if get is not None and put is not None:
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


_BLAS = _openblas()


@pytest.fixture(autouse=True, scope="package")
def _one_thread_each():
    numba_before = numba.get_num_threads()
    numba.set_num_threads(1)
    blas_before = _BLAS[0]() if _BLAS else None
    if _BLAS:
        _BLAS[1](1)
    yield
    numba.set_num_threads(numba_before)
    if _BLAS:
        _BLAS[1](blas_before)
