"""The engine's kernels (reference.py's names) from all three sets -- numpy (the
reference itself), numba (cpu.py) and cuda -- against the reference, at tiny odd sizes
in float32 and float64.

Sizes 1, 3 and 5 catch edges (one pixel, one class, lengths that are no multiple of a
block); the simulator runs every CUDA thread as a Python thread, so nothing is larger
than it needs to be. Inputs are NumPy arrays: the cuda kernels upload them, as they
would a batch from the host, and results are copied back to compare.
"""
import numpy as np
import pytest

from autograd.backend import cpu, cuda, reference as R

from cudatest import check, host

SETS = {"numpy": R, "numba": cpu, "cuda": cuda}
DTYPES = (np.float32, np.float64)


@pytest.fixture(params=sorted(SETS))
def K(request):
    return SETS[request.param]


def randn(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", (1, 5))
@pytest.mark.parametrize("kh,kw,stride,padding", [(3, 3, 1, 1), (2, 3, 2, 1), (3, 2, 3, 2)])
def test_im2col2d_and_col2im2d(K, rng, dtype, size, kh, kw, stride, padding):
    x = randn(rng, (2, 3, size, size + 1), dtype)
    cols = K.im2col2d(x, kh, kw, stride, padding)
    check(cols, R.im2col2d(x, kh, kw, stride, padding))
    y = randn(rng, host(cols).shape, dtype)
    check(K.col2im2d(y, size, size + 1, kh, kw, stride, padding),
          R.col2im2d(y, size, size + 1, kh, kw, stride, padding))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", (1, 7))
@pytest.mark.parametrize("k,stride,dilation,pl,pr",
                         [(2, 1, 4, 4, 0), (3, 2, 2, 0, 4), (3, 1, 1, 1, 1)])
def test_im2col1d_and_col2im1d(K, rng, dtype, size, k, stride, dilation, pl, pr):
    x = randn(rng, (2, 3, size), dtype)
    cols = K.im2col1d(x, k, stride, dilation, pl, pr)
    check(cols, R.im2col1d(x, k, stride, dilation, pl, pr))
    y = randn(rng, host(cols).shape, dtype)
    check(K.col2im1d(y, size, k, stride, dilation, pl, pr),
          R.col2im1d(y, size, k, stride, dilation, pl, pr))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 5), (2, 5, 3)])
def test_conv_swap01(K, rng, dtype, shape):
    y = randn(rng, shape, dtype)
    check(K.swap01(y), R.swap01(y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("H,W,padding", [(1, 1, 1), (4, 3, 0), (3, 4, 2)])
def test_winograd_transforms(K, rng, dtype, H, W, padding):
    N, C, Co = 2, 2, 3
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    x = randn(rng, (N, C, H, W), dtype)
    check(K.winograd_in(x, padding), R.winograd_in(x, padding))
    v = randn(rng, R.winograd_in(x, padding).shape, dtype)     # spare tiles not zero
    check(K.winograd_in_adjoint(v, N, H, W, padding), R.winograd_in_adjoint(v, N, H, W, padding))
    m = randn(rng, (16, Co, v.shape[2]), dtype)
    check(K.winograd_out(m, N, Ho, Wo), R.winograd_out(m, N, Ho, Wo))
    g = randn(rng, (N, Co, Ho * Wo), dtype)
    check(K.winograd_out_adjoint(g, Ho, Wo), R.winograd_out_adjoint(g, Ho, Wo))
    w2, u = randn(rng, (Co, C * 9), dtype), randn(rng, (16, Co, C), dtype)
    check(K.winograd_weight(w2), R.winograd_weight(w2))
    check(K.winograd_weight_adjoint(u), R.winograd_weight_adjoint(u))


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_convolution(K, rng, dtype):
    N, C, Co, H, W, padding = 2, 2, 3, 3, 4, 1
    x, u = randn(rng, (N, C, H, W), dtype), randn(rng, (16, Co, C), dtype)
    g = randn(rng, (N, Co, H * W), dtype)
    check(K.winograd_conv(x, u, padding), R.winograd_conv(x, u, padding))
    dx, du = K.winograd_conv_grads(x, g, u, padding)
    check(dx, R.winograd_conv_input_grad(g, u, H, W, padding))
    check(du, R.winograd_conv_weight_grad(x, g, padding))
    check(K.winograd_conv_input_grad(g, u, H, W, padding), dx)
    check(K.winograd_conv_weight_grad(x, g, padding), du)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,V,scale", [(3, 1, 1.0), (1, 7, 1.0), (5, 13, 30.0)])
def test_xent_forward_and_backward(K, rng, dtype, N, V, scale):
    logits = randn(rng, (N, V), dtype, scale)
    t = rng.integers(0, V, N)
    loss, lse = K.xent_forward(logits, t)
    want_loss, want_lse = R.xent_forward(logits, t)
    check(lse, want_lse)
    check(loss, want_loss, loose=scale)      # lse - z_t cancels: absolute error ~ |z|
    g = randn(rng, N, dtype)
    check(K.xent_backward(logits, t, want_lse, g), R.xent_backward(logits, t, want_lse, g))


def test_xent_rejects_out_of_range_targets(K):
    with pytest.raises((ValueError, IndexError)):
        K.xent_forward(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,S", [(1, 1), (3, 3), (3, 6)])
@pytest.mark.parametrize("causal", [False, True])
def test_softmax_lastaxis(K, rng, dtype, T, S, causal):
    x = randn(rng, (2, T, S), dtype, 3.0)
    got = K.softmax_lastaxis(x, causal)
    check(got, R.softmax_lastaxis(x, causal))
    if causal and S > T:      # masked keys get exactly zero probability
        assert np.all(host(got)[:, 0, S - T + 1:] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("M,N,D", [(1, 1, 2), (3, 5, 2), (2, 3, 17)])
@pytest.mark.parametrize("h", [0.5, 3.0])
def test_gauss_logsumexp(K, rng, dtype, M, N, D, h):
    x, c = randn(rng, (M, D), dtype), randn(rng, (N, D), dtype)
    # The reference's Gram form loses ~eps ||x||^2 in float32: tolerance scales with it.
    check(K.gauss_logsumexp(x, c, h), R.gauss_logsumexp(x, c, h),
          loose=1.0 if dtype == np.float64 else 4 * D / h ** 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,m,D", [(2, 3, 2), (5, 4, 3)])
def test_mmd2(K, rng, dtype, n, m, D):
    x, y = randn(rng, (n, D), dtype), randn(rng, (m, D), dtype) + 0.5
    got, want = K.mmd2(x, y, 1.5), R.mmd2(x, y, 1.5)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decoupled,wd", [(False, 0.0), (False, 0.1), (True, 0.1)])
def test_adam_update(K, rng, dtype, decoupled, wd):
    n = 7
    p, g = randn(rng, n, dtype), randn(rng, n, dtype)
    m, v = randn(rng, n, dtype), np.abs(randn(rng, n, dtype))
    want = [a.copy() for a in (p, m, v)]
    R.adam_update(*want[:1], g, *want[1:], 1e-2, 0.9, 0.999, 1e-8, wd, 3, decoupled)
    state = [cuda.asarray(a) if K is cuda else a.copy() for a in (p, m, v)]
    K.adam_update(state[0], g, state[1], state[2], 1e-2, 0.9, 0.999, 1e-8, wd, 3, decoupled)
    for got, w in zip(state, want):          # in place: the same arrays now hold the step
        check(got, w)


def test_adam_update_refuses_arrays_it_cannot_update_in_place():
    p = cuda.asarray(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="in place"):
        cuda.adam_update(p, np.zeros(4), np.zeros(4, np.float32), cuda.zeros(4), 0.1, 0.9,
                         0.99, 1e-8, 0.0, 1, False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_langevin_step(K, rng, dtype):
    x, g, z = (randn(rng, (3, 2), dtype) for _ in range(3))
    check(K.langevin_step(x, g, z, 0.1), R.langevin_step(x, g, z, 0.1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mala_accept(K, rng, dtype):
    B, D = 5, 3
    x, gx, y, gy = (randn(rng, (B, D), dtype) for _ in range(4))
    ex, ey = rng.standard_normal(B), rng.standard_normal(B)
    log_u = np.log(rng.random(B))
    got_x, got_acc = K.mala_accept(x, gx, ex, y, gy, ey, log_u, 0.3)
    want_x, want_acc = R.mala_accept(x, gx, ex, y, gy, ey, log_u, 0.3)
    check(got_acc, want_acc)
    check(got_x, want_x)


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize("spin", [False, True])
def test_quadratic_energies_and_logz(K, rng, n, spin):
    W, b = rng.standard_normal((n, n)), rng.standard_normal(n)
    check(K.quadratic_energies(W, b, spin), R.quadratic_energies(W, b, spin))
    np.testing.assert_allclose(K.quadratic_logz(W, b, spin), R.quadratic_logz(W, b, spin),
                               rtol=1e-12)


def test_every_kernel_has_a_cuda_twin():
    """Same names, same signatures: the engine swaps the modules without knowing. The
    kernels are the public functions cpu.py compiles (reference.py also has helpers,
    such as conv_out_size and causal_mask, that are not kernels)."""
    import inspect
    public = [n for n, f in vars(cpu).items() if inspect.isfunction(f) and not n.startswith("_")
              and f.__module__ == cpu.__name__]
    assert len(public) >= 13
    for name in public:
        assert hasattr(cuda, name), name
        want = list(inspect.signature(getattr(R, name)).parameters)
        assert list(inspect.signature(getattr(cuda, name)).parameters) == want, name
