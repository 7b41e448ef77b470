"""PixelCNN scanned column by column (``scan="columns"``): the same masked convolutions
on the transposed image, so x_i follows the columns to its left and the pixels above it
in its own column. The chain rule must still hold in that order: causality by
perturbation in column-major rank, normalization over every image, and the windowed
sampler equal to the full pass. Non-square images, so a transposition mix-up shows."""
import math

import numpy as np

from scratch_gen.registry import DataSpec, get

from .test_causality import perturbation_dependence
from .test_sampling import path_log_prob


def column_model(shape, levels, config, seed=0):
    spec = DataSpec("image", shape=shape, levels=levels)
    model = get("autoregressive", "pixelcnn")(spec, dict(config, scan="columns"),
                                              np.random.default_rng(seed))
    model.net.to(np.float64)
    rng = np.random.default_rng(seed + 5)
    model.net.pos.data[...] = rng.normal(size=model.net.pos.shape)
    for p in model.net.parameters():                 # not at init: biases nonzero too
        p.data += 0.1 * rng.normal(size=p.shape)
    return model


def test_columns_scan_reads_only_earlier_pixels_in_column_major_order():
    H, W = 4, 5
    model = column_model((H, W), 3, {"channels": 6, "dilations": [1, 2], "first_kernel": 3,
                                     "row_context": 4})
    assert list(model.order) == [r * W + c for c in range(W) for r in range(H)]
    rank = np.empty(H * W, dtype=np.int64)
    rank[model.order] = np.arange(H * W)
    rng = np.random.default_rng(2)
    dep = perturbation_dependence(model, rng.integers(0, 3, size=(6, H * W)), rng)
    i, j = np.indices(dep.shape)
    assert not dep[rank[j] >= rank[i]].any()
    r, c = np.divmod(np.arange(H * W), W)
    above = np.flatnonzero(r > 0)                    # the pixel above: the one just before
    assert dep[above, above - W].all()
    left = np.flatnonzero(c > 0)                     # the same row, one column back
    assert dep[left, left - 1].all()


def test_columns_scan_sums_to_one_over_every_image():
    model = column_model((2, 3), 2, {"channels": 4, "dilations": [1], "first_kernel": 3,
                                     "row_context": 3})
    bits = (np.arange(64)[:, None] >> np.arange(6)) & 1
    lp = model.log_prob(bits.reshape(64, 2, 3))
    assert abs(math.fsum(np.exp(lp)) - 1.0) < 1e-10
    assert lp.max() - lp.min() > 0.1


def test_columns_scan_window_sampler_equals_full_pass():
    model = column_model((6, 9), 3, {"channels": 5, "dilations": [1, 2], "first_kernel": 3,
                                     "row_context": 4})
    x = np.random.default_rng(1).integers(0, 3, size=(3, 54))
    full = model.logits(x).data
    step = model.stepper(3, cached=True)
    # in the scan's order: the row context is cached per finished column
    got = np.stack([step(x, i) for i in model.order], axis=1)
    np.testing.assert_allclose(got, full[:, model.order], rtol=1e-10, atol=1e-12)
    imgs = model.sample(4, np.random.default_rng(2), cached=True)
    np.testing.assert_array_equal(imgs, model.sample(4, np.random.default_rng(2), cached=False))
    np.testing.assert_allclose(path_log_prob(model, model.seq.encode(imgs)[0], True),
                               model.log_prob(imgs), rtol=1e-10)
