"""The foundations' tests run on one thread: Numba's parallel kernels and the OpenBLAS
libraries bundled with NumPy and SciPy.

Why: these tests make many small calls (Adam steps on a 3-class softmax, a mixture's
few hundred points, 256 x 256 covariances), where waking worker threads costs more than
the work; on the shared 2-core machine the spinning threads made these folders about 6x
slower (254 s against 39 s measured for tests/density, tests/latent and
tests/conditional together). The numbers do not depend on it: every tolerance here is
far above BLAS's summation-order rounding. The thread counts are restored after each
test module, so other folders run as configured.
"""
import ctypes
import glob
import os
import site

import numba
import pytest


def _blas_thread_controls():
    """``(get, set)`` pairs of every bundled OpenBLAS (NumPy's and SciPy's builds
    export ``scipy_openblas[64_]_{get,set}_num_threads[64_]``)."""
    found = []
    for root in site.getsitepackages():
        for path in glob.glob(os.path.join(root, "*.libs", "*openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for name in ("scipy_openblas64_", "scipy_openblas", "openblas"):
                for tail in ("64_", ""):
                    get = getattr(lib, f"{name}_get_num_threads{tail}", None)
                    put = getattr(lib, f"{name}_set_num_threads{tail}", None)
                    if get is not None and put is not None:
                        get.restype = ctypes.c_int
                        found.append((get, put))
                        break
                else:
                    continue
                break
    return found


BLAS = _blas_thread_controls()


@pytest.fixture(autouse=True, scope="module")     # module: before the modules' own fixtures
def one_thread():
    before = numba.get_num_threads(), [get() for get, _ in BLAS]
    numba.set_num_threads(1)
    for _, put in BLAS:
        put(1)
    try:
        yield
    finally:
        numba.set_num_threads(before[0])
        for (_, put), n in zip(BLAS, before[1]):
            put(n)
