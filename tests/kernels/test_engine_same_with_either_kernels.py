"""Gradients through the engine are the same with SCRATCH_GEN_KERNELS=numpy or numba.

The engine's conv1d/conv2d, cross_entropy and causal attention call the kernels through
``autograd.backend.kernels()``; switching the set with ``use_kernels`` must change
nothing but the speed (up to summation order).
"""
import numpy as np
import pytest

import autograd
import autograd.backend as backend
import autograd.functional as F
from autograd import Tensor
from autograd.backend import use_kernels


@pytest.fixture(autouse=True)
def restore_kernel_choice(monkeypatch):
    monkeypatch.setattr(backend, "_active", backend._active)   # undone after each test


def grads_under(name, fn, arrays, create_graph=False):
    """Value and gradients of fn(*tensors) computed with kernel set `name`.  With
    create_graph, also the gradient of the sum of squared first gradients (order 2)."""
    use_kernels(name)
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*xs)
    gs = autograd.grad(out, xs, create_graph=create_graph)
    result = [out.numpy()] + [g.numpy() for g in gs]
    if create_graph:
        penalty = sum((g * g).sum() for g in gs)
        result += [g.numpy() for g in autograd.grad(penalty, xs)]
    return result


def assert_same(fn, arrays, create_graph=False, rtol=1e-10):
    a = grads_under("numpy", fn, arrays, create_graph)
    b = grads_under("numba", fn, arrays, create_graph)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_conv2d_with_stride_and_padding(rng):
    x, w, bias = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)

    def f(x, w, bias):
        y = F.conv2d(x, w, bias, stride=2, padding=1)
        return (y * y).sum()
    assert_same(f, [x, w, bias], create_graph=True)


@pytest.mark.parametrize("padding", (0, 1))
def test_conv2d_by_winograd(rng, padding):
    """3x3, stride 1: Winograd's path, to second order (the R1 penalty's case)."""
    x, w, bias = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)

    def f(x, w, bias):
        y = F.conv2d(x, w, bias, padding=padding)
        return (y * y).sum()
    assert_same(f, [x, w, bias], create_graph=True)


@pytest.mark.parametrize("block_bytes", (1, 2**20))
def test_winograd_path_equals_im2col_path(rng, monkeypatch, block_bytes):
    """The two algorithms give the same values and derivatives up to rounding, with the
    batch in one block or in blocks of one example."""
    from autograd.backend import cpu
    monkeypatch.setattr(cpu, "_WINOGRAD_BLOCK_BYTES", block_bytes)
    x, w = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((4, 2, 3, 3))

    def under(winograd):
        def f(x, w):
            return F.conv2d(x, w, padding=1, winograd=winograd).tanh().sum()
        return grads_under("numba", f, [x, w], create_graph=True)
    for u, v in zip(under(None), under(False)):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("block_bytes", (1, 2**20))
def test_winograd_joint_backward_equals_the_separate_gradients(rng, monkeypatch, block_bytes):
    """backward() takes both gradients of a conv in one pass (ops._conv_joint_vjp, one
    transform of the upstream gradient per block); grad(create_graph=True) takes the
    two VJPs separately. Same numbers."""
    from autograd.backend import cpu
    monkeypatch.setattr(cpu, "_WINOGRAD_BLOCK_BYTES", block_bytes)
    x, w = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((4, 2, 3, 3))
    xt, wt = Tensor(x.copy(), requires_grad=True), Tensor(w.copy(), requires_grad=True)
    F.conv2d(xt, wt, padding=1).tanh().sum().backward()
    xs, ws = Tensor(x.copy(), requires_grad=True), Tensor(w.copy(), requires_grad=True)
    gx, gw = autograd.grad(F.conv2d(xs, ws, padding=1).tanh().sum(), [xs, ws],
                           create_graph=True)
    np.testing.assert_allclose(xt.grad, gx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wt.grad, gw.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_winograd_option_is_checked(rng):
    x, w = Tensor(rng.standard_normal((1, 2, 6, 6))), Tensor(rng.standard_normal((3, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"winograd=True needs a 3x3 kernel at stride 1"):
        F.conv2d(x, w, winograd=True)


def test_causal_dilated_conv1d(rng):
    x, w = rng.standard_normal((2, 3, 17)), rng.standard_normal((5, 3, 2))

    def f(x, w):
        return F.conv1d(x, w, padding=(4, 0), dilation=4).tanh().sum()
    assert_same(f, [x, w], create_graph=True)


def test_cross_entropy(rng):
    logits, t = 3 * rng.standard_normal((7, 33)), rng.integers(0, 33, 7)
    assert_same(lambda z: F.cross_entropy(z, t), [logits])


def test_cross_entropy_in_float32(rng):
    logits, t = rng.standard_normal((7, 33)).astype(np.float32), rng.integers(0, 33, 7)
    assert_same(lambda z: F.cross_entropy(z, t), [logits], rtol=1e-5)


def test_causal_attention(rng):
    q, k, v = (rng.standard_normal((2, 5, 4)) for _ in range(3))

    def f(q, k, v):
        return (F.scaled_dot_product_attention(q, k, v, is_causal=True) ** 2).sum()
    assert_same(f, [q, k, v])
