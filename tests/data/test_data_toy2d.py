"""2D toy sets: each sampler against its own density, and each density against 1."""

import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data import toy2d
from scratch_gen.data._kernels import gauss_lse, gauss_lse_reference

NAMES_2D = list(toy2d.DATASETS_2D)


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", NAMES_2D)
def test_samples_are_float64_points_and_seeded(name):
    ds = data.get(name)
    x = ds.sample(500, rng(1))
    assert x.dtype == np.float64 and x.shape == (500, 2) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, ds.sample(500, rng(1)))
    assert not np.array_equal(x, ds.sample(500, rng(2)))
    assert ds.sample(0, rng()).shape == (0, 2)


@pytest.mark.parametrize("name", [n for n in NAMES_2D if data.get(n).num_classes])
def test_labelled_draws_match_unlabelled_draws(name):
    ds = data.get(name)
    x, y = ds.sample_labelled(300, rng(3))
    np.testing.assert_array_equal(x, ds.sample(300, rng(3)))
    assert y.dtype.kind == "i" and y.min() >= 0 and y.max() < ds.num_classes
    assert len(np.unique(y)) == ds.num_classes


@pytest.mark.parametrize("name", NAMES_2D)
def test_mean_log_prob_of_samples_is_minus_entropy(name):
    """E_p[-log p] = H: the sampler and log_prob describe the same distribution, and the
    stated entropy is that distribution's (within 4 Monte Carlo standard errors)."""
    ds = data.get(name)
    lp = ds.log_prob(ds.sample(20_000, rng(4)))
    assert np.isfinite(lp).all()
    se = lp.std(ddof=1) / math.sqrt(len(lp))
    err = math.hypot(se, ds.entropy_error())
    assert abs(-lp.mean() - ds.entropy()) < 4 * err + 1e-12, (name, -lp.mean(), ds.entropy(), err)


@pytest.mark.parametrize("name", [n for n in NAMES_2D if n != "checkerboard"])
def test_density_integrates_to_one(name):
    """sum p h^2 on a grid around the support: for a smooth, fast-decaying density the
    trapezoid rule's error is about exp(-2 pi^2 s^2 / h^2), 4e-14 at h = 0.8 s."""
    ds = data.get(name)
    x = ds.sample(20_000, rng(5))
    scale = getattr(ds, "std", None) or getattr(ds, "noise", None) or 0.1
    h = 0.8 * scale
    lo, hi = x.min(0) - 10 * scale, x.max(0) + 10 * scale
    gx, gy = np.arange(lo[0], hi[0], h), np.arange(lo[1], hi[1], h)
    pts = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    mass = np.exp(ds.log_prob(pts)).sum() * h * h
    assert abs(mass - 1) < 1e-6, (name, mass)


def test_checkerboard_is_uniform_on_eight_squares():
    ds = data.get("checkerboard")
    x = ds.sample(5000, rng(6))
    assert (np.abs(x) <= 4).all()
    np.testing.assert_array_equal(ds.log_prob(x), -math.log(32))
    u = rng(7).uniform(-4, 4, size=(200_000, 2))
    inside = np.isfinite(ds.log_prob(u))
    assert abs(inside.mean() - 0.5) < 0.005                       # half the board is black
    # each of the 8 black squares gets 1/8 of the samples
    cell = np.floor(x / 2).astype(int) + 2
    counts = np.bincount(cell[:, 0] * 4 + cell[:, 1], minlength=16)
    assert ((counts == 0) | (np.abs(counts / len(x) - 1 / 8) < 0.02)).all()
    assert (counts > 0).sum() == 8
    assert ds.entropy() == math.log(32) and ds.entropy_error() == 0.0
    assert ds.log_prob([[5.0, 0.0], [-1.0, 1.0]])[0] == -np.inf


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_well_separated_mixture_entropy_is_log_k_plus_gaussian(name):
    ds = data.get(name)
    near = math.log(len(ds.centers)) + math.log(2 * math.pi * math.e * ds.std ** 2)
    assert abs(ds.entropy() - near) < 1e-12


def test_overlapping_mixtures_lose_a_little_entropy_to_overlap():
    for name in ("gaussians8", "pinwheel"):
        ds = data.get(name)
        assert 0.001 < ds._overlap(64) < 0.05
    g8 = data.get("gaussians8")
    near = math.log(8) + math.log(2 * math.pi * math.e * g8.std ** 2)
    assert 0.006 < near - g8.entropy() < 0.0065


def test_mode_metadata_for_pacgan_metrics():
    ring = data.get("ring8")
    np.testing.assert_allclose(np.hypot(*ring.centers.T), 1.0)
    assert ring.std == 0.01
    grid = data.get("grid25")
    assert grid.centers.shape == (25, 2) and set(grid.centers.ravel()) == {-4, -2, 0, 2, 4}
    g8 = data.get("gaussians8")
    np.testing.assert_allclose(np.hypot(*g8.centers.T), 4 / 1.414)
    for name in ("moons", "swissroll", "spirals", "pinwheel", "checkerboard"):
        assert getattr(data.get(name), "centers", None) is None


def test_pinwheel_warp_is_invertible_and_matches_its_components():
    ds = data.get("pinwheel")
    z = rng(8).standard_normal((1000, 2))
    for k in range(5):
        x = ds._push(k, z)
        # the component's density at x is the base density of z times 1/4 (|J| of x = 2u)
        want = -0.5 * (z ** 2).sum(1) - math.log(2 * math.pi * 0.3 * 0.1) - math.log(4)
        np.testing.assert_allclose(ds._component_logpdf(x)[:, k], want, atol=1e-10)


@pytest.mark.parametrize("name", ["moons", "swissroll", "spirals"])
def test_curve_quadrature_error_is_within_its_statement(name):
    ds = data.get(name)
    x = ds.sample(500, rng(9))
    far = x + ds.noise * 4 * rng(10).standard_normal(x.shape)     # out to ~15 noise stds
    centers, logw = toy2d._curve_nodes(type(ds), ds.panel / 8)
    for pts in (x, far):
        fine = ds._log_prob_nodes(pts, centers, logw)
        assert np.abs(ds.log_prob(pts) - fine).max() < ds.log_prob_error


def test_curve_entropy_errors_are_small_and_stated():
    for name in ("moons", "swissroll", "spirals"):
        ds = data.get(name)
        assert 0 < ds.entropy_error() < 1e-5


def test_log_prob_rejects_bad_input():
    ds = data.get("moons")
    with pytest.raises(data.DataError, match="shape"):
        ds.log_prob(np.zeros(2))
    with pytest.raises(data.DataError, match="shape"):
        ds.log_prob(np.zeros((3, 3)))
    with pytest.raises(data.DataError, match="NaN"):
        ds.log_prob([[np.nan, 0.0]])


def test_gauss_lse_kernel_matches_reference():
    r = rng(11)
    x, c = r.normal(size=(300, 2)), r.normal(size=(50, 2))
    logw = r.normal(size=50)
    for inv in (0.5, 50.0, 5000.0):
        np.testing.assert_allclose(gauss_lse(x, c, logw, inv),
                                   gauss_lse_reference(x, c, logw, inv), rtol=1e-12, atol=1e-12)
