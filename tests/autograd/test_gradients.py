"""Every primitive and composite against central differences in float64 (orders 1 and 2),
over scalar, vector and matrix shapes, broadcasting pairs and every axis/keepdims form."""
import numpy as np
import pytest

import autograd.functional as F
from autograd import gradcheck
from autograd import ops
from autograd.ops import REGISTRY

rng = np.random.default_rng(0)
SHAPES = [(), (3,), (2, 3)]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((2, 3), ()),
         ((3,), (2, 3)), ((2, 1, 3), (4, 1))]


def randn(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape):
    x = rng.uniform(0.3, 1.5, shape)
    return x * rng.choice([-1.0, 1.0], shape)


SMOOTH_UNARY = {
    "exp": (lambda a: a.exp(), randn),
    "log": (lambda a: a.log(), lambda *s: rng.uniform(0.5, 2.0, s)),
    "log1p": (lambda a: F.log1p(a), lambda *s: rng.uniform(-0.5, 2.0, s)),
    "sqrt": (lambda a: a.sqrt(), lambda *s: rng.uniform(0.5, 2.0, s)),
    "tanh": (lambda a: a.tanh(), randn),
    "sigmoid": (lambda a: a.sigmoid(), randn),
    "sin": (lambda a: F.ops.sin(a), randn),
    "cos": (lambda a: F.ops.cos(a), randn),
    "erf": (lambda a: F.ops.erf(a), randn),
    "neg": (lambda a: -a, randn),
    "cast": (lambda a: a.astype(np.float64), randn),
    "power_const": (lambda a: a ** 3, randn),
}
KINKED_UNARY = {
    "relu": lambda a: a.relu(),
    "abs": lambda a: a.abs(),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(SMOOTH_UNARY))
def test_smooth_unary(name, shape):
    fn, make = SMOOTH_UNARY[name]
    assert gradcheck(fn, [make(*shape)], order=2)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(KINKED_UNARY))
def test_kinked_unary_away_from_the_kink(name, shape):
    assert gradcheck(KINKED_UNARY[name], [away_from_zero(*shape)], order=2)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "power": lambda a, b: a ** b,
    "maximum": F.maximum,
    "minimum": F.minimum,
}


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    if name in ("div", "power"):
        a, b = np.abs(a) + 0.5, b if name == "power" else np.abs(b) + 0.5
    order = 1 if name in ("maximum", "minimum") else 2
    assert gradcheck(BINARY[name], [a, b], order=order)


def test_where_routes_gradient_by_a_constant_condition():
    cond = rng.random((2, 3)) > 0.5
    assert gradcheck(lambda a, b: F.where(cond, a, b), [randn(2, 3), randn(3)], order=2)


AXES = [None, 0, 1, -1, (0, 1)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "var"])
def test_reductions(reduce, axis, keepdims):
    order = 1 if reduce in ("max", "min") else 2
    fn = lambda a: getattr(a, reduce)(axis=axis, keepdims=keepdims)  # noqa: E731
    assert gradcheck(fn, [randn(2, 3)], order=order)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
def test_logsumexp_axes(axis, keepdims):
    assert gradcheck(lambda a: F.logsumexp(a, axis=axis, keepdims=keepdims), [randn(2, 3)], order=2)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(axis):
    assert gradcheck(lambda a: F.softmax(a, axis=axis), [randn(2, 3)], order=2)
    assert gradcheck(lambda a: F.log_softmax(a, axis=axis), [randn(2, 3)], order=2)


def test_shapes_and_indexing():
    x = randn(2, 3, 4)
    cases = [
        lambda a: a.reshape(4, 6),
        lambda a: a.transpose(2, 0, 1),
        lambda a: a.T,
        lambda a: a.mT,
        lambda a: a[1],
        lambda a: a[:, 1:3, ::2],
        lambda a: a[np.array([0, 0, 1])],          # repeated rows accumulate
        lambda a: a[:, np.array([2, 0, 2]), 1],
        lambda a: a[a.data > 0],
        lambda a: F.pad(a, (1, 2, 0, 1)),
        lambda a: F.stack([a, a * 2], axis=1),
        lambda a: F.cat([a, a[:, :1]], axis=1),
        lambda a: a.unsqueeze(1).squeeze(1).flatten(1),
    ]
    for fn in cases:
        assert gradcheck(fn, [x], order=2)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 2))], ids=str)
def test_matmul(shapes):
    assert gradcheck(lambda a, b: a @ b, [randn(*shapes[0]), randn(*shapes[1])], order=2)


@pytest.mark.parametrize("xshape", [(4,), (3, 4), (2, 3, 4)], ids=str)
def test_linear(xshape):
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [randn(*xshape), randn(5, 4), randn(5)], order=2)
    assert gradcheck(lambda x, w: F.linear(x, w), [randn(*xshape), randn(5, 4)], order=2)


COMPOSITES = {
    "softplus": F.softplus, "log_sigmoid": F.log_sigmoid, "gelu": F.gelu, "silu": F.silu,
    "leaky_relu": lambda a: F.leaky_relu(a + 0.05, 0.2),
    "layer_norm": lambda a: F.layer_norm(a, a.shape[-1:]) if a.ndim else a,
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composites(name, shape):
    assert gradcheck(COMPOSITES[name], [randn(*shape)], order=2)


def test_layer_norm_with_affine():
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), [randn(3, 4), randn(4), randn(4)],
                     order=2)


def test_losses():
    t = np.array([0, 2, 1])
    assert gradcheck(lambda z: F.cross_entropy(z, t), [randn(3, 4)], order=2)
    assert gradcheck(lambda z: F.cross_entropy(z, t, reduction="sum"), [randn(3, 4)], order=2)
    t3 = np.array([[0, 2, -100], [1, 1, 3]])
    assert gradcheck(lambda z: F.cross_entropy(z, t3), [randn(2, 4, 3)], order=2)
    y = rng.random((3, 4))
    assert gradcheck(lambda z: F.binary_cross_entropy_with_logits(z, y), [randn(3, 4)], order=2)
    assert gradcheck(lambda a, b: F.mse_loss(a, b), [randn(3, 4), randn(3, 4)], order=2)


def test_embedding_gradient_scatters_into_rows():
    ids = np.array([[0, 3], [3, 1]])
    assert gradcheck(lambda w: F.embedding(ids, w) * 1.5, [randn(5, 2)], order=2)


def test_dropout_gradient_is_the_mask():
    fn = lambda a: F.dropout(a, 0.3, training=True, rng=np.random.default_rng(7))  # noqa: E731
    assert gradcheck(fn, [randn(4, 5)], order=2)


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_conv2d_gradients(stride, padding):
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
                     [randn(2, 3, 6, 5), randn(4, 3, 3, 2), randn(4)], order=2)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (1, 1, 1), (2, 1, 1), (1, 0, 2),
                                                     (1, (2, 0), 2), (2, (3, 1), 3)])
def test_conv1d_gradients(stride, padding, dilation):
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=padding,
                                              dilation=dilation),
                     [randn(2, 3, 9), randn(4, 3, 2), randn(4)], order=2)


@pytest.mark.parametrize("block_bytes", [1, 2**30])
def test_conv_gradients_blocked_and_whole_batch(monkeypatch, block_bytes):
    # 1 byte: one example per block (several blocks); 1 GB: the whole batch at once.
    monkeypatch.setattr(ops, "_CONV_BLOCK_BYTES", block_bytes)
    assert gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1),
                     [randn(3, 2, 5, 4), randn(3, 2, 3, 3)], order=2)
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding=(2, 0), dilation=2),
                     [randn(3, 2, 6), randn(4, 2, 2)], order=2)


@pytest.mark.parametrize("causal", [False, True])
def test_attention(causal):
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                     [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)], order=2)


def test_every_registered_primitive_is_covered():
    """A new primitive must come with a gradient test above (listed here by name)."""
    covered = {"add", "sub", "mul", "div", "neg", "power", "matmul", "linear", "exp", "log", "log1p",
               "sqrt", "tanh", "sigmoid", "sin", "cos", "erf", "relu", "abs", "cast",
               "maximum", "minimum", "where", "sum", "max", "broadcast_to", "reshape",
               "transpose", "getitem", "unindex", "concatenate", "pad", "conv_forward",
               "conv_input_grad", "conv_weight_grad", "softmax_xent", "softmax_rows"}
    assert set(REGISTRY) == covered
