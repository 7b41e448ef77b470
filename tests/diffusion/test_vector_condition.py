"""ddpm-cond with vector conditions (cond_dim = C > 0): p(x | c) for c a vector of C
numbers, the interface of the conditional chapter (scratch_gen/conditional/condition.py):
``train.fit(model, (x, c))``, ``model.sample(n, rng, condition=c, guidance=w)``."""
import numpy as np
import pytest

from scratch_gen import registry, train
from scratch_gen.checkpoint import load_model
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec

STD = 0.1
TINY = {"T": 200, "beta_1": 1e-3, "beta_T": 0.08, "hidden": 64, "depth": 2, "fourier": 32,
        "fourier_max": 8.0, "lr": 3e-3, "warmup": 50, "ema": 0.99, "cond_dim": 2,
        "p_uncond": 0.2}


def mean_of(c):
    """The truth: x | c ~ N(A c, STD^2 I) with A = [[1.5, 0], [-1, 1]]."""
    c = np.atleast_2d(c)
    return np.stack([1.5 * c[:, 0], c[:, 1] - c[:, 0]], axis=1)


def shifted(n, rng):
    c = rng.uniform(-1.0, 1.0, (n, 2))
    return mean_of(c) + STD * rng.standard_normal((n, 2)), c


SPEC = DataSpec("continuous", (2,), name="shifted")


@pytest.fixture(scope="module")
def vector_model():
    x, c = shifted(4000, np.random.default_rng(0))
    model = registry.build("diffusion", "ddpm-cond", SPEC, {**TINY, "decay_steps": 600},
                           rng=np.random.default_rng(1))
    train.fit(model, (x, c), steps=600, batch_size=128, seed=0, quiet=True)
    return model


def test_samples_follow_the_condition_vector(vector_model):
    """600 steps: for one condition vector, the samples' mean is A c within 0.06 (the
    truth's Monte Carlo error at n = 400 is 0.005) and their spread is STD within 50%;
    with guidance w = 2 the mean still follows c; (n, C) conditions give each sample its
    own; without a condition the unconditional model spreads over all of A [-1, 1]^2."""
    m = vector_model
    for c0 in ([0.8, -0.5], [-0.6, 0.3]):
        s = m.sample(400, np.random.default_rng(2), condition=np.array(c0), sampler="ddim",
                     steps=50)
        assert np.abs(s.mean(0) - mean_of(c0)[0]).max() < 0.06, (c0, s.mean(0))
        assert np.all((0.5 * STD < s.std(0)) & (s.std(0) < 1.5 * STD)), (c0, s.std(0))
        g = m.sample(400, np.random.default_rng(2), condition=c0, guidance=2.0,
                     sampler="ddim", steps=50)
        assert np.abs(g.mean(0) - mean_of(c0)[0]).max() < 0.1, (c0, g.mean(0))
    c = np.random.default_rng(3).uniform(-1, 1, (400, 2))
    s = m.sample(400, np.random.default_rng(4), condition=c, sampler="ddim", steps=50)
    rms = np.sqrt(((s - mean_of(c)) ** 2).mean(0))
    assert np.all(rms < 1.6 * STD), rms             # STD alone if the mean were exact
    u = m.sample(400, np.random.default_rng(5), sampler="ddim", steps=50)
    assert np.all(u.std(0) > 0.6), u.std(0)         # the marginal's std: 0.87 and 0.82
    # the bound given c is finite, and far better than given the wrong c
    x, c = shifted(200, np.random.default_rng(6))
    right, wrong = -m.log_prob(x, c), -m.log_prob(x, -c)
    assert np.isfinite(right).all() and right.mean() + 5.0 < wrong.mean()


def test_vector_conditions_are_checked(vector_model):
    m, rng = vector_model, np.random.default_rng(0)
    for bad in (np.zeros(3), np.zeros((4, 3)), np.zeros((3, 2))):
        with pytest.raises(UserError, match="expected 4 vectors of 2 numbers") as e:
            m.sample(4, rng, condition=bad)
        assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="nan or inf"):
        m.sample(2, rng, condition=[np.nan, 0.0])
    with pytest.raises(UserError, match="not on labels"):
        m.sample(2, rng, label=1)
    with pytest.raises(UserError, match="not both"):
        m.sample(2, rng, label=1, condition=[0.0, 0.0])
    with pytest.raises(UserError, match="expected 5 vectors"):
        m.log_prob(np.zeros((5, 2)), np.zeros((5, 3)))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_cond_dim_is_a_one_line_error(bad):
    with pytest.raises(UserError, match="cond_dim") as e:
        registry.build("diffusion", "ddpm-cond", SPEC, {**TINY, "cond_dim": bad})
    assert "\n" not in str(e.value)


def test_label_models_refuse_vectors_and_vector_models_check_training_width():
    labelled = DataSpec("continuous", (2,), num_classes=3, name="three")
    m = registry.build("diffusion", "ddpm-cond", labelled, {**TINY, "cond_dim": 0})
    with pytest.raises(UserError, match="pass label="):
        m.sample(2, np.random.default_rng(0), condition=[0.0, 1.0])
    with pytest.raises(UserError, match="labelled data"):
        registry.build("diffusion", "ddpm-cond", SPEC, {**TINY, "cond_dim": 0})
    v = registry.build("diffusion", "ddpm-cond", SPEC, TINY)
    with pytest.raises(UserError, match="training condition vectors of shape"):
        train.fit(v, (np.zeros((10, 2)), np.zeros((10, 5))), steps=1, quiet=True)


def test_unet_takes_vector_conditions_and_checkpoints_keep_their_statistics(tmp_path):
    """Images with a vector condition (the chapter's completion task: a glyph's lower
    half -> its upper half): a few steps through the U-Net, every conditioning weight
    gets a gradient, guided samples have the image shape, and a checkpoint restores the
    condition's standardization and the same samples."""
    rng = np.random.default_rng(0)
    x = (rng.random((64, 4, 8)) < 0.3).astype(np.int64)
    c = rng.random((64, 2, 8))                      # any shape per example, flattened
    spec = DataSpec("image", (4, 8), levels=2, name="halves")
    cfg = {"T": 50, "beta_1": 1e-3, "beta_T": 0.3, "channels": 8, "mults": [1, 2],
           "cond_dim": 16, "warmup": 1}
    model = registry.build("diffusion", "ddpm-cond", spec, cfg, rng=np.random.default_rng(1))
    before = model.net.time.cond.vector.weight.data.copy()
    out = str(tmp_path / "run")
    train.fit(model, (x, c), steps=3, batch_size=16, seed=0, out=out, quiet=True)
    assert not np.allclose(before, model.net.time.cond.vector.weight.data)
    s = model.sample(3, np.random.default_rng(2), condition=c[0], guidance=2.0, steps=5,
                     sampler="ddim")
    assert s.shape == (3, 4, 8) and set(np.unique(s)) <= {0, 1}
    loaded, _ = load_model(out)
    np.testing.assert_array_equal(loaded.cond_mean, model.cond_mean)
    assert loaded.cond_scale == model.cond_scale and loaded.cond_mean.shape == (16,)
    s2 = loaded.sample(3, np.random.default_rng(2), condition=c[0], guidance=2.0, steps=5,
                       sampler="ddim")
    np.testing.assert_array_equal(s, s2)
    many = loaded.sample(4, np.random.default_rng(3), condition=c[:4], steps=5, sampler="ddim")
    assert many.shape == (4, 4, 8)
