"""The channels-last causal layers compute exactly the engine's convolutions
(``F.conv1d`` with causal padding, ``F.conv2d`` with a PixelCNN-masked weight)."""
import numpy as np

from autograd import Tensor
import autograd.functional as F
from scratch_gen.autoregressive.layers import CausalConv1d, MaskedConv2d
from scratch_gen.autoregressive.pixelcnn import pixelcnn_mask


def test_causal_conv1d_equals_engine_conv1d_with_left_padding():
    rng = np.random.default_rng(0)
    for k, d in ((1, 1), (2, 1), (2, 4), (3, 2)):
        layer = CausalConv1d(3, 5, k, d, rng=rng).to(np.float64)
        x = rng.normal(size=(4, 11, 3))
        # weight[o, j * C + c] = W[o, c, j]
        w = layer.lin.weight.data.reshape(5, k, 3).transpose(0, 2, 1)
        want = F.conv1d(Tensor(x.transpose(0, 2, 1)), Tensor(w), Tensor(layer.lin.bias.data),
                        padding=((k - 1) * d, 0), dilation=d).data.transpose(0, 2, 1)
        np.testing.assert_allclose(layer(Tensor(x)).data, want, rtol=1e-12, atol=1e-12)
        # the single-step form on the last span + 1 inputs gives the last output
        t = 9
        window = np.zeros((4, layer.span + 1, 3))
        lo = max(0, t - layer.span)
        window[:, layer.span - (t - lo):] = x[:, lo:t + 1]
        np.testing.assert_allclose(layer.step(Tensor(window)).data, want[:, t], rtol=1e-12,
                                   atol=1e-12)


def test_masked_conv2d_equals_engine_conv2d_with_a_masked_weight():
    rng = np.random.default_rng(1)
    for kind, k, d in (("A", 3, 1), ("B", 3, 1), ("A", 7, 1), ("B", 5, 1), ("B", 3, 2)):
        layer = MaskedConv2d(2, 4, k, kind, dilation=d, rng=rng).to(np.float64)
        x = rng.normal(size=(3, 6, 5, 2))
        # the dilated kernel as a plain (k-1)d+1 square kernel with zeros in between
        K = (k - 1) * d + 1
        w = np.zeros((4, 2, K, K))
        cols = layer.lin.weight.data.reshape(4, len(layer.taps), 2)
        for t, (dy, dx) in enumerate(layer.taps):
            w[:, :, dy + K // 2, dx + K // 2] = cols[:, t]
        if d == 1:
            assert np.all(w * (1 - pixelcnn_mask(kind, k)) == 0)
        want = F.conv2d(Tensor(x.transpose(0, 3, 1, 2)), Tensor(w), Tensor(layer.lin.bias.data),
                        padding=K // 2).data.transpose(0, 2, 3, 1)
        np.testing.assert_allclose(layer(Tensor(x)).data, want, rtol=1e-12, atol=1e-12)
