"""Isola L14, "Concept #1: noise is latent variables": the hand-written generators are
functions of their latents, and each latent drives one factor of the picture."""
import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.common.errors import UserError
from scratch_gen.latent import landscape as L
from scratch_gen.latent import turtle


def test_the_turtle_is_the_river_datasets_program():
    rng = np.random.default_rng(0)
    z = turtle.sample_z(300, rng)
    assert set(np.unique(z)) == {0, 1} and z.shape == (300, 10)
    assert abs(z.mean() - 0.5) < 0.03                               # Bernoulli(0.5)
    river = data.get("river")
    np.testing.assert_array_equal(turtle.G(z), river.render(z))
    # same generator state, same images: the dataset's sampler is z ~ p(z), x = G(z)
    np.testing.assert_array_equal(turtle.G(turtle.sample_z(5, np.random.default_rng(1))),
                                  river.sample(5, np.random.default_rng(1)))
    np.testing.assert_array_equal(river.decode(turtle.G(z)), z)      # G is one-to-one


@pytest.mark.parametrize("i", [0, 4, 9])
def test_flipping_one_latent_changes_one_turn(i):
    z = turtle.sample_z(20, np.random.default_rng(i))
    z2 = turtle.flip(z, i)
    assert (z2 != z).sum() == 20 and (z2[:, i] != z[:, i]).all()
    before, after = turtle.headings(z), turtle.headings(z2)
    np.testing.assert_array_equal(before[:, :i], after[:, :i])            # earlier turns kept
    np.testing.assert_array_equal(np.abs(before[:, i:] - after[:, i:]), 20)  # later: +-20 deg
    px, py = turtle.path(z)
    qx, qy = turtle.path(z2)
    np.testing.assert_array_equal(px[:, :i + 2], qx[:, :i + 2])           # the line up to turn i
    assert not np.allclose(py[:, i + 2:], qy[:, i + 2:])
    assert (turtle.G(z) != turtle.G(z2)).any(axis=(1, 2)).all()           # a different picture
    with pytest.raises(UserError, match="bit 10"):
        turtle.flip(z, 10)


@pytest.fixture(scope="module")
def scene():
    z = L.sample_z(np.random.default_rng(3))
    z["n_trees"] = 4
    return z, L.render(z)


def test_the_picture_holds_exactly_the_scene_colours(scene):
    z, img = scene
    assert img.shape == (L.HEIGHT, L.WIDTH, 3) and img.dtype == np.uint8
    colours = {tuple(c) for c in np.unique(img.reshape(-1, 3), axis=0)}
    expected = {tuple(L.colour_uint8(c)) for c in (z["grass"], L.RIVER_RGB, L.CROWN_RGB,
                                                   L.TRUNK_RGB)}
    assert colours == expected                                 # no blending: one colour per pixel
    np.testing.assert_array_equal(L.render(z), img)            # deterministic in z


def test_grass_colour_repaints_exactly_the_grass(scene):
    z, img = scene
    z2 = dict(z, grass=z["grass"] + [0.1, -0.1, 0.05])
    img2 = L.render(z2)
    grass = np.all(img == L.colour_uint8(z["grass"]), axis=2)
    changed = np.any(img != img2, axis=2)
    np.testing.assert_array_equal(changed, grass)
    assert np.all(img2[grass] == L.colour_uint8(z2["grass"]))


def test_one_more_tree_adds_pixels_only_in_its_box(scene):
    z, img = scene
    img2 = L.render(dict(z, n_trees=5))
    ys, xs = np.nonzero(np.any(img != img2, axis=2))
    assert len(xs) > 20
    x0, y0, x1, y1 = L.tree_box(z["tree_xy"][4])
    assert xs.min() >= math.floor(x0) and xs.max() <= math.ceil(x1)
    assert ys.min() >= math.floor(y0) and ys.max() <= math.ceil(y1)
    crown = np.all(img2 == L.colour_uint8(L.CROWN_RGB), axis=2)
    assert crown.sum() > np.all(img == L.colour_uint8(L.CROWN_RGB), axis=2).sum()


def test_the_river_turns_move_only_river_and_grass_pixels(scene):
    z, img = scene
    img2 = L.render(dict(z, turns=1 - z["turns"]))
    changed = np.any(img != img2, axis=2)
    assert changed.sum() > 200
    river_or_grass = [tuple(L.colour_uint8(c)) for c in (L.RIVER_RGB, z["grass"])]
    for picture in (img, img2):
        assert all(tuple(c) in river_or_grass for c in picture[changed])   # trees untouched


def test_latent_distributions_and_bad_latents():
    rng = np.random.default_rng(0)
    draws = [L.sample_z(rng) for _ in range(2000)]
    counts = np.bincount([d["n_trees"] for d in draws], minlength=11)
    assert len(counts) == 11 and counts.min() > 120                  # Unif{0..10}: ~182 each
    grass = np.array([d["grass"] for d in draws])
    np.testing.assert_allclose(grass.mean(0), L.GRASS_MEAN, atol=0.005)
    np.testing.assert_allclose(np.cov(grass.T), L.GRASS_COV, atol=4e-4)
    with pytest.raises(UserError, match="n_trees=11"):
        L.render(dict(draws[0], n_trees=11))
    with pytest.raises(UserError, match="lack"):
        L.render({"turns": draws[0]["turns"]})
