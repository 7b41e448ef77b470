"""autograd.nn against direct NumPy formulas and PyTorch's documented defaults."""
import math

import numpy as np
import pytest

from autograd import Tensor, gradcheck
import autograd.functional as F
from autograd import nn


def _x(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _conv1d_np(x, w, b, stride, pad_left, pad_right, dilation):
    """y[n, o, t] = b[o] + sum_{c,k} w[o, c, k] x_pad[n, c, t*stride + k*dilation]."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad_left, pad_right)))
    n, c, length = xp.shape
    co, _, k = w.shape
    lout = (length - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((n, co, lout))
    for t in range(lout):
        for j in range(k):
            y[:, :, t] += xp[:, :, t * stride + j * dilation] @ w[:, :, j].T
    return y + (0 if b is None else b[None, :, None])


def _conv2d_np(x, w, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = xp.shape
    co, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    y = np.zeros((n, co, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return y + (0 if b is None else b[None, :, None, None])


# ------------------------------------------------------------------------ Module

class _Net(nn.Module):
    def __init__(self, rng=None):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, padding=1, rng=rng)
        self.norm = nn.LayerNorm(5)
        self.blocks = nn.ModuleList([nn.Linear(5, 5, rng=rng), nn.Linear(5, 4, rng=rng)])
        self.head = nn.Linear(12, 2, mask=np.tri(2, 12), rng=rng)
        self.drop = nn.Dropout(0.5, rng=0)

    def forward(self, x):                          # x: (N, 2, 5)
        h = self.norm(self.conv(x))
        for blk in self.blocks:
            h = blk(h).tanh()
        return self.head(self.drop(h.reshape(x.shape[0], -1)))


def test_named_parameters_dotted_in_registration_order_and_buffers():
    net = _Net(rng=0)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["conv.weight", "conv.bias", "norm.weight", "norm.bias",
                     "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                     "blocks.1.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == ["head.mask"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.dtype == np.float32
               for p in net.parameters())
    assert net.num_parameters() == sum(p.data.size for p in net.parameters()) == \
        2 * 3 * 3 + 3 + 5 + 5 + 30 + 24 + 24 + 2


def test_parameter_cache_sees_later_registrations_and_shares_once():
    net = _Net(rng=0)
    n0 = len(net.parameters())
    net.blocks.append(nn.Linear(4, 4, rng=0))            # registered in a sub-module
    assert len(net.parameters()) == n0 + 2
    net.extra = net.head.weight                          # the same Parameter twice
    assert len(net.parameters()) == n0 + 2
    net.head.bias = None                                # unregisters
    assert len(net.parameters()) == n0 + 1
    with pytest.raises(TypeError):
        net.norm.weight = np.ones(5)                    # an array cannot replace it


def test_module_without_super_init_gets_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))
    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_train_eval_recurse_and_zero_grad_drops_gradients():
    net = _Net(rng=0)
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = Tensor(_x(np.random.default_rng(0), 4, 2, 5))
    (net(x) ** 2).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_gives_identical_outputs():
    a, b = _Net(rng=1).eval(), _Net(rng=2).eval()
    x = Tensor(_x(np.random.default_rng(3), 4, 2, 5))
    assert not np.allclose(a(x).data, b(x).data)
    sd = a.state_dict()
    assert list(sd)[:2] == ["conv.weight", "conv.bias"] and "head.mask" in sd
    assert all(type(v) is np.ndarray for v in sd.values())
    sd["conv.bias"] += 1.0                                 # a copy, not the parameter
    assert not np.allclose(a.conv.bias.data, sd["conv.bias"])
    sd["conv.bias"] -= 1.0
    weight_before = b.conv.weight
    missing, unexpected = b.load_state_dict(sd)
    assert missing == [] and unexpected == []
    assert b.conv.weight is weight_before                  # copied in place
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_strict_errors_name_the_key_and_shapes():
    net = _Net(rng=0)
    sd = net.state_dict()
    bad = dict(sd, **{"conv.weight": np.zeros((3, 2, 4), np.float32)})
    with pytest.raises(ValueError, match=r"'conv.weight'.*\(3, 2, 4\).*\(3, 2, 3\)"):
        net.load_state_dict(bad)
    missing = {k: v for k, v in sd.items() if k != "norm.bias"}
    with pytest.raises(ValueError, match="norm.bias"):
        net.load_state_dict(missing)
    with pytest.raises(ValueError, match="stray"):
        net.load_state_dict(dict(sd, stray=np.zeros(1)))
    assert net.load_state_dict(dict(missing, stray=np.zeros(1)), strict=False) == \
        (["norm.bias"], ["stray"])
    with pytest.raises(ValueError, match="conv.weight"):  # shapes checked even then
        net.load_state_dict(bad, strict=False)


def test_manual_seed_and_rng_make_initialisation_reproducible():
    nn.manual_seed(7)
    a = nn.Linear(3, 4)
    nn.manual_seed(7)
    b = nn.Linear(3, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c, d = nn.Conv2d(2, 3, 3, rng=5), nn.Conv2d(2, 3, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(c.weight.data, d.weight.data)
    assert not np.array_equal(nn.Linear(3, 4).weight.data, a.weight.data)
    with pytest.raises(TypeError):
        nn.Linear(2, 2, rng="seed")


def test_sequential_and_activations():
    rng = np.random.default_rng(0)
    seq = nn.Sequential(nn.Linear(3, 6, rng=0), nn.ReLU(), nn.Linear(6, 6, rng=1),
                        nn.Tanh(), nn.Linear(6, 6, rng=2), nn.Sigmoid(), nn.GELU(),
                        nn.LeakyReLU(0.2), nn.SiLU(), nn.Identity())
    x = _x(rng, 5, 3)
    h = np.maximum(x @ seq[0].weight.data.T + seq[0].bias.data, 0)
    h = np.tanh(h @ seq[2].weight.data.T + seq[2].bias.data)
    h = 1 / (1 + np.exp(-(h @ seq[4].weight.data.T + seq[4].bias.data)))
    h = h * 0.5 * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    h = np.where(h > 0, h, 0.2 * h)
    h = h / (1 + np.exp(-h))
    np.testing.assert_allclose(seq(Tensor(x)).data, h, rtol=1e-5, atol=1e-6)
    assert len(seq) == 10 and isinstance(seq[:3], nn.Sequential)
    assert nn.Flatten()(Tensor(np.zeros((2, 3, 4)))).shape == (2, 12)


# ------------------------------------------------------------------------ Linear, init

def test_linear_matches_numpy_and_backprops():
    rng = np.random.default_rng(0)
    lin = nn.Linear(4, 3, rng=0)
    x = _x(rng, 6, 4)
    y = lin(Tensor(x))
    np.testing.assert_allclose(y.data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.ones((6, 3)).T @ x, rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad, np.full(3, 6.0))
    x3 = _x(rng, 2, 5, 4)                          # (batch, time, features)
    np.testing.assert_allclose(lin(Tensor(x3)).data, x3 @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-5, atol=1e-6)
    lin.zero_grad()
    g3 = _x(rng, 2, 5, 3)
    (lin(Tensor(x3)) * Tensor(g3)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.einsum("bto,bti->oi", g3, x3),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad, g3.sum(axis=(0, 1)), rtol=1e-5, atol=1e-5)
    lin64 = nn.Linear(4, 3, rng=0, dtype=np.float64)
    assert gradcheck(lin64, [x3.astype(np.float64)], order=2)
    nobias = nn.Linear(4, 3, bias=False, rng=0)
    assert nobias.bias is None and len(nobias.parameters()) == 1


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(250, 400, rng=0), 250),
    (lambda: nn.Conv1d(20, 300, 5, rng=0), 100),
    (lambda: nn.Conv2d(8, 200, (3, 5), rng=0), 120),
])
def test_init_is_pytorchs_uniform_one_over_sqrt_fan_in(make, fan_in):
    """kaiming_uniform(a=sqrt(5)): bound = gain*sqrt(3/fan_in), gain = sqrt(2/(1+5)),
    which is 1/sqrt(fan_in); the bias uses the same bound."""
    layer = make()
    bound = math.sqrt(2 / (1 + 5)) * math.sqrt(3 / fan_in)
    assert bound == pytest.approx(1 / math.sqrt(fan_in))
    w = layer.weight.data
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # U(-a, a): a/sqrt 3
    assert abs(w.mean()) < 0.02 * bound
    assert np.abs(layer.bias.data).max() <= bound


def test_embedding_is_standard_normal_and_looks_up_rows():
    emb = nn.Embedding(1000, 64, rng=0)
    w = emb.weight.data
    assert abs(w.mean()) < 0.01 and w.std() == pytest.approx(1.0, rel=0.01)
    ids = np.array([[3, 0], [999, 3]])
    out = emb(ids)
    np.testing.assert_array_equal(out.data, w[ids])
    out.sum().backward()
    assert emb.weight.grad[3].tolist() == [2.0] * 64 and emb.weight.grad[1].sum() == 0


# ------------------------------------------------------------------------ masks

def test_masked_linear_uses_weight_times_mask_and_masked_grads_are_zero():
    rng = np.random.default_rng(0)
    mask = (rng.random((5, 4)) > 0.5).astype(np.float32)
    lin = nn.Linear(4, 5, mask=mask, rng=0)
    x = _x(rng, 7, 4)
    y = lin(Tensor(x))
    np.testing.assert_allclose(y.data, x @ (lin.weight.data * mask).T + lin.bias.data,
                               rtol=1e-6)
    (y * Tensor(_x(rng, 7, 5))).sum().backward()
    assert np.all(lin.weight.grad[mask == 0] == 0.0)
    assert np.all(lin.weight.grad[mask == 1] != 0.0)
    lin.set_mask(None)
    np.testing.assert_allclose(lin(Tensor(x)).data, x @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        lin.set_mask(np.ones((4, 5)))


def test_masked_conv2d_broadcasts_a_spatial_mask():
    """PixelCNN's mask A: the centre and everything after it in raster order are cut."""
    rng = np.random.default_rng(1)
    mask = np.ones((3, 3))
    mask[1, 1:] = 0
    mask[2, :] = 0
    conv = nn.Conv2d(2, 4, 3, padding=1, mask=mask, rng=0)
    assert conv.mask.shape == (4, 2, 3, 3)
    x = _x(rng, 2, 2, 5, 5)
    y = conv(Tensor(x))
    ref = _conv2d_np(x, conv.weight.data * mask, conv.bias.data, 1, 1)
    np.testing.assert_allclose(y.data, ref, rtol=1e-5, atol=1e-5)
    (y * Tensor(_x(rng, *y.shape))).sum().backward()
    assert np.all(conv.weight.grad[:, :, mask == 0] == 0.0)
    assert np.all(conv.weight.grad[:, :, mask == 1] != 0.0)
    # the output at a pixel does not depend on that pixel or later ones
    x2 = x.copy()
    x2[:, :, 2, 2:] += 10.0
    x2[:, :, 3:, :] += 10.0
    np.testing.assert_allclose(conv(Tensor(x2)).data[:, :, 2, 2], y.data[:, :, 2, 2],
                               rtol=1e-5)


# ------------------------------------------------------------------------ convolutions

@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2),
                                                     (3, (2, 1), 2)])
def test_conv1d_matches_direct_formula(stride, padding, dilation):
    rng = np.random.default_rng(0)
    conv = nn.Conv1d(3, 4, 3, stride=stride, padding=padding, dilation=dilation, rng=0)
    x = _x(rng, 2, 3, 11)
    pl, pr = (padding, padding) if isinstance(padding, int) else padding
    ref = _conv1d_np(x, conv.weight.data, conv.bias.data, stride, pl, pr, dilation)
    y = conv(Tensor(x))
    assert y.shape == ref.shape == (2, 4, (11 + pl + pr - dilation * 2 - 1) // stride + 1)
    np.testing.assert_allclose(y.data, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,dilation", [(2, 1), (3, 4), (5, 2)])
def test_causal_conv1d_keeps_length_and_never_sees_the_future(k, dilation):
    """WaveNet: output t depends on inputs <= t only, and the length is unchanged."""
    rng = np.random.default_rng(0)
    conv = nn.Conv1d(2, 3, k, dilation=dilation, causal=True, rng=0)
    assert conv.padding == (dilation * (k - 1), 0)
    x = _x(rng, 1, 2, 16)
    y = conv(Tensor(x)).data
    assert y.shape == (1, 3, 16)
    ref = _conv1d_np(x, conv.weight.data, conv.bias.data, 1, dilation * (k - 1), 0,
                     dilation)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    for t in range(15):
        x2 = x.copy()
        x2[:, :, t + 1:] = _x(rng, 1, 2, 15 - t)
        y2 = conv(Tensor(x2)).data
        np.testing.assert_array_equal(y2[:, :, :t + 1], y[:, :, :t + 1])
        assert not np.allclose(y2[:, :, t + 1], y[:, :, t + 1])
    with pytest.raises(ValueError):
        nn.Conv1d(2, 3, 3, padding=1, causal=True)


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), (2, 0), (3, 2)])
def test_conv2d_matches_direct_formula_and_shape(stride, padding):
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding, rng=0)
    x = _x(rng, 2, 3, 7, 8)
    y = conv(Tensor(x))
    ref = _conv2d_np(x, conv.weight.data, conv.bias.data, stride, padding)
    assert y.shape == ref.shape == (2, 4, (7 + 2 * padding - 3) // stride + 1,
                                    (8 + 2 * padding - 2) // stride + 1)
    np.testing.assert_allclose(y.data, ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------ LayerNorm

def test_layer_norm_matches_formula_and_gradcheck():
    rng = np.random.default_rng(0)
    ln = nn.LayerNorm((3, 4), eps=1e-5)
    assert np.all(ln.weight.data == 1) and np.all(ln.bias.data == 0)
    ln.weight.data[...] = rng.standard_normal((3, 4))
    ln.bias.data[...] = rng.standard_normal((3, 4))
    x = _x(rng, 5, 3, 4)
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    ref = (x - mu) / np.sqrt(var + 1e-5) * ln.weight.data + ln.bias.data
    np.testing.assert_allclose(ln(Tensor(x)).data, ref, rtol=1e-4, atol=1e-5)
    # in float64: through the module for the input, and with the module's settings
    # for input, weight and bias together
    ln64 = nn.LayerNorm(4, dtype=np.float64)
    ln64.weight.data[...] = rng.standard_normal(4)
    assert gradcheck(ln64, [x[:, 0].astype(np.float64)])
    assert gradcheck(lambda x, w, b: F.layer_norm(x, ln64.normalized_shape, w, b, ln64.eps),
                     [x[:, 0].astype(np.float64), rng.standard_normal(4),
                      rng.standard_normal(4)])
    assert nn.LayerNorm(4, elementwise_affine=False).parameters() == []


# ------------------------------------------------------------------------ Dropout

def test_dropout_identity_in_eval_mean_preserved_in_training_seeded():
    x = Tensor(np.full((200, 500), 2.0, np.float32))
    d = nn.Dropout(0.3, rng=0)
    y = d(x).data
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert y.mean() == pytest.approx(2.0, rel=0.01)
    np.testing.assert_allclose(y[y != 0], 2.0 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(nn.Dropout(0.3, rng=0)(x).data, y)   # same rng
    assert not np.array_equal(d(x).data, y)                            # it advances
    d.eval()
    assert d(x) is x
    nn.manual_seed(3)
    a = nn.Dropout(0.5)(x).data
    nn.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, a)
    with pytest.raises(ValueError):
        nn.Dropout(1.0)


# ------------------------------------------------------------------------ spectral norm

@pytest.mark.parametrize("make,shape", [(lambda: nn.Linear(6, 10, rng=0), (4, 6)),
                                        (lambda: nn.Conv2d(3, 5, 3, rng=0), (2, 3, 6, 6))])
def test_spectral_norm_makes_top_singular_value_one(make, shape):
    layer = nn.spectral_norm(make(), rng=1)
    w0 = layer.weight_orig.data
    layer.weight_orig.data[...] = w0 * 7.0                  # far from 1 to start with
    assert [n for n, _ in layer.named_parameters()] == ["weight_orig", "bias"]
    assert {"weight_orig", "weight_u", "weight_v"} <= set(layer.state_dict())
    x = Tensor(_x(np.random.default_rng(2), *shape))
    for _ in range(5):
        y = layer(x)
    w = layer.weight.data.reshape(layer.weight.shape[0], -1)
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)
    (y ** 2).sum().backward()
    assert layer.weight_orig.grad is not None
    assert np.abs(layer.weight_orig.grad).sum() > 0
    u = layer.weight_u.copy()
    layer.eval()                                            # no power iteration in eval
    layer(x)
    np.testing.assert_array_equal(layer.weight_u, u)


def test_spectral_norm_gradient_holds_u_and_v_fixed():
    """d/dW sum(G * W / sigma), sigma = u^T W v with u, v constant (Miyato et al.):
    G / sigma - (sum(G * W) / sigma^2) u v^T."""
    rng = np.random.default_rng(1)
    lin = nn.spectral_norm(nn.Linear(3, 4, bias=False, dtype=np.float64), rng=0).eval()
    x = rng.standard_normal((2, 3))
    gy = rng.standard_normal((2, 4))
    (lin(Tensor(x)) * Tensor(gy)).sum().backward()
    W, u, v = lin.weight_orig.data, lin.weight_u, lin.weight_v
    G = gy.T @ x                                    # d/d(normalized weight)
    sigma = u @ W @ v
    expected = G / sigma - (G * W).sum() / sigma ** 2 * np.outer(u, v)
    np.testing.assert_allclose(lin.weight_orig.grad, expected, rtol=1e-10)
    with pytest.raises(TypeError):
        nn.spectral_norm(nn.LayerNorm(3))


def test_deepcopy_gives_an_independent_identical_module():
    import copy
    net = _Net(rng=0).eval()
    net.head = nn.spectral_norm(net.head, rng=0)
    twin = copy.deepcopy(net)
    x = Tensor(_x(np.random.default_rng(0), 3, 2, 5))
    np.testing.assert_array_equal(twin(x).data, net(x).data)
    twin.head.weight_orig.data += 1.0
    assert not np.allclose(twin(x).data, net(x).data)
    assert twin.head.weight_u is not net.head.weight_u
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
