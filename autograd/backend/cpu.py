"""The kernels of ``reference.py``, compiled for the CPU with Numba.

Same names, same signatures, same results (up to summation order).  Read this file next
to ``reference.py``: each public function is a thin wrapper that prepares arrays (one
floating dtype, C-contiguous, output allocated) and launches one module-level
``@njit(parallel=True, cache=True)`` kernel whose name starts with an underscore.  The
kernels share a few serial ``@njit(cache=True)`` helpers (a branch-free ``_exp``, a row
log-sum-exp, distance rows), which Numba inlines into them.

Rules every kernel here follows (DESIGN.md, 'Numba rules'):
  * no closures and no functions passed as arguments (they defeat the on-disk cache);
  * inside ``prange`` each iteration writes only slots no other iteration writes: a
    kernel parallel over (n, c) planes owns its planes, a reduction gives each row or
    chunk its own partial result, and partials are combined after the loop;
  * matrix products stay on BLAS (``np.matmul``) outside Numba; Numba does the loops
    NumPy would run with big temporaries or in Python.  One exception, measured: the
    small per-tile products of Winograd's convolution run inside its one parallel pass
    (see 'Winograd' below: a BLAS call between Numba launches kept 2 threads no faster
    than 1).
Partial sums of floats are accumulated in float64 whatever the array dtype, so float32
results stay close to the reference's.
"""
import math

# OMP_WAIT_POLICY=PASSIVE is set by autograd/__init__.py, before any parallel launch.

import numpy as np                      # noqa: E402
from llvmlite import ir                 # noqa: E402
from numba import get_num_threads, njit, prange, types   # noqa: E402
from numba.extending import intrinsic, overload   # noqa: E402

from . import reference
from .reference import conv1d_out_size, conv_out_size, winograd_tiles

_FLOATS = (np.float32, np.float64)

# Largest (rows, N) block of a Gram matrix the pairwise kernels hold at once (bytes).
_BLOCK_BYTES = 16 * 2**20
# Below this dimension a pairwise kernel computes ||x - c||^2 directly (3 flops per
# coordinate, one pass); at or above it, a BLAS Gram matrix x @ c.T is cheaper.
_DIRECT_MAX_DIM = 16


def _float_array(a, dtype=None):
    """C-contiguous array of one floating dtype (the given one, else a's own if it is
    float32/float64, else float64): every distinct dtype/layout is another compile."""
    a = np.asarray(a)
    if dtype is None:
        dtype = a.dtype if a.dtype in _FLOATS else np.float64
    return np.ascontiguousarray(a, dtype=dtype)


def _check_targets(targets, V):
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(f"targets must lie in [0, {V}); got values in "
                         f"[{targets.min()}, {targets.max()}]")
    return targets


# --------------------------------------------------------------------------- convolution
# The columns are (C*kh*kw, N*Ho*Wo), the whole batch side by side (reference.py says
# why); the kernels see them as (C*kh*kw, N, Ho*Wo), so that cols[row, n] is the
# contiguous piece of row `row` that belongs to example n: tap (i, j) of channel c over
# the output pixels of plane (n, c).
#  * im2col: one parallel task per (row, block of examples).  It writes its pieces of
#    one row, consecutive in memory, reading plane (n, c) of each example.
#  * col2im: one parallel task per (channel, block of examples).  It owns planes (n, c)
#    of its examples and adds into them every tap of channel c, tap by tap, in a fixed
#    order; no other task writes there (no races, no shared accumulators).
# Both walk each row of cols sequentially.  A task per plane instead (all kh*kw taps of
# plane (n, c) at once) reads or writes kh*kw pieces N*Ho*Wo entries apart at once:
# 2-3x slower, measured on the 28x28, 3x3 layer (those addresses are a multiple of 4 kB
# apart, so they compete for the same cache sets).  Planes are passed flat, (N, C, H*W).
#
# Two details decide the speed (measured: 3x on a 28x28, 3x3 layer):
#  * Inner loops index views with a counter that starts at 0 (`d[r] = s[r]`).  Numba
#    must handle negative indices (a[-1]); with an index it cannot prove >= 0, every
#    access carries that check and the loop does not vectorize.
#  * With stride 1 and an output as wide as the input ('same' padding: kw = 2p + 1),
#    output pixel q of tap (i, j) reads input pixel q + shift for all q at once, so each
#    tap is ONE contiguous copy; the few entries that wrapped around a row end (where
#    the window hangs over the left/right border) are then cleared.  Other shapes go
#    row by row.

@njit(cache=True)
def _valid_range(tap, padding, stride, size, out_size):
    """Output positions o in [lo, hi) whose input o*stride - padding + tap lies inside
    [0, size): lo is a ceiling division, hi a floor division."""
    lo = max(0, -((tap - padding) // stride))
    hi = max(lo, min(out_size, (size - 1 + padding - tap) // stride + 1))
    return lo, hi


@njit(cache=True)
def _clear_wrapped(row, q0, W, oh0, oh1, ow0, ow1):
    """Zero the entries of a same-width tap row (held from flat position q0 on) that a
    contiguous copy took from the wrong image row: columns < ow0 and >= ow1 of the
    output rows strictly between oh0 and oh1 - 1's ends."""
    for oh in range(oh0 + 1, oh1):
        for r in range((oh - 1) * W + ow1 - q0, oh * W + ow0 - q0):
            row[r] = 0


@njit(cache=True)
def _im2col2d_piece(src, dst, i, j, H, W, stride, padding, Ho, Wo):
    """Tap (i, j) of every output pixel of one plane: src (H*W,) -> dst (Ho*Wo,)."""
    oh0, oh1 = _valid_range(i, padding, stride, H, Ho)
    ow0, ow1 = _valid_range(j, padding, stride, W, Wo)
    for q in range(Ho * Wo):
        dst[q] = 0
    if oh0 == oh1 or ow0 == ow1:
        return
    if stride == 1 and Wo == W:
        q0, q1 = oh0 * W + ow0, (oh1 - 1) * W + ow1
        shift = (i - padding) * W + (j - padding)
        d, s = dst[q0:q1], src[q0 + shift:q1 + shift]
        for r in range(q1 - q0):
            d[r] = s[r]
        _clear_wrapped(d, q0, W, oh0, oh1, ow0, ow1)
    else:
        for oh in range(oh0, oh1):
            start = (oh * stride - padding + i) * W + ow0 * stride - padding + j
            d, s = dst[oh * Wo + ow0:oh * Wo + ow1], src[start:]
            for r in range(ow1 - ow0):
                d[r] = s[r * stride]


@njit(cache=True)
def _col2im2d_piece(src, dst, buf, i, j, H, W, stride, padding, Ho, Wo):
    """The adjoint of _im2col2d_piece, added into dst: src (Ho*Wo,) -> dst (H*W,)."""
    oh0, oh1 = _valid_range(i, padding, stride, H, Ho)
    ow0, ow1 = _valid_range(j, padding, stride, W, Wo)
    if oh0 == oh1 or ow0 == ow1:
        return
    if stride == 1 and Wo == W:
        # The adjoint of the contiguous copy: copy the tap row to a buffer, clear the
        # wrapped entries there (they belong to no pixel), add.
        q0, q1 = oh0 * W + ow0, (oh1 - 1) * W + ow1
        shift = (i - padding) * W + (j - padding)
        b, s = buf[:q1 - q0], src[q0:q1]
        for r in range(q1 - q0):
            b[r] = s[r]
        _clear_wrapped(b, q0, W, oh0, oh1, ow0, ow1)
        d = dst[q0 + shift:q1 + shift]
        for r in range(q1 - q0):
            d[r] += b[r]
    else:
        for oh in range(oh0, oh1):
            start = (oh * stride - padding + i) * W + ow0 * stride - padding + j
            d, s = dst[start:], src[oh * Wo + ow0:oh * Wo + ow1]
            for r in range(ow1 - ow0):
                d[r * stride] += s[r]


@njit(parallel=True, cache=True)
def _im2col2d(x, H, W, kh, kw, stride, padding, Ho, Wo, nper, cols):
    N, C = x.shape[0], x.shape[1]
    nb = (N + nper - 1) // nper
    for rb in prange(C * kh * kw * nb):
        row, b = rb // nb, rb % nb
        c, i, j = row // (kh * kw), (row // kw) % kh, row % kw
        for n in range(b * nper, min(N, (b + 1) * nper)):
            _im2col2d_piece(x[n, c], cols[row, n], i, j, H, W, stride, padding, Ho, Wo)


@njit(parallel=True, cache=True)
def _col2im2d(cols, H, W, kh, kw, stride, padding, Ho, Wo, nper, x):
    N, C = x.shape[0], x.shape[1]
    nb = (N + nper - 1) // nper
    for cb in prange(C * nb):
        c, b = cb // nb, cb % nb
        n0, n1 = b * nper, min(N, (b + 1) * nper)
        for n in range(n0, n1):
            plane = x[n, c]
            for q in range(H * W):
                plane[q] = 0
        buf = np.empty(Ho * Wo, dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for n in range(n0, n1):
                    _col2im2d_piece(cols[row, n], x[n, c], buf, i, j, H, W, stride,
                                    padding, Ho, Wo)


def _examples_per_task(plane_size):
    """Examples per parallel task: their planes of one channel fill about 64 kB (f32),
    so col2im's running sums stay in L2 while all kh*kw taps are added to them."""
    return max(1, 16384 // max(1, plane_size))


def im2col2d(x, kh, kw, stride, padding):
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo); see reference.im2col2d."""
    x = _float_array(x)
    N, C, H, W = x.shape
    Ho, Wo = conv_out_size(H, kh, stride, padding), conv_out_size(W, kw, stride, padding)
    cols = np.empty((C * kh * kw, N, Ho * Wo), dtype=x.dtype)
    _im2col2d(x.reshape(N, C, H * W), H, W, kh, kw, stride, padding, Ho, Wo,
              _examples_per_task(H * W), cols)
    return cols.reshape(C * kh * kw, N * Ho * Wo)


def col2im2d(cols, H, W, kh, kw, stride, padding):
    """Adjoint of im2col2d: (C*kh*kw, N*Ho*Wo) -> (N, C, H, W); see reference.col2im2d."""
    cols = _float_array(cols)
    C = cols.shape[0] // (kh * kw)
    Ho, Wo = conv_out_size(H, kh, stride, padding), conv_out_size(W, kw, stride, padding)
    N = cols.shape[1] // (Ho * Wo)
    x = np.empty((N, C, H * W), dtype=cols.dtype)
    _col2im2d(cols.reshape(C * kh * kw, N, Ho * Wo), H, W, kh, kw, stride, padding, Ho, Wo,
              _examples_per_task(H * W), x)
    return x.reshape(N, C, H, W)


@njit(parallel=True, cache=True)
def _im2col1d(x, k, stride, dilation, pad_left, Lo, nper, cols):
    N, C, L = x.shape
    nb = (N + nper - 1) // nper
    for rb in prange(C * k * nb):
        row, b = rb // nb, rb % nb
        c, j = row // k, row % k
        o0, o1 = _valid_range(j * dilation, pad_left, stride, L, Lo)
        for n in range(b * nper, min(N, (b + 1) * nper)):
            dst = cols[row, n]
            for o in range(Lo):
                dst[o] = 0
            if o0 == o1:
                continue
            d = dst[o0:o1]
            s = x[n, c, o0 * stride - pad_left + j * dilation:]
            if stride == 1:
                for r in range(o1 - o0):
                    d[r] = s[r]
            else:
                for r in range(o1 - o0):
                    d[r] = s[r * stride]


@njit(parallel=True, cache=True)
def _col2im1d(cols, k, stride, dilation, pad_left, Lo, nper, x):
    N, C, L = x.shape
    nb = (N + nper - 1) // nper
    for cb in prange(C * nb):
        c, b = cb // nb, cb % nb
        n0, n1 = b * nper, min(N, (b + 1) * nper)
        for n in range(n0, n1):
            for t in range(L):
                x[n, c, t] = 0
        for j in range(k):
            o0, o1 = _valid_range(j * dilation, pad_left, stride, L, Lo)
            if o0 == o1:
                continue
            for n in range(n0, n1):
                s = cols[c * k + j, n, o0:o1]
                d = x[n, c, o0 * stride - pad_left + j * dilation:]
                if stride == 1:
                    for r in range(o1 - o0):
                        d[r] += s[r]
                else:
                    for r in range(o1 - o0):
                        d[r * stride] += s[r]


def im2col1d(x, k, stride, dilation, pad_left, pad_right):
    """(N, C, L) -> (C*k, N*Lo); see reference.im2col1d (causal: pad_right = 0)."""
    x = _float_array(x)
    N, C, L = x.shape
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    cols = np.empty((C * k, N, Lo), dtype=x.dtype)
    _im2col1d(x, k, stride, dilation, pad_left, Lo, _examples_per_task(L), cols)
    return cols.reshape(C * k, N * Lo)


def col2im1d(cols, L, k, stride, dilation, pad_left, pad_right):
    """Adjoint of im2col1d: (C*k, N*Lo) -> (N, C, L); see reference.col2im1d."""
    cols = _float_array(cols)
    C = cols.shape[0] // k
    Lo = conv1d_out_size(L, k, stride, dilation, pad_left, pad_right)
    N = cols.shape[1] // Lo
    x = np.empty((N, C, L), dtype=cols.dtype)
    _col2im1d(cols.reshape(C * k, N, Lo), k, stride, dilation, pad_left, Lo,
              _examples_per_task(L), x)
    return x


@njit(parallel=True, cache=True)
def _swap01(y, out):
    A, B, L = y.shape
    for ba in prange(B * A):
        b, a = ba // A, ba % A
        d, s = out[b, a], y[a, b]
        for t in range(L):
            d[t] = s[t]


def swap01(y):
    """(A, B, L) -> (B, A, L), contiguous; see reference.swap01.  One parallel iteration
    per output row, a contiguous copy of L entries."""
    y = _float_array(y)
    out = np.empty((y.shape[1], y.shape[0], y.shape[2]), dtype=y.dtype)
    _swap01(y, out)
    return out


# ------------------------------------------------------------------ a vectorizable exp
# The loops below spend their time in exp.  Numba's math.exp is a call into libm per
# element, which stops LLVM from vectorizing the loop (this Numba has no SVML), and then
# the Numba kernels lose to NumPy's SIMD exp.  _exp is exp written with arithmetic only,
# so a loop over it compiles to vector instructions.  Cody & Waite (1980) reduction:
#     e^x = 2^k e^r,  k = round(x / ln 2),  r = x - k ln 2  in [-ln2/2, ln2/2],
# with ln 2 split in two (hi has trailing zero bits, so k*hi is exact), e^r by its Taylor
# series to r^12 (truncation < 3e-16 on that interval), and 2^k written straight into the
# exponent bits of a float64.  Valid for x <= 709; every caller passes x <= 0 (values
# shifted by their maximum).  Below -708 it returns exactly 0 (true value < 3e-308);
# NaN in gives NaN out.  Compiled without 'reassoc' so the two-part reduction is kept.
# _exp32 is its float32 twin (twice as many lanes per vector instruction), and
# _exp_native picks one by the dtype of its argument when a kernel is compiled.

@intrinsic
def _float64_from_bits(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (a cast of bits, not of value)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01      # fdlibm's split of ln 2
_LN2_LO = 1.90821492927058770002e-10


@njit(cache=True, fastmath={"contract"})
def _exp(x):
    k = math.floor(max(x, -708.0) * _LOG2E + 0.5)
    r = (max(x, -708.0) - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 479001600.0                  # 1/12!, then Horner down to 1/0!
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    v = p * _float64_from_bits((k + 1023) << 52)
    v = 0.0 if x < -708.0 else v
    return x if x != x else v


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret the 32 bits of an int32 as a float32."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


_F32 = np.float32


@njit(cache=True, fastmath={"contract"})
def _exp32(x):
    """_exp in float32 arithmetic, for float32 arrays: twice the vector width.  Same
    reduction with Cephes' float32 split of ln 2, Taylor series to r^7 (truncation
    < 3e-8, so ~1 ulp in all), 2^k in the 8 exponent bits; exactly 0 below -87 (true
    value < 2e-38: float32 has only subnormals there)."""
    xc = max(x, _F32(-87.0))
    k = np.int32(math.floor(xc * _F32(_LOG2E) + _F32(0.5)))
    kf = _F32(k)
    r = (xc - kf * _F32(0.693359375)) - kf * _F32(-2.12194440e-4)
    p = _F32(1.0 / 5040.0)
    p = p * r + _F32(1.0 / 720.0)
    p = p * r + _F32(1.0 / 120.0)
    p = p * r + _F32(1.0 / 24.0)
    p = p * r + _F32(1.0 / 6.0)
    p = p * r + _F32(0.5)
    p = p * r + _F32(1.0)
    p = p * r + _F32(1.0)
    v = p * _float32_from_bits(np.int32((k + 127) << 23))
    v = _F32(0.0) if x < _F32(-87.0) else v
    return x if x != x else v


def _exp_native(x):
    """exp in the precision of x: _exp32 for float32, _exp otherwise.  A stub for
    Python; inside kernels the overload below picks the version at compile time."""
    return math.exp(x)


@overload(_exp_native)
def _exp_native_by_type(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: _exp(x)


# Sums in the loops below may be reordered (vectorized): 'reassoc' lets LLVM keep several
# partial sums.  No 'nnan'/'ninf': NaN and inf keep their IEEE meaning.
_REORDER = {"reassoc", "contract", "nsz"}


@njit(cache=True)
def _row_max(z):
    """max of a 1-D array with eight independent running maxima.  One running max is a
    chain of dependent compares that LLVM does not vectorize (even with fast-math);
    eight chains overlap, and the loop runs ~3x faster."""
    n = z.shape[0]
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = z[0]
    n8 = n - n % 8
    for j in range(0, n8, 8):
        m0, m1 = max(m0, z[j]), max(m1, z[j + 1])
        m2, m3 = max(m2, z[j + 2]), max(m3, z[j + 3])
        m4, m5 = max(m4, z[j + 4]), max(m5, z[j + 5])
        m6, m7 = max(m6, z[j + 6]), max(m7, z[j + 7])
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    for j in range(n8, n):
        m = max(m, z[j])
    return m


@njit(cache=True, fastmath=_REORDER)
def _logsumexp(z):
    """log sum_j exp(z_j) of a 1-D row, max-shifted.  Two sweeps over the row (its max,
    then the sum of exp(z - max)); a row of a 10,000-word vocabulary stays in cache
    between them, and each sweep vectorizes, which the branchy one-sweep online form
    (rescale the sum whenever the max grows) does not.  A NaN anywhere makes the sum,
    hence the result, NaN."""
    m = _row_max(z)
    s = 0.0                                # exps in z's precision, their sum in float64
    for j in range(z.shape[0]):
        s += _exp_native(z[j] - m)
    return m + math.log(s)


# ----------------------------------------------------- Winograd's 3x3 convolution F(2x2, 3x3)
# reference.py states the algorithm and the tile layout.  Each transform is one parallel
# task per block of planes (n, c) and, per plane, a few LONG loops over all its tiles at
# once (th*(tw+1) of them: the spare tile of each row is what makes the tiles of a plane
# one run), each loop one output and two or three inputs, which LLVM vectorizes.  Loops
# over the tiles of one row (14 on a 28x28 image) are too short to vectorize, and a loop
# per tile does its 16 loads and stores one number at a time: both measured 1.6-2x slower
# per transform on the benchmark's layer.
#
# The trick that makes the loops long: the zero-padded plane is cut into its four
# quarters q[rp, cp] of (row parity, column parity), each with rows of tw + 1 numbers.
# Entry (r, s) of the 4x4 patch of tile u = i*(tw+1) + j is then
#     q[r % 2, s % 2][u + (r // 2)*(tw+1) + s // 2],
# the same quarter at a fixed offset for every tile.  So "row r of every patch" is a
# contiguous slice, and B^T d B is the combinations of rows (d0 - d2, d1 + d2, d2 - d1,
# d1 - d3) of four slices, then the same combinations of columns.  The output side runs
# the other way: tiles to quarters to the plane.

@njit(cache=True)
def _add(out, x, y):
    for t in range(out.size):
        out[t] = x[t] + y[t]


@njit(cache=True)
def _sub(out, x, y):
    for t in range(out.size):
        out[t] = x[t] - y[t]


@njit(cache=True)
def _split(plane, r0, c0, TW, q):
    """q[rp, cp, i*TW + k] = plane[2i + rp - r0, 2k + cp - c0]: the plane, shifted by
    (r0, c0), cut into its (row parity, column parity) quarters; q is zeroed before."""
    H, W = plane.shape
    for r in range(H):
        pr = r + r0
        for cp in range(2):
            first = (cp - c0) % 2                       # the first column of this parity
            dst = q[pr % 2, cp, (pr // 2) * TW + (first + c0) // 2:]
            src = plane[r, first:]
            for m in range((W - first + 1) // 2):
                dst[m] = src[2 * m]


@njit(cache=True)
def _merge(q, r0, c0, TW, plane):
    """The inverse of _split on the plane's own entries: plane[r, c] from its quarter."""
    H, W = plane.shape
    for r in range(H):
        pr = r + r0
        for cp in range(2):
            first = (cp - c0) % 2
            src = q[pr % 2, cp, (pr // 2) * TW + (first + c0) // 2:]
            dst = plane[r, first:]
            for m in range((W - first + 1) // 2):
                dst[2 * m] = src[m]


@njit(cache=True)
def _in_plane(plane, padding, th, tw, q, e, v, c, n):
    """V = B^T d B for every tile of one plane: plane (H, W) -> v[:, c, n] (16 runs of
    th*(tw+1); the tile array is passed whole, as a view v[:, c, n] would not vectorize).
    Scratch: q (2, 2, >= (th+1)*(tw+1) + 1), e (4, 2, >= th*(tw+1) + 1)."""
    TW = tw + 1
    T = th * TW
    q[:] = 0
    _split(plane, padding, padding, TW, q)
    for cp in range(2):                # rows of B^T d: d0 - d2, d1 + d2, d2 - d1, d1 - d3
        d0, d1 = q[0, cp, :T + 1], q[1, cp, :T + 1]
        d2, d3 = q[0, cp, TW:TW + T + 1], q[1, cp, TW:TW + T + 1]
        _sub(e[0, cp, :T + 1], d0, d2)
        _add(e[1, cp, :T + 1], d1, d2)
        _sub(e[2, cp, :T + 1], d2, d1)
        _sub(e[3, cp, :T + 1], d1, d3)
    for a in range(4):                 # then the same combinations of its columns
        s0, s1 = e[a, 0, :T], e[a, 1, :T]
        s2, s3 = e[a, 0, 1:T + 1], e[a, 1, 1:T + 1]
        _sub(v[4 * a, c, n], s0, s2)
        _add(v[4 * a + 1, c, n], s1, s2)
        _sub(v[4 * a + 2, c, n], s2, s1)
        _sub(v[4 * a + 3, c, n], s1, s3)
    for p in range(16):
        for i in range(th):
            v[p, c, n, i * TW + tw] = 0      # the spare tiles


@njit(cache=True)
def _in_adjoint_plane(v, c, n, padding, th, tw, e, h, d, q, plane):
    """The adjoint of _in_plane: v[:, c, n] -> plane (H, W).  Scratch: e (4, 4,
    >= T), h and d (4, 2, >= T + 1), q (2, 2, >= (th+1)*(tw+1) + 1)."""
    TW = tw + 1
    T = th * TW
    for a in range(4):                 # columns: v0, v1 - v2 + v3, v1 + v2 - v0, -v3
        v0, v1, v2, v3 = v[4 * a, c, n], v[4 * a + 1, c, n], v[4 * a + 2, c, n], v[4 * a + 3, c, n]
        e0, e1, e2, e3 = e[a, 0], e[a, 1], e[a, 2], e[a, 3]
        for t in range(T):
            e0[t] = v0[t]
        for t in range(T):
            e1[t] = v1[t] - v2[t] + v3[t]
        for t in range(T):
            e2[t] = v1[t] + v2[t] - v0[t]
        for t in range(T):
            e3[t] = -v3[t]
        for s in range(4):
            for i in range(th):
                e[a, s, i * TW + tw] = 0             # the spare tiles add nothing
        for cp in range(2):            # patch column cp + 2 is column cp one tile on
            hh, lo, hi = h[a, cp], e[a, cp], e[a, cp + 2]
            hh[0] = lo[0]
            for t in range(1, T):
                hh[t] = lo[t] + hi[t - 1]
            hh[T] = hi[T - 1]
    for cp in range(2):                # rows, the same combinations
        u0, u1, u2, u3 = h[0, cp], h[1, cp], h[2, cp], h[3, cp]
        w0, w1, w2, w3 = d[0, cp], d[1, cp], d[2, cp], d[3, cp]
        for t in range(T + 1):
            w0[t] = u0[t]
        for t in range(T + 1):
            w1[t] = u1[t] - u2[t] + u3[t]
        for t in range(T + 1):
            w2[t] = u1[t] + u2[t] - u0[t]
        for t in range(T + 1):
            w3[t] = -u3[t]
    q[:] = 0                           # patch row rp + 2 is row rp one tile row down
    for rp in range(2):
        for cp in range(2):
            lo, hi = d[rp, cp], d[rp + 2, cp]
            top, low = q[rp, cp, :T + 1], q[rp, cp, TW:TW + T + 1]
            for t in range(T + 1):
                top[t] += lo[t]
            for t in range(T + 1):
                low[t] += hi[t]
    _merge(q, padding, padding, TW, plane)


@njit(cache=True)
def _out_plane(m, k, n, th, tw, f, q, plane):
    """y = A^T M A for every tile of one plane: m[:, k, n] -> plane (Ho, Wo).
    Scratch: f (2, 4, >= T), q (2, 2, >= T)."""
    TW = tw + 1
    T = th * TW
    for b in range(4):                 # rows: m0 + m1 + m2, m1 - m2 - m3
        m0, m1, m2, m3 = m[b, k, n], m[4 + b, k, n], m[8 + b, k, n], m[12 + b, k, n]
        f0, f1 = f[0, b], f[1, b]
        for t in range(T):
            f0[t] = m0[t] + m1[t] + m2[t]
        for t in range(T):
            f1[t] = m1[t] - m2[t] - m3[t]
    for r in range(2):                 # then the same combinations of columns
        g0, g1, g2, g3 = f[r, 0], f[r, 1], f[r, 2], f[r, 3]
        y0, y1 = q[r, 0], q[r, 1]
        for t in range(T):
            y0[t] = g0[t] + g1[t] + g2[t]
        for t in range(T):
            y1[t] = g1[t] - g2[t] - g3[t]
    _merge(q, 0, 0, TW, plane)         # the spare tiles and half tiles stay behind


@njit(cache=True)
def _out_adjoint_plane(plane, th, tw, q, f, dm, k, n):
    """The adjoint of _out_plane: plane (Ho, Wo) -> dm[:, k, n].  Scratch:
    q (2, 2, >= T), f (4, 2, >= T)."""
    TW = tw + 1
    T = th * TW
    q[:] = 0                           # zeros past an odd edge and in the spare tiles
    _split(plane, 0, 0, TW, q)
    for s in range(2):                 # rows: g0, g0 + g1, g0 - g1, -g1
        g0, g1 = q[0, s, :T], q[1, s, :T]
        f0, f3 = f[0, s], f[3, s]
        for t in range(T):
            f0[t] = g0[t]
        _add(f[1, s, :T], g0, g1)
        _sub(f[2, s, :T], g0, g1)
        for t in range(T):
            f3[t] = -g1[t]
    for a in range(4):                 # then the same combinations of columns
        h0, h1 = f[a, 0, :T], f[a, 1, :T]
        d0, d3 = dm[4 * a, k, n], dm[4 * a + 3, k, n]
        for t in range(T):
            d0[t] = h0[t]
        _add(dm[4 * a + 1, k, n], h0, h1)
        _sub(dm[4 * a + 2, k, n], h0, h1)
        for t in range(T):
            d3[t] = -h1[t]


@njit(cache=True)
def _scratch(th, tw, like):
    """The private buffers of one task, for any of the four plane transforms."""
    TW = tw + 1
    T = th * TW
    return (np.empty((2, 2, (th + 1) * TW + 1), dtype=like.dtype),
            np.empty((4, 4, T + 1), dtype=like.dtype),
            np.empty((4, 2, T + 1), dtype=like.dtype),
            np.empty((4, 2, T + 1), dtype=like.dtype))


@njit(parallel=True, cache=True)
def _winograd_in(x, padding, th, tw, ntasks, v):
    N, C = x.shape[0], x.shape[1]
    per = (N * C + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, _, e, _ = _scratch(th, tw, x)
        for nc in range(task * per, min(N * C, (task + 1) * per)):
            _in_plane(x[nc // C, nc % C], padding, th, tw, q, e, v, nc % C, nc // C)


@njit(parallel=True, cache=True)
def _winograd_in_adjoint(v, padding, th, tw, ntasks, x):
    N, C = x.shape[0], x.shape[1]
    per = (N * C + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, e, h, d = _scratch(th, tw, x)
        for nc in range(task * per, min(N * C, (task + 1) * per)):
            _in_adjoint_plane(v, nc % C, nc // C, padding, th, tw, e, h, d, q,
                              x[nc // C, nc % C])


@njit(parallel=True, cache=True)
def _winograd_out(m, th, tw, ntasks, y):
    N, co = y.shape[0], y.shape[1]
    per = (N * co + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, f, _, _ = _scratch(th, tw, m)
        for nk in range(task * per, min(N * co, (task + 1) * per)):
            _out_plane(m, nk % co, nk // co, th, tw, f, q, y[nk // co, nk % co])


@njit(parallel=True, cache=True)
def _winograd_out_adjoint(g, th, tw, ntasks, dm):
    N, co = g.shape[0], g.shape[1]
    per = (N * co + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, _, f, _ = _scratch(th, tw, g)
        for nk in range(task * per, min(N * co, (task + 1) * per)):
            _out_adjoint_plane(g[nk // co, nk % co], th, tw, q, f, dm, nk % co, nk // co)


# The products and the whole convolution, for the engine: one parallel region per call.
# With a BLAS product between two transforms, each block of examples costs two or three
# parallel launches and two hand-overs between Numba's threads and OpenBLAS's; with idle
# threads asleep (OMP_WAIT_POLICY=PASSIVE, autograd/__init__.py) those cost more than
# the block's work, and 2 threads ran no faster than 1.  So here each task takes blocks
# of examples through transform, products and transform back on its own thread, with the
# products written out below (4 x 4 register blocks; 60-75 GFLOP/s on one core against
# OpenBLAS's 90-100 on these shapes).

@njit(cache=True, fastmath={"contract"})
def _gemm(a, b, out):
    """out (M, L) = a (M, K) @ b (K, L): four rows of out at a time, each pass over them
    taking four rows of b (16 multiply-adds per 8 loads and 4 stores)."""
    M, K = a.shape
    L = b.shape[1]
    for i in range(0, M - M % 4, 4):
        o0, o1, o2, o3 = out[i], out[i + 1], out[i + 2], out[i + 3]
        for t in range(L):
            o0[t] = 0
            o1[t] = 0
            o2[t] = 0
            o3[t] = 0
        for k in range(0, K - K % 4, 4):
            v0, v1, v2, v3 = b[k], b[k + 1], b[k + 2], b[k + 3]
            a00, a01, a02, a03 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            a10, a11, a12, a13 = a[i + 1, k], a[i + 1, k + 1], a[i + 1, k + 2], a[i + 1, k + 3]
            a20, a21, a22, a23 = a[i + 2, k], a[i + 2, k + 1], a[i + 2, k + 2], a[i + 2, k + 3]
            a30, a31, a32, a33 = a[i + 3, k], a[i + 3, k + 1], a[i + 3, k + 2], a[i + 3, k + 3]
            for t in range(L):
                x0, x1, x2, x3 = v0[t], v1[t], v2[t], v3[t]
                o0[t] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3
                o1[t] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3
                o2[t] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3
                o3[t] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3
        for k in range(K - K % 4, K):
            v = b[k]
            a0, a1, a2, a3 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
            for t in range(L):
                o0[t] += a0 * v[t]
                o1[t] += a1 * v[t]
                o2[t] += a2 * v[t]
                o3[t] += a3 * v[t]
    for i in range(M - M % 4, M):
        o = out[i]
        for t in range(L):
            o[t] = 0
        for k in range(K):
            v, ak = b[k], a[i, k]
            for t in range(L):
                o[t] += ak * v[t]


@njit(cache=True, fastmath={"contract", "reassoc"})
def _gemm_nt_add(a, b, out):
    """out (M, K) += a (M, L) @ b (K, L)^T: dot products over L, four by four (the sums
    may be reordered so that they vectorize)."""
    M, L = a.shape
    K = b.shape[0]
    for i in range(0, M - M % 2, 2):
        for j in range(0, K - K % 4, 4):
            p0, p1, q0, q1, q2, q3 = a[i], a[i + 1], b[j], b[j + 1], b[j + 2], b[j + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = out.dtype.type(0)
            for t in range(L):
                x0, x1 = p0[t], p1[t]
                y0, y1, y2, y3 = q0[t], q1[t], q2[t], q3[t]
                s00 += x0 * y0
                s01 += x0 * y1
                s02 += x0 * y2
                s03 += x0 * y3
                s10 += x1 * y0
                s11 += x1 * y1
                s12 += x1 * y2
                s13 += x1 * y3
            out[i, j] += s00
            out[i, j + 1] += s01
            out[i, j + 2] += s02
            out[i, j + 3] += s03
            out[i + 1, j] += s10
            out[i + 1, j + 1] += s11
            out[i + 1, j + 2] += s12
            out[i + 1, j + 3] += s13
    for i in range(M):
        for j in range(K):
            if i < M - M % 2 and j < K - K % 4:
                continue
            s = out.dtype.type(0)
            for t in range(L):
                s += a[i, t] * b[j, t]
            out[i, j] += s


@njit(cache=True)
def _tiles_in(x, n0, k, padding, th, tw, q, e, v):
    """v[:, c, j] = winograd_in of example n0 + j, every channel c."""
    for j in range(k):
        for c in range(x.shape[1]):
            _in_plane(x[n0 + j, c], padding, th, tw, q, e, v, c, j)


@njit(cache=True)
def _tiles_out_adjoint(g, n0, k, th, tw, q, f, dm):
    """dm[:, o, j] = winograd_out_adjoint of example n0 + j, every output channel o."""
    for j in range(k):
        for o in range(g.shape[1]):
            _out_adjoint_plane(g[n0 + j, o], th, tw, q, f, dm, o, j)


@njit(cache=True)
def _products(u, src, dst):
    """dst[p] = u[p] @ src[p] for the 16 entries of a tile, on (channels, k*T) views."""
    for p in range(16):
        _gemm(u[p], src[p].reshape(src.shape[1], src.shape[2] * src.shape[3]),
              dst[p].reshape(dst.shape[1], dst.shape[2] * dst.shape[3]))


@njit(cache=True)
def _block(buf, channels, N, nb, blk, T):
    """First example n0 and size k of block blk, and its tile array (16, channels, k, T)
    carved from the front of a task's flat buffer (contiguous, so products vectorize)."""
    n0 = blk * nb
    k = min(N, n0 + nb) - n0
    return n0, k, buf[:16 * channels * k * T].reshape(16, channels, k, T)


@njit(parallel=True, cache=True)
def _winograd_conv(x, u, padding, th, tw, nb, ntasks, y):
    N, C, co, T = x.shape[0], x.shape[1], u.shape[1], th * (tw + 1)
    blocks = (N + nb - 1) // nb
    per = (blocks + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, f, e, _ = _scratch(th, tw, x)
        vbuf = np.empty(16 * C * nb * T, dtype=x.dtype)
        mbuf = np.empty(16 * co * nb * T, dtype=x.dtype)
        for blk in range(task * per, min(blocks, (task + 1) * per)):
            n0, k, v = _block(vbuf, C, N, nb, blk, T)
            _, _, m = _block(mbuf, co, N, nb, blk, T)
            _tiles_in(x, n0, k, padding, th, tw, q, e, v)
            _products(u, v, m)
            for j in range(k):
                for o in range(co):
                    _out_plane(m, o, j, th, tw, f, q, y[n0 + j, o])


@njit(parallel=True, cache=True)
def _winograd_conv_grads(x, g, ut, padding, th, tw, nb, ntasks, want_dx, want_du, dx, du):
    """dx (when want_dx) and this task's part du[task] of dU (when want_du); dx's shape
    gives N and C, and x is read only for dU."""
    N, C, co, T = dx.shape[0], dx.shape[1], g.shape[1], th * (tw + 1)
    blocks = (N + nb - 1) // nb
    per = (blocks + ntasks - 1) // ntasks
    for task in prange(ntasks):
        q, e, h, d = _scratch(th, tw, g)
        mbuf = np.empty(16 * co * nb * T, dtype=g.dtype)
        vbuf = np.empty(16 * C * nb * T, dtype=g.dtype)
        for blk in range(task * per, min(blocks, (task + 1) * per)):
            n0, k, dm = _block(mbuf, co, N, nb, blk, T)
            _, _, v = _block(vbuf, C, N, nb, blk, T)
            _tiles_out_adjoint(g, n0, k, th, tw, q, h, dm)
            if want_dx:                          # dV = U^T dM, back onto the patches
                _products(ut, dm, v)
                for j in range(k):
                    for c in range(C):
                        _in_adjoint_plane(v, c, j, padding, th, tw, e, h, d, q, dx[n0 + j, c])
            if want_du:                          # dU += dM V^T, this task's own sum
                _tiles_in(x, n0, k, padding, th, tw, q, h, v)
                for p in range(16):
                    _gemm_nt_add(dm[p].reshape(co, k * T), v[p].reshape(C, k * T), du[task, p])


def _tasks(units):
    """Parallel tasks over ``units`` planes or blocks: a few per thread (uneven ones even
    out)."""
    return max(1, min(units, 4 * get_num_threads()))


def winograd_weight(w2):
    """(C_out, C*9) -> (16, C_out, C); see reference.winograd_weight.  A few thousand
    numbers per layer: NumPy's version, not compiled."""
    return reference.winograd_weight(_float_array(w2))


def winograd_weight_adjoint(u):
    """(16, C_out, C) -> (C_out, C*9); see reference.winograd_weight_adjoint (NumPy's)."""
    return reference.winograd_weight_adjoint(_float_array(u))


def winograd_in(x, padding):
    """(N, C, H, W) -> (16, C, N*th*(tw+1)); see reference.winograd_in."""
    x = _float_array(x)
    N, C, H, W = x.shape
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    v = np.empty((16, C, N, th * (tw + 1)), dtype=x.dtype)
    _winograd_in(x, padding, th, tw, _tasks(N * C), v)
    return v.reshape(16, C, N * th * (tw + 1))


def winograd_in_adjoint(v, N, H, W, padding):
    """(16, C, N*th*(tw+1)) -> (N, C, H, W); see reference.winograd_in_adjoint."""
    v = _float_array(v)
    C = v.shape[1]
    th, tw = winograd_tiles(H + 2 * padding - 2, W + 2 * padding - 2)
    x = np.empty((N, C, H, W), dtype=v.dtype)
    _winograd_in_adjoint(v.reshape(16, C, N, th * (tw + 1)), padding, th, tw,
                         _tasks(N * C), x)
    return x


def winograd_out(m, N, Ho, Wo):
    """(16, C_out, N*th*(tw+1)) -> (N, C_out, Ho*Wo); see reference.winograd_out."""
    m = _float_array(m)
    co = m.shape[1]
    th, tw = winograd_tiles(Ho, Wo)
    y = np.empty((N, co, Ho, Wo), dtype=m.dtype)
    _winograd_out(m.reshape(16, co, N, th * (tw + 1)), th, tw, _tasks(N * co), y)
    return y.reshape(N, co, Ho * Wo)


def winograd_out_adjoint(g, Ho, Wo):
    """(N, C_out, Ho*Wo) -> (16, C_out, N*th*(tw+1)); see reference.winograd_out_adjoint."""
    g = _float_array(g)
    N, co = g.shape[0], g.shape[1]
    th, tw = winograd_tiles(Ho, Wo)
    dm = np.empty((16, co, N, th * (tw + 1)), dtype=g.dtype)
    _winograd_out_adjoint(g.reshape(N, co, Ho, Wo), th, tw, _tasks(N * co), dm)
    return dm.reshape(16, co, N * th * (tw + 1))


# Examples per block of the fused kernels: a block's tile arrays (V and M, or dM and dV)
# take about this many bytes, so that they stay in the core's own cache (1 MB of L2 here)
# between a transform and its products.  benchmarks/kernels.py's layer (645 kB of tiles
# per example), 1 thread: 1 example per block 22-24 ms, 2: 21, 3: 22-23, 6: 27, 13: 32-38.
_WINOGRAD_BLOCK_BYTES = 3 * 2**19


def _winograd_setup(N, c_in, c_out, Ho, Wo, itemsize):
    th, tw = winograd_tiles(Ho, Wo)
    per_example = 16 * (c_in + c_out) * th * (tw + 1) * itemsize
    nb = max(1, min(N, _WINOGRAD_BLOCK_BYTES // per_example))
    return th, tw, nb, _tasks(-(-N // nb))


def winograd_conv(x, u, padding):
    """(N, C, H, W) conv weights u (16, C_out, C) -> (N, C_out, Ho*Wo); see
    reference.winograd_conv.  One parallel region: transforms and products per block."""
    x = _float_array(x)
    u = _float_array(u, x.dtype)
    N, C, H, W = x.shape
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    th, tw, nb, ntasks = _winograd_setup(N, C, u.shape[1], Ho, Wo, x.dtype.itemsize)
    y = np.empty((N, u.shape[1], Ho, Wo), dtype=x.dtype)
    _winograd_conv(x, u, padding, th, tw, nb, ntasks, y)
    return y.reshape(N, u.shape[1], Ho * Wo)


def _grads(x, g, u, H, W, padding, want_dx, want_du):
    g = _float_array(g)
    u = _float_array(u, g.dtype)
    x = g if x is None else _float_array(x, g.dtype)
    N, co, C = g.shape[0], u.shape[1], u.shape[2]
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    th, tw, nb, ntasks = _winograd_setup(N, C, co, Ho, Wo, g.dtype.itemsize)
    dx = np.empty((N, C, H, W) if want_dx else (N, C, 0, 0), dtype=g.dtype)
    du = np.zeros((ntasks, 16, co, C) if want_du else (1, 1, 1, 1), dtype=g.dtype)
    x4 = x if want_du else dx
    _winograd_conv_grads(x4, g.reshape(N, co, Ho, Wo), np.ascontiguousarray(u.transpose(0, 2, 1)),
                         padding, th, tw, nb, ntasks, want_dx, want_du, dx, du)
    return dx, du.sum(axis=0, dtype=np.float64).astype(g.dtype)


def winograd_conv_input_grad(g, u, H, W, padding):
    """(N, C_out, Ho*Wo) -> dx (N, C, H, W); see reference.winograd_conv_input_grad."""
    return _grads(None, g, u, H, W, padding, True, False)[0]


def winograd_conv_weight_grad(x, g, padding):
    """-> dU (16, C_out, C), the weight gradient before winograd_weight_adjoint; see
    reference.winograd_conv_weight_grad.  Each task sums its blocks; the tasks' sums
    are added in float64."""
    x = _float_array(x)
    u = np.empty((16, g.shape[1], x.shape[1]), dtype=x.dtype)        # only its shape is used
    return _grads(x, g, u, x.shape[2], x.shape[3], padding, False, True)[1]


def winograd_conv_grads(x, g, u, padding):
    """(dx, dU) in one pass (the transform of g shared); see reference.winograd_conv_grads."""
    return _grads(x, g, u, x.shape[2], x.shape[3], padding, True, True)


# ------------------------------------------------------------- softmax and cross-entropy
# One parallel iteration per row: each writes only its own row, nothing (N, V)-sized is
# allocated besides the output of the backward pass.

@njit(parallel=True, cache=True, fastmath=_REORDER)
def _xent_forward(logits, targets, loss, lse):
    for i in prange(logits.shape[0]):
        lse[i] = _logsumexp(logits[i])
        loss[i] = lse[i] - logits[i, targets[i]]


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _xent_backward(logits, targets, lse, g, dlogits):
    N, V = logits.shape
    for i in prange(N):
        gi, li = g[i], lse[i]
        for j in range(V):
            dlogits[i, j] = gi * _exp_native(logits[i, j] - li)
        dlogits[i, targets[i]] -= gi


def xent_forward(logits, targets):
    """(loss (N,), lse (N,)) for logits (N, V); see reference.xent_forward."""
    logits = _float_array(logits)
    targets = _check_targets(targets, logits.shape[1])
    loss = np.empty(logits.shape[0], dtype=logits.dtype)
    lse = np.empty_like(loss)
    _xent_forward(logits, targets, loss, lse)
    return loss, lse


def xent_backward(logits, targets, lse, g):
    """dlogits = g_i (softmax_i - onehot(t_i)); see reference.xent_backward."""
    logits = _float_array(logits)
    targets = _check_targets(targets, logits.shape[1])
    lse = _float_array(lse, logits.dtype)
    g = _float_array(g, logits.dtype)
    dlogits = np.empty_like(logits)
    _xent_backward(logits, targets, lse, g, dlogits)
    return dlogits


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _softmax_rows(x, causal, out):
    R, T, S = x.shape
    for rt in prange(R * T):
        r, t = rt // T, rt % T
        # Keys visible to query t: s <= t + (S - T) under the causal mask, else all.
        n = min(S, t + S - T + 1) if causal else S
        m = _row_max(x[r, t, :n])
        total = 0.0
        for s in range(n):
            e = _exp_native(x[r, t, s] - m)
            out[r, t, s] = e
            total += e
        inv = 1.0 / total
        for s in range(n):
            out[r, t, s] *= inv
        for s in range(n, S):
            out[r, t, s] = 0


def softmax_lastaxis(x, causal):
    """Softmax over the last axis of x (..., T, S), causal mask optional; see
    reference.softmax_lastaxis.  Leading axes are flattened into one batch axis."""
    x = _float_array(x)
    shape = x.shape
    x3 = x.reshape((-1,) + shape[-2:])
    out = np.empty_like(x3)
    _softmax_rows(x3, bool(causal), out)
    return out.reshape(shape)


# ----------------------------------------------------------- Gaussian kernels on point sets
# For each row x_i the squared distances to all centres go into a row buffer d2 (N,),
# then log sum_j exp(-d2_j s) = -min(d2) s + log sum_j exp(-(d2_j - min d2) s).  Two
# ways to fill the buffer:
#   direct (D < _DIRECT_MAX_DIM): d2_j = sum_k (x_ik - c_jk)^2 with c transposed to
#   (D, N), so the loop over centres j is contiguous and vectorizes; exact;
#   Gram (larger D): d2_j = max(||x_i||^2 + ||c_j||^2 - 2 G_ij, 0) with G = x_block @ c.T
#   from BLAS; the block of rows bounds G to _BLOCK_BYTES.
# Parallel over chunks of rows: a chunk allocates its one buffer and owns its outputs.

_ROWS_PER_CHUNK = 16


@njit(cache=True, fastmath=_REORDER)
def _direct_sq_dists(x, i, cT, d2):
    D, N = cT.shape
    for j in range(N):
        d2[j] = 0.0
    for k in range(D):
        xk = float(x[i, k])
        for j in range(N):
            diff = xk - cT[k, j]
            d2[j] += diff * diff


@njit(cache=True, fastmath=_REORDER)
def _gram_sq_dists(G, i, xx_i, cc, d2):
    for j in range(cc.shape[0]):
        d2[j] = max(xx_i + cc[j] - 2.0 * G[i, j], 0.0)


@njit(cache=True, fastmath=_REORDER)
def _lse_of_neg_scaled(d2, scale):
    """log sum_j exp(-d2_j * scale), shifted by the smallest d2."""
    lo = d2[0]
    for j in range(1, d2.shape[0]):
        lo = min(lo, d2[j])
    s = 0.0
    for j in range(d2.shape[0]):
        s += _exp(-(d2[j] - lo) * scale)
    return -lo * scale + math.log(s)


@njit(cache=True, fastmath=_REORDER)
def _sum_exp_neg_scaled(d2, scale, skip):
    """sum_j exp(-d2_j * scale), leaving out j == skip (none when skip < 0)."""
    s = 0.0
    for j in range(d2.shape[0]):
        s += _exp(-d2[j] * scale)
    if skip >= 0:
        s -= _exp(-d2[skip] * scale)
    return s


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _lse_direct(x, cT, scale, out):
    M = x.shape[0]
    for chunk in prange((M + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK):
        d2 = np.empty(cT.shape[1])
        for i in range(chunk * _ROWS_PER_CHUNK, min(M, (chunk + 1) * _ROWS_PER_CHUNK)):
            _direct_sq_dists(x, i, cT, d2)
            out[i] = _lse_of_neg_scaled(d2, scale)


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _lse_gram(G, xx, cc, scale, out):
    M = G.shape[0]
    for chunk in prange((M + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK):
        d2 = np.empty(cc.shape[0])
        for i in range(chunk * _ROWS_PER_CHUNK, min(M, (chunk + 1) * _ROWS_PER_CHUNK)):
            _gram_sq_dists(G, i, xx[i], cc, d2)
            out[i] = _lse_of_neg_scaled(d2, scale)


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _ksum_direct(a, bT, scale, skip_diagonal, out):
    """out[i] = sum_j exp(-||a_i - b_j||^2 * scale), without j == i if skip_diagonal."""
    M = a.shape[0]
    for chunk in prange((M + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK):
        d2 = np.empty(bT.shape[1])
        for i in range(chunk * _ROWS_PER_CHUNK, min(M, (chunk + 1) * _ROWS_PER_CHUNK)):
            _direct_sq_dists(a, i, bT, d2)
            out[i] = _sum_exp_neg_scaled(d2, scale, i if skip_diagonal else -1)


@njit(parallel=True, cache=True, fastmath=_REORDER)
def _ksum_gram(G, aa, bb, scale, skip_diagonal, row0, out):
    """As _ksum_direct, with the distances from a Gram block whose row i is row row0 + i
    of a (so the diagonal is j == row0 + i)."""
    M = G.shape[0]
    for chunk in prange((M + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK):
        d2 = np.empty(bb.shape[0])
        for i in range(chunk * _ROWS_PER_CHUNK, min(M, (chunk + 1) * _ROWS_PER_CHUNK)):
            _gram_sq_dists(G, i, aa[i], bb, d2)
            out[i] = _sum_exp_neg_scaled(d2, scale, row0 + i if skip_diagonal else -1)


def _row_norms(a):
    return np.einsum("ij,ij->i", a, a, dtype=np.float64)


def _transposed64(c):
    """(D, N) float64 copy of the centres: the direct kernels run along j."""
    return np.ascontiguousarray(c.T, dtype=np.float64)


def gauss_logsumexp(x, c, h):
    """out_i = logsumexp_j(-||x_i - c_j||^2 / (2 h^2)); see reference.gauss_logsumexp."""
    x = _float_array(x)
    c = _float_array(c, x.dtype)
    scale = 1.0 / (2.0 * float(h) ** 2)
    out = np.empty(x.shape[0], dtype=np.float64)
    if x.shape[1] < _DIRECT_MAX_DIM:
        _lse_direct(x, _transposed64(c), scale, out)
    else:
        cc, xx = _row_norms(c), _row_norms(x)
        step = max(1, _BLOCK_BYTES // (c.shape[0] * x.itemsize))
        for r0 in range(0, x.shape[0], step):
            G = np.matmul(x[r0:r0 + step], c.T)
            _lse_gram(G, xx[r0:r0 + step], cc, scale, out[r0:r0 + step])
    return out.astype(x.dtype)


def _gauss_kernel_sum(a, b, scale, skip_diagonal):
    """sum_ij exp(-||a_i - b_j||^2 * scale) in float64 (i != j when skip_diagonal):
    per-row partial sums from the kernel, added up after it returns."""
    rows = np.empty(a.shape[0], dtype=np.float64)
    if a.shape[1] < _DIRECT_MAX_DIM:
        _ksum_direct(a, _transposed64(b), scale, skip_diagonal, rows)
    else:
        aa, bb = _row_norms(a), _row_norms(b)
        step = max(1, _BLOCK_BYTES // (b.shape[0] * a.itemsize))
        for r0 in range(0, a.shape[0], step):
            _ksum_gram(np.matmul(a[r0:r0 + step], b.T), aa[r0:r0 + step], bb, scale,
                       skip_diagonal, r0, rows[r0:r0 + step])
    return float(rows.sum())


def mmd2(x, y, h):
    """Unbiased MMD^2 with a Gaussian kernel (Gretton et al. 2012, eq. 3); see
    reference.mmd2."""
    x = _float_array(x)
    y = _float_array(y, x.dtype)
    n, m = x.shape[0], y.shape[0]
    scale = 1.0 / (2.0 * float(h) ** 2)
    kxx = _gauss_kernel_sum(x, x, scale, True) / (n * (n - 1))
    kyy = _gauss_kernel_sum(y, y, scale, True) / (m * (m - 1))
    kxy = _gauss_kernel_sum(x, y, scale, False) / (n * m)
    return kxx + kyy - 2.0 * kxy


# ---------------------------------------------------------------------------- optimizers

@njit(parallel=True, cache=True)
def _adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, bc1, bc2, decoupled):
    shrink = 1.0 - lr * weight_decay
    for i in prange(p.shape[0]):
        gi = float(g[i])
        pi = float(p[i])
        if decoupled:
            pi *= shrink
        else:
            gi += weight_decay * pi
        mi = beta1 * m[i] + (1.0 - beta1) * gi
        vi = beta2 * v[i] + (1.0 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = pi - lr * (mi / bc1) / (math.sqrt(vi / bc2) + eps)


def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """Fused Adam / AdamW step, in place: one read and one write of p, m, v per element
    instead of NumPy's dozen array passes; see reference.adam_update for the math."""
    for name, a in (("p", p), ("m", m), ("v", v)):
        if a.ndim != 1 or not a.flags.c_contiguous or a.dtype != p.dtype:
            raise ValueError(f"adam_update updates {name} in place: it must be 1-D, "
                             f"C-contiguous and of p's dtype {p.dtype}; got ndim={a.ndim}, "
                             f"contiguous={a.flags.c_contiguous}, dtype={a.dtype}")
    g = _float_array(g, p.dtype)
    _adam(p, g, m, v, float(lr), float(beta1), float(beta2), float(eps),
          float(weight_decay), 1.0 - float(beta1) ** step, 1.0 - float(beta2) ** step,
          bool(decoupled))


# ---------------------------------------------------------------------------- MCMC steps

@njit(parallel=True, cache=True)
def _langevin(x, grad_e, noise, eps, out):
    half, root = 0.5 * eps, math.sqrt(eps)
    B, D = x.shape
    for b in prange(B):
        for k in range(D):
            out[b, k] = x[b, k] - half * grad_e[b, k] + root * noise[b, k]


def langevin_step(x, grad_e, noise, eps):
    """x - (eps/2) grad E + sqrt(eps) noise for a batch (B, D); see reference."""
    x = _float_array(x)
    grad_e, noise = _float_array(grad_e, x.dtype), _float_array(noise, x.dtype)
    x2 = x.reshape(x.shape[0], -1) if x.ndim else x.reshape(1, 1)
    out = np.empty_like(x2)
    _langevin(x2, grad_e.reshape(x2.shape), noise.reshape(x2.shape), float(eps), out)
    return out.reshape(x.shape)


@njit(parallel=True, cache=True)
def _mala(x, gx, ex, y, gy, ey, log_u, eps, x_new, accepted):
    B, D = x.shape
    half = 0.5 * eps
    for b in prange(B):
        # ||x - (y - (eps/2) gy)||^2 and ||y - (x - (eps/2) gx)||^2: the two proposal
        # log-densities, whose shared constant cancels in the ratio.
        back = 0.0
        fwd = 0.0
        for k in range(D):
            r = float(x[b, k]) - float(y[b, k]) + half * gy[b, k]
            back += r * r
            r = float(y[b, k]) - float(x[b, k]) + half * gx[b, k]
            fwd += r * r
        log_alpha = (ex[b] - ey[b]) + (fwd - back) / (2.0 * eps)
        accepted[b] = log_u[b] < log_alpha
        if accepted[b]:
            x_new[b] = y[b]
        else:
            x_new[b] = x[b]


def mala_accept(x, gx, ex, y, gy, ey, log_u, eps):
    """MALA accept/reject for a batch (Roberts & Tweedie 1996); see reference.mala_accept.
    The (B,) energies and log-uniforms are taken in float64."""
    x = _float_array(x)
    gx, y, gy = (_float_array(a, x.dtype) for a in (gx, y, gy))
    ex, ey, log_u = (_float_array(a, np.float64) for a in (ex, ey, log_u))
    x_new = np.empty_like(x)
    accepted = np.empty(x.shape[0], dtype=np.bool_)
    _mala(x, gx, ex, y, gy, ey, log_u, float(eps), x_new, accepted)
    return x_new, accepted


# ------------------------------------------------------------ exact enumeration of 2^n states
# The states are split by their high bits into chunks, one parallel iteration each.  A
# chunk walks its 2^L low-bit states in Gray-code order (Gray 1953), so consecutive states
# differ in one unit k and the energy changes by (W symmetric, d the change of x_k)
#     dE = -d (W x)_k - (1/2) W_kk d^2 - b_k d,
# after which the field W x gains d W[k, :].  That is O(n) per state instead of O(n^2).
# Each chunk starts from a freshly computed energy, so rounding drift is bounded by one
# chunk's 2^L steps.  W is symmetrised first (x^T W x only sees (W + W^T)/2).

_LOW_BITS_MIN_CHUNKS = 8     # at most 2^8 = 256 chunks: plenty for load balance


@njit(cache=True)
def _chunk_start(W, b, spin, state, x, field):
    """Unit values x and field W x of a state index; returns its energy."""
    n = b.shape[0]
    for k in range(n):
        bit = (state >> k) & 1
        x[k] = 2.0 * bit - 1.0 if spin else float(bit)
    energy = 0.0
    for k in range(n):
        f = 0.0
        for l in range(n):
            f += W[k, l] * x[l]
        field[k] = f
        energy -= 0.5 * x[k] * f + b[k] * x[k]
    return energy


@njit(cache=True)
def _flip(W, b, spin, k, x, field, energy):
    """Flip unit k in place (x and field updated); returns the new energy."""
    n = b.shape[0]
    new = -x[k] if spin else 1.0 - x[k]
    d = new - x[k]
    energy -= d * field[k] + 0.5 * W[k, k] * d * d + b[k] * d
    x[k] = new
    for l in range(n):
        field[l] += d * W[k, l]
    return energy


@njit(cache=True)
def _trailing_zeros(i):
    k = 0
    while (i >> k) & 1 == 0:
        k += 1
    return k


@njit(parallel=True, cache=True)
def _quadratic_energies(W, b, spin, low_bits, out):
    n = b.shape[0]
    n_chunks = 1 << (n - low_bits)
    for chunk in prange(n_chunks):
        x = np.empty(n)
        field = np.empty(n)
        base = chunk << low_bits
        energy = _chunk_start(W, b, spin, base, x, field)
        out[base] = energy
        for i in range(1, 1 << low_bits):
            energy = _flip(W, b, spin, _trailing_zeros(i), x, field, energy)
            out[base | (i ^ (i >> 1))] = energy


@njit(parallel=True, cache=True)
def _quadratic_logz_chunks(W, b, spin, low_bits, chunk_max, chunk_sum):
    n = b.shape[0]
    for chunk in prange(chunk_max.shape[0]):
        x = np.empty(n)
        field = np.empty(n)
        m = -_chunk_start(W, b, spin, chunk << low_bits, x, field)
        s = 1.0
        energy = -m
        for i in range(1, 1 << low_bits):
            energy = _flip(W, b, spin, _trailing_zeros(i), x, field, energy)
            a = -energy
            if a > m:
                s = s * math.exp(m - a) + 1.0
                m = a
            else:
                s += math.exp(a - m)
        chunk_max[chunk] = m
        chunk_sum[chunk] = s


def _quadratic_args(W, b):
    b = _float_array(b, np.float64).reshape(-1)
    n = b.shape[0]
    if n > 30:
        raise ValueError(f"exact enumeration needs n <= 30 units (2^n states); got n={n}")
    W = _float_array(W, np.float64)
    if W.shape != (n, n):
        raise ValueError(f"W must have shape ({n}, {n}) to match b; got {W.shape}")
    return np.ascontiguousarray(0.5 * (W + W.T)), b, n, max(0, n - _LOW_BITS_MIN_CHUNKS)


def quadratic_energies(W, b, spin):
    """E(x) = -1/2 x^T W x - b^T x for all 2^n states, float64; see reference."""
    W, b, n, low_bits = _quadratic_args(W, b)
    out = np.empty(1 << n, dtype=np.float64)
    _quadratic_energies(W, b, bool(spin), low_bits, out)
    return out


def quadratic_logz(W, b, spin):
    """log sum_x exp(-E(x)) without storing the energies: each chunk keeps a private
    running (max, sum), and the chunks are combined after the parallel loop."""
    W, b, n, low_bits = _quadratic_args(W, b)
    n_chunks = 1 << (n - low_bits)
    chunk_max = np.empty(n_chunks)
    chunk_sum = np.empty(n_chunks)
    _quadratic_logz_chunks(W, b, bool(spin), low_bits, chunk_max, chunk_sum)
    top = chunk_max.max()
    return float(top + np.log(np.sum(chunk_sum * np.exp(chunk_max - top))))
