"""Each metric on a case with a known answer."""
import json
import math

import numpy as np
import pytest

from scratch_gen import metrics as M
from scratch_gen.common.jsonio import jsonable


def ring(n_modes=8, radius=2.0):
    a = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(a), np.sin(a)], 1)


def grid(k=5, spacing=2.0):
    g = spacing * (np.arange(k) - (k - 1) / 2)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


def perfect_sampler(centers, std, n, rng):
    return centers[rng.integers(len(centers), size=n)] + std * rng.standard_normal((n, 2))


# ------------------------------------------------------------------------------ NLL

def test_mean_and_standard_error_by_hand():
    m, se = M.mean_se([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5
    assert se == pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-15)     # s^2 = 5/3, n = 4


def test_nll_units_fixed_dimension():
    lp = np.array([-3.0, -5.0, -4.0])
    r = M.nll(lp, dims=4)
    assert (r["n_test"], r["nll"]) == (3, 4.0)
    assert r["nll_se"] == pytest.approx(1 / math.sqrt(3), rel=1e-15)
    assert r["nll_per_dim"] == 1.0
    assert r["nll_per_dim_se"] == pytest.approx(r["nll_se"] / 4, rel=1e-12)
    assert r["bits_per_dim"] == pytest.approx(1 / math.log(2), rel=1e-15)
    assert r["bits_per_dim_se"] == pytest.approx(r["nll_per_dim_se"] / math.log(2), rel=1e-15)


def test_nll_per_token_is_a_ratio_of_sums():
    # strings "ab" and "abcd": 3 and 5 tokens with the end token, 6 and 10 nats
    r = M.nll([-6.0, -10.0], dims=[3, 5])
    assert r["nll"] == 8.0 and r["nll_per_dim"] == 2.0             # 16 nats / 8 tokens
    assert r["nll_per_dim_se"] == 0.0                                # both exactly 2/token
    r = M.nll([-3.0, -10.0], dims=[3, 5])
    ratio = 13 / 8
    expect = math.sqrt(((3 - 3 * ratio) ** 2 + (10 - 5 * ratio) ** 2) / 2) / 4
    assert r["nll_per_dim"] == ratio and r["nll_per_dim_se"] == pytest.approx(expect, rel=1e-14)


def test_nll_propagates_infinities_and_json_says_so():
    r = M.nll([-1.0, -np.inf, -2.0], dims=2)
    assert r["nll"] == math.inf and r["nll_per_dim"] == math.inf and r["bits_per_dim"] == math.inf
    assert math.isnan(r["nll_se"])
    text = json.dumps(jsonable(r), allow_nan=False)               # standard JSON, no Infinity
    back = json.loads(text)
    assert back["nll"] == "inf" and back["bits_per_dim"] == "inf" and back["nll_se"] == "nan"
    assert M.nll([np.inf, 1.0], dims=1)["nll"] == -math.inf        # a delta at a test point
    assert math.isnan(M.nll([np.inf, -np.inf], dims=1)["nll"])     # inf - inf: undefined
    with pytest.raises(ValueError, match="nan"):
        M.nll([np.nan, 1.0], dims=1)


def test_nll_of_the_true_density_is_its_entropy_and_kl_is_known():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200_000)
    lp_true = -0.5 * (math.log(2 * math.pi) + x ** 2)
    h = 0.5 * math.log(2 * math.pi * math.e)
    r = M.nll(lp_true, 1)
    assert abs(r["nll"] - h) < 4 * r["nll_se"]
    kl, se = M.kl_to_truth(r["nll"], r["nll_se"], h)
    assert abs(kl) < 4 * se
    # model N(0, 1), data N(0, 2^2): KL = (sigma^2 - 1 - log sigma^2) / 2
    y = 2.0 * rng.normal(size=200_000)
    r = M.nll(-0.5 * (math.log(2 * math.pi) + y ** 2), 1)
    kl, se = M.kl_to_truth(r["nll"], r["nll_se"], 0.5 * math.log(2 * math.pi * math.e * 4))
    assert abs(kl - 0.5 * (4 - 1 - math.log(4))) < 4 * se
    assert M.kl_to_truth(1.0, 0.3, 0.5, 0.4)[1] == pytest.approx(0.5, rel=1e-15)


# ------------------------------------------------------------------- quadrature

def test_quadrature_of_a_gaussian_recovers_log_two_pi_sigma_squared():
    s = 0.5
    q = M.normalize_2d(lambda p: -(p ** 2).sum(1) / (2 * s * s), (-5, -5), (5, 5), n=128)
    assert q.log_z == pytest.approx(math.log(2 * math.pi * s * s), abs=1e-12)
    assert q.error < 1e-12 and q.boundary_mass < 1e-20
    cell = (q.xs[1] - q.xs[0]) * (q.ys[1] - q.ys[0])
    assert np.exp(q.log_p).sum() * cell == pytest.approx(1.0, rel=1e-12)


def test_quadrature_error_estimate_bounds_the_actual_error():
    # exp(-|x|-|y|) on [-20, 20]^2, 64 cells a side (h = 0.625): the midpoint sum is
    # known in closed form per axis, 2 (h/2)/sinh(h/2) (1 - e^-20); the integral is 4.
    h = 0.625
    q = M.normalize_2d(lambda p: -np.abs(p).sum(1), (-20, -20), (20, 20), n=64)
    exact_sum = 2 * math.log(2 * (h / 2) / math.sinh(h / 2) * (1 - math.exp(-20)))
    assert q.log_z == pytest.approx(exact_sum, abs=1e-12)
    actual = abs(q.log_z - 2 * math.log(2 * (1 - math.exp(-20))))
    assert 0.03 < actual < q.error < 4 * actual
    # a box that cuts the density off says so
    wide = M.normalize_2d(lambda p: -(p ** 2).sum(1) / 8, (-1, -1), (1, 1), n=32)
    assert wide.boundary_mass > 0.1


# --------------------------------------------------------------------- mode metrics

def test_perfect_sampler_on_ring8_and_grid25():
    rng = np.random.default_rng(1)
    expected = 1 - math.exp(-9 / 2)                               # chi-square(2) within 3 std
    assert expected == pytest.approx(0.98889, abs=1e-5)
    for centers, std in ((ring(), 0.02), (grid(), 0.05)):
        big = M.mode_metrics(perfect_sampler(centers, std, 200_000, rng), centers, std)
        assert abs(big["high_quality"] - expected) < 4 * math.sqrt(expected * (1 - expected) / 200_000)
        small = M.mode_metrics(perfect_sampler(centers, std, 2500, rng), centers, std)
        assert small["modes"] == len(centers) == small["n_modes"]
        assert abs(small["high_quality"] - expected) < 4 * math.sqrt(expected * (1 - expected) / 2500)
        assert 0 <= small["reverse_kl"] < 0.02


def test_mode_collapse_by_hand():
    c = ring()
    half = np.repeat(c[:4], 625, axis=0)                           # 4 of 8 modes, evenly
    r = M.mode_metrics(half, c, 0.02)
    assert (r["modes"], r["high_quality"]) == (4, 1.0)
    assert r["reverse_kl"] == pytest.approx(math.log(2), abs=1e-15)
    one = M.mode_metrics(np.repeat(c[:1], 100, axis=0), c, 0.02)
    assert one["modes"] == 1 and one["reverse_kl"] == pytest.approx(math.log(8), abs=1e-15)
    off = c[:1] + np.array([[0.061, 0.0]])                         # just past 3 std
    miss = M.mode_metrics(np.repeat(off, 10, axis=0), c, 0.02)
    assert miss["modes"] == 0 and miss["high_quality"] == 0 and miss["reverse_kl"] == math.inf
    assert M.mode_metrics(c[:1] + [[0.059, 0.0]], c, 0.02)["high_quality"] == 1.0


# ------------------------------------------------------------------------------ MMD

def test_mmd_wrapper_matches_the_formula():
    rng = np.random.default_rng(2)
    x, y, h = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.3, 0.8
    k = lambda a, b: np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * h * h))
    kxx, kyy = k(x, x), k(y, y)
    direct = ((kxx.sum() - np.trace(kxx)) / 42 + (kyy.sum() - np.trace(kyy)) / 20
              - 2 * k(x, y).mean())
    assert M.mmd2(x, y, h) == pytest.approx(direct, rel=1e-10)


def test_mmd_of_two_gaussians_has_its_closed_form():
    # E k(a, b) for a ~ N(m1, I), b ~ N(m2, I) in 2D with bandwidth h:
    # h^2/(h^2 + 2) exp(-|m1 - m2|^2 / (2 (h^2 + 2))), so MMD^2 = 2/3 (1 - e^(-1/6)) at h=1
    rng = np.random.default_rng(3)
    est = np.mean([M.mmd2(rng.normal(size=(1500, 2)), rng.normal(size=(1500, 2)) + [1, 0], 1.0)
                   for _ in range(4)])
    assert est == pytest.approx(2 / 3 * (1 - math.exp(-1 / 6)), abs=0.012)


def test_mmd_is_calibrated_by_two_true_samples():
    rng = np.random.default_rng(4)
    c = ring()
    truth = lambda n: perfect_sampler(c, 0.05, n, rng)
    good = M.mmd_calibrated(truth(1500), truth(1500), truth(1500))
    collapsed = M.mmd_calibrated(perfect_sampler(c[:2], 0.05, 1500, rng), truth(1500), truth(1500))
    assert abs(good["mmd2"]) < 0.01 and abs(good["mmd2_baseline"]) < 0.01
    assert collapsed["mmd2"] > 20 * max(abs(collapsed["mmd2_baseline"]), 1e-3)
    assert M.median_bandwidth(np.array([[0.0, 0], [3, 0], [0, 4]])) == 4.0


# -------------------------------------------------------------------- memorization

def test_nearest_neighbours_and_copy_rate():
    rng = np.random.default_rng(5)
    train = rng.normal(size=(300, 3))
    other = rng.normal(size=(200, 3))
    brute = np.sqrt(((other[:, None] - train[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(M.nn_distances(other, train, block=37), brute, rtol=1e-10)
    copies = train[rng.integers(300, size=100)] * 1.0
    assert (M.nn_distances(copies, train) == 0.0).all()
    assert M.copy_rate(np.concatenate([copies, other[:100]]), train) == 0.5
    assert M.copy_rate(["anna", "bob", "zed", "anna"], ["anna", "bob", "carl"]) == 0.75
    mem = M.memorization(copies, train, other)
    assert mem["copy_rate"] == 1.0 and mem["nn_distance"] == 0.0 and mem["nn_distance_test"] > 0.1


def test_accuracy():
    a, se = M.accuracy([0, 1, 2, 2], [0, 1, 1, 2])
    assert a == 0.75 and se == pytest.approx(math.sqrt(0.75 * 0.25 / 4), rel=1e-15)
