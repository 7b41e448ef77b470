"""The registered variants, trained on tiny budgets: each must reach a figure."""
import math

import numpy as np
import pytest

from scratch_gen import registry, train
from scratch_gen.checkpoint import load_model
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec

CENTERS = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
STD = 0.1
TINY = {"T": 200, "beta_1": 1e-3, "beta_T": 0.08, "hidden": 64, "depth": 2, "fourier": 32,
        "fourier_max": 8.0, "lr": 3e-3, "warmup": 50, "ema": 0.99}


def four_modes(n, rng):
    y = rng.integers(0, 4, n)
    return CENTERS[y] + STD * rng.standard_normal((n, 2)), y


def near_mode(x):
    """(index of the nearest centre, within 3 std of it)."""
    d = np.sqrt(((x[:, None, :] - CENTERS[None]) ** 2).sum(-1))
    return d.argmin(1), d.min(1) < 3 * STD


def spec2d(labels=False):
    return DataSpec("continuous", (2,), num_classes=4 if labels else None, name="four")


def fit_tiny(variant, steps, config=None, labels=False, seed=0):
    rng = np.random.default_rng(seed)
    x, y = four_modes(4000, rng)
    model = registry.build("diffusion", variant, spec2d(labels),
                           {**TINY, **(config or {})}, rng=np.random.default_rng(seed + 1))
    result = train.fit(model, (x, y if labels else None), steps=steps, batch_size=128,
                       seed=seed, quiet=True)
    return model, result


@pytest.fixture(scope="module")
def ddpm():
    return fit_tiny("ddpm", 600, {"decay_steps": 600})


def test_ddpm_learns_four_modes(ddpm):
    model, result = ddpm
    losses = result.losses
    assert np.mean(losses[-100:]) < 0.6 * np.mean(losses[:20])
    for opts in ({}, {"sampler": "ddim", "steps": 50}):
        x = model.sample(1000, np.random.default_rng(1), **opts)
        k, good = near_mode(x)
        assert good.mean() > 0.8, (opts, good.mean())
        share = np.bincount(k[good], minlength=4) / good.sum()
        assert np.all(np.abs(share - 0.25) < 0.08), (opts, share)


def test_ddpm_bound_is_finite_and_above_the_truth(ddpm):
    """The bound is an upper bound on the model's NLL, hence (up to Monte Carlo error)
    on the data's entropy; a tiny run is expected within a few nats of it."""
    model, _ = ddpm
    rng = np.random.default_rng(2)
    x, _ = four_modes(1000, rng)
    entropy = math.log(4) + math.log(2 * math.pi * math.e * STD ** 2)
    terms = model.bound_terms(x, n_strata=30)
    nll = terms["total"]
    assert np.isfinite(nll).all()
    se = nll.std() / math.sqrt(len(nll))
    assert entropy - 4 * se < nll.mean() < entropy + 3.0, (nll.mean(), entropy)
    np.testing.assert_allclose(terms["total"], terms["prior"] + terms["diffusion"]
                               + terms["decoder"] + terms["log_det"], rtol=1e-12)
    # log_prob is minus the bound, repeatable (fixed internal seed)
    np.testing.assert_array_equal(model.log_prob(x[:50]), model.log_prob(x[:50]))
    ev = model.evaluate(type("Split", (), {"x": x[:200], "y": None})(), None)
    assert set(ev) >= {"bound_total", "bound_prior", "bound_diffusion", "bound_decoder"}


def test_samples_are_reproducible_and_dice_rolls_differ(ddpm):
    model, _ = ddpm
    a = model.sample(20, np.random.default_rng(7), steps=20)
    b = model.sample(20, np.random.default_rng(7), steps=20)
    c = model.sample(20, np.random.default_rng(8), steps=20)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # DDIM (eta = 0) is a deterministic function of x_T
    x_T = np.random.default_rng(9).standard_normal((10, 2))
    d1, _ = model.sample_path(10, np.random.default_rng(1), x_T=x_T, sampler="ddim", steps=25)
    d2, path = model.sample_path(10, np.random.default_rng(2), x_T=x_T, sampler="ddim", steps=25)
    np.testing.assert_array_equal(d1, d2)
    assert path.shape[1:] == (10, 2) and np.array_equal(path[0], x_T)


def test_sample_options_are_checked(ddpm):
    model, _ = ddpm
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match="sampler"):
        model.sample(2, rng, sampler="euler")
    with pytest.raises(UserError, match="steps"):
        model.sample(2, rng, steps=10_000)
    with pytest.raises(UserError, match="no option 'guidance'"):
        model.sample(2, rng, guidance=2.0)
    with pytest.raises(UserError, match="unconditional"):
        model.sample(2, rng, label=1)


def test_lecture_algorithm_learns_the_modes():
    """Algorithm 1.2 literally (sequences by iterating the slide's step, regression of
    x_{t-1} on (x_t, t), sampling x_{t-1} ~ N(f, beta_t)): noisier targets than DDPM's,
    so a looser figure on the same budget."""
    model, result = fit_tiny("lecture", 600, {"decay_steps": 600, "T": 100, "beta_1": 2e-3,
                                              "beta_T": 0.14, "pairs": 4})
    x = model.sample(1000, np.random.default_rng(3))
    k, good = near_mode(x)
    assert good.mean() > 0.7, good.mean()
    assert len(np.unique(k[good])) == 4
    assert np.isfinite(model.bound_terms(x[:100], n_strata=20)["total"]).all()


def test_conditional_model_with_guidance_samples_the_asked_mode():
    """Label dropout trains eps(x_t | y) and eps(x_t) in one network; guided samples
    (w = 3) for label y land on mode y, unconditional ones (label None) on all four."""
    model, _ = fit_tiny("ddpm-cond", 600, {"decay_steps": 600, "p_uncond": 0.3}, labels=True)
    for label in range(4):
        x = model.sample(300, np.random.default_rng(label), label=label, guidance=3.0,
                         steps=50)
        k, good = near_mode(x)
        assert np.mean(good & (k == label)) > 0.9, (label, np.mean(good & (k == label)))
    # the unconditional model saw 30% of the examples: blurrier, but on all four modes
    x = model.sample(1000, np.random.default_rng(9), steps=50)
    k, good = near_mode(x)
    share = np.bincount(k[good], minlength=4) / max(good.sum(), 1)
    assert good.mean() > 0.3 and share.min() > 0.15, (good.mean(), share)
    with pytest.raises(UserError, match="out of range"):
        model.sample(2, np.random.default_rng(0), label=4)


def test_conditional_needs_labels():
    with pytest.raises(UserError, match="labelled"):
        registry.build("diffusion", "ddpm-cond", spec2d(labels=False), TINY)


@pytest.mark.parametrize("bad", [{"T": 0}, {"sampler": "euler"}, {"ema": 1.0},
                                 {"variance": "large"}, {"nonsense": 1}, {"mults": [0]},
                                 {"schedule": "cosine", "max_beta": 1.0}])
def test_bad_config_is_a_user_error(bad):
    spec = DataSpec("image", (8, 8), levels=2) if "mults" in bad else spec2d()
    with pytest.raises(UserError):
        registry.build("diffusion", "ddpm", spec, {**TINY, **bad})


def test_checkpoint_resume_repeats_the_run(tmp_path):
    """train.fit's contract: a run stopped at step 40 and resumed to 80 ends with the same
    weights (and EMA, optimizer, standardization) as one run straight to 80."""
    rng = np.random.default_rng(0)
    x, _ = four_modes(500, rng)
    cfg = {**TINY, "hidden": 16, "depth": 1}
    build = lambda: registry.build("diffusion", "ddpm", spec2d(), cfg, rng=np.random.default_rng(1))
    straight = build()
    train.fit(straight, x, steps=80, batch_size=32, seed=3, quiet=True)
    half = build()
    out = str(tmp_path / "run")
    train.fit(half, x, steps=40, batch_size=32, seed=3, out=out, quiet=True)
    resumed, _ = load_model(out)
    train.fit(resumed, x, steps=80, out=out, resume=True, quiet=True)
    a, b = straight.state_dict(), resumed.state_dict()
    for key in a["net"]:
        np.testing.assert_array_equal(a["net"][key], b["net"][key])
    np.testing.assert_array_equal(a["data_mean"], b["data_mean"])
    s1 = straight.sample(5, np.random.default_rng(4), steps=10)
    s2 = resumed.sample(5, np.random.default_rng(4), steps=10)
    np.testing.assert_array_equal(s1, s2)


def test_binary_images_train_sample_and_score_in_bits_per_dim():
    """The U-Net path on 8x8 binary images (one vertical bar at a random column): samples
    come back as 0/1 integers of the data's shape, the discretized decoder (Ho et al.
    section 3.3) gives a bound in bits/dim, which a short run lowers a lot."""
    rng = np.random.default_rng(0)
    cols = rng.integers(0, 8, 400)
    x = np.zeros((400, 8, 8), dtype=np.int64)
    x[np.arange(400), :, cols] = 1
    spec = DataSpec("image", (8, 8), levels=2, name="bars")
    model = registry.build("diffusion", "ddpm", spec,
                           {"T": 100, "beta_1": 1e-3, "beta_T": 0.15, "channels": 8,
                            "mults": [1, 2], "lr": 2e-3, "warmup": 20, "ema": 0.9},
                           rng=np.random.default_rng(1))
    assert model.default_batch_size == 64          # the image defaults
    split = type("Split", (), {"x": x[:64], "y": None})()
    before = model.evaluate(split, None)["bound_bits_per_dim"]
    train.fit(model, x, steps=60, batch_size=32, seed=0, quiet=True)
    s = model.sample(6, np.random.default_rng(2), sampler="ddim", steps=20)
    assert s.shape == (6, 8, 8) and s.dtype == np.int64 and set(np.unique(s)) <= {0, 1}
    ev = model.evaluate(split, None)
    assert 0 < ev["bound_bits_per_dim"] < 0.6 * before, (before, ev)
    assert ev["bound_log_det"] == 0.0


def test_float_images_are_scored_as_8_bit():
    spec = DataSpec("image", (4, 4), name="gray")
    model = registry.build("diffusion", "ddpm", spec, {"T": 50, "beta_1": 1e-3, "beta_T": 0.3,
                                                      "channels": 4, "mults": [1]},
                           rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((8, 4, 4)).astype(np.float32)
    terms = model.bound_terms(x, n_strata=5)
    # a bound on -log of a probability mass over 256 levels per pixel: every term is a
    # KL or -log(mass <= 1), so it is >= 0 for any network
    assert np.isfinite(terms["total"]).all() and np.all(terms["total"] > 0)
    assert np.all(terms["decoder"] >= 0) and np.all(terms["diffusion"] >= 0)
    s = model.sample(3, np.random.default_rng(2), steps=5)
    assert s.dtype == np.float32 and s.min() >= 0 and s.max() <= 1
