"""Plain NumPy kernels: the readable truth and the test oracle.

Every function here has a twin of the same name and signature in ``cpu.py`` (Numba) and
``cuda.py``.  These versions favour clarity: vectorised NumPy, no tricks beyond the ones
needed to keep memory bounded (row blocks for pairwise kernels, state chunks for the
2^n enumeration).  The compiled versions are tested against these.

Conventions shared by all kernels:
  * arrays come in as NumPy arrays of one floating dtype (float32 or float64); the output
    has the input's dtype unless a docstring says otherwise;
  * layouts are PyTorch's (conv input (N, C, H, W), weight (C_out, C, kh, kw));
  * nothing here allocates an N x M x D pairwise temporary.
"""
import numpy as np

# Largest temporary a blocked reference kernel may hold at once (bytes).  Each block
# keeps a few (rows, N) arrays alive, so one of them gets a quarter of the 64 MB budget.
_BLOCK_BYTES = 16 * 2**20


def _rows_per_block(n_cols, itemsize=8):
    """How many rows of an (rows, n_cols) temporary fit in the per-array budget."""
    return max(1, _BLOCK_BYTES // max(1, n_cols * itemsize))


# --------------------------------------------------------------------------- convolution
# A convolution is a matrix product once every receptive field is laid out as a column
# (im2col; Chellapilla et al. 2006).  Its backward needs the adjoint of that layout,
# col2im, which adds each column entry back to the pixel it was read from (pixels read
# by several windows receive the sum).
#
# The columns of a batch (or of a block of it) sit side by side: cols is
# (C*kh*kw, N*Ho*Wo), column n*Ho*Wo + q holding the receptive field of output pixel q
# of example n.  Then the forward (W @ cols), the weight gradient (G @ cols^T) and the
# column gradient (W^T @ G) are each ONE matrix product with N*Ho*Wo on its long side,
# which BLAS runs near its peak and can split over threads; a product per example
# (C_out x C*k*k times C*k*k x Ho*Wo, 64 of them for a batch of 64) is too small for
# either.  The price is that W @ cols comes out channel-major, (C_out, N, Ho*Wo):
# :func:`swap01` turns it into PyTorch's (N, C_out, Ho, Wo) and the upstream gradient
# back.  (ops.py, 'convolution', puts these together, block by block.)

def conv_out_size(size, k, stride, padding, dilation=1):
    """Output length of a convolution along one axis (PyTorch's formula)."""
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def im2col2d(x, kh, kw, stride, padding):
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo); row c*kh*kw + i*kw + j holds tap (i, j) of
    channel c, column n*Ho*Wo + oh*Wo + ow output pixel (oh, ow) of example n.  So
    ``weight.reshape(C_out, -1) @ cols``, reshaped to (C_out, N, Ho, Wo) and with its
    first two axes swapped, is PyTorch's conv2d (a cross-correlation) with zero padding."""
    N, C, H, W = x.shape
    Ho = conv_out_size(H, kh, stride, padding)
    Wo = conv_out_size(W, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((C, kh, kw, N, Ho, Wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # Tap (i, j) of output pixel (oh, ow) reads padded pixel (i + s*oh, j + s*ow).
            window = xp[:, :, i:i + stride * (Ho - 1) + 1:stride,
                        j:j + stride * (Wo - 1) + 1:stride]          # (N, C, Ho, Wo)
            cols[:, i, j] = window.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * Ho * Wo)


def col2im2d(cols, H, W, kh, kw, stride, padding):
    """Adjoint of :func:`im2col2d`: (C*kh*kw, N*Ho*Wo) -> (N, C, H, W), summing the
    entries of overlapping windows; entries that landed in the padding are dropped."""
    C = cols.shape[0] // (kh * kw)
    Ho = conv_out_size(H, kh, stride, padding)
    Wo = conv_out_size(W, kw, stride, padding)
    N = cols.shape[1] // (Ho * Wo)
    cols = cols.reshape(C, kh, kw, N, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            # Same strided view as im2col2d, written with += (the transpose of a copy).
            xp[:, :, i:i + stride * (Ho - 1) + 1:stride,
               j:j + stride * (Wo - 1) + 1:stride] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, padding:padding + H, padding:padding + W].copy()


def conv1d_out_size(L, k, stride, dilation, pad_left, pad_right):
    """Output length of a 1-D convolution with unequal padding."""
    return (L + pad_left + pad_right - dilation * (k - 1) - 1) // stride + 1


def im2col1d(x, k, stride, dilation, pad_left, pad_right):
    """(N, C, L) -> (C*k, N*Lo); row c*k + j holds tap j (offset j*dilation) of channel c,
    column n*Lo + t output position t of example n.
    Unequal padding gives causal convolution (pad_left = dilation*(k-1), pad_right = 0):
    output t then sees only inputs <= t, the WaveNet layout (van den Oord et al. 2016)."""
    N, C, L = x.shape
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    xp = np.pad(x, ((0, 0), (0, 0), (pad_left, pad_right)))
    cols = np.empty((C, k, N, Lo), dtype=x.dtype)
    for j in range(k):
        start = j * dilation
        cols[:, j] = xp[:, :, start:start + stride * (Lo - 1) + 1:stride].transpose(1, 0, 2)
    return cols.reshape(C * k, N * Lo)


def col2im1d(cols, L, k, stride, dilation, pad_left, pad_right):
    """Adjoint of :func:`im2col1d`: (C*k, N*Lo) -> (N, C, L), overlaps summed."""
    C = cols.shape[0] // k
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    N = cols.shape[1] // Lo
    cols = cols.reshape(C, k, N, Lo)
    xp = np.zeros((N, C, L + pad_left + pad_right), dtype=cols.dtype)
    for j in range(k):
        start = j * dilation
        xp[:, :, start:start + stride * (Lo - 1) + 1:stride] += cols[:, j].transpose(1, 0, 2)
    return xp[:, :, pad_left:pad_left + L].copy()


def swap01(y):
    """(A, B, L) -> (B, A, L), contiguous: the channel-major product (C_out, N, L) to
    PyTorch's batch-major (N, C_out, L), and the upstream gradient back.  Its own
    inverse and its own adjoint (a permutation of entries)."""
    return np.ascontiguousarray(y.transpose(1, 0, 2))


# ----------------------------------------------------- Winograd's 3x3 convolution F(2x2, 3x3)
# A 3x3, stride-1 convolution computes each 2x2 block of outputs from a 4x4 patch of
# input.  Winograd's minimal filtering algorithm (Lavin & Gray 2016, "Fast Algorithms for
# Convolutional Neural Networks", section 4) does it with 16 multiplications instead of
# 36:
#
#     y = A^T [ (G w G^T) * (B^T d B) ] A          (* elementwise, all 4x4)
#
# with the fixed matrices below.  Summed over input channels, the elementwise product
# becomes 16 matrix products, one per entry p of the 4x4 tile,
#
#     M[p] = U[p] @ V[p]      U = G w G^T as (16, C_out, C),  V = B^T d B as (16, C, tiles)
#
# so a convolution is: transform the input (winograd_in), 16 products on BLAS, transform
# back (winograd_out): 2.25x fewer multiplications than im2col's product, for a few
# additions per tile.  y is linear in U and in V, so the backward needs only the adjoints
# (transposes) of the three transforms:
#
#     dM = A dy A^T (winograd_out_adjoint),  dV[p] = U[p]^T @ dM[p],  dU[p] = dM[p] @ V[p]^T,
#     dx = B dV B^T added back onto the patches (winograd_in_adjoint),
#     dw = G^T dU G (winograd_weight_adjoint).
#
# Tiles: tile (i, j) of example n makes outputs (2i..2i+1, 2j..2j+1) from rows 2i..2i+3
# and columns 2j..2j+3 of the zero-padded input; with th x tw = ceil(Ho/2) x ceil(Wo/2)
# tiles per example, an odd Ho or Wo makes half a tile of outputs that are dropped.
# Tile arrays are (16, C, N*th*(tw+1)): entry p = 4a + b (row a, column b of the 4x4
# tile) of tile (i, j) of example n is column n*th*(tw+1) + i*(tw+1) + j.  Each row of
# tiles has one SPARE tile, j = tw: zero in what winograd_in and winograd_out_adjoint
# make, ignored by winograd_out and winograd_in_adjoint.  It costs 1/tw more products
# and lets the compiled kernels (cpu.py) run every transform of a plane as a few long
# loops over all its tiles at once.  The transforms use only additions and halves, so the
# result differs from the direct sum by rounding only (float32: about 1e-6 relative).
WINOGRAD_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
WINOGRAD_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], float)
WINOGRAD_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)


def winograd_tiles(Ho, Wo):
    """Rows of tiles and tiles per row (spare tile not counted): ceil(Ho/2), ceil(Wo/2)."""
    return (Ho + 1) // 2, (Wo + 1) // 2


def _sandwich(L, X, R):
    """L @ X @ R over the last two axes of X, in X's dtype."""
    return L.astype(X.dtype) @ X @ R.astype(X.dtype)


def _to_tiles(t, N, th, tw):
    """(N, C, th, tw, 4, 4) -> (16, C, N*th*(tw+1)), the spare tiles zero."""
    C = t.shape[1]
    out = np.zeros((4, 4, C, N, th, tw + 1), dtype=t.dtype)
    out[..., :tw] = t.transpose(4, 5, 1, 0, 2, 3)
    return out.reshape(16, C, N * th * (tw + 1))


def _from_tiles(v, N, th, tw):
    """(16, C, N*th*(tw+1)) -> (N, C, th, tw, 4, 4), the spare tiles dropped."""
    C = v.shape[1]
    return v.reshape(4, 4, C, N, th, tw + 1)[..., :tw].transpose(3, 2, 4, 5, 0, 1)


def winograd_weight(w2):
    """U = G w G^T: weights (C_out, C*9) (im2col's layout) -> (16, C_out, C)."""
    co = w2.shape[0]
    w = w2.reshape(co, -1, 3, 3)
    u = _sandwich(WINOGRAD_G, w, WINOGRAD_G.T)                      # (C_out, C, 4, 4)
    return np.ascontiguousarray(u.reshape(co, w.shape[1], 16).transpose(2, 0, 1))


def winograd_weight_adjoint(u):
    """Adjoint of winograd_weight: (16, C_out, C) -> (C_out, C*9), dw = G^T dU G."""
    co, c = u.shape[1], u.shape[2]
    du = u.transpose(1, 2, 0).reshape(co, c, 4, 4)
    return np.ascontiguousarray(_sandwich(WINOGRAD_G.T, du, WINOGRAD_G).reshape(co, c * 9))


def winograd_in(x, padding):
    """V = B^T d B for every 4x4 input patch d: (N, C, H, W) -> (16, C, N*th*(tw+1))."""
    N, C, H, W = x.shape
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    # Rows 2i..2i+3 of the padded input for i < th: 2*th + 2 rows in all (zeros beyond).
    xp = np.pad(x, ((0, 0), (0, 0), (padding, 2 * th + 2 - H - padding),
                    (padding, 2 * tw + 2 - W - padding)))
    d = np.lib.stride_tricks.sliding_window_view(xp, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
    return _to_tiles(_sandwich(WINOGRAD_BT, d, WINOGRAD_BT.T), N, th, tw)


def winograd_in_adjoint(v, N, H, W, padding):
    """Adjoint of winograd_in: (16, C, N*th*(tw+1)) -> (N, C, H, W).  Each tile's
    B dV B^T is added back onto the 4x4 patch it was read from (neighbouring patches
    overlap by two rows or columns); what lands in the padding is dropped."""
    C = v.shape[1]
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    d = _sandwich(WINOGRAD_BT.T, _from_tiles(v, N, th, tw), WINOGRAD_BT)
    xp = np.zeros((N, C, 2 * th + 2, 2 * tw + 2), dtype=v.dtype)
    for a in range(4):
        for b in range(4):
            xp[:, :, a:a + 2 * th:2, b:b + 2 * tw:2] += d[..., a, b]
    return xp[:, :, padding:padding + H, padding:padding + W].copy()


def winograd_out(m, N, Ho, Wo):
    """y = A^T M A for every tile: (16, C_out, N*th*(tw+1)) -> (N, C_out, Ho*Wo), the
    layout of conv_forward's output (the half tiles past an odd edge dropped)."""
    co = m.shape[1]
    th, tw = winograd_tiles(Ho, Wo)
    y = _sandwich(WINOGRAD_AT, _from_tiles(m, N, th, tw), WINOGRAD_AT.T)   # (..., 2, 2)
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(N, co, 2 * th, 2 * tw)
    return np.ascontiguousarray(y[:, :, :Ho, :Wo]).reshape(N, co, Ho * Wo)


def winograd_out_adjoint(g, Ho, Wo):
    """Adjoint of winograd_out: (N, C_out, Ho*Wo) -> (16, C_out, N*th*(tw+1)),
    dM = A g A^T for every 2x2 block of the upstream gradient (zeros past an odd edge)."""
    N, co = g.shape[0], g.shape[1]
    th, tw = winograd_tiles(Ho, Wo)
    gp = np.zeros((N, co, 2 * th, 2 * tw), dtype=g.dtype)
    gp[:, :, :Ho, :Wo] = g.reshape(N, co, Ho, Wo)
    t = gp.reshape(N, co, th, 2, tw, 2).transpose(0, 1, 2, 4, 3, 5)   # (N, C_out, th, tw, 2, 2)
    return _to_tiles(_sandwich(WINOGRAD_AT.T, t, WINOGRAD_AT), N, th, tw)


# The whole convolution and its gradients, composed of the transforms above: what the
# engine calls (ops.py).  cpu.py fuses each into one parallel pass over blocks of
# examples; the results are the same up to rounding.

def winograd_conv(x, u, padding):
    """y = winograd_out(U @ winograd_in(x)): (N, C, H, W), u = winograd_weight(w) ->
    (N, C_out, Ho*Wo)."""
    N, _, H, W = x.shape
    return winograd_out(np.matmul(u, winograd_in(x, padding)), N, H + 2 * padding - 2,
                        W + 2 * padding - 2)


def winograd_conv_input_grad(g, u, H, W, padding):
    """dx = winograd_in_adjoint(U^T @ winograd_out_adjoint(g)): (N, C_out, Ho*Wo) ->
    (N, C, H, W)."""
    dm = winograd_out_adjoint(g, H + 2 * padding - 2, W + 2 * padding - 2)
    return winograd_in_adjoint(np.matmul(u.mT, dm), g.shape[0], H, W, padding)


def winograd_conv_weight_grad(x, g, padding):
    """dU = winograd_out_adjoint(g) @ winograd_in(x)^T, (16, C_out, C); the weight
    gradient is winograd_weight_adjoint(dU)."""
    H, W = x.shape[2], x.shape[3]
    dm = winograd_out_adjoint(g, H + 2 * padding - 2, W + 2 * padding - 2)
    return np.matmul(dm, winograd_in(x, padding).mT)


def winograd_conv_grads(x, g, u, padding):
    """(dx, dU): both gradients of winograd_conv."""
    return (winograd_conv_input_grad(g, u, x.shape[2], x.shape[3], padding),
            winograd_conv_weight_grad(x, g, padding))


# ------------------------------------------------------------- softmax and cross-entropy
# -log softmax(z)_t = logsumexp(z) - z_t.  Shifting by max(z) before exp keeps every
# exponent <= 0, so nothing overflows; the shift cancels exactly in the math.

def xent_forward(logits, targets):
    """Per-row cross-entropy of logits (N, V) against integer targets (N,).
    Returns (loss, lse): lse_i = logsumexp_j logits_ij, loss_i = lse_i - logits[i, t_i].
    lse is returned so the backward pass need not recompute it."""
    m = logits.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
    picked = logits[np.arange(logits.shape[0]), targets]
    return lse - picked, lse


def xent_backward(logits, targets, lse, g):
    """d loss_i / d logits_ij = softmax(logits_i)_j - [j == t_i], scaled by the incoming
    gradient g_i: the classic 'probabilities minus one-hot'."""
    p = np.exp(logits - lse[:, None])
    p[np.arange(logits.shape[0]), targets] -= 1
    return (g[:, None] * p).astype(logits.dtype, copy=False)


def causal_mask(T, S):
    """Boolean (T, S), True where key s is hidden from query t: s > t + (S - T).
    With S > T the first S - T keys are a prefix (cached context) every query sees."""
    return np.arange(S)[None, :] > np.arange(T)[:, None] + (S - T)


def softmax_lastaxis(x, causal):
    """Softmax over the last axis of x (..., T, S), max-shifted.  With causal=True the
    masked entries (see :func:`causal_mask`) get probability exactly 0: they are set to
    -inf before the shift, and exp(-inf) = 0.  Every row keeps key 0, so no row is empty."""
    if causal:
        x = np.where(causal_mask(x.shape[-2], x.shape[-1]), -np.inf, x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(x.dtype, copy=False)


# ----------------------------------------------------------- Gaussian kernels on point sets
# ||x - c||^2 = ||x||^2 + ||c||^2 - 2 x.c turns the pairwise distances of a row block into
# one matrix product (BLAS) plus two broadcasts; rounding can make it slightly negative,
# hence the clip.  Blocks of rows keep each (rows, N) temporary within _BLOCK_BYTES.

def _sq_dists(a, b, bb):
    """Squared distances (len(a), len(b)) through the Gram matrix, clipped at 0."""
    d2 = (a * a).sum(axis=1)[:, None] + bb[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0, out=d2)


def gauss_logsumexp(x, c, h):
    """out_i = logsumexp_j(-||x_i - c_j||^2 / (2 h^2)) for x (M, D), c (N, D).
    The KDE log-density (Parzen 1962) of x_i is out_i - log N - (D/2) log(2 pi h^2);
    callers add those constants."""
    M, N = x.shape[0], c.shape[0]
    cc = (c * c).sum(axis=1)
    out = np.empty(M, dtype=x.dtype)
    step = _rows_per_block(N, x.itemsize)
    for r0 in range(0, M, step):
        a = -_sq_dists(x[r0:r0 + step], c, cc) / (2.0 * h * h)
        m = a.max(axis=1, keepdims=True)
        out[r0:r0 + step] = (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]
    return out


def _gauss_kernel_sum(a, b, h, skip_diagonal):
    """sum_ij exp(-||a_i - b_j||^2 / (2h^2)) in float64, by row blocks; with
    skip_diagonal (a is b) the i == j terms are left out."""
    bb = (b * b).sum(axis=1)
    step = _rows_per_block(len(b), a.itemsize)
    total = 0.0
    for r0 in range(0, len(a), step):
        k = np.exp(-_sq_dists(a[r0:r0 + step], b, bb) / (2.0 * h * h))
        if skip_diagonal:
            rows = np.arange(len(k))
            k[rows, r0 + rows] = 0.0
        total += float(k.sum(dtype=np.float64))
    return total


def mmd2(x, y, h):
    """Unbiased MMD^2 between samples x (n, D) and y (m, D) with the Gaussian kernel
    k(a, b) = exp(-||a - b||^2 / (2 h^2)) (Gretton et al. 2012, eq. 3):
        1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
        - 2/(nm) sum_{i,j} k(x_i, y_j).
    Dropping the diagonal makes it unbiased (it can be slightly negative).  Needs n, m >= 2."""
    n, m = len(x), len(y)
    kxx = _gauss_kernel_sum(x, x, h, True) / (n * (n - 1))
    kyy = _gauss_kernel_sum(y, y, h, True) / (m * (m - 1))
    kxy = _gauss_kernel_sum(x, y, h, False) / (n * m)
    return kxx + kyy - 2.0 * kxy


# ---------------------------------------------------------------------------- optimizers

def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """One Adam step, in place on 1-D arrays p, m, v (Kingma & Ba 2015, Algorithm 1):
        m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
        p <- p - lr * mhat / (sqrt(vhat) + eps),  mhat = m/(1-b1^t), vhat = v/(1-b2^t).
    decoupled=False is Adam with L2: the gradient is g + wd*p.  decoupled=True is AdamW
    (Loshchilov & Hutter 2019): p <- p (1 - lr*wd) first, and the gradient stays g, so the
    decay is not rescaled by 1/sqrt(vhat).  The order matches torch.optim.AdamW."""
    if weight_decay != 0.0:
        if decoupled:
            p *= 1.0 - lr * weight_decay
        else:
            g = g + weight_decay * p          # new array: the caller's grad is untouched
    m *= beta1
    m += (1.0 - beta1) * g
    v *= beta2
    v += (1.0 - beta2) * (g * g)
    mhat = m / (1.0 - beta1 ** step)
    vhat = v / (1.0 - beta2 ** step)
    p -= lr * mhat / (np.sqrt(vhat) + eps)


# ---------------------------------------------------------------------------- MCMC steps
# For p(x) ∝ exp(-E(x)), the Langevin diffusion dx = -grad E dt + sqrt(2) dW discretised
# with step eps/2 gives x' = x - (eps/2) grad E(x) + sqrt(eps) z (Isola L14, 'Energy-based
# models — sampling'; Welling & Teh 2011 use the same parametrisation).

def langevin_step(x, grad_e, noise, eps):
    """Unadjusted Langevin step for a batch of chains x (B, D): new array."""
    return (x - (eps / 2) * grad_e + np.sqrt(eps) * noise).astype(x.dtype, copy=False)


def _log_q(b, a, grad_a, eps):
    """log N(b; a - (eps/2) grad E(a), eps I) up to a constant that cancels in the ratio."""
    diff = b - a + (eps / 2) * grad_a
    return -(diff * diff).sum(axis=1) / (2 * eps)


def mala_accept(x, gx, ex, y, gy, ey, log_u, eps):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996) accept/reject for a batch:
        log alpha = (E(x) - E(y)) + log q(x | y) - log q(y | x),
    q the Langevin proposal.  Accept where log u < log alpha.  The correction makes
    exp(-E) exactly stationary, which the unadjusted step is not."""
    log_alpha = (ex - ey) + _log_q(x, y, gy, eps) - _log_q(y, x, gx, eps)
    accepted = log_u < log_alpha
    return np.where(accepted[:, None], y, x), accepted


# ------------------------------------------------------------ exact enumeration of 2^n states
# A Boltzmann machine / Ising model over n binary units has E(x) = -1/2 x^T W x - b^T x and
# Z = sum over all 2^n states of exp(-E).  For n <= 24 this sum is done exactly, which
# gives the ground truth log Z that the lecture's 'gradient of log Z' needs (Isola L14).

_STATE_CHUNK = 2**16


def _states(start, stop, n, spin):
    """Rows x for state indices start..stop-1: bit k of the index is unit k."""
    idx = np.arange(start, stop, dtype=np.int64)
    bits = ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)
    return 2.0 * bits - 1.0 if spin else bits


def _chunk_energies(W, b, start, stop, spin):
    x = _states(start, stop, len(b), spin)
    return -0.5 * ((x @ W) * x).sum(axis=1) - x @ b


def quadratic_energies(W, b, spin):
    """E(x) for every state x, float64 (2^n,), index s <-> bits of s (bit k = unit k);
    spin=True maps bits {0, 1} to spins {-1, +1}.  Chunks of states keep the (chunk, n)
    state matrix small."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    total = 1 << len(b)
    out = np.empty(total, dtype=np.float64)
    for s0 in range(0, total, _STATE_CHUNK):
        s1 = min(total, s0 + _STATE_CHUNK)
        out[s0:s1] = _chunk_energies(W, b, s0, s1, spin)
    return out


def quadratic_logz(W, b, spin):
    """log Z = log sum_x exp(-E(x)) in float64, never holding all 2^n energies: a running
    (max, sum) pair is rescaled whenever a chunk raises the max (streaming log-sum-exp)."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    total = 1 << len(b)
    run_max, run_sum = -np.inf, 0.0
    for s0 in range(0, total, _STATE_CHUNK):
        a = -_chunk_energies(W, b, s0, min(total, s0 + _STATE_CHUNK), spin)
        new_max = max(run_max, a.max())
        run_sum = run_sum * np.exp(run_max - new_max) + np.exp(a - new_max).sum()
        run_max = new_max
    return float(run_max + np.log(run_sum))
