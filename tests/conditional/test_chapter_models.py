"""The chapter's own models (issue 12, item 2): the regressor predicts E[x|y], the
conditional autoregressive models are normalized, causal and Bayes-rule classifiers,
and all of them keep the workbench contract."""
import itertools

import numpy as np
import pytest

from autograd import Tensor
from scratch_gen import checkpoint, data, registry
from scratch_gen.common.errors import UserError
from scratch_gen.conditional.ar import made_masks
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit

TOY = DataSpec("continuous", (2,), num_classes=5, name="obstacle")


@pytest.fixture(scope="module")
def toy():
    ds = data.get("obstacle")
    x, y = ds.sample_labelled(4000, np.random.default_rng(0))
    return ds, x, y


def test_the_regressor_predicts_the_conditional_mean(toy):
    """min_f E||x - f(y)||^2 is E[x|y]: on the obstacle toy, inside the obstacle."""
    ds, x, y = toy
    m = registry.build("conditional", "regressor", TOY, {"hidden": 64, "lr": 3e-3,
                                                         "decay_steps": 500},
                       np.random.default_rng(0))
    fit(m, (x, y), steps=500, batch_size=128, seed=0, quiet=True)
    pred = np.stack([m.sample(3, np.random.default_rng(0), label=k)[0] for k in range(5)])
    empirical = np.stack([x[y == k].mean(0) for k in range(5)])   # what MSE can reach
    # the minimizer of the training MSE is each label's sample mean (one-hot inputs make
    # it reachable); what is left is the optimizer's noise (the targets are bimodal)
    np.testing.assert_allclose(pred, empirical, atol=0.04)
    se = np.stack([x[y == k].std(0) / np.sqrt((y == k).sum()) for k in range(5)])
    assert (np.abs(pred - ds.conditional_mean(np.arange(5))) < 4 * se + 0.04).all()
    assert (ds.crash_margin(pred) > 0).all()
    s = m.sample(4, np.random.default_rng(1), label=2)
    assert np.all(s == s[0])                          # one answer per input
    # its density is the Gaussian the squared error implies
    xt, yt = ds.sample_labelled(50, np.random.default_rng(2))
    mu = pred[yt]
    s2 = m.sigma2
    want = -0.5 * ((xt - mu) ** 2).sum(1) / s2 - np.log(2 * np.pi * s2)
    np.testing.assert_allclose(m.log_prob(xt, yt), want, atol=1e-5)
    assert abs(s2 - ((x - pred[y]) ** 2).mean()) < 0.1 * s2


def test_conditional_mdn_integrates_to_one_for_every_label():
    m = registry.build("conditional", "ar-mdn", TOY, {"hidden": 16}, np.random.default_rng(3))
    m.std = np.array([0.8, 0.4])                       # a non-trivial standardization
    m.mean = np.array([0.1, -0.2])
    h = 0.02
    g = np.arange(-6, 6, h) + h / 2
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    for k in range(5):
        mass = np.exp(m.log_prob(grid, np.full(len(grid), k))).sum() * h * h
        assert abs(mass - 1) < 2e-3, (k, mass)


def test_conditional_mdn_samples_follow_its_density():
    """The mass of a region under the density (grid) equals the sampled fraction."""
    m = registry.build("conditional", "ar-mdn", TOY, {"hidden": 16}, np.random.default_rng(4))
    h = 0.02
    g = np.arange(-6, 6, h) + h / 2
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    regions = (lambda a: a[:, 0] < 0, lambda a: a[:, 1] > a[:, 0])
    for k in (0, 3):
        p = np.exp(m.log_prob(grid, np.full(len(grid), k))) * h * h
        s = m.sample(20000, np.random.default_rng(k), label=k)
        for inside in regions:
            mass, frac = p[inside(grid)].sum(), inside(s).mean()
            assert abs(mass - frac) < 4 * np.sqrt(mass * (1 - mass) / 20000) + 3e-3


def test_conditional_made_sums_to_one_over_all_images_for_every_label():
    spec = DataSpec("image", (2, 3), levels=2, num_classes=3, name="tiny")
    m = registry.build("conditional", "ar-made", spec, {"hidden": [12, 12]},
                       np.random.default_rng(5))
    states = np.array(list(itertools.product([0, 1], repeat=6))).reshape(-1, 2, 3)
    for k in range(3):
        total = np.exp(m.log_prob(states, np.full(len(states), k))).sum()
        assert abs(total - 1) < 1e-5
    # a vector-conditioned one too
    vspec = DataSpec("image", (2, 3), levels=2, name="tiny")
    v = registry.build("conditional", "ar-made", vspec, {"hidden": [12], "cond_dim": 4},
                       np.random.default_rng(6))
    c = np.random.default_rng(7).normal(size=(1, 4))
    total = np.exp(v.log_prob(states, np.repeat(c, len(states), 0))).sum()
    assert abs(total - 1) < 1e-5


def test_made_output_i_sees_only_pixels_before_i_and_always_y():
    D, hidden = 10, [16, 16]
    masks = made_masks(D, hidden)
    reach = masks[0]
    for m in masks[1:]:
        reach = (m @ reach > 0).astype(float)        # which inputs each unit can depend on
    assert np.array_equal(reach, np.tril(np.ones((D, D)), -1) * (reach > 0))
    assert (reach == np.tril(np.ones((D, D)), -1)).all()  # and every earlier pixel is seen
    spec = DataSpec("image", (2, 5), levels=2, num_classes=4, name="tiny")
    m = registry.build("conditional", "ar-made", spec, {"hidden": hidden}, np.random.default_rng(8))
    rng = np.random.default_rng(9)
    x = rng.integers(0, 2, (1, D)).astype(np.float32)
    c = np.eye(4, dtype=np.float32)[[1]]
    base = m.net(Tensor(x), Tensor(c)).data[0]
    for j in range(D):
        flipped = x.copy()
        flipped[0, j] = 1 - flipped[0, j]
        out = m.net(Tensor(flipped), Tensor(c)).data[0]
        assert np.allclose(out[:j + 1], base[:j + 1])        # outputs up to j ignore x_j
    other = m.net(Tensor(x), Tensor(np.eye(4, dtype=np.float32)[[2]])).data[0]
    assert not np.allclose(other[0], base[0])               # even the first pixel hears y


def test_bayes_rule_classifier_and_marginal(toy):
    ds, x, y = toy
    m = registry.build("conditional", "ar-mdn", TOY, {"hidden": 32, "decay_steps": 300},
                       np.random.default_rng(10))
    fit(m, (x, y), steps=300, batch_size=128, seed=0, quiet=True)
    xt, yt = ds.sample_labelled(300, np.random.default_rng(11))
    ll = m.log_likelihoods(xt)
    joint = ll + m.log_prior
    np.testing.assert_array_equal(m.predict(xt), joint.argmax(1))
    marginal = np.log(np.exp(joint).sum(1))
    np.testing.assert_allclose(m.log_prob(xt), marginal, rtol=1e-6)
    np.testing.assert_allclose(np.exp(m.log_posterior(xt)).sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(m.log_prob(xt, yt), ll[np.arange(300), yt], rtol=1e-6)
    counts = np.bincount(y, minlength=5)
    np.testing.assert_allclose(np.exp(m.log_prior), (counts + 1) / (len(y) + 5))
    # the true posterior's accuracy is the ceiling; a short fit gets most of the way
    true_joint = np.stack([ds.log_prob_given(xt, np.full(300, k)) for k in range(5)], 1)
    best = (true_joint.argmax(1) == yt).mean()
    assert (m.predict(xt) == yt).mean() > best - 0.15


@pytest.mark.parametrize("variant", ["regressor", "ar-mdn"])
def test_checkpoint_and_resume_repeat_the_run(toy, tmp_path, variant):
    ds, x, y = toy
    cfg = {"hidden": 16}

    def build():
        return registry.build("conditional", variant, TOY, cfg, np.random.default_rng(12))
    straight = build()
    fit(straight, (x, y), steps=40, batch_size=32, seed=3, quiet=True)
    half = build()
    out = str(tmp_path / variant)
    fit(half, (x, y), steps=20, batch_size=32, seed=3, out=out, quiet=True)
    resumed, _ = checkpoint.load_model(out)
    fit(resumed, (x, y), steps=40, out=out, resume=True, quiet=True)
    a = straight.sample(20, np.random.default_rng(0), label=1)
    b = resumed.sample(20, np.random.default_rng(0), label=1)
    np.testing.assert_array_equal(a, b)


def test_user_errors_are_one_line():
    unlabelled = DataSpec("continuous", (2,), name="moons")
    cases = [
        (lambda: registry.build("conditional", "ar-mdn", unlabelled), "has none"),
        (lambda: registry.build("conditional", "regressor", TOY).sample(
            2, np.random.default_rng(0), label=7), "out of range"),
        (lambda: registry.build("conditional", "regressor", TOY).log_prob(
            np.zeros((3, 2)), np.array([0, 1])), "labels y"),
        (lambda: registry.build("conditional", "ar-mdn", unlabelled, {"cond_dim": 3}).sample(
            2, np.random.default_rng(0)), "condition"),
        (lambda: registry.build("conditional", "ar-mdn", unlabelled, {"cond_dim": 3}).sample(
            2, np.random.default_rng(0), label=1), "not on labels"),
        (lambda: registry.build("conditional", "ar-mdn", unlabelled, {"cond_dim": 3}).sample(
            2, np.random.default_rng(0), condition=np.zeros(5)), "shape"),
        (lambda: registry.build("conditional", "ar-made",
                                DataSpec("image", (4, 4), levels=4, num_classes=2)), "binary"),
        (lambda: registry.build("conditional", "regressor", TOY).setup(
            np.zeros((3, 2)), None, np.random.default_rng(0)), "labels"),
    ]
    for make, word in cases:
        with pytest.raises(UserError, match=word) as e:
            make()
        assert "\n" not in str(e.value)
