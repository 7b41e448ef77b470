"""Kernels that share memory between threads, checked where a race would show.

The intermittent failure of the attention test (issue 10) came from Numba's simulator,
not from a kernel: its shared-memory allocation (a check-then-insert on a dict, no lock)
handed two threads of one block two different "shared" arrays whenever a thread switch
landed between the check and the insert, and a matmul tile or a reduction tree then read
values no thread of the block wrote. backend/cuda.py makes that allocation atomic under
the simulator. The first test forces a thread switch inside every allocation (a 2 ms
sleep in the allocator): with Numba's own allocation every shared-memory kernel below
gives wrong numbers every time; with the atomic one they are exact.

The simulator also poisons new memory (NaN, True, an out-of-range index), so a kernel
that reads memory it did not write fails every time; the second test checks that the
poison is there, so the rest of tests/cuda runs every kernel on it.
"""
import time

import numpy as np
import pytest

from autograd.backend import cuda as C
from autograd.backend import reference as R

from cudatest import check

simulator_only = pytest.mark.skipif(not C.SIMULATOR, reason="the simulator's memory: on a "
                                    "GPU shared memory is hardware (test_cuda_real_gpu.py)")


@simulator_only
def test_shared_memory_kernels_are_exact_with_a_thread_switch_in_every_allocation(
        rng, monkeypatch):
    def slow_alloc(shape, dtype):
        time.sleep(0.002)                  # the GIL goes to the block's other threads
        return C._poisoned(shape, dtype)
    monkeypatch.setattr(C, "_alloc_shared", slow_alloc)
    monkeypatch.setattr(C, "_SERIAL_K", 0)          # reductions through the block trees
    a, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 2))
    check(C.asarray(a).mT @ C.asarray(b), a.transpose(0, 2, 1) @ b)             # tiles
    x = rng.standard_normal((2, 3, 4))
    for causal in (False, True):
        check(C.softmax_lastaxis(C.asarray(x), causal), R.softmax_lastaxis(x, causal))
    m = x.max(axis=-1, keepdims=True)                                            # row lse
    check(C.logsumexp(C.asarray(x), axis=-1),
          (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0])
    check(C.asarray(x).sum(axis=-1), x.sum(axis=-1))                             # rows
    check(C.asarray(x).max(axis=0), x.max(axis=0))                               # columns
    pts, centres = rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    check(C.gauss_logsumexp(C.asarray(pts), C.asarray(centres), 0.7),
          R.gauss_logsumexp(pts, centres, 0.7))


@simulator_only
def test_new_memory_is_poisoned_in_the_simulator():
    for dtype, poisoned in ((np.float32, np.isnan), (np.float64, np.isnan),
                            (np.bool_, lambda v: v), (np.int64, lambda v: v >= 2 ** 62)):
        a = C.empty((5,), dtype)
        assert poisoned(a.copy_to_host()).all(), (dtype, a.copy_to_host())
        del a
        again = C.empty((5,), dtype)                 # a reused block is poisoned again
        assert poisoned(again.copy_to_host()).all(), dtype
    assert np.isnan(C._poisoned((2, 2), np.float32)).all()
