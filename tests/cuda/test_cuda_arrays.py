"""The device-array namespace against NumPy: every ufunc the engine or a family can
reach, broadcasting and strided views, reductions along any axes, matmul, indexing and
scatter-add, shape functions, casts, random numbers, the memory pool and the rules about
copies to the host.

NumPy is the oracle throughout: each test builds the same arrays on the host and on the
device and asks for the same dtype, the same shape and the same values.
"""
import copy
import pickle

import numpy as np
import pytest
from scipy import special

from autograd.backend import cuda as C

from cudatest import check, host

DTYPES = (np.float32, np.float64)


def pair(a):
    """(host array, device copy)."""
    a = np.asarray(a)
    return a, C.asarray(a)


def randn(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------ elementwise

UNARY = [np.negative, np.absolute, np.sign, np.exp, np.expm1, np.log, np.log1p, np.log2,
         np.log10, np.sqrt, np.square, np.reciprocal, np.tanh, np.sin, np.cos, np.tan,
         np.arctan, np.positive, special.expit, special.erf, np.isfinite, np.isnan,
         np.isinf, np.logical_not]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", UNARY, ids=lambda f: f.__name__)
def test_unary_ufuncs_on_a_strided_view_with_special_values(fn, dtype):
    """A transposed view (strides, no copy) holding 0, -1, +-inf and NaN: the IEEE
    results (log 0 = -inf, sqrt(-1) = NaN, expit(-inf) = 0 ...) must be NumPy's."""
    x = np.array([[0.0, -1.0, 0.5, 3.0, -40.0], [np.inf, -np.inf, np.nan, 1e-3, 2.0],
                  [-0.5, 7.0, -3.0, 80.0, 1.0]], dtype=dtype)
    h, d = pair(x)
    check(fn(d.T), fn(h.T))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_unary_on_integers_and_bools_follows_numpy_dtypes(dtype):
    """Integer inputs to float functions compute in float64, as NumPy does for 32- and
    64-bit integers (it would pick float16 for bools and int8: there is no float16
    here, so those are left out)."""
    h, d = pair(np.array([[0, 1, 3], [2, 0, 5]]).astype(dtype))
    for fn in (np.absolute, np.isfinite, np.logical_not):
        check(fn(d), fn(h))
    if dtype != np.bool_:
        for fn in (np.exp, np.sqrt, np.negative, np.square, np.sign):
            check(fn(d), fn(h))
    else:
        check(~d, ~h)


BINARY = [np.add, np.subtract, np.multiply, np.true_divide, np.power, np.maximum,
          np.minimum, np.floor_divide, np.remainder, np.arctan2, np.equal, np.not_equal,
          np.less, np.less_equal, np.greater, np.greater_equal, np.logical_and,
          np.logical_or, np.logical_xor]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", BINARY, ids=lambda f: f.__name__)
def test_binary_ufuncs_broadcast(rng, fn, dtype):
    a = np.abs(randn(rng, (3, 1, 5), dtype)) + 0.5
    b = randn(rng, (4, 1), dtype)
    b[0, 0] = np.nan
    (ha, da), (hb, db) = pair(a), pair(b)
    check(fn(da, db), fn(ha, hb))
    check(fn(db, da), fn(hb, ha))


@pytest.mark.parametrize("scalar", [2, 0.5, np.float64(0.5), np.float32(1.5), True,
                                    np.array(3.0)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_scalar_operands_promote_as_numpy_does(scalar, dtype):
    """NEP 50: Python scalars are weak, NumPy scalars and 0-d arrays are not."""
    h, d = pair(np.array([[1, 0, 2]]).astype(dtype))
    for op in (lambda x, s: x * s, lambda x, s: s + x, lambda x, s: x > s,
               lambda x, s: np.maximum(x, s), lambda x, s: s / (x + 1)):
        try:
            want = op(h, scalar)
        except TypeError:
            continue
        check(op(d, scalar), want)


def test_operators_and_in_place_updates_on_views(rng):
    h, d = pair(randn(rng, (4, 6)))
    hb, db = pair(randn(rng, (6,)))
    h2, d2 = h.copy(), d.copy()
    h2[1:, ::2] += hb[::2]
    d2[1:, ::2] += db[::2]
    check(d2, h2)
    h2 *= 2.0
    d2 *= 2.0
    h2 -= h
    d2 -= d
    h2 /= 3.0
    d2 /= 3.0
    check(d2, h2)
    check(d ** 2 - 1 / (1 + abs(d)) + (d >= 0) * 1.0, h ** 2 - 1 / (1 + abs(h)) + (h >= 0) * 1.0)
    check(+d - -d, h + h)
    check(2 ** d, 2 ** h)
    check((d > 0) & (d < 1) | ~(d > -1) ^ (d == 0), (h > 0) & (h < 1) | ~(h > -1) ^ (h == 0))


def test_ufunc_out_argument_writes_in_place(rng):
    h, d = pair(randn(rng, (3, 4)))
    out = C.zeros((3, 4), np.float64)
    res = np.add(d, 1.0, out=out)
    assert res is out
    check(out, h + 1.0)
    host_out = np.zeros((3, 4))
    np.multiply(d, 2.0, out=host_out)           # device inputs, host out: copied back
    np.testing.assert_allclose(host_out, h * 2.0)


def test_where_in_every_operand_form(rng):
    h, d = pair(randn(rng, (3, 5)))
    hc, dc = h > 0, d > 0
    check(np.where(dc, d, 0.0), np.where(hc, h, 0.0))
    check(np.where(dc, -1.0, d), np.where(hc, -1.0, h))
    check(np.where(dc, 1.0, -1.0), np.where(hc, 1.0, -1.0))
    check(np.where(dc[:, :1], d, d.T[:1, :1]), np.where(hc[:, :1], h, h.T[:1, :1]))
    check(np.where(hc, d, 2), np.where(hc, h, 2))     # a host condition is uploaded


# ------------------------------------------------------------------------ reductions

@pytest.mark.parametrize("dtype,axis,keepdims", [
    (np.float32, None, False), (np.float32, 1, True), (np.float32, (0, 2), False),
    (np.float64, 0, False), (np.float64, -1, True), (np.float64, (1, 2), True),
    (np.int32, 1, False), (np.bool_, (0, 2), True), (np.bool_, None, False)])
def test_reductions_along_any_axes(rng, dtype, axis, keepdims):
    x = randn(rng, (3, 4, 5)) * 3
    h, d = pair(x.astype(dtype))
    for name in ("sum", "max", "min", "any", "all"):
        check(getattr(np, name)(d, axis=axis, keepdims=keepdims),
              getattr(np, name)(h, axis=axis, keepdims=keepdims), loose=4)
    if dtype != np.bool_:
        check(np.mean(d, axis=axis, keepdims=keepdims),
              np.mean(h, axis=axis, keepdims=keepdims), loose=4)


@pytest.mark.parametrize("strategy", ["serial", "tree"])
def test_reductions_of_strided_views_and_nan(rng, monkeypatch, strategy):
    """Both strategies: one thread per output (short reductions) and the block trees
    (rows: threads along a contiguous axis; columns: threads along the outputs)."""
    if strategy == "tree":
        monkeypatch.setattr(C, "_SERIAL_K", 0)
    h, d = pair(randn(rng, (6, 7)))
    check(d.T[::2, 1:].sum(axis=1), h.T[::2, 1:].sum(axis=1))
    check(d[:, ::3].max(axis=0), h[:, ::3].max(axis=0))
    h[2, 3] = np.nan
    d[2, 3] = np.nan
    check(d.max(axis=1), h.max(axis=1))               # NaN wins, as in NumPy
    check(d.min(), h.min())
    check(np.sum(d, axis=0, dtype=np.float32), np.sum(h, axis=0, dtype=np.float32))


def test_empty_reductions(rng):
    h, d = pair(np.zeros((0, 3)))
    check(d.sum(axis=0), h.sum(axis=0))
    check(d.any(axis=0), h.any(axis=0))
    with pytest.raises(ValueError):
        d.max(axis=0)


def test_long_reductions_split_into_partial_sums(rng, monkeypatch):
    """Few outputs, long rows: the sum is split over blocks and reduced twice (on a GPU
    this keeps every SM busy). The simulator normally skips the split; force it."""
    monkeypatch.setattr(C, "_REDUCE_TARGET_BLOCKS", 4)
    monkeypatch.setattr(C, "_SPLIT_MIN", 2)
    h, d = pair(randn(rng, (2, 37)))
    check(d.sum(axis=1), h.sum(axis=1))
    check(d.sum(axis=0), h.sum(axis=0))
    check(d.T.max(axis=0), h.T.max(axis=0))


# ------------------------------------------------------------------------ matmul

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((3, 5), (5, 4)), ((1, 1), (1, 1)), ((5,), (5, 3)),
                                   ((3, 5), (5,)), ((5,), (5,)), ((2, 3, 5), (5, 4)),
                                   ((2, 1, 3, 5), (3, 5, 2)), ((3, 0), (0, 2))])
def test_matmul_shapes(rng, dtype, sa, sb):
    (ha, da), (hb, db) = pair(randn(rng, sa, dtype)), pair(randn(rng, sb, dtype))
    check(da @ db, ha @ hb, loose=4)
    check(np.matmul(ha, db), ha @ hb, loose=4)         # a host operand is uploaded


def test_matmul_of_transposed_and_broadcast_views(rng):
    (ha, da), (hb, db) = pair(randn(rng, (2, 5, 3))), pair(randn(rng, (4, 5)))
    check(da.mT @ db.T, ha.transpose(0, 2, 1) @ hb.T)
    check(db[:, ::2].T @ da[0, :4], hb[:, ::2].T @ ha[0, :4])
    hw, dw = pair(randn(rng, (2, 3, 4)))
    hx = np.broadcast_to(hb[:3, :4], (3, 2, 3, 4))[:, :, :, :]
    check(np.broadcast_to(db[:3, :4], (3, 2, 3, 4)) @ dw.mT, hx @ hw.transpose(0, 2, 1))
    check(C.asarray(np.arange(6).reshape(2, 3)) @ C.asarray(np.arange(3)),
          np.arange(6).reshape(2, 3) @ np.arange(3))


def test_matmul_with_the_gpu_tile_shape(rng, monkeypatch):
    """The GPU's tile (16x16 threads, 8x8 outputs each, K slices of 8) runs in the
    simulator too, on one block: the index arithmetic of the real configuration is
    checked, not only the simulator's small one."""
    for name, value in C._matmul_constants(*C._MM_GPU).items():
        monkeypatch.setattr(C, name, value)
    assert C._MM_TILE > 11
    (ha, da), (hb, db) = pair(randn(rng, (3, 11), np.float32)), \
        pair(randn(rng, (11, 2), np.float32))
    check(da @ db, ha @ hb, loose=4)
    check(db.T @ da.T, hb.T @ ha.T, loose=4)


def test_matmul_errors():
    d = C.zeros((2, 3))
    with pytest.raises(ValueError):
        d @ C.zeros((2, 3))
    with pytest.raises(ValueError):
        np.matmul(d, C.asarray(np.float64(2.0)))


# ------------------------------------------------------------------------ indexing

INDICES = [
    (1,), (-1,), (slice(1, None),), (slice(None, None, -2),), (Ellipsis, 1),
    (None, slice(None), 0), (1, slice(0, 3), None),
    (np.array([2, 0, 2, -1]),), (np.array([[0, 1], [3, 3]]), slice(1, 4)),
    (slice(None), np.array([1, 0])), (np.array([0, 2]), np.array([1, 3])),
    (np.array([0, 2]), slice(None), np.array([1, 0])),        # not adjacent: axes first
    (1, slice(None), np.array([2, 0])),                       # int + array, split
    (np.array([True, False, True, True]),), (np.array([], dtype=np.int64),),
    ([0, 3], Ellipsis),
]


@pytest.mark.parametrize("index", INDICES, ids=lambda i: repr(i)[:40])
def test_getitem_and_setitem_like_numpy(rng, index):
    h, d = pair(randn(rng, (4, 5, 3)))
    check(d[index], h[index])
    flat = np.arange(h.size).reshape(h.shape)[index]
    if np.unique(flat).size != flat.size:
        return     # repeated elements: NumPy's last-write-wins has no parallel meaning
    h2, d2 = h.copy(), d.copy()
    value = randn(rng, np.shape(h[index]))
    h2[index] = value
    d2[index] = C.asarray(value)
    check(d2, h2)
    h2[index] = 7.0
    d2[index] = 7.0
    check(d2, h2)


def test_device_index_arrays_and_masks(rng):
    h, d = pair(randn(rng, (5, 3)))
    hi, di = pair(np.array([4, -5, 1, 1]))
    check(d[di], h[hi])
    check(d[di, di[2:3]], h[hi, hi[2:3]])
    check(d[d[:, 0] > 0], h[h[:, 0] > 0])
    with pytest.raises(IndexError):
        d[C.asarray(np.array([5]))]
    with pytest.raises(IndexError):
        d[np.array([0, -6])]
    with pytest.raises(IndexError):
        d[1, 2, 3]


def test_basic_indexing_gives_views_that_write_through(rng):
    h, d = pair(randn(rng, (4, 5)))
    v = d[1:3, ::2]
    v[...] = 0.0
    h[1:3, ::2] = 0.0
    check(d, h)
    r = d.reshape(-1)              # a reshape of contiguous data is a view as well
    r[0] = 5.0
    h.reshape(-1)[0] = 5.0
    check(d, h)


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_at_accumulates_repeated_indices(rng, dtype):
    """The scatter-add behind embedding gradients: atomics, so repeats add up."""
    g = randn(rng, (6, 3), dtype)
    rows = np.array([1, 0, 1, 1, 3, 0])
    want = np.zeros((4, 3), dtype)
    np.add.at(want, rows, g)
    got = C.zeros((4, 3), dtype)
    np.add.at(got, C.asarray(rows), C.asarray(g))
    check(got, want)
    want2 = np.zeros((4, 5), dtype)
    got2 = C.zeros((4, 5), dtype)
    cols = np.array([4, 4, 0, 2, 4, 1])
    np.add.at(want2, (rows, cols), g[:, 0])
    np.add.at(got2, (rows, C.asarray(cols)), C.asarray(g[:, 0]))
    check(got2, want2)
    np.add.at(want2, (slice(None), 1), 1.0)         # basic indices: a plain in-place add
    np.add.at(got2, (slice(None), 1), 1.0)
    check(got2, want2)


# ------------------------------------------------------------------------ shapes

def test_shape_functions(rng):
    h, d = pair(randn(rng, (2, 3, 4)))
    check(d.reshape(4, -1), h.reshape(4, -1))
    check(d.transpose(2, 0, 1).reshape(-1), h.transpose(2, 0, 1).reshape(-1))
    check(np.moveaxis(d, 0, -1), np.moveaxis(h, 0, -1))
    check(np.swapaxes(d, 0, 2), np.swapaxes(h, 0, 2))
    check(np.expand_dims(d, (0, 3)), np.expand_dims(h, (0, 3)))
    check(np.squeeze(d[:, :1], axis=1), np.squeeze(h[:, :1], axis=1))
    check(np.broadcast_to(d[:, :1], (5, 2, 3, 4)), np.broadcast_to(h[:, :1], (5, 2, 3, 4)))
    check(np.concatenate([d, d[:, :2] * 2], axis=1), np.concatenate([h, h[:, :2] * 2], axis=1))
    check(np.concatenate([d, d], axis=None), np.concatenate([h, h], axis=None))
    check(np.stack([d[0], d[1]], axis=1), np.stack([h[0], h[1]], axis=1))
    check(np.pad(d, ((0, 0), (1, 2), (3, 0)), constant_values=-1.5),
          np.pad(h, ((0, 0), (1, 2), (3, 0)), constant_values=-1.5))
    check(np.clip(d, -0.5, 0.5), np.clip(h, -0.5, 0.5))
    check(np.outer(d[0, 0], d[1, 1]), np.outer(h[0, 0], h[1, 1]))
    check(np.linalg.norm(d), np.linalg.norm(h))
    check(np.zeros_like(d, shape=(7,)), np.zeros_like(h, shape=(7,)))
    check(np.ones_like(d, dtype=np.int32), np.ones_like(h, dtype=np.int32))
    check(np.full_like(d, 2.5), np.full_like(h, 2.5))
    assert np.shape(d) == h.shape and np.ndim(d) == 3 and np.size(d) == 24
    assert d.T.flags.c_contiguous is False and d.flags.c_contiguous is True
    assert d.strides == h.strides and d.nbytes == h.nbytes and len(d) == 2
    with pytest.raises(ValueError):
        d.reshape(5, -1)
    with pytest.raises(ValueError):
        np.broadcast_to(d, (3, 3, 4))
    with pytest.raises(ValueError):
        np.concatenate([d, d[0]])


@pytest.mark.parametrize("src,dst", [(np.float64, np.float32), (np.float32, np.int64),
                                     (np.float64, np.bool_), (np.bool_, np.float32),
                                     (np.int64, np.float64)])
def test_astype(src, dst):
    h, d = pair(np.array([[-2.7, 0.0, 1.5], [3.9, -0.2, 7.0]]).astype(src))
    check(d.astype(dst), h.astype(dst))
    check(d.T.astype(dst), h.T.astype(dst))


def test_copyto_between_devices(rng):
    h = randn(rng, (3, 2))
    d = C.zeros((3, 2), np.float64)
    np.copyto(d, h)                                   # host -> device
    check(d, h)
    back = np.zeros((3, 2))
    np.copyto(back, d * 2)                            # device -> host (explicit target)
    np.testing.assert_allclose(back, 2 * h)
    np.copyto(d, 1.0)
    check(d, np.ones((3, 2)))


# ------------------------------------------------------------------------ random numbers

# xoroshiro's 64-bit arithmetic wraps around by design; the simulator runs it on NumPy
# scalars, which warn when they do.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_numbers_on_the_device(dtype):
    g = C.Generator(seed=3)
    u = host(g.random((32, 3), dtype))
    z = host(g.standard_normal(128, dtype))
    # Bounds at 3 to 4 standard errors (seeded, so the outcome is fixed anyway): these
    # check the plumbing (streams, dtypes, shapes); the generator is numba's.
    assert u.dtype == dtype and z.dtype == dtype and u.shape == (32, 3)
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.1 and abs(z.mean()) < 0.4 and abs(z.std() - 1.0) < 0.25
    np.testing.assert_array_equal(host(C.Generator(seed=3).random((32, 3), dtype)), u)
    assert not np.array_equal(host(C.Generator(seed=4).random((32, 3), dtype)), u)
    n = host(g.normal(5.0, 0.1, 16, dtype))
    assert abs(n.mean() - 5.0) < 0.1
    v = host(g.uniform(-2.0, -1.0, 16, dtype))
    assert -2.0 <= v.min() and v.max() <= -1.0


# ------------------------------------------------------------------------ memory and copies

def test_memory_pool_reuses_freed_blocks():
    a = C.empty((100,), np.float32)
    mem = a._blk.mem
    del a                                   # back to the pool ...
    b = C.empty((97,), np.float32)          # ... and handed out again (same bucket)
    assert b._blk.mem is mem
    before = C._POOL.cached_bytes
    del b
    assert C._POOL.cached_bytes > before
    C.release_memory()
    assert C._POOL.cached_bytes == 0 and not C._POOL.free


def test_implicit_copies_are_counted_and_refused_in_strict_mode(rng):
    h, d = pair(randn(rng, (3, 4)))
    before = C.host_copies
    np.testing.assert_allclose(np.asarray(d), h)                 # works, by copying
    np.testing.assert_allclose(np.cumsum(d), np.cumsum(h))       # not on the GPU: host
    assert int(np.argmax(d)) == int(np.argmax(h)) and d.argmax() == h.argmax()
    assert C.host_copies == before + 4
    with C.strict():
        with pytest.raises(TypeError, match="strict"):
            np.asarray(d)
        with pytest.raises(TypeError, match="strict"):
            np.cumsum(d)
        assert d.sum().item() == pytest.approx(h.sum())         # explicit: allowed
        assert float(d[0, 0]) == pytest.approx(h[0, 0]) and bool(d[0, 0] == d[0, 0])
        np.testing.assert_allclose(d.copy_to_host(), h)
    with pytest.raises(ValueError):
        bool(d)


def test_copies_pickle_and_repr(rng):
    h, d = pair(randn(rng, (2, 3)))
    for other in (copy.deepcopy(d), copy.copy(d), pickle.loads(pickle.dumps(d)), d.copy()):
        assert isinstance(other, C.DeviceArray) and other._blk is not d._blk
        check(other, h)
    assert "DeviceArray(" in repr(d) and d.tolist() == h.tolist()
    assert [host(row).tolist() for row in d] == h.tolist()
