"""The denoising networks: time embedding, up/down sampling, conditioning."""
import math

import numpy as np
import pytest

from autograd import Tensor, gradcheck, no_grad
from scratch_gen.common.errors import UserError
from scratch_gen.diffusion.denoisers import (NULL_LABEL, MLPDenoiser, UNet, fourier_features,
                                             sinusoidal_embedding, upsample2)


def test_sinusoidal_embedding_values():
    e = sinusoidal_embedding(np.array([0, 1, 37]), 8)
    freqs = [10000.0 ** (-k / 4) for k in range(4)]
    want = [[math.sin(t * f) for f in freqs] + [math.cos(t * f) for f in freqs] for t in (0, 1, 37)]
    np.testing.assert_allclose(e, want, rtol=1e-6, atol=1e-6)
    assert e.dtype == np.float32
    with pytest.raises(ValueError):
        sinusoidal_embedding(np.array([1]), 7)


def test_fourier_features():
    x = np.array([[0.25, -0.5]])
    b = np.array([[1.0, 0.0], [0.5, 2.0]])
    f = fourier_features(x, b)
    a = [2 * math.pi * 0.25, 2 * math.pi * (0.125 - 1.0)]
    want = [0.25, -0.5, math.sin(a[0]), math.sin(a[1]), math.cos(a[0]), math.cos(a[1])]
    np.testing.assert_allclose(f[0], want, atol=1e-6)
    np.testing.assert_array_equal(fourier_features(x, None), x.astype(np.float32))


def test_fourier_frequencies_are_saved_with_the_network():
    a = MLPDenoiser(2, hidden=8, depth=1, fourier=200, fourier_max=8.0, rng=1)
    b = MLPDenoiser(2, hidden=8, depth=1, fourier=200, fourier_max=8.0, rng=2)
    mag = np.linalg.norm(a.freqs, axis=1)
    assert a.freqs.shape == (200, 2) and 0.5 <= mag.min() and mag.max() <= 8.0
    # log-uniform magnitudes: about half below the geometric middle sqrt(0.5 * 8) = 2
    assert 0.4 < (mag < 2.0).mean() < 0.6
    assert not np.allclose(a.freqs, b.freqs)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.freqs, b.freqs)
    x, t = np.random.default_rng(0).standard_normal((3, 2)), np.array([1, 2, 3])
    with no_grad():
        np.testing.assert_array_equal(a(x, t).data, b(x, t).data)


def test_states_saved_without_the_frequency_buffer():
    """Raw-input networks (fourier=0) saved before the buffer existed load and compute
    the same; with fourier > 0 such a state cannot be one of ours: a clear error."""
    rng = np.random.default_rng(5)
    a = MLPDenoiser(2, hidden=8, depth=1, fourier=0, rng=1)
    _perturb(a, rng)
    old = {k: v for k, v in a.state_dict().items() if k != "freqs"}
    b = MLPDenoiser(2, hidden=8, depth=1, fourier=0, rng=2)
    b.load_state_dict(old)
    x, t = rng.standard_normal((3, 2)), np.array([1, 2, 3])
    with no_grad():
        np.testing.assert_array_equal(a(x, t).data, b(x, t).data)
    c = MLPDenoiser(2, hidden=8, depth=1, fourier=4, rng=1)
    state = {k: v for k, v in c.state_dict().items() if k != "freqs"}
    with pytest.raises(ValueError, match="per-axis octaves"):
        c.load_state_dict(state)


def test_upsample2_is_nearest_neighbour_and_differentiable():
    x = np.arange(2 * 3 * 2 * 3, dtype=np.float64).reshape(2, 3, 2, 3)
    up = upsample2(Tensor(x)).data
    np.testing.assert_array_equal(up, x.repeat(2, axis=2).repeat(2, axis=3))
    # the gradient is the sum over each 2x2 block of copies
    xt = Tensor(x, requires_grad=True)
    g = np.random.default_rng(0).standard_normal((2, 3, 4, 6))
    (upsample2(xt) * Tensor(g)).sum().backward()
    np.testing.assert_allclose(xt.grad, g.reshape(2, 3, 2, 2, 3, 2).sum(axis=(3, 5)), atol=1e-12)
    assert gradcheck(lambda a: upsample2(a), [Tensor(x / 10, requires_grad=True)])


def test_unet_shapes_down_and_up():
    rng = np.random.default_rng(0)
    net = UNet(channels=1, base=8, mults=(1, 2, 2), num_classes=3, rng=rng)
    x = rng.standard_normal((5, 1, 16, 16)).astype(np.float32)
    t = np.array([1, 10, 100, 500, 1000])
    out = net(x, t, y=np.array([0, 1, 2, NULL_LABEL, 0]))
    assert out.shape == (5, 1, 16, 16)
    # zero-initialised output layer: the untrained network predicts 0
    assert np.all(out.data == 0)
    with pytest.raises(UserError, match="divisible by 4"):
        net(rng.standard_normal((1, 1, 10, 10)).astype(np.float32), np.array([1]))


def _perturb(net, rng):
    """Random weights everywhere (the zero-initialised layers would hide the inputs)."""
    for p in net.parameters():
        p.data[...] = rng.standard_normal(p.data.shape).astype(p.data.dtype) * 0.3


def test_unet_gradients_reach_every_parameter_and_skip_path():
    rng = np.random.default_rng(1)
    net = UNet(channels=2, base=4, mults=(1, 2), rng=rng)
    _perturb(net, rng)
    x = Tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32), requires_grad=True)
    out = net(x, np.array([3, 7]))
    (out * out).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and np.abs(p.grad).sum() > 0, name
    assert np.abs(x.grad).sum() > 0


def test_time_and_label_change_the_output():
    rng = np.random.default_rng(2)
    net = MLPDenoiser(2, hidden=16, depth=2, num_classes=4, rng=rng)
    _perturb(net, rng)
    x = rng.standard_normal((3, 2))
    with no_grad():
        a = net(x, np.array([5, 5, 5]), np.array([0, 1, NULL_LABEL])).data
        b = net(x, np.array([6, 6, 6]), np.array([0, 1, NULL_LABEL])).data
        c = net(x, np.array([5, 5, 5]), None).data                  # no labels = all null
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(c[2], a[2])
    assert not np.allclose(c[0], a[0])
    with pytest.raises(UserError, match="0..3"):
        net(x, np.array([5, 5, 5]), np.array([0, 4, 1]))
    plain = MLPDenoiser(2, hidden=8, depth=1, rng=rng)
    with pytest.raises(UserError, match="without class labels"):
        plain(x, np.array([1, 1, 1]), np.array([0, 0, 0]))


def test_continuous_conditioning_vector_with_dropout_to_null():
    """The general conditioning input (for p(x | c) with a vector c): rows whose c_keep is
    False use the learned null vector, i.e. give exactly the unconditional output."""
    rng = np.random.default_rng(3)
    net = MLPDenoiser(2, hidden=16, depth=1, cond_dim=3, num_classes=2, rng=rng)
    _perturb(net, rng)
    x, t = rng.standard_normal((4, 2)), np.array([9, 9, 9, 9])
    c = rng.standard_normal((4, 3))
    y = np.array([1, 0, 1, 0])
    keep = np.array([True, False, True, False])
    with no_grad():
        mixed = net(x, t, y, c=c, c_keep=keep).data
        full = net(x, t, y, c=c).data
        none = net(x, t, y, c=None).data
    np.testing.assert_array_equal(mixed[keep], full[keep])
    np.testing.assert_array_equal(mixed[~keep], none[~keep])
    assert not np.allclose(full[1], none[1])
    # gradients flow into the conditioning weights and the null vector
    out = net(x, t, y, c=c, c_keep=keep)
    (out * out).sum().backward()
    cond = net.time.cond
    assert np.abs(cond.vector.weight.grad).sum() > 0 and np.abs(cond.null_vector.grad).sum() > 0
    with pytest.raises(UserError, match="4 vectors of 3 numbers"):
        net(x, t, y, c=rng.standard_normal((4, 2)))
