"""The obstacle toy's truth (issue 12, item 1): its p(x|y) is the two-Gaussian mixture it
says it is, its samples follow it, its entropies are right, and its regression answer
crashes."""
import math

import numpy as np
import pytest
from scipy import stats

from scratch_gen import data
from scratch_gen.data.conditional import Obstacle


@pytest.fixture(scope="module")
def ds():
    return data.get("obstacle")


def mixture_by_hand(x, s):
    """p(x|s) written out from the module docstring with scipy, not with the class."""
    wr = 0.5 + 0.15 * s
    left = stats.multivariate_normal([-1.2 + 0.15 * s, 0.2 * s], 0.01 * np.eye(2))
    right = stats.multivariate_normal([1.2 + 0.15 * s, -0.2 * s], 0.01 * np.eye(2))
    return np.log((1 - wr) * left.pdf(x) + wr * right.pdf(x))


def test_conditional_log_prob_is_the_mixture_formula(ds):
    rng = np.random.default_rng(0)
    for label, s in enumerate(ds.starts):
        x = rng.uniform([-1.6, -0.6], [1.6, 0.6], size=(200, 2))
        np.testing.assert_allclose(ds.log_prob_given(x, np.full(200, label)),
                                   mixture_by_hand(x, s), rtol=1e-10, atol=1e-10)
    s = rng.uniform(-1, 1, 50)                         # any real start, not only the five
    x = rng.normal(0, 1, (50, 2))
    np.testing.assert_allclose(ds.log_prob_at_start(x, s),
                               [mixture_by_hand(xi, si) for xi, si in zip(x, s)], rtol=1e-9)


def test_marginal_is_the_mean_of_the_conditionals_and_integrates_to_one(ds):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.5, 1.5, (100, 2))
    per = np.stack([np.exp(ds.log_prob_given(x, np.full(100, k))) for k in range(5)])
    np.testing.assert_allclose(np.exp(ds.log_prob(x)), per.mean(0), rtol=1e-12)
    h = 0.01
    g = np.arange(-2.0, 2.0, h) + h / 2
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    assert abs(np.exp(ds.log_prob(grid)).sum() * h * h - 1) < 1e-6
    for k in range(5):
        assert abs(np.exp(ds.log_prob_given(grid, k)).sum() * h * h - 1) < 1e-6


def test_samples_follow_p_x_given_y(ds):
    rng = np.random.default_rng(2)
    n = 20000
    for k in range(5):
        x = ds.sample_given(np.full(n, k), rng)
        c, w = ds.modes(k)
        right = x[:, 0] > 0
        se = math.sqrt(w[0, 1] * (1 - w[0, 1]) / n)
        assert abs(right.mean() - w[0, 1]) < 4 * se
        for side, sel in ((0, ~right), (1, right)):
            se = 0.1 / math.sqrt(sel.sum())
            np.testing.assert_allclose(x[sel].mean(0), c[0, side], atol=4 * se)
            np.testing.assert_allclose(x[sel].std(0), [0.1, 0.1], rtol=0.05)
    x, y = ds.sample_labelled(5000, np.random.default_rng(3))
    assert x.shape == (5000, 2) and set(np.unique(y)) == set(range(5))
    again = ds.sample(5000, np.random.default_rng(3))
    np.testing.assert_array_equal(x, again)             # the dataset contract


def test_entropies_against_monte_carlo(ds):
    x, y = ds.sample_labelled(200000, np.random.default_rng(4))
    for got, lp in ((ds.conditional_entropy(), ds.log_prob_given(x, y)),
                    (ds.entropy(), ds.log_prob(x))):
        mc, se = -lp.mean(), lp.std() / math.sqrt(len(lp))
        assert abs(got - mc) < 4 * se, (got, mc, se)
    # two modes 24 std apart: H(X|y) = log(2 pi e std^2) + H(w(y)) to double precision
    for k in range(5):
        w = ds.modes(k)[1][0]
        closed = 1 + math.log(2 * math.pi * 0.01) - (w * np.log(w)).sum()
        assert abs(ds.entropy_given(k) - closed) < 1e-12
    assert ds.entropy_error() < 1e-8 and ds.conditional_entropy_error() < 1e-8


def test_the_conditional_mean_crashes_and_the_modes_do_not(ds):
    labels = np.arange(5)
    mean = ds.conditional_mean(labels)
    x, y = ds.sample_labelled(100000, np.random.default_rng(5))
    for k in labels:
        np.testing.assert_allclose(x[y == k].mean(0), mean[k], atol=0.02)
    assert (ds.crash_margin(mean) > 0.15).all()           # inside for every start
    c, _ = ds.modes(labels)
    assert (ds.crash_margin(c.reshape(-1, 2)) < -3 * ds.std).all()   # 3 std clear of it


def test_catalogue_and_loading(ds):
    assert "obstacle" in data.names() and isinstance(ds, Obstacle)
    train, test, got = data.load("obstacle", n_train=300, n_test=100)
    assert train.num_classes == 5 and train.y.shape == (300,) and test.x.shape == (100, 2)
    assert "exact log_prob" in ds.describe()


@pytest.mark.parametrize("bad", [np.array([5]), np.array([-1]), np.array([0.5]),
                                 np.array([[0, 1]])])
def test_bad_labels_are_one_line_errors(ds, bad):
    with pytest.raises(data.DataError, match="labels") as e:
        ds.log_prob_given(np.zeros((len(bad), 2)), bad)
    assert "\n" not in str(e.value)
    with pytest.raises(data.DataError, match="start"):
        ds.log_prob_at_start(np.zeros((1, 2)), 1.5)
