"""The engine on the CUDA target: tensors made there stay there, every primitive gives
the CPU's value and gradients (first and second order), modules and optimizers move and
step on the device, and a training step copies nothing to the host by accident.

Each check runs the same function twice from the same NumPy inputs, once with CPU
tensors and once with tensors on 'cuda', and compares values and gradients in float64
(tight) or float32 (loose).
"""
import numpy as np
import pytest

import autograd
import autograd.backend as backend
import autograd.functional as F
from autograd import Tensor, nn, optim
from autograd.backend import cuda as C

from cudatest import check, host


def run(fn, arrays, device, create_graph=False):
    """Value and gradients of fn(*tensors) on `device`; with create_graph, also the
    gradient of the sum of squared first gradients (second order)."""
    xs = [Tensor(a.copy(), requires_grad=True, device=device) for a in arrays]
    out = fn(*xs)
    gs = autograd.grad(out, xs, create_graph=create_graph)
    result = [out] + list(gs)
    if create_graph:
        penalty = sum((g * g).sum() for g in gs)
        result += list(autograd.grad(penalty, xs))
    for r in result:
        assert r.device == device, r
    return [r.numpy() for r in result]


def same_on_both(fn, arrays, create_graph=False, loose=1.0):
    want = run(fn, arrays, "cpu", create_graph)
    with C.strict():                   # nothing may leave the GPU on the way
        got = run(fn, arrays, "cuda", create_graph)
    for g, w in zip(got, want):
        check(g, w, loose=loose)


def randn(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


ELEMENTWISE = {
    "arith": lambda a, b: (a * b - a / (1.5 + b * b) + 2.0 ** a) * 0.5,
    "power": lambda a, b: (a * a + 1.0) ** (b * 0.5),
    "exp_log": lambda a, b: (a.exp() + 1.0).log() + F.log1p(b * b) + (a * a + 1.0).sqrt(),
    "activations": lambda a, b: a.tanh() + a.sigmoid() + a.relu() + F.gelu(b) + F.silu(b)
    + F.softplus(a) + F.leaky_relu(b, 0.1) + a.abs(),
    "trig": lambda a, b: F.ops.sin(a) * F.ops.cos(b),
    "max_min_where": lambda a, b: F.maximum(a, b) + F.minimum(a, 0.0) + F.where(a > 0, a, b),
    "reductions": lambda a, b: a.sum(axis=0) * b.max(axis=1, keepdims=True).mean()
    + a.min() + a.var(axis=1).sum(),
    "shapes": lambda a, b: F.concatenate(a.T, b.T, axis=0).reshape(-1, 3)[1:, ::2]
    + F.pad(a, (1, 0))[:, :3].sum(),
    "index": lambda a, b: a[np.array([0, 2, 2])] * b[1] + a[:, np.array([1, 0])].sum(),
    "logsumexp": lambda a, b: F.logsumexp(a, axis=1)[:, None] + F.log_softmax(b, axis=0),
    "cast": lambda a, b: a.astype(np.float32).astype(np.float64) * b,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_primitives_value_and_two_orders_of_gradient(rng, name):
    fn = ELEMENTWISE[name]
    same_on_both(lambda a, b: (fn(a, b) ** 2).sum(), [randn(rng, 3, 4), randn(rng, 3, 4)],
                 create_graph=True)


def test_matmul_and_linear(rng):
    same_on_both(lambda x, w, b: (F.linear(x, w, b).tanh() @ w).sum(),
                 [randn(rng, 2, 3, 4), randn(rng, 5, 4), randn(rng, 5)], create_graph=True)
    same_on_both(lambda u, v: (u @ v).sum() + (v[:, 0] @ u[0]), [randn(rng, 3, 4),
                                                                   randn(rng, 4, 3)])


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 0)])
def test_conv2d(rng, stride, padding):
    same_on_both(lambda x, w, b: (F.conv2d(x, w, b, stride=stride, padding=padding) ** 2).sum(),
                 [randn(rng, 2, 2, 5, 4), randn(rng, 3, 2, 3, 2), randn(rng, 3)],
                 create_graph=True)


@pytest.mark.parametrize("create_graph", [False, True])
def test_conv2d_by_winograd(rng, create_graph):
    """A 3x3 kernel at stride 1 takes Winograd's path on both devices (ops.py); without
    a graph both gradients come from the joint VJP."""
    same_on_both(lambda x, w: (F.conv2d(x, w, padding=1) ** 2).sum(),
                 [randn(rng, 2, 2, 5, 4), randn(rng, 3, 2, 3, 3)], create_graph=create_graph)


def test_causal_dilated_conv1d(rng):
    same_on_both(lambda x, w: F.conv1d(x, w, padding=(2, 0), dilation=2).tanh().sum(),
                 [randn(rng, 2, 2, 7), randn(rng, 3, 2, 2)], create_graph=True)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_and_softmax(rng, causal):
    same_on_both(lambda q, k, v: (F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                  ** 2).sum() + F.softmax(q, axis=-1)[..., 0].sum(),
                 [randn(rng, 2, 3, 4), randn(rng, 2, 3, 4), randn(rng, 2, 3, 2)],
                 create_graph=True)


def test_cross_entropy_with_host_and_device_targets(rng):
    t = np.array([[0, 2, -100], [1, 1, 3]])
    same_on_both(lambda z: F.cross_entropy(z, t), [randn(rng, 2, 4, 3)], create_graph=True)
    td = Tensor(np.array([3, 0, 1]), device="cuda")
    z = randn(rng, 3, 4)
    want = F.cross_entropy(Tensor(z), np.array([3, 0, 1])).item()
    assert F.cross_entropy(Tensor(z, device="cuda"), td).item() == pytest.approx(want)


def test_embedding_layer_norm_and_losses(rng):
    ids = np.array([[0, 3], [3, 1]])
    same_on_both(lambda w, g: (F.layer_norm(F.embedding(ids, w), 2, g) ** 2).sum()
                 + F.binary_cross_entropy_with_logits(w, (w.data > 0) * 1.0)
                 + F.mse_loss(w[:2], w[3:]), [randn(rng, 5, 2), randn(rng, 2)],
                 create_graph=True)


def test_float32_step_of_a_small_mlp(rng):
    x, t = randn(rng, 6, 3, dtype=np.float32), np.array([0, 1, 3, 2, 1, 0])
    fn = lambda w1, w2: F.cross_entropy(F.linear(F.linear(x, w1).relu(), w2), t)  # noqa
    same_on_both(fn, [randn(rng, 5, 3, dtype=np.float32), randn(rng, 4, 5, dtype=np.float32)],
                 loose=5)


# ------------------------------------------------------------------------ tensors and devices

def test_tensors_know_and_keep_their_device(rng):
    a = randn(rng, 2, 3)
    t = Tensor(a, device="cuda")
    assert t.device == "cuda" and isinstance(t.data, C.DeviceArray)
    assert Tensor(a).device == "cpu" and Tensor(t).device == "cuda"
    u = (t * 2 + 1).exp().sum(axis=0)
    assert u.device == "cuda" and isinstance(u.numpy(), np.ndarray)
    np.testing.assert_allclose(u.numpy(), np.exp(a * 2 + 1).sum(axis=0))
    np.testing.assert_allclose(np.asarray(t), a)           # explicit conversion copies
    assert "device='cuda'" in repr(t) and t.item if t.size == 1 else True
    assert Tensor(a[0, 0], device="cuda").item() == pytest.approx(a[0, 0])
    assert (t > 0).device == "cuda" and (t > 0).dtype == np.bool_
    assert Tensor([1, 2], device="cuda:0").device == "cuda"
    with pytest.raises(ValueError, match="device"):
        Tensor(a, device="tpu")


def test_to_moves_data_and_gradients_flow_back(rng):
    a = randn(rng, 3)
    x = Tensor(a, requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and x.to("cpu") is x
    z = (y * y).sum().to("cpu")
    z.backward()
    assert isinstance(x.grad, np.ndarray)
    np.testing.assert_allclose(x.grad, 2 * a)
    back = Tensor(a, device="cuda", requires_grad=True)
    (back.to("cpu") * 3).sum().backward()
    assert isinstance(back.grad, C.DeviceArray)
    np.testing.assert_allclose(host(back.grad), 3 * np.ones(3))
    assert Tensor(a, device="cuda").to(np.float32).dtype == np.float32


def test_use_device_makes_cuda_the_default(rng):
    previous = backend.use_device("cuda")
    try:
        assert Tensor(np.ones(2)).device == "cuda"
        assert autograd.zeros(2, 3).device == "cuda"
        lin = nn.Linear(3, 2, mask=np.ones((2, 3)))
        assert lin.weight.device == "cuda" and isinstance(lin.mask, C.DeviceArray)
        assert Tensor(np.ones(2), device="cpu").device == "cpu"
    finally:
        backend.use_device(previous)
    assert Tensor(np.ones(2)).device == "cpu"


def test_a_host_operand_meets_a_device_tensor(rng):
    """A family's NumPy constant (noise from its rng, a mask) is uploaded when it meets
    a device tensor; nothing comes back."""
    a, b = randn(rng, 2, 3), randn(rng, 2, 3)
    t = Tensor(a, device="cuda", requires_grad=True)
    with C.strict():
        u = (t * b + Tensor(b) - b).sum()
    assert u.device == "cuda"
    u.backward()
    np.testing.assert_allclose(host(t.grad), b)


# ------------------------------------------------------------------------ modules

def net(dtype=np.float32):
    nn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=dtype), nn.SiLU(), nn.Flatten(),
                         nn.Linear(2 * 4 * 4, 3, dtype=dtype), nn.LayerNorm(3, dtype=dtype))


def test_module_to_moves_parameters_buffers_and_back(rng):
    m = net()
    m[3].set_mask(np.ones((3, 32)))
    sn = nn.spectral_norm(nn.Linear(3, 3, rng=1))
    for mod in (m, sn):
        mod.to("cuda")
        assert all(p.device == "cuda" for p in mod.parameters())
        assert all(isinstance(b, C.DeviceArray) for _, b in mod.named_buffers())
    state = m.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())   # checkpoints: host
    x = Tensor(randn(rng, 2, 1, 4, 4, dtype=np.float32), device="cuda")
    y = m(x)
    assert y.device == "cuda"
    out = sn(Tensor(randn(rng, 2, 3, dtype=np.float32), device="cuda"))
    assert out.device == "cuda"
    m.to("cpu", np.float64)
    assert all(isinstance(p.data, np.ndarray) and p.dtype == np.float64
               for p in m.parameters())
    m2 = net().to("cuda")
    m2[3].set_mask(np.ones((3, 32)))            # now on the GPU with m2's parameters
    assert isinstance(m2[3].mask, C.DeviceArray)
    m2.load_state_dict(state)
    for (_, p), (_, q) in zip(m2.named_parameters(), net().named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("make", [
    lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=1e-2),
    lambda ps: optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=0.1)],
    ids=["adam", "adamw", "sgd"])
def test_training_steps_match_the_cpu(rng, make):
    """Three steps of conv -> SiLU -> linear -> layer norm with clipping and an EMA: the
    same parameters, optimizer state and averages on both devices; on the GPU no
    implicit host copy happens."""
    x = randn(rng, 4, 1, 4, 4, dtype=np.float32)
    y = randn(rng, 4, 3, dtype=np.float32)
    results = {}
    for device in ("cpu", "cuda"):
        m = net().to(device)
        opt = make(m.parameters())
        ema = optim.EMA(m, decay=0.5)
        with C.strict() if device == "cuda" else _nothing():
            for _ in range(3):
                opt.zero_grad()
                loss = F.mse_loss(m(Tensor(x, device=device)), Tensor(y, device=device))
                loss.backward()
                optim.clip_grad_norm_(m.parameters(), 0.5)
                opt.step()
                ema.update()
        results[device] = ([p.numpy() for p in m.parameters()],
                           {k: np.asarray(v) for k, v in opt.state_dict().items()},
                           {k: np.asarray(v) for k, v in ema.state_dict().items()})
    for a, b in zip(results["cpu"][0], results["cuda"][0]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    for part in (1, 2):
        assert results["cpu"][part].keys() == results["cuda"][part].keys()
        for k in results["cpu"][part]:
            np.testing.assert_allclose(results["cuda"][part][k], results["cpu"][part][k],
                                       rtol=1e-4, atol=1e-5)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_optimizer_state_round_trips_onto_the_device(rng):
    m = net().to("cuda")
    opt = optim.Adam(m.parameters(), lr=1e-2)
    loss = m(Tensor(randn(rng, 2, 1, 4, 4, dtype=np.float32), device="cuda")).sum()
    loss.backward()
    opt.step()
    state = opt.state_dict()
    opt2 = optim.Adam(m.parameters(), lr=1e-2)
    opt2.load_state_dict(state)
    assert all(isinstance(b, C.DeviceArray) for b in opt2.state["exp_avg"])
    ema = optim.EMA(m)
    with ema.swapped():
        assert m[0].weight.device == "cuda"


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_anomaly_detection_on_the_device():
    x = Tensor(np.array([1.0, -1.0]), device="cuda", requires_grad=True)
    with autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="log"):
            x.log()
