"""Run the EBM tests single-threaded: Numba's parallel kernels and NumPy's OpenBLAS.

Why: the MCMC and training loops make thousands of small calls (the fused kernels
langevin_step, mala_accept, adam_update on a few hundred rows; matrix products of a
few thousand rows), where a parallel launch costs more than the work. On a shared
2-core machine the worker threads' spinning made the tour test 4x slower in wall time
and CPU time alike (measured: 310 s vs 72 s). One thread computes the same numbers
(each kernel row is the same code either way; the tests' tolerances do not depend on
BLAS summation order), so nothing the tests check depends on it. Both settings are
restored after each test, so other folders run as configured.
"""
import ctypes
import glob
import os

import numba
import numpy as np
import pytest


def _openblas():
    """(get, set) of NumPy's bundled OpenBLAS thread count, or None if not found."""
    libdir = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    return get, put
    return None


_BLAS = _openblas()


@pytest.fixture(autouse=True)
def _single_threaded():
    numba_before = numba.get_num_threads()
    blas_before = _BLAS[0]() if _BLAS else None
    numba.set_num_threads(1)
    if _BLAS:
        _BLAS[1](1)
    try:
        yield
    finally:
        numba.set_num_threads(numba_before)
        if _BLAS:
            _BLAS[1](blas_before)
