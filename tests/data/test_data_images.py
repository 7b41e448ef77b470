"""The river (exact, one image per flip sequence) and the glyphs (rendered digits)."""

import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data import images
from scratch_gen.data._kernels import (polygon_sdf, polygon_sdf_reference,
                                       render_polylines_reference)


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ river

def all_flips(n):
    return (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1


def test_river_is_injective_over_all_flip_sequences():
    """The whole support, not a sample: 2^10 flip sequences, 2^10 different images."""
    river = data.get("river")
    imgs = river.render(all_flips(river.n_turns))
    flat = imgs.reshape(len(imgs), -1)
    assert len(np.unique(flat, axis=0)) == 2 ** river.n_turns
    # the compiled renderer draws exactly what the plain NumPy reference draws
    px, py = river.vertices(all_flips(river.n_turns))
    np.testing.assert_array_equal(imgs, render_polylines_reference(px, py, *river.shape,
                                                                   river.radius))


def test_river_fits_its_frame_and_no_pixel_sits_on_the_threshold():
    river = data.get("river")
    px, py = river.vertices(all_flips(river.n_turns))
    # nothing is clipped: every pixel within the radius of the line is inside the image
    assert px.min() - river.radius > 0 and px.max() + river.radius < river.shape[1]
    assert py.min() - river.radius > 0 and py.max() + river.radius < river.shape[0]
    # distances from pixel centres to the line stay clear of the threshold, so rounding
    # differences between machines cannot change an image
    qx, qy = np.meshgrid(np.arange(river.shape[1]) + 0.5, np.arange(river.shape[0]) + 0.5)
    best = np.full((len(px),) + qx.shape, np.inf)
    for k in range(px.shape[1] - 1):
        ax, ay = px[:, k, None, None], py[:, k, None, None]
        dx, dy = px[:, k + 1, None, None] - ax, py[:, k + 1, None, None] - ay
        t = np.clip(((qx - ax) * dx + (qy - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, (ax + t * dx - qx) ** 2 + (ay + t * dy - qy) ** 2)
    assert np.abs(best - river.radius ** 2).min() > 1e-6           # measured: 1.4e-5


def test_river_log_prob_is_exact_on_the_support_and_minus_inf_off_it():
    river = data.get("river")
    z = river.sample_latents(3000, rng(1))
    x = river.sample(3000, rng(1))
    assert x.dtype == np.int64 and x.shape == (3000, 40, 32) and set(np.unique(x)) == {0, 1}
    np.testing.assert_array_equal(x, river.render(z))
    np.testing.assert_array_equal(river.decode(x), z)
    np.testing.assert_allclose(river.log_prob(x), -10 * math.log(2))
    assert river.entropy() == 10 * math.log(2) and river.entropy_error() == 0.0
    # one pixel changed: either no river draws it, or a different river draws exactly it
    r = rng(2)
    y = x[:300].copy()
    rows, cols = r.integers(0, 40, 300), r.integers(0, 32, 300)
    y[np.arange(300), rows, cols] ^= 1
    z_y = river.decode(y)
    off = z_y[:, 0] < 0
    assert off.mean() > 0.9
    np.testing.assert_array_equal(river.log_prob(y)[off], -np.inf)
    if (~off).any():
        np.testing.assert_array_equal(river.render(z_y[~off]), y[~off])
    assert river.log_prob(np.zeros((1, 40, 32)))[0] == -np.inf
    assert river.log_prob(2 * x[:1])[0] == -np.inf
    assert river.log_prob(0.5 * x[:1])[0] == -np.inf
    assert river.log_prob(np.zeros((0, 40, 32))).shape == (0,)


def test_river_support_is_a_distribution():
    states, probs = data.get("river").support()
    assert states.shape == (1024, 40, 32)
    assert abs(math.fsum(probs) - 1) < 1e-12
    np.testing.assert_allclose(data.get("river").log_prob(states), np.log(probs))


def test_river_render_checks_its_flips():
    with pytest.raises(data.DataError, match="shape"):
        data.get("river").render(np.zeros((2, 9), dtype=int))


# ------------------------------------------------------------------ glyphs

def test_glyphs_are_labelled_float_images_in_unit_range():
    g = data.get("glyphs")
    x, y = g.sample_labelled(2000, rng(3))
    assert x.dtype == np.float32 and x.shape == (2000, 16, 16)
    assert x.min() >= 0 and x.max() <= 1 and x.max() == 1.0
    assert y.dtype.kind == "i" and set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(x, g.sample(2000, rng(3)))
    assert (x[:, 0, :].mean() < 0.02) and (x[:, :, 0].mean() < 0.02)       # margins stay dark
    # the digits differ on average: class means are far apart
    means = np.stack([x[y == k].mean(0) for k in range(10)])
    d = np.sqrt(((means[:, None] - means[None]) ** 2).sum((2, 3)))
    assert d[~np.eye(10, dtype=bool)].min() > 1.0


def test_glyph_ink_is_area_coverage():
    """At zero rotation and width the total ink equals the outline's area in pixels
    (shoelace formula, the holes' opposite orientation subtracting them)."""
    g = data.get("glyphs")
    _, _, _, _, height = images._glyph_fields()
    ppe = g.height_px / height
    for k in range(10):
        seg = images.glyph_segments(str(k))
        area = abs(0.5 * np.sum(seg[:, 0] * seg[:, 3] - seg[:, 2] * seg[:, 1])) * ppe ** 2
        ink = g.render([k], 0.0, 1.0, np.zeros((1, 2)), 0.0)[0].sum()
        assert ink == pytest.approx(area, rel=0.02), k
        thick = g.render([k], 0.0, 1.0, np.zeros((1, 2)), 0.5)[0].sum()
        thin = g.render([k], 0.0, 1.0, np.zeros((1, 2)), -0.3)[0].sum()
        assert thin < ink < thick


def test_glyph_latents_move_the_ink():
    g = data.get("glyphs")
    base = g.render([1], 0.0, 1.0, np.zeros((1, 2)), 0.0)[0]
    right = g.render([1], 0.0, 1.0, np.array([[2.0, 0.0]]), 0.0)[0]
    np.testing.assert_allclose(right[:, 2:], base[:, :-2], atol=1e-6)   # 2 px right
    cols = np.arange(16)
    tilted = g.render([1], 0.25, 1.0, np.zeros((1, 2)), 0.0)[0]
    # counter-clockwise: the top of a "1" moves left
    top_x = lambda im: (im[:5] * cols).sum() / im[:5].sum()
    assert top_x(tilted) < top_x(base) - 0.5


def test_polygon_sdf_matches_reference():
    seg = images.glyph_segments("8")
    pts = rng(4).uniform(-0.1, 0.8, size=(500, 2))
    np.testing.assert_allclose(polygon_sdf(pts, seg), polygon_sdf_reference(pts, seg),
                               atol=1e-12)
    # the holes of an 8 are outside
    centre_of_upper_hole = np.array([[0.318, 0.56]])
    assert polygon_sdf(centre_of_upper_hole, seg)[0] < 0


def test_quantize():
    x = np.array([0.0, 0.49, 0.5, 0.999, 1.0])
    np.testing.assert_array_equal(data.quantize(x, 2), [0, 0, 1, 1, 1])
    q = data.quantize(x, 256)
    assert q.dtype == np.int64 and q.max() == 255
    with pytest.raises(data.DataError, match="levels"):
        data.quantize(x, 1)
    with pytest.raises(data.DataError, match=r"\[0, 1\]"):
        data.quantize(np.array([1.5]), 2)
