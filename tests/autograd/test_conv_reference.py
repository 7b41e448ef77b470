"""conv1d and conv2d (im2col + matmul) against direct loops, forward and gradients,
for every stride/padding/dilation combination tested (issue 2, item 8)."""
import itertools

import numpy as np
import pytest

import autograd.functional as F
from autograd import Tensor


def direct_conv2d(x, w, stride, pad):
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, co, ho, wo))
    for b, o, i, j in itertools.product(range(n), range(co), range(ho), range(wo)):
        out[b, o, i, j] = np.sum(xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw] * w[o])
    return out


def direct_conv2d_grads(x, w, g, stride, pad):
    """d<g, conv(x, w)>/dx and /dw by the same loops: each output touches one window."""
    co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for b, o, i, j in itertools.product(*map(range, g.shape)):
        win = (b, slice(None), slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw))
        dw[o] += g[b, o, i, j] * xp[win]
        dxp[win] += g[b, o, i, j] * w[o]
    h, wd = x.shape[2:]
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw


def direct_conv1d(x, w, stride, pl, pr, dil):
    n, c, length = x.shape
    co, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pl, pr)))
    lo = (length + pl + pr - dil * (k - 1) - 1) // stride + 1
    out = np.zeros((n, co, lo))
    for b, o, t in itertools.product(range(n), range(co), range(lo)):
        out[b, o, t] = sum(np.dot(xp[b, :, t * stride + j * dil], w[o, :, j]) for j in range(k))
    return out


def direct_conv1d_grads(x, w, g, stride, pl, pr, dil):
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pl, pr)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for b, o, t in itertools.product(*map(range, g.shape)):
        for j in range(k):
            dw[o, :, j] += g[b, o, t] * xp[b, :, t * stride + j * dil]
            dxp[b, :, t * stride + j * dil] += g[b, o, t] * w[o, :, j]
    return dxp[:, :, pl:pl + x.shape[2]], dw


@pytest.mark.parametrize("stride,pad,k", [(1, 0, 3), (1, 1, 3), (2, 1, 3), (2, 0, 2), (3, 2, 4), (1, 2, 1)])
def test_conv2d_matches_direct_loops(stride, pad, k):
    rng = np.random.default_rng(stride * 10 + pad)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, k, k))
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = F.conv2d(xt, wt, stride=stride, padding=pad)
    np.testing.assert_allclose(out.data, direct_conv2d(x, w, stride, pad), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    dx, dw = direct_conv2d_grads(x, w, g, stride, pad)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride,pl,pr,dil,k", [(1, 0, 0, 1, 3), (1, 1, 1, 1, 3), (2, 1, 0, 1, 2),
                                                (1, 2, 0, 2, 2), (1, 8, 0, 4, 3), (3, 2, 2, 2, 2)])
def test_conv1d_matches_direct_loops(stride, pl, pr, dil, k):
    rng = np.random.default_rng(pl * 7 + dil)
    x, w = rng.standard_normal((2, 3, 11)), rng.standard_normal((5, 3, k))
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = F.conv1d(xt, wt, stride=stride, padding=(pl, pr), dilation=dil)
    np.testing.assert_allclose(out.data, direct_conv1d(x, w, stride, pl, pr, dil), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    dx, dw = direct_conv1d_grads(x, w, g, stride, pl, pr, dil)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-12)


def test_conv_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\).*\(4, 2, 3, 3\)"):
        F.conv2d(Tensor(np.ones((2, 3, 5, 5))), Tensor(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"conv1d"):
        F.conv1d(Tensor(np.ones((2, 3, 5))), Tensor(np.ones((4, 2, 3))))


def test_input_smaller_than_the_kernel_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"conv1d: input \(1, 2, 3\) is smaller than the kernel"):
        F.conv1d(Tensor(np.zeros((1, 2, 3))), Tensor(np.zeros((4, 2, 2))), dilation=8)
    with pytest.raises(ValueError, match=r"conv2d: input \(1, 2, 2, 5\) is smaller"):
        F.conv2d(Tensor(np.zeros((1, 2, 2, 5))), Tensor(np.zeros((4, 2, 3, 3))))


def test_empty_batch_gives_empty_output_and_zero_weight_gradient():
    x = Tensor(np.zeros((0, 2, 5, 4)), requires_grad=True)
    w = Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    assert out.shape == (0, 3, 5, 4)
    out.sum().backward()
    assert x.grad.shape == (0, 2, 5, 4) and not np.any(w.grad)
