"""The chapter's metrics against the truth (issue 12, item 3): the true sampler scores
what theory says, a collapsed or averaging one is caught, and Bayes' rule classifies."""
import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.conditional import evaluation
from scratch_gen.registry import DataSpec, Model


@pytest.fixture(scope="module")
def ds():
    return data.get("obstacle")


class Truth(Model):
    """The obstacle's own p(x|y) behind the model protocol."""

    conditional = True

    def __init__(self, ds):
        super().__init__(DataSpec("continuous", (2,), num_classes=5, name="obstacle"))
        self.ds = ds

    def log_prob(self, x, y=None):
        return self.ds.log_prob_given(x, y)

    def sample(self, n, rng, label=None, **options):
        return self.ds.sample_given(np.full(n, label), rng)


def test_the_true_sampler_scores_the_theory(ds):
    n = 4000
    rng = np.random.default_rng(0)
    s = evaluation.obstacle_scores({k: ds.sample_given(np.full(n, k), rng) for k in range(5)}, ds)
    se = math.sqrt(evaluation.CHI2_3SD * (1 - evaluation.CHI2_3SD) / (5 * n))
    assert abs(s["landing"] - evaluation.CHI2_3SD) < 4 * se          # 1 - exp(-9/2)
    assert s["coverage"] == 1.0 and s["crash"] < 1e-3
    assert s["weight_error"] < 4 * math.sqrt(0.25 / n)
    # the distance of a 2D Gaussian draw to its centre, in std: Rayleigh, mean sqrt(pi/2)
    assert abs(s["mode_distance"] - math.sqrt(math.pi / 2)) < 4 * 0.655 / math.sqrt(5 * n)


def test_a_collapsed_and_an_averaging_sampler_are_caught(ds):
    rng = np.random.default_rng(1)
    left = {}
    for k in range(5):
        c, _ = ds.modes(k)
        left[k] = c[0, 0] + ds.std * rng.standard_normal((500, 2))
    s = evaluation.obstacle_scores(left, ds)
    assert s["coverage"] == 0.5 and s["landing"] > 0.95
    true_right = [ds.modes(k)[1][0, 1] for k in range(5)]
    assert abs(s["weight_error"] - np.mean(true_right)) < 1e-12
    mean = ds.conditional_mean(np.arange(5))
    avg = evaluation.obstacle_scores({k: np.repeat(mean[k:k + 1], 10, 0) for k in range(5)}, ds)
    assert avg["landing"] == 0.0 and avg["coverage"] == 0.0 and avg["crash"] == 1.0
    d = evaluation.regressor_distance(mean, np.arange(5), ds)
    centers, _ = ds.modes(np.arange(5))
    by_hand = [min(np.linalg.norm(mean[k] - centers[k, j]) for j in range(2)) for k in range(5)]
    assert abs(d["distance"] - np.mean(by_hand)) < 1e-12 and d["crash"] == 1.0
    assert d["distance_std"] > 9                       # ten standard deviations off


def test_the_truth_at_any_start(ds):
    """The continuous start: the closed-form H(X|s) is the dataset's quadrature at the
    labelled starts; the sampler at a real start lands as theory says, on both sides in
    the true proportions; and a model holding the exact p(x|s) has KL 0 (the paired
    estimate is exactly 0) and NLL equal to H(X|s) within its error."""
    np.testing.assert_allclose(evaluation.entropy_at_start(ds, ds.starts),
                               ds.entropy_given(np.arange(5)), rtol=0, atol=1e-10)
    rng = np.random.default_rng(3)
    n, starts = 4000, (-0.875, 0.3, 0.95)
    s = evaluation.obstacle_scores({s0: evaluation.sample_at_starts(ds, np.full(n, s0), rng)
                                    for s0 in starts}, ds, at_starts=True)
    se = math.sqrt(evaluation.CHI2_3SD * (1 - evaluation.CHI2_3SD) / (3 * n))
    assert abs(s["landing"] - evaluation.CHI2_3SD) < 4 * se
    assert s["coverage"] == 1.0 and s["weight_error"] < 4 * math.sqrt(0.25 / n)
    assert [r["start"] for r in s["per_input"]] == list(starts)
    assert all(abs(r["true_right"] - (0.5 + 0.15 * r["start"])) < 1e-12 for r in s["per_input"])

    class AtStart(Truth):
        def log_prob(self, x, y=None):
            return self.ds.log_prob_at_start(x, np.asarray(y)[:, 0])

    st = rng.uniform(-1, 1, 20000)
    x = evaluation.sample_at_starts(ds, st, rng)
    r = evaluation.conditional_kl_at_starts(AtStart(ds), x, st, ds)
    assert r["conditional_kl"] == 0.0
    assert abs(r["conditional_nll"] - r["conditional_entropy"]) < 4 * r["conditional_nll_se"]
    # the regressor's distance at real starts: E[x|s] by hand, inside the obstacle
    c, w = ds.modes_at_start(np.array(starts))
    mean = (w[:, :, None] * c).sum(1)
    d = evaluation.regressor_distance(mean, starts, ds, at_starts=True)
    by_hand = np.linalg.norm(mean[:, None] - c, axis=2).min(1)
    assert abs(d["distance"] - by_hand.mean()) < 1e-12 and d["crash"] == 1.0


def test_conditional_nll_of_the_truth_is_its_entropy(ds):
    x, y = ds.sample_labelled(20000, np.random.default_rng(2))
    r = evaluation.conditional_nll(Truth(ds), x, y, ds)
    assert abs(r["conditional_kl"]) < 4 * r["conditional_nll_se"]
    assert r["conditional_entropy"] == ds.conditional_entropy()


def test_bayes_rule_with_the_true_densities_is_the_bayes_classifier(ds):
    x, y = ds.sample_labelled(3000, np.random.default_rng(3))
    res = evaluation.bayes_accuracy(Truth(ds), x, y, 5)
    ll = np.stack([ds.log_prob_given(x, np.full(len(x), k)) for k in range(5)], 1)
    assert res["accuracy"] == (ll.argmax(1) == y).mean()
    # p(y|x) by Bayes' rule is calibrated: its mean NLL is the label entropy H(Y|X)
    # estimated without bias, and the NLL at the true labels is the conditional NLL
    assert abs(res["conditional_nll"] - (-ll[np.arange(len(y)), y].mean())) < 1e-12
    assert 0 < res["label_nll"] < math.log(5)


@pytest.fixture(scope="module")
def glyphs():
    g = data.get("glyphs")
    ref = g.sample_labelled(3000, np.random.default_rng(4))
    held = g.sample_labelled(600, np.random.default_rng(5))
    fresh = g.sample_labelled(600, np.random.default_rng(6))
    return ref, held, fresh


def test_image_modes_take_real_glyphs_and_reject_the_blurred_average(glyphs):
    ref, held, fresh = glyphs
    modes = evaluation.ImageModes(ref, held)
    real = {k: fresh[0][fresh[1] == k][:30] for k in range(10)}
    s = modes.scores(real)
    assert s["landing"] > 0.85 and s["coverage"] > 0.3
    mean = {k: np.repeat(ref[0][ref[1] == k].mean(0, keepdims=True), 5, 0) for k in range(10)}
    m = modes.scores(mean)
    assert m["landing"] == 0.0 and m["coverage"] == 0.0
    assert (evaluation.grey_fraction(mean[3]) > modes.grey[3]).all()   # the blur is caught
    wrong = {k: real[(k + 1) % 10] for k in range(10)}                 # another digit
    assert modes.scores(wrong)["landing"] < 0.3
    binary = evaluation.ImageModes(ref, held, view=evaluation.binary_view)
    assert binary.scores({k: (v > 0.5).astype(float) for k, v in real.items()})["landing"] > 0.85


def test_completions_know_which_digits_a_lower_half_allows(glyphs):
    ref, held, fresh = glyphs
    c = evaluation.Completions(ref, held[0])
    x, y = fresh
    plaus = c.plausible(x[:200, 8:])
    assert np.mean([y[i] in p for i, p in enumerate(plaus)]) > 0.85
    assert np.mean([len(p) >= 2 for p in plaus]) > 0.2            # ambiguity is common
    # the true glyphs as "completions" land (each test at its 95% quantile: about 0.9
    # for both), and reach their own digit
    s = c.scores(x[:200, 8:], x[:200, None])
    assert s["landing"] > 0.8
    d, digit = c.nearest(x[:200])
    assert (digit == y[:200]).mean() > 0.85
