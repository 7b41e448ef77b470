"""tests/cuda: the CUDA target, on a GPU when there is one and in Numba's simulator
otherwise (tests/conftest.py turns the simulator on before numba is imported).

Every test here runs the same way in both places; sizes are tiny because the simulator
runs each CUDA thread as a Python thread. SCRATCH_GEN_CUDASIM=1 tells the engine to
accept the simulator as its 'cuda' device (see backend.cuda.check_available); it is set
per test, so the rest of the suite still sees 'no GPU' the way a user would.

There is no __init__.py here on purpose: it would make this folder the importable
package `cuda` and hide NVIDIA's `cuda` package, which numba-cuda imports. Shared
helpers live in cudatest.py.
"""
import importlib.util
import sys

import pytest

if importlib.util.find_spec("numba_cuda") is None:
    # Without the extra there is nothing to run: the CPU paths are covered by the rest of
    # the suite, and CI installs the extra (.ci/run) so these tests do run there.
    pytest.skip("numba-cuda is not installed (pip install -e '.[cuda]')",
                allow_module_level=True)

import zlib                               # noqa: E402

import numpy as np                        # noqa: E402

import autograd.backend as backend        # noqa: E402
from autograd.backend import cuda as C    # noqa: E402

import cudatest                           # noqa: E402

SIMULATOR = C.SIMULATOR


@pytest.fixture(autouse=True)
def cuda_target(monkeypatch):
    """The simulator counts as a device inside these tests; the default device and the
    kernel choice are restored after each.

    The simulator's launcher polls its block's threads in a busy loop; with Python's
    default 5 ms GIL switch interval the polling starves the threads doing the work, and
    a launch takes ~0.1 s. At 50 us the same tests run about six times faster."""
    if SIMULATOR:
        monkeypatch.setenv("SCRATCH_GEN_CUDASIM", "1")
        interval = sys.getswitchinterval()
        sys.setswitchinterval(5e-5)
    monkeypatch.setattr(backend, "_default_device", backend._default_device)
    monkeypatch.setattr(backend, "_active", backend._active)
    yield
    if SIMULATOR:
        sys.setswitchinterval(interval)


@pytest.fixture
def rng(request):
    """One reproducible stream per test id (crc32: str hash() changes every run)."""
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


def pytest_collection_finish(session):
    """Start the PTX compilation now if its tests are selected (see cudatest.py)."""
    if any(item.path.name == "test_cuda_ptx.py" for item in session.items):
        session.config.stash[cudatest.PTX_KEY] = cudatest.start_ptx_check()
