"""Helpers shared by tests/cuda (imported as a plain module: see conftest.py)."""
import numpy as np

from autograd.backend import cuda as C

SIMULATOR = C.SIMULATOR


def host(a):
    """NumPy data of a result from any backend (device arrays are copied)."""
    return a.copy_to_host() if isinstance(a, C.DeviceArray) else np.asarray(a)


def tol(dtype, loose=1.0):
    return (dict(rtol=2e-5 * loose, atol=2e-6 * loose) if np.dtype(dtype) == np.float32
            else dict(rtol=1e-11 * loose, atol=1e-12 * loose))


def check(got, want, dtype=None, loose=1.0):
    """Same shape, same dtype, same values to the dtype's tolerance."""
    got, want = host(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    dtype = want.dtype if dtype is None else dtype
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, **tol(dtype, loose))
    else:
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- the PTX child process
# Compiling every kernel for Hopper takes ~40 s of one core. The child is started when
# collection finishes (conftest.py) and runs while the simulator tests run; the PTX
# tests then read its output.
import os            # noqa: E402
import subprocess    # noqa: E402
import sys           # noqa: E402

import pytest        # noqa: E402

PTX_KEY = pytest.StashKey()
PTX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ptx_check.py")


def start_ptx_check():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    env.pop("SCRATCH_GEN_CUDASIM", None)
    return subprocess.Popen([sys.executable, PTX_SCRIPT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
