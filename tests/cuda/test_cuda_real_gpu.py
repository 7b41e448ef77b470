"""The CUDA kernels at real sizes, on a real GPU: the GPU tile shapes with many blocks,
reductions split into partial sums, rows longer than a block, memory reuse over steps.

Skipped without a GPU: the simulator runs one Python thread per CUDA thread, so these
sizes would take hours there. The same kernels are checked at tiny sizes in the
simulator by test_cuda_arrays.py (including the GPU's matmul tile and the split
reductions, forced on) and test_cuda_kernels.py.
"""
import numpy as np
import pytest

from autograd import Tensor, nn, optim
import autograd.functional as F
from autograd.backend import cuda as C
from autograd.backend import reference as R

pytestmark = pytest.mark.skipif(C.SIMULATOR, reason="needs a GPU (the simulator covers "
                                "the same kernels at tiny sizes)")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-4), (np.float64, 1e-10)])
def test_matmul_at_size(rng, dtype, rtol):
    a = rng.standard_normal((1000, 777)).astype(dtype)
    b = rng.standard_normal((777, 515)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    got = (C.asarray(a) @ C.asarray(b)).copy_to_host()
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())
    x = rng.standard_normal((8, 65, 129)).astype(dtype)
    w = rng.standard_normal((257, 65)).astype(dtype)
    got = (C.asarray(w) @ C.asarray(x)).copy_to_host()
    np.testing.assert_allclose(got, w @ x, rtol=rtol, atol=rtol * 100)
    got = (C.asarray(x).mT @ C.asarray(w).T).copy_to_host()
    np.testing.assert_allclose(got, x.transpose(0, 2, 1) @ w.T, rtol=rtol, atol=rtol * 100)


def test_reductions_at_size(rng):
    x = rng.standard_normal((5000, 3000)).astype(np.float32)
    d = C.asarray(x)
    x64 = x.astype(np.float64)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(d.sum(axis=axis).copy_to_host(), x64.sum(axis=axis),
                                   rtol=1e-4, atol=1e-2)
        np.testing.assert_array_equal(d.max(axis=axis).copy_to_host(), x.max(axis=axis))
    np.testing.assert_allclose(d.T[::3].mean(axis=1).copy_to_host(),
                               x64.T[::3].mean(axis=1), rtol=1e-4, atol=1e-6)


def test_row_kernels_at_size(rng):
    z = (3 * rng.standard_normal((64, 50000))).astype(np.float32)
    t = rng.integers(0, 50000, 64)
    loss, lse = C.xent_forward(z, t)
    want_loss, want_lse = R.xent_forward(z.astype(np.float64), t)
    np.testing.assert_allclose(lse.copy_to_host(), want_lse, rtol=1e-5)
    np.testing.assert_allclose(loss.copy_to_host(), want_loss, rtol=1e-4, atol=1e-3)
    s = rng.standard_normal((4, 256, 256)).astype(np.float32)
    np.testing.assert_allclose(C.softmax_lastaxis(s, True).copy_to_host(),
                               R.softmax_lastaxis(s, True), rtol=1e-5, atol=1e-7)


def test_convolution_kernels_at_size(rng):
    x = rng.standard_normal((16, 64, 32, 32)).astype(np.float32)
    cols = C.im2col2d(x, 3, 3, 1, 1)
    np.testing.assert_array_equal(cols.copy_to_host(), R.im2col2d(x, 3, 3, 1, 1))
    g = rng.standard_normal(cols.shape).astype(np.float32)
    np.testing.assert_allclose(C.col2im2d(g, 32, 32, 3, 3, 1, 1).copy_to_host(),
                               R.col2im2d(g, 32, 32, 3, 3, 1, 1), rtol=1e-5, atol=1e-5)


def test_random_numbers_at_size():
    z = C.Generator(seed=1).standard_normal(10**6, np.float32).copy_to_host()
    assert abs(z.mean()) < 5e-3 and abs(z.std() - 1) < 5e-3


def test_memory_is_reused_across_training_steps(rng):
    """After the first steps the pool holds every size a step needs: later steps
    allocate nothing new."""
    net = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.SiLU(), nn.Flatten(),
                        nn.Linear(32 * 16 * 16, 10)).to("cuda")
    opt = optim.Adam(net.parameters())
    x = Tensor(rng.standard_normal((64, 3, 16, 16)).astype(np.float32), device="cuda")
    t = rng.integers(0, 10, 64)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(net(x), t).backward()
        opt.step()
    blocks = [sum(len(v) for v in C._POOL.free.values())]
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), t).backward()
        opt.step()
        blocks.append(sum(len(v) for v in C._POOL.free.values()))
    assert max(blocks) == min(blocks), blocks
