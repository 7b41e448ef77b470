"""Every Numba kernel (cpu.py) equals its NumPy reference on random inputs.

Sizes 1, 7 and 33 catch off-by-one edges (a single pixel, a single class, odd lengths
that are not a multiple of any vector width); both float32 and float64 run, since each
dtype is a separate compile.  Tolerances allow for a different summation order (the
Numba kernels accumulate in float64, the references in the array dtype).
"""
import zlib

import numpy as np
import pytest

from autograd.backend import cpu as K
from autograd.backend import reference as R

SIZES = (1, 7, 33)
DTYPES = (np.float32, np.float64)


def tol(dtype, loose=1.0):
    return (dict(rtol=2e-5 * loose, atol=2e-6 * loose) if dtype == np.float32
            else dict(rtol=1e-11 * loose, atol=1e-12 * loose))


def check(got, want, dtype, loose=1.0):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **tol(dtype, loose))


@pytest.fixture
def rng(request):
    # One reproducible stream per test id (crc32: str hash() changes every run).
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


def randn(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# --------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kh,kw,stride,padding",
                         [(3, 3, 1, 1), (2, 3, 2, 1), (1, 1, 1, 0), (3, 2, 3, 2)])
def test_im2col2d_and_col2im2d(rng, dtype, size, kh, kw, stride, padding):
    x = randn(rng, (2, 3, size, size + 1), dtype)
    cols = K.im2col2d(x, kh, kw, stride, padding)
    check(cols, R.im2col2d(x, kh, kw, stride, padding), dtype)
    y = randn(rng, cols.shape, dtype)
    check(K.col2im2d(y, size, size + 1, kh, kw, stride, padding),
          R.col2im2d(y, size, size + 1, kh, kw, stride, padding), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("k,stride,dilation,pl,pr",
                         [(2, 1, 8, 8, 0), (3, 1, 1, 1, 1), (3, 2, 2, 0, 4), (1, 1, 1, 0, 0)])
def test_im2col1d_and_col2im1d(rng, dtype, size, k, stride, dilation, pl, pr):
    x = randn(rng, (2, 3, size), dtype)
    cols = K.im2col1d(x, k, stride, dilation, pl, pr)
    check(cols, R.im2col1d(x, k, stride, dilation, pl, pr), dtype)
    y = randn(rng, cols.shape, dtype)
    check(K.col2im1d(y, size, k, stride, dilation, pl, pr),
          R.col2im1d(y, size, k, stride, dilation, pl, pr), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 1, 33), (3, 33, 7), (2, 5, 1)])
def test_swap01(rng, dtype, shape):
    y = randn(rng, shape, dtype)
    np.testing.assert_array_equal(K.swap01(y), R.swap01(y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("padding", (0, 1, 2))
def test_winograd_transforms(rng, dtype, size, padding):
    H, W = size + 2, size + 3 - padding           # odd and even outputs, one pixel at 1
    N, C, Co = 2, 3, 5
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    x = randn(rng, (N, C, H, W), dtype)
    check(K.winograd_in(x, padding), R.winograd_in(x, padding), dtype)
    v = randn(rng, R.winograd_in(x, padding).shape, dtype)     # spare tiles not zero
    check(K.winograd_in_adjoint(v, N, H, W, padding), R.winograd_in_adjoint(v, N, H, W, padding),
          dtype)
    m = randn(rng, (16, Co, v.shape[2]), dtype)
    check(K.winograd_out(m, N, Ho, Wo), R.winograd_out(m, N, Ho, Wo), dtype)
    g = randn(rng, (N, Co, Ho * Wo), dtype)
    check(K.winograd_out_adjoint(g, Ho, Wo), R.winograd_out_adjoint(g, Ho, Wo), dtype)
    w2, u = randn(rng, (Co, C * 9), dtype), randn(rng, (16, Co, C), dtype)
    check(K.winograd_weight(w2), R.winograd_weight(w2), dtype)
    check(K.winograd_weight_adjoint(u), R.winograd_weight_adjoint(u), dtype)


def test_winograd_tasks_split_planes_unevenly(rng, monkeypatch):
    """More tasks than threads, and planes that do not divide evenly among them."""
    monkeypatch.setattr(K, "get_num_threads", lambda: 2)       # 8 tasks over 21 planes
    x = randn(rng, (7, 3, 9, 6), np.float64)
    check(K.winograd_in(x, 1), R.winograd_in(x, 1), np.float64)
    v = randn(rng, R.winograd_in(x, 1).shape, np.float64)
    check(K.winograd_in_adjoint(v, 7, 9, 6, 1), R.winograd_in_adjoint(v, 7, 9, 6, 1),
          np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C,Co", [(1, 1, 1), (7, 3, 5), (3, 6, 9)])
@pytest.mark.parametrize("block_bytes", (1, 2**20))
def test_winograd_fused_convolution(rng, monkeypatch, dtype, N, C, Co, block_bytes):
    """cpu.py's one-pass convolution and gradients against the reference's composition
    of the transforms: register blocks with and without remainders (C, C_out = 1, 3, 5,
    6, 9), blocks of one example or the whole batch, more tasks than blocks."""
    monkeypatch.setattr(K, "_WINOGRAD_BLOCK_BYTES", block_bytes)
    H, W, padding = 7, 6, 1
    x = randn(rng, (N, C, H, W), dtype)
    u = randn(rng, (16, Co, C), dtype)
    g = randn(rng, (N, Co, H * W), dtype)
    check(K.winograd_conv(x, u, padding), R.winograd_conv(x, u, padding), dtype, loose=5)
    dx, du = K.winograd_conv_grads(x, g, u, padding)
    check(dx, R.winograd_conv_input_grad(g, u, H, W, padding), dtype, loose=5)
    check(du, R.winograd_conv_weight_grad(x, g, padding), dtype, loose=5)
    check(K.winograd_conv_input_grad(g, u, H, W, padding), dx, dtype)
    check(K.winograd_conv_weight_grad(x, g, padding), du, dtype)


def test_im2col_accepts_non_contiguous_input(rng):
    x = randn(rng, (3, 2, 7, 5), np.float64).transpose(1, 0, 3, 2)
    check(K.im2col2d(x, 3, 3, 1, 1), R.im2col2d(x, 3, 3, 1, 1), np.float64)


# ------------------------------------------------------------- softmax and cross-entropy

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,V,scale", [(4, 1, 1.0), (4, 7, 1.0), (4, 33, 5.0),
                                       (1, 1000, 10.0), (7, 2000, 1.0), (33, 300, 30.0)])
def test_xent_forward_and_backward(rng, dtype, N, V, scale):
    logits = randn(rng, (N, V), dtype, scale)
    t = rng.integers(0, V, N)
    loss, lse = K.xent_forward(logits, t)
    want_loss, want_lse = R.xent_forward(logits, t)
    check(lse, want_lse, dtype)
    check(loss, want_loss, dtype, loose=scale)   # lse - z_t cancels: absolute error ~ |z|
    g = randn(rng, N, dtype)
    check(K.xent_backward(logits, t, want_lse, g), R.xent_backward(logits, t, want_lse, g),
          dtype)


def test_xent_rejects_out_of_range_targets():
    with pytest.raises(ValueError, match="targets"):
        K.xent_forward(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("causal", [False, True])
def test_softmax_lastaxis(rng, dtype, size, causal):
    x = randn(rng, (2, size, size + 3), dtype, 3.0)
    got = K.softmax_lastaxis(x, causal)
    check(got, R.softmax_lastaxis(x, causal), dtype)
    if causal:
        assert got[:, 0, 4:].size == 0 or np.all(got[:, 0, 4:] == 0)


def test_softmax_lastaxis_keeps_leading_axes(rng):
    x = randn(rng, (2, 3, 5, 5), np.float64)
    check(K.softmax_lastaxis(x, True), R.softmax_lastaxis(x, True), np.float64)


# ----------------------------------------------------------- Gaussian kernels on point sets

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("D", [2, 33])           # the direct path and the Gram path
@pytest.mark.parametrize("h", [0.5, 3.0])
def test_gauss_logsumexp(rng, dtype, size, D, h):
    x, c = randn(rng, (size, D), dtype), randn(rng, (size + 4, D), dtype)
    # The reference's Gram form loses ~eps*||x||^2 in float32: tolerance scales with it.
    check(K.gauss_logsumexp(x, c, h), R.gauss_logsumexp(x, c, h), dtype,
          loose=10 * D / h**2 if dtype == np.float32 else 10.0)


def test_gauss_logsumexp_gram_path_in_several_blocks(rng, monkeypatch):
    monkeypatch.setattr(K, "_BLOCK_BYTES", 8 * 40 * 3)        # 3 rows per block
    x, c = randn(rng, (10, 20), np.float64), randn(rng, (40, 20), np.float64)
    check(K.gauss_logsumexp(x, c, 2.0), R.gauss_logsumexp(x, c, 2.0), np.float64, 10.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("D", [2, 33])
def test_mmd2(rng, dtype, size, D, monkeypatch):
    monkeypatch.setattr(K, "_BLOCK_BYTES", 8 * 40 * 3)        # Gram path: several blocks
    x, y = randn(rng, (size + 1, D), dtype), 0.3 + randn(rng, (size + 2, D), dtype)
    h = np.sqrt(D)
    got, want = K.mmd2(x, y, h), R.mmd2(x, y, h)
    assert isinstance(got, float)
    assert np.isclose(got, want, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)


# ---------------------------------------------------------------------------- optimizers

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("decoupled,wd", [(False, 0.0), (False, 0.1), (True, 0.1)])
def test_adam_update(rng, dtype, size, decoupled, wd):
    p0 = randn(rng, size, dtype)
    p = [p0.copy(), p0.copy()]
    m = [np.zeros(size, dtype) for _ in range(2)]
    v = [np.zeros(size, dtype) for _ in range(2)]
    for step in range(1, 4):
        g = randn(rng, size, dtype)
        g0 = g.copy()
        for mod, pi, mi, vi in zip((R, K), p, m, v):
            assert mod.adam_update(pi, g, mi, vi, 1e-2, 0.9, 0.999, 1e-8, wd, step,
                                   decoupled) is None
        assert np.array_equal(g, g0)
    for a, b in zip((p[1], m[1], v[1]), (p[0], m[0], v[0])):
        check(a, b, dtype)


def test_adam_update_refuses_a_copy_it_would_lose():
    p = np.zeros((4, 2))[:, 0]                 # a strided view: an update would be lost
    with pytest.raises(ValueError, match="contiguous"):
        K.adam_update(p, np.ones(4), np.zeros(4), np.zeros(4), 0.1, 0.9, 0.999, 1e-8,
                      0.0, 1, False)


# ---------------------------------------------------------------------------- MCMC steps

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_langevin_step(rng, dtype, size):
    x, ge, z = (randn(rng, (size, 3), dtype) for _ in range(3))
    check(K.langevin_step(x, ge, z, 0.01), R.langevin_step(x, ge, z, 0.01), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_mala_accept(rng, dtype, size):
    x, gx = randn(rng, (size, 5), dtype), randn(rng, (size, 5), dtype)
    y, gy = x + randn(rng, (size, 5), dtype, 0.3), randn(rng, (size, 5), dtype)
    ex, ey = randn(rng, size, dtype), randn(rng, size, dtype)
    log_u = np.log(rng.random(size)).astype(dtype)
    got_x, got_acc = K.mala_accept(x, gx, ex, y, gy, ey, log_u, 0.2)
    want_x, want_acc = R.mala_accept(x, gx, ex, y, gy, ey, log_u, 0.2)
    assert got_acc.dtype == np.bool_
    np.testing.assert_array_equal(got_acc, want_acc)
    np.testing.assert_array_equal(got_x, want_x)


# ------------------------------------------------------------ exact enumeration of 2^n states

@pytest.mark.parametrize("n", [0, 1, 7, 13])
@pytest.mark.parametrize("spin", [False, True])
def test_quadratic_energies_and_logz(rng, n, spin):
    W = rng.standard_normal((n, n))
    W = W + W.T
    b = rng.standard_normal(n)
    e = K.quadratic_energies(W, b, spin)
    assert e.dtype == np.float64
    np.testing.assert_allclose(e, R.quadratic_energies(W, b, spin), rtol=1e-12, atol=1e-10)
    assert np.isclose(K.quadratic_logz(W, b, spin), R.quadratic_logz(W, b, spin),
                      rtol=1e-12)


def test_quadratic_kernels_symmetrise_an_asymmetric_w(rng):
    # x^T W x only depends on (W + W^T)/2; the Gray-code update assumes symmetry.
    W, b = rng.standard_normal((9, 9)), rng.standard_normal(9)
    np.testing.assert_allclose(K.quadratic_energies(W, b, True),
                               R.quadratic_energies(W, b, True), rtol=1e-12, atol=1e-10)


# ------------------------------------------------------------------ the vectorizable exp

def test_branch_free_exp_matches_numpy():
    # cpu._exp replaces libm's exp inside the loops; it must be as good over x <= 0.
    x = np.concatenate([-np.geomspace(1e-12, 707.9, 400), [0.0, -0.0, -1e-300]])
    got = np.array([K._exp(v) for v in x])
    np.testing.assert_allclose(got, np.exp(x), rtol=1e-15, atol=0)
    assert K._exp(-708.5) == 0.0 and K._exp(-np.inf) == 0.0
    assert np.isnan(K._exp(np.nan))


def test_float32_branch_free_exp_is_within_two_ulp():
    x = np.concatenate([-np.geomspace(1e-6, 86.9, 300), [0.0]]).astype(np.float32)
    got = np.array([K._exp32(v) for v in x], dtype=np.float64)
    np.testing.assert_allclose(got, np.exp(x.astype(np.float64)), rtol=2 * 2.0**-23, atol=0)
    assert K._exp32(np.float32(-88.0)) == 0.0 and np.isnan(K._exp32(np.float32(np.nan)))


def test_nan_logits_give_nan_like_the_reference():
    z = np.zeros((2, 9))
    z[1, 4] = np.nan
    for mod in (R, K):
        loss, lse = mod.xent_forward(z, np.array([0, 0]))
        assert np.isfinite(lse[0]) and np.isnan(lse[1]) and np.isnan(loss[1])
        assert np.isnan(mod.softmax_lastaxis(z[None], False)[0, 1]).all()
