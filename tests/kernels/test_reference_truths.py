"""The reference kernels against independent truths: brute force, scipy, loops.

reference.py is the oracle for the Numba kernels, so it must itself be checked against
something computed another way: direct convolution loops, scipy's logsumexp/softmax,
an N x M x D distance tensor, a hand-written Adam, and enumeration by itertools.
"""
import itertools

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm

from autograd.backend import reference as R


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("kh,kw,stride,padding", [(3, 3, 1, 1), (2, 3, 2, 0), (3, 2, 3, 2)])
def test_col2im2d_is_the_adjoint_of_im2col2d(rng, kh, kw, stride, padding):
    # <im2col(x), y> == <x, col2im(y)> for all x, y defines the adjoint.
    x = rng.standard_normal((2, 3, 7, 8))
    cols = R.im2col2d(x, kh, kw, stride, padding)
    y = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * y), np.sum(x * R.col2im2d(y, 7, 8, kh, kw, stride, padding)))


@pytest.mark.parametrize("k,stride,dilation,pl,pr", [(2, 1, 8, 8, 0), (3, 2, 2, 1, 3)])
def test_col2im1d_is_the_adjoint_of_im2col1d(rng, k, stride, dilation, pl, pr):
    x = rng.standard_normal((2, 3, 19))
    cols = R.im2col1d(x, k, stride, dilation, pl, pr)
    y = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * y),
                      np.sum(x * R.col2im1d(y, 19, k, stride, dilation, pl, pr)))


def direct_conv2d(x, w, stride, padding):
    """PyTorch's conv2d (cross-correlation) as four explicit loops."""
    N, C, H, W = x.shape
    Co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    out = np.zeros((N, Co, Ho, Wo))
    for n in range(N):
        for o in range(Co):
            for a in range(Ho):
                for b in range(Wo):
                    patch = xp[n, :, a * stride:a * stride + kh, b * stride:b * stride + kw]
                    out[n, o, a, b] = np.sum(patch * w[o])
    return out


def test_conv2d_through_im2col_matches_direct_loops(rng):
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    cols = R.im2col2d(x, 3, 2, 2, 1)                    # (3*3*2, 2*3*4): batch side by side
    out = R.swap01((w.reshape(4, -1) @ cols).reshape(4, 2, 12)).reshape(2, 4, 3, 4)
    np.testing.assert_allclose(out, direct_conv2d(x, w, 2, 1), rtol=1e-12, atol=1e-12)


def winograd_conv2d(x, w, padding):
    """The forward of ops.py's Winograd path, from the reference transforms alone."""
    N, _, H, W = x.shape
    m = R.winograd_weight(w.reshape(w.shape[0], -1)) @ R.winograd_in(x, padding)
    return R.winograd_out(m, N, H + 2 * padding - 2, W + 2 * padding - 2).reshape(
        N, w.shape[0], H + 2 * padding - 2, W + 2 * padding - 2)


def test_winograd_one_dimensional_f23_is_exact(rng):
    """Lavin & Gray's F(2, 3): two outputs of a 3-tap correlation from 4 inputs with 4
    multiplications, y = A^T [(G g) * (B^T d)], equal to the direct sums."""
    d, g = rng.standard_normal(4), rng.standard_normal(3)
    y = R.WINOGRAD_AT @ ((R.WINOGRAD_G @ g) * (R.WINOGRAD_BT @ d))
    np.testing.assert_allclose(y, [d[0:3] @ g, d[1:4] @ g], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("H,W,padding", [(5, 6, 1), (4, 4, 0), (7, 3, 2), (1, 1, 1), (2, 9, 1)])
def test_winograd_conv2d_matches_direct_loops(rng, H, W, padding):
    """Odd and even output sizes (a half tile is dropped), padding 0-2, one pixel."""
    x, w = rng.standard_normal((2, 3, H, W)), rng.standard_normal((4, 3, 3, 3))
    np.testing.assert_allclose(winograd_conv2d(x, w, padding), direct_conv2d(x, w, 1, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H,W,padding", [(5, 6, 1), (4, 7, 0), (3, 3, 2)])
def test_winograd_adjoints_pass_the_dot_product_test(rng, H, W, padding):
    """<T a, b> = <a, T^T b> for each transform and the function named its adjoint; the
    spare tiles of b may hold anything (T writes zeros there; T^T ignores them)."""
    N, C, Co = 2, 3, 4
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    x = rng.standard_normal((N, C, H, W))
    v = rng.standard_normal(R.winograd_in(x, padding).shape)
    np.testing.assert_allclose(np.vdot(R.winograd_in(x, padding), v),
                               np.vdot(x, R.winograd_in_adjoint(v, N, H, W, padding)),
                               rtol=1e-12)
    m = rng.standard_normal((16, Co, v.shape[2]))
    g = rng.standard_normal((N, Co, Ho * Wo))
    np.testing.assert_allclose(np.vdot(R.winograd_out(m, N, Ho, Wo), g),
                               np.vdot(m, R.winograd_out_adjoint(g, Ho, Wo)), rtol=1e-12)
    w2, u = rng.standard_normal((Co, C * 9)), rng.standard_normal((16, Co, C))
    np.testing.assert_allclose(np.vdot(R.winograd_weight(w2), u),
                               np.vdot(w2, R.winograd_weight_adjoint(u)), rtol=1e-12)


def test_winograd_spare_tiles_are_zero_and_ignored(rng):
    x = rng.standard_normal((2, 3, 6, 5))                  # Ho, Wo = 6, 5: th 3, tw 3
    v = R.winograd_in(x, 1).reshape(16, 3, 2, 3, 4)
    assert np.all(v[..., 3] == 0) and np.any(v[..., :3] != 0)
    m = rng.standard_normal((16, 2, 2 * 3 * 4))
    spoiled = m.reshape(16, 2, 2, 3, 4).copy()
    spoiled[..., 3] = 1e6
    np.testing.assert_array_equal(R.winograd_out(spoiled.reshape(m.shape), 2, 6, 5),
                                  R.winograd_out(m, 2, 6, 5))


def test_im2col_columns_of_example_n_are_its_own_receptive_fields(rng):
    # The batch sits side by side: columns n*Lo .. (n+1)*Lo - 1 are example n's alone.
    x = rng.standard_normal((3, 2, 9))
    cols = R.im2col1d(x, 2, 1, 3, 3, 0)
    for n in range(3):
        np.testing.assert_array_equal(cols[:, n * 9:(n + 1) * 9],
                                      R.im2col1d(x[n:n + 1], 2, 1, 3, 3, 0))
    x2 = rng.standard_normal((3, 2, 5, 4))
    cols2 = R.im2col2d(x2, 3, 3, 2, 1)                  # 3 x 2 outputs per example
    for n in range(3):
        np.testing.assert_array_equal(cols2[:, n * 6:(n + 1) * 6],
                                      R.im2col2d(x2[n:n + 1], 3, 3, 2, 1))


def test_swap01_is_a_transpose_and_its_own_inverse(rng):
    y = rng.standard_normal((4, 3, 5))
    s = R.swap01(y)
    assert s.flags.c_contiguous and s.shape == (3, 4, 5)
    for a, b in itertools.product(range(4), range(3)):
        np.testing.assert_array_equal(s[b, a], y[a, b])
    np.testing.assert_array_equal(R.swap01(s), y)


def test_causal_dilated_conv1d_matches_direct_sum_and_sees_no_future(rng):
    k, d = 2, 4
    x = rng.standard_normal((1, 2, 13))
    w = rng.standard_normal((3, 2, k))
    out = (w.reshape(3, -1) @ R.im2col1d(x, k, 1, d, d * (k - 1), 0))[None]    # N = 1
    # out[o, t] = sum_c sum_j w[o, c, j] x[c, t - d*(k-1-j)], zero outside the sequence.
    want = np.zeros((1, 3, 13))
    for o, t, c, j in itertools.product(range(3), range(13), range(2), range(k)):
        src = t - d * (k - 1 - j)
        if src >= 0:
            want[0, o, t] += w[o, c, j] * x[0, c, src]
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- softmax and cross-entropy

def test_xent_matches_scipy(rng):
    logits = 20 * rng.standard_normal((6, 11))
    t = rng.integers(0, 11, 6)
    loss, lse = R.xent_forward(logits, t)
    np.testing.assert_allclose(lse, logsumexp(logits, axis=1), rtol=1e-13)
    np.testing.assert_allclose(loss, -np.log(softmax(logits, axis=1))[np.arange(6), t],
                               rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(6)
    want = g[:, None] * (softmax(logits, axis=1) - np.eye(11)[t])
    np.testing.assert_allclose(R.xent_backward(logits, t, lse, g), want, atol=1e-13)


def test_xent_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0]])
    loss, lse = R.xent_forward(logits, np.array([1]))
    assert np.isfinite(loss).all() and np.isclose(loss[0], 1000.0)


def test_causal_softmax_matches_scipy_and_zeros_the_future(rng):
    T, S = 4, 6
    x = rng.standard_normal((2, T, S))
    p = R.softmax_lastaxis(x, True)
    for t in range(T):
        seen = t + (S - T) + 1
        np.testing.assert_allclose(p[:, t, :seen], softmax(x[:, t, :seen], axis=-1),
                                   rtol=1e-13)
        assert np.all(p[:, t, seen:] == 0.0)
    np.testing.assert_allclose(R.softmax_lastaxis(x, False), softmax(x, axis=-1), rtol=1e-13)


# ----------------------------------------------------------- Gaussian kernels on point sets

def brute_sq_dists(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)     # the N x M x D way


@pytest.mark.parametrize("block_bytes", [R._BLOCK_BYTES, 64])
def test_gauss_logsumexp_matches_brute_force(rng, monkeypatch, block_bytes):
    monkeypatch.setattr(R, "_BLOCK_BYTES", block_bytes)   # 64 B: many one-row blocks
    x, c, h = rng.standard_normal((9, 3)), rng.standard_normal((13, 3)), 0.7
    want = logsumexp(-brute_sq_dists(x, c) / (2 * h * h), axis=1)
    np.testing.assert_allclose(R.gauss_logsumexp(x, c, h), want, rtol=1e-12)


def test_kde_log_density_of_one_centre_is_the_gaussian_log_pdf(rng):
    # With one centre, out - log 1 - (D/2) log(2 pi h^2) is log N(x; c, h^2 I).
    x, c, h = rng.standard_normal((5, 2)), rng.standard_normal((1, 2)), 0.8
    logp = R.gauss_logsumexp(x, c, h) - np.log(2 * np.pi * h * h)
    np.testing.assert_allclose(logp, norm.logpdf(x, c, h).sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("block_bytes", [R._BLOCK_BYTES, 64])
def test_mmd2_matches_brute_force(rng, monkeypatch, block_bytes):
    monkeypatch.setattr(R, "_BLOCK_BYTES", block_bytes)
    x, y, h = rng.standard_normal((7, 3)), 0.5 + rng.standard_normal((9, 3)), 1.3

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * h * h))
    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    assert np.isclose(R.mmd2(x, y, h), kxx + kyy - 2 * kxy, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- optimizers

@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_a_hand_written_loop(rng, decoupled):
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-8, 0.1
    p0 = rng.standard_normal(5)
    grads = rng.standard_normal((3, 5))
    p, m, v = p0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        R.adam_update(p, g, m, v, lr, b1, b2, eps, wd, t, decoupled)
    for i in range(5):                          # element by element, as written in papers
        q, mi, vi = p0[i], 0.0, 0.0
        for t in range(1, 4):
            gi = grads[t - 1, i]
            if decoupled:
                q = q - lr * wd * q
            else:
                gi = gi + wd * q
            mi = b1 * mi + (1 - b1) * gi
            vi = b2 * vi + (1 - b2) * gi ** 2
            q = q - lr * (mi / (1 - b1 ** t)) / ((vi / (1 - b2 ** t)) ** 0.5 + eps)
        assert np.isclose(p[i], q, rtol=1e-13, atol=1e-15)


def test_adam_l2_does_not_touch_the_callers_gradient(rng):
    p, g = rng.standard_normal(4), rng.standard_normal(4)
    g0 = g.copy()
    R.adam_update(p, g, np.zeros(4), np.zeros(4), 0.1, 0.9, 0.999, 1e-8, 0.5, 1, False)
    assert np.array_equal(g, g0)


# ---------------------------------------------------------------------------- MCMC steps

def test_langevin_step_formula(rng):
    x, ge, z = (rng.standard_normal((3, 2)) for _ in range(3))
    np.testing.assert_allclose(R.langevin_step(x, ge, z, 0.04), x - 0.02 * ge + 0.2 * z)


def test_mala_accept_matches_the_direct_formula(rng):
    B, D, eps = 6, 3, 0.3
    x, gx, y, gy = (rng.standard_normal((B, D)) for _ in range(4))
    ex, ey = rng.standard_normal(B), rng.standard_normal(B)
    log_u = np.log(rng.random(B))
    x_new, acc = R.mala_accept(x, gx, ex, y, gy, ey, log_u, eps)
    for b in range(B):
        # Full Gaussian log-densities of the Langevin proposal, constants included.
        log_q_x_given_y = norm.logpdf(x[b], y[b] - eps / 2 * gy[b], np.sqrt(eps)).sum()
        log_q_y_given_x = norm.logpdf(y[b], x[b] - eps / 2 * gx[b], np.sqrt(eps)).sum()
        log_alpha = ex[b] - ey[b] + log_q_x_given_y - log_q_y_given_x
        assert acc[b] == (log_u[b] < log_alpha)
        np.testing.assert_array_equal(x_new[b], y[b] if acc[b] else x[b])
    assert 0 < acc.sum() < B          # this seed exercises both branches


# ------------------------------------------------------------ exact enumeration of 2^n states

def random_coupling(rng, n, scale=0.3):
    W = scale * rng.standard_normal((n, n))
    return W + W.T, rng.standard_normal(n)


@pytest.mark.parametrize("spin", [False, True])
def test_quadratic_logz_matches_brute_force_at_n10(rng, spin):
    n = 10
    W, b = random_coupling(rng, n)
    terms = []
    for bits in itertools.product((0, 1), repeat=n):
        x = np.array(bits, dtype=float)
        if spin:
            x = 2 * x - 1
        terms.append(0.5 * x @ W @ x + b @ x)              # -E(x)
    assert np.isclose(R.quadratic_logz(W, b, spin), logsumexp(terms), rtol=1e-13)


def test_quadratic_energies_use_bit_k_as_unit_k(rng):
    W, b = random_coupling(rng, 5)
    e = R.quadratic_energies(W, b, True)
    s = 0b10110
    x = 2.0 * np.array([(s >> k) & 1 for k in range(5)]) - 1
    assert np.isclose(e[s], -0.5 * x @ W @ x - b @ x, rtol=1e-13)


@pytest.mark.parametrize("spin", [False, True])
def test_quadratic_logz_is_logsumexp_of_energies_at_n16(rng, monkeypatch, spin):
    monkeypatch.setattr(R, "_STATE_CHUNK", 2**13)        # several chunks, rescaled sums
    W, b = random_coupling(rng, 16)
    e = R.quadratic_energies(W, b, spin)
    assert e.shape == (2**16,) and e.dtype == np.float64
    assert np.isclose(R.quadratic_logz(W, b, spin), logsumexp(-e), rtol=1e-13)
