"""Tensor semantics: accumulation, reuse, no_grad, no mutation, deep graphs, errors."""
import numpy as np
import pytest

import autograd
import autograd.functional as F
from autograd import Tensor, grad, no_grad


def test_default_dtypes():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.0).dtype == np.float32
    assert Tensor(np.ones(2)).dtype == np.float64          # float64 given is kept
    assert Tensor(np.float64(1.0)).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64                # integers stay integers
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert (Tensor([1.0]) * 2.0).dtype == np.float32        # Python scalars do not promote


@pytest.mark.parametrize("bad", [np.ones(2, dtype=complex), np.array(["a"]), np.ones(2, np.float16)])
def test_unsupported_dtype_is_a_type_error(bad):
    with pytest.raises(TypeError, match="dtype"):
        Tensor(bad)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], requires_grad=True)


def test_backward_twice_accumulates_until_zero_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_reused_node_accumulates_every_path():
    x = Tensor(np.array(1.5), requires_grad=True)
    a = x * x                     # used three times below
    y = a + a * a + a.exp()
    y.backward()
    expected = 2 * x.data + 4 * x.data ** 3 + np.exp(x.data ** 2) * 2 * x.data
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_no_grad_records_nothing():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2).exp().sum()
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()

    @no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = Tensor(np.array(2.0), requires_grad=True)
    y = x * x.detach()
    y.backward()
    assert x.grad == pytest.approx(2.0)


def test_chain_of_100000_ops_backpropagates_without_recursion_error():
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_backward_on_non_scalar_without_grad_names_the_shape():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad, 2.0)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_incompatible_shapes_name_the_op_and_both_shapes(op):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        eval(f"a {op} b")


def test_matmul_shape_error():
    with pytest.raises(ValueError, match=r"matmul.*\(3, 2\).*\(3, 2\)"):
        Tensor(np.ones((3, 2))) @ Tensor(np.ones((3, 2)))


def test_detect_anomaly_names_the_first_op():
    x = Tensor(np.array([-1.0, 1.0]), requires_grad=True)
    with autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="log"):
            (x * 2).log()
    with np.errstate(invalid="ignore"):
        (x * 2).log()               # outside the context NaN just flows


def test_grad_returns_without_accumulating_and_supports_create_graph():
    x = Tensor(np.array([0.3, -1.2]), requires_grad=True)
    (g,) = grad(F.softplus(x).sum(), [x], create_graph=True)
    assert x.grad is None
    np.testing.assert_allclose(g.data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    (h,) = grad(g.sum(), [x])
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(h.data, s * (1 - s), rtol=1e-12)


def test_grad_of_unused_input_is_zero():
    x = Tensor(np.ones(2), requires_grad=True)
    z = Tensor(np.ones(3), requires_grad=True)
    gx, gz = grad((x * 2).sum(), [x, z])
    np.testing.assert_array_equal(gz.data, np.zeros(3))


def test_max_ties_split_the_gradient_evenly():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    F.maximum(a, Tensor(np.array([1.0, 0.0]))).sum().backward()
    np.testing.assert_allclose(a.grad, [0.5, 1.0])


def test_stable_composites_at_extremes():
    x = Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]))
    np.testing.assert_allclose(F.softplus(x).data, [0.0, np.log1p(np.exp(-50.0)), np.log(2),
                                                   50.0 + np.log1p(np.exp(-50.0)), 1e4])
    np.testing.assert_allclose(F.log_sigmoid(x).data, [-1e4, -50.0 - np.log1p(np.exp(-50.0)),
                                                      -np.log(2), -np.log1p(np.exp(-50.0)), 0.0])
    big = Tensor(np.array([[1000.0, 1000.0], [-np.inf, -np.inf]]))
    with np.errstate(divide="ignore"):     # log(0) for the all -inf row is the answer
        np.testing.assert_allclose(F.logsumexp(big, axis=1).data, [1000 + np.log(2), -np.inf])
    z = Tensor(np.array([[1e4, 0.0, -1e4]]))
    assert F.cross_entropy(z, np.array([1])).item() == pytest.approx(1e4)


@pytest.mark.parametrize("fn", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / (b * b + 1), lambda a, b: a @ b.T,
    lambda a, b: F.maximum(a, b), lambda a, b: F.softmax(a) * b, lambda a, b: F.logsumexp(a * b, 1),
    lambda a, b: a[np.array([0, 0])] + b[1], lambda a, b: F.layer_norm(a, (3,)) * b,
    lambda a, b: F.cross_entropy(a, np.array([0, 2])) * b.sum(),
])
def test_forward_and_backward_never_mutate_inputs_or_upstream_gradient(fn):
    rng = np.random.default_rng(1)
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    a0, b0 = a.data.copy(), b.data.copy()
    out = fn(a, b)
    g = np.ones(out.shape)
    g0 = g.copy()
    out.backward(g)
    out.backward(g)
    np.testing.assert_array_equal(a.data, a0)
    np.testing.assert_array_equal(b.data, b0)
    np.testing.assert_array_equal(g, g0)


def test_grad_dtype_matches_leaf():
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    (w * np.ones(3, np.float64)).sum().backward()
    assert w.grad.dtype == np.float32


def test_joint_vjp_is_used_only_for_several_gradients_without_a_graph():
    """A primitive's joint_vjp (all input gradients at once) replaces its per-input VJPs
    only when it can: two inputs want gradients and no graph is being recorded."""
    from autograd.ops import Primitive
    calls = []

    def joint(g, ans, a, b):
        calls.append("joint")
        return g * b, g * a

    def each(i):
        def vjp(g, ans, a, b):
            calls.append(f"vjp{i}")
            return g * (b if i == 0 else a)
        return vjp
    times = Primitive("times", lambda a, b: a * b, (each(0), each(1)), joint_vjp=joint)
    a, b = Tensor(np.array([2.0, 3.0]), requires_grad=True), Tensor(np.array([5.0, 7.0]),
                                                                      requires_grad=True)
    times(a, b).sum().backward()
    assert calls == ["joint"]
    np.testing.assert_array_equal(a.grad, [5.0, 7.0])
    np.testing.assert_array_equal(b.grad, [2.0, 3.0])
    calls.clear()
    grad(times(a, b).sum(), [a, b], create_graph=True)     # a graph: the separate VJPs
    assert sorted(calls) == ["vjp0", "vjp1"]
    calls.clear()
    times(a, Tensor(np.array([1.0, 1.0]))).sum().backward()  # one gradient wanted
    assert calls == ["vjp0"]
