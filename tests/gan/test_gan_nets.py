"""The two players: packing, conditioning, spectral normalization, image shapes."""
import numpy as np
import pytest

import autograd
from autograd import Tensor
from scratch_gen.common.errors import UserError
from scratch_gen.gan.nets import (ConvDiscriminator, ConvGenerator, MLPDiscriminator,
                                  MLPGenerator, leaky_relu, upsample2)


def test_leaky_relu_is_max_of_x_and_slope_x():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(leaky_relu(Tensor(x), 0.2).data, np.maximum(x, 0.2 * x))


def test_a_packed_discriminator_scores_each_pack_from_its_own_samples_only():
    d = MLPDiscriminator(2, hidden=16, layers=2, pack=3, rng=0)
    x = np.random.default_rng(0).normal(size=(9, 2)).astype(np.float32)
    a = d(Tensor(x)).data
    assert a.shape == (3,)
    x2 = x.copy()
    x2[4] += 1.0                                  # sample 4 is in pack 1 (rows 3..5)
    b = d(Tensor(x2)).data
    assert b[0] == a[0] and b[2] == a[2] and b[1] != a[1]
    with pytest.raises(UserError, match="packs of 3"):
        d(Tensor(x[:8]))


def test_class_conditioning_changes_the_output_and_checks_labels():
    g = MLPGenerator(2, 2, hidden=16, layers=2, num_classes=4, rng=0)
    z = Tensor(np.zeros((3, 2), np.float32))
    a = g(z, np.array([0, 0, 3])).data
    assert np.allclose(a[0], a[1]) and not np.allclose(a[0], a[2])
    with pytest.raises(UserError, match="0..3"):
        g(z, np.array([0, 1, 4]))
    with pytest.raises(UserError, match="needs y"):
        g(z)
    d = MLPDiscriminator(2, hidden=8, layers=1, pack=1, num_classes=4, rng=0)
    assert d(Tensor(np.zeros((3, 2), np.float32)), np.array([0, 1, 2])).shape == (3,)


def test_vector_conditioning_for_continuous_y():
    g = MLPGenerator(2, 2, hidden=8, layers=1, cond_dim=2, rng=0)
    y = np.array([[0.0, 1.0], [5.0, -1.0]])
    out = g(Tensor(np.zeros((2, 2), np.float32)), y).data
    assert out.shape == (2, 2) and not np.allclose(out[0], out[1])
    with pytest.raises(UserError, match=r"\(2, 2\)"):
        g(Tensor(np.zeros((2, 2), np.float32)), np.zeros((2, 3)))
    with pytest.raises(UserError, match="unconditional"):
        MLPGenerator(2, 2, rng=0)(Tensor(np.zeros((2, 2), np.float32)), y)


def test_spectral_norm_makes_every_layer_of_d_one_lipschitz():
    d = MLPDiscriminator(2, hidden=32, layers=2, spectral=True, rng=0)
    x = Tensor(np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32))
    for _ in range(30):                           # power iteration sharpens per forward
        d(x)
    for layer in list(d.hidden) + [d.out]:
        w = np.asarray(layer.weight.data, dtype=np.float64).reshape(layer.weight.shape[0], -1)
        assert abs(np.linalg.svd(w, compute_uv=False)[0] - 1.0) < 1e-3
    # so the whole network is 1-Lipschitz: |d(x) - d(x')| <= |x - x'|
    with autograd.no_grad():
        d.eval()
        a, b = x.data, x.data + 0.1
        gap = np.abs(d(Tensor(a)).data - d(Tensor(b)).data)
    assert np.all(gap <= np.linalg.norm(b - a, axis=1) + 1e-6)


def test_upsample2_repeats_pixels_and_sums_gradients_back():
    x = Tensor(np.arange(8, dtype=np.float64).reshape(1, 2, 2, 2), requires_grad=True)
    y = upsample2(x)
    np.testing.assert_array_equal(y.data, x.data.repeat(2, axis=2).repeat(2, axis=3))
    g = autograd.grad((y * y).sum(), x)
    np.testing.assert_allclose(g.data, 4 * 2 * x.data)     # each pixel appears 4 times


def test_conv_networks_on_16x16_images():
    g = ConvGenerator(8, (16, 16), channels=4, rng=0)
    imgs = g(Tensor(np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)))
    assert imgs.shape == (5, 16, 16)
    assert np.all(np.isfinite(imgs.data))
    d = ConvDiscriminator((16, 16), channels=4, pack=1, rng=0)
    assert d(imgs).shape == (5,)
    d2 = ConvDiscriminator((16, 16), channels=4, pack=2, num_classes=10, spectral=True, rng=0)
    assert d2(imgs[:4], np.array([1, 2, 3, 4])).shape == (2,)
    with pytest.raises(UserError, match="divisible by 4"):
        ConvGenerator(8, (10, 10), rng=0)


def _bars(n, rng):
    """8x8 images of a bright left or right half (label 0 or 1), plus noise."""
    y = rng.integers(0, 2, n)
    x = np.zeros((n, 8, 8), np.float32)
    x[y == 0, :, :4] = 1.0
    x[y == 1, :, 4:] = 1.0
    return x + 0.1 * rng.standard_normal(x.shape).astype(np.float32), y


@pytest.mark.parametrize("how", ["labels", "vectors"])
def test_the_projection_discriminator_weighs_y_against_x(how):
    """The conditional task d must solve: real pairs (x, its own y) against the same
    images with the other y. Only a term in x *and* y can separate them (a term in y
    alone is the same for both); the projection <V y, phi(x)> is one. Stated figure:
    >= 95% of held-out pairs right after 150 Adam steps (chance is 50%)."""
    from autograd import optim
    from autograd import functional as F
    rng = np.random.default_rng(0)
    kw = {"num_classes": 2} if how == "labels" else {"cond_dim": 2}
    d = ConvDiscriminator((8, 8), channels=4, rng=1, **kw)

    def cond(y):
        return y if how == "labels" else np.eye(2, dtype=np.float32)[y] * 3.0 - 1.0

    def logits(x, y):
        both = np.concatenate([x, x])
        ys = np.concatenate([y, 1 - y])
        return d(Tensor(both), cond(ys))
    opt = optim.Adam(d.parameters(), lr=1e-2)
    for _ in range(150):
        x, y = _bars(64, rng)
        target = Tensor(np.r_[np.ones(64), np.zeros(64)].astype(np.float32))
        loss = F.binary_cross_entropy_with_logits(logits(x, y), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _bars(500, np.random.default_rng(1))
    with autograd.no_grad():
        a = logits(x, y).numpy()
    acc = np.mean(np.r_[a[:500] > 0, a[500:] < 0])
    assert acc >= 0.95, acc
    with pytest.raises(UserError, match=r"\(3, 2\)" if how == "vectors" else "0..1"):
        d(Tensor(x[:3]), np.zeros((3, 3)) if how == "vectors" else np.array([0, 1, 2]))
