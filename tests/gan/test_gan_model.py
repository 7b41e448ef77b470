"""The alternating game as a workbench model: k steps of d per step of g, the switches,
exact resume, sampling from the EMA, errors a user can make."""
import json

import numpy as np
import pytest

import autograd
from scratch_gen import cli, data, registry
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit

RING = DataSpec("continuous", (2,), name="ring8")
SMALL = {"hidden": 16, "g_layers": 2, "d_layers": 2}


def ring(n, seed=0):
    return data.get("ring8").sample(n, np.random.default_rng(seed))


def test_the_variants_are_registered_with_the_slide():
    vs = registry.variants("gan")
    assert list(vs)[:4] == ["minimax", "nonsaturating", "r1", "wgan-gp"]
    for cls in vs.values():
        assert "Isola L14" in cls.slide and cls.description


def test_k_discriminator_steps_per_generator_step():
    m = registry.build("gan", "minimax", RING, dict(SMALL, k=3), np.random.default_rng(0))
    m.setup(ring(100), None, np.random.default_rng(0))
    m.train_step(ring(12), None, np.random.default_rng(1))
    assert set(m.opt_d.steps) == {3} and set(m.opt_g.steps) == {1}
    with pytest.raises(UserError, match="k=3"):
        m.train_step(ring(2), None, np.random.default_rng(1))


@pytest.mark.parametrize("variant,keys", [
    ("minimax", {"loss", "g_loss", "d_real", "d_fake", "lr"}),
    ("r1", {"loss", "g_loss", "d_real", "d_fake", "r1", "lr"}),
    ("wgan-gp", {"loss", "g_loss", "gp", "lr"}),
])
def test_each_variant_takes_a_step_and_reports_its_terms(variant, keys):
    cfg = dict(SMALL, pack=2, spectral_norm=True)
    m = registry.build("gan", variant, RING, cfg, np.random.default_rng(0))
    m.setup(ring(100), None, np.random.default_rng(0))
    out = m.train_step(ring(40), None, np.random.default_rng(1))
    assert set(out) == keys
    assert all(np.isfinite(v) for v in out.values())


def test_bad_settings_are_one_line_user_errors():
    for cfg, word in [({"pack": 0}, "pack"), ({"loss": "hinge"}, "hinge"),
                      ({"ema": 1.5}, "ema"), ({"colour": 1}, "colour")]:
        with pytest.raises(UserError, match=word) as e:
            registry.build("gan", "minimax", RING, cfg, np.random.default_rng(0))
        assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="labelled"):
        registry.build("gan", "minimax", DataSpec("continuous", (2,)), {"conditional": True})


def test_learning_rates_decay_linearly_to_zero_over_the_tail():
    m = registry.build("gan", "r1", RING, dict(SMALL, lr=1e-3, lr_decay=0.25, total_steps=100),
                       np.random.default_rng(0))
    rates = [m.lr_factor(t) for t in (0, 75, 80, 90, 100, 120)]
    np.testing.assert_allclose(rates, [1, 1, 0.8, 0.4, 0.0, 0.0])


def test_resume_repeats_an_uninterrupted_run_exactly(tmp_path):
    x = ring(500)
    cfg = dict(SMALL, ema=0.9, r1=0.5, r1_every=3, lr_decay=0.5, total_steps=8, pack=2)

    def build():
        return registry.build("gan", "r1", RING, cfg, np.random.default_rng(3))
    straight = build()
    fit(straight, x, steps=8, batch_size=32, seed=5, quiet=True)
    first = build()
    fit(first, x, steps=4, batch_size=32, seed=5, out=str(tmp_path), quiet=True)
    again = build()
    fit(again, x, steps=8, seed=5, out=str(tmp_path), resume=True, quiet=True)
    for ema in (True, False):
        a = straight.sample(50, np.random.default_rng(0), ema=ema)
        b = again.sample(50, np.random.default_rng(0), ema=ema)
        np.testing.assert_array_equal(a, b)


def test_samples_come_from_the_ema_generator_in_data_coordinates():
    m = registry.build("gan", "r1", RING, SMALL, np.random.default_rng(0))
    x = ring(1000) * 10 + 3                       # the model standardizes and undoes it
    m.setup(x, None, np.random.default_rng(0))
    assert abs(m.scale - x.std()) < 1e-12
    for _ in range(3):
        m.train_step(x[:64], None, np.random.default_rng(1))
    s_ema = m.sample(7, np.random.default_rng(2))
    s_raw = m.sample(7, np.random.default_rng(2), ema=False)
    assert s_ema.shape == (7, 2) and s_ema.dtype == np.float64
    assert not np.allclose(s_ema, s_raw)
    with m.averaged():
        with autograd.no_grad():
            z = m.noise(7, np.random.default_rng(2))
            direct = m.G(z).data * m.scale + m.shift
    np.testing.assert_allclose(s_ema, direct, rtol=1e-6)
    assert m.sample(0, np.random.default_rng(0)).shape == (0, 2)
    with pytest.raises(UserError, match="unconditional"):
        m.sample(3, np.random.default_rng(0), label=1)


def test_a_conditional_gan_puts_each_label_on_its_own_mode():
    ds = data.get("ring8")
    x, y = ds.sample_labelled(4000, np.random.default_rng(0))
    spec = DataSpec("continuous", (2,), num_classes=8, name="ring8")
    cfg = dict(SMALL, hidden=32, conditional=True, r1=1.0, lr=3e-3, ema=0.999, lr_decay=0.3,
               total_steps=300)
    m = registry.build("gan", "nonsaturating", spec, cfg, np.random.default_rng(0))
    fit(m, (x, y), steps=300, batch_size=64, seed=0, quiet=True)
    hits = []
    for label in range(8):
        s = m.sample(100, np.random.default_rng(label), label=label)
        d2 = ((s[:, None] - ds.centers[None]) ** 2).sum(-1)
        hits.append(np.mean((d2.argmin(1) == label) & (d2.min(1) < (10 * ds.std) ** 2)))
    assert min(hits) > 0.9, hits          # on its own mode, within 10 std of the centre
    with pytest.raises(UserError, match="pass a label"):
        m.sample(3, np.random.default_rng(0))


def test_a_vector_conditional_gan_puts_each_condition_on_its_own_mode():
    """cond_dim=2: y is the centre of the mode x should come from (a vector, not a
    label). Stated figure, as for labels: > 90% of each condition's samples on its mode,
    within 10 std, for one vector given for all n and for an (n, C) array."""
    ds = data.get("ring8")
    x, lab = ds.sample_labelled(4000, np.random.default_rng(0))
    y = ds.centers[lab] * 3.0 + 1.0                 # any affine code of the mode will do
    cfg = dict(SMALL, hidden=32, conditional=True, cond_dim=2, r1=1.0, lr=3e-3, ema=0.999,
               lr_decay=0.3, total_steps=300)
    m = registry.build("gan", "nonsaturating", RING, cfg, np.random.default_rng(0))
    fit(m, (x, y), steps=300, batch_size=64, seed=0, quiet=True)

    def on_mode(s, k):
        d2 = ((s[:, None] - ds.centers[None]) ** 2).sum(-1)
        return (d2.argmin(1) == k) & (d2.min(1) < (10 * ds.std) ** 2)
    hits = [on_mode(m.sample(100, np.random.default_rng(k), condition=ds.centers[k] * 3 + 1),
                    k).mean() for k in range(8)]
    assert min(hits) > 0.9, hits
    ks = np.arange(400) % 8
    s = m.sample(400, np.random.default_rng(9), condition=ds.centers[ks] * 3 + 1)
    assert on_mode(s, ks).mean() > 0.9


def test_condition_errors_are_one_line_user_errors():
    lab = DataSpec("continuous", (2,), num_classes=8, name="ring8")
    rng = np.random.default_rng(0)
    for cfg, match in [({"conditional": True, "cond_dim": -1}, "cond_dim=-1"),
                       ({"conditional": True, "cond_dim": 1.5}, "cond_dim=1.5"),
                       ({"cond_dim": 2}, "needs conditional=true")]:
        with pytest.raises(UserError, match=match):
            registry.build("gan", "r1", RING, cfg)
    vec = registry.build("gan", "r1", RING, {"conditional": True, "cond_dim": 3})
    with pytest.raises(UserError, match=r"expected shape \(5, 3\) after flattening, got \(2,\)"):
        vec.sample(5, rng, condition=[1.0, 2.0])
    with pytest.raises(UserError, match=r"shape \(5, 3\).*got \(4, 3\)"):
        vec.sample(5, rng, condition=np.zeros((4, 3)))
    with pytest.raises(UserError, match="not on labels"):
        vec.sample(5, rng, label=1)
    with pytest.raises(UserError, match="pass condition="):
        vec.sample(5, rng)
    with pytest.raises(UserError, match="no condition vectors"):
        fit(vec, ring(64), steps=1, batch_size=32, seed=0, quiet=True)
    by_label = registry.build("gan", "r1", lab, {"conditional": True})
    with pytest.raises(UserError, match="pass label="):
        by_label.sample(5, rng, condition=[1.0])
    with pytest.raises(UserError, match="not both"):
        by_label.sample(5, rng, label=1, condition=[1.0])
    with pytest.raises(UserError, match="takes no condition"):
        registry.build("gan", "r1", RING).sample(5, rng, condition=[1.0, 2.0])


def test_a_conv_gan_completes_upper_halves_from_lower_halves():
    """The interface scratch_gen/conditional uses for completions: images x of shape
    (8, 16) conditioned on vectors of shape (8, 16); a few steps and samples."""
    ds = data.get("glyphs")
    g = ds.sample(64, np.random.default_rng(0))
    upper, lower = g[:, :8], g[:, 8:]
    spec = DataSpec("image", (8, 16), name="upper halves")
    m = registry.build("gan", "r1", spec, {"channels": 4, "latent_dim": 8, "conditional": True,
                                           "cond_dim": 128}, np.random.default_rng(0))
    fit(m, (upper, lower), steps=2, batch_size=16, seed=0, quiet=True)
    s = m.sample(3, np.random.default_rng(0), condition=lower[0])
    assert s.shape == (3, 8, 16) and 0 <= s.min() and s.max() <= 1
    assert m.sample(2, np.random.default_rng(0), condition=lower[:2]).shape == (2, 8, 16)
    state = m.state_dict()
    m2 = registry.build("gan", "r1", spec, m.config, np.random.default_rng(5))
    m2.load_state_dict(state)
    np.testing.assert_allclose(m2.sample(2, np.random.default_rng(1), condition=lower[0]),
                               m.sample(2, np.random.default_rng(1), condition=lower[0]))


def test_the_convolutional_gan_on_glyphs_takes_steps_and_samples_images():
    ds = data.get("glyphs")
    x = ds.sample(64, np.random.default_rng(0))
    spec = DataSpec("image", ds.shape, name="glyphs")
    m = registry.build("gan", "r1", spec, {"channels": 4, "latent_dim": 8, "pack": 2},
                       np.random.default_rng(0))
    m.setup(x, None, np.random.default_rng(0))
    out = m.train_step(x[:16], None, np.random.default_rng(0))
    assert np.isfinite(out["loss"]) and np.isfinite(out["r1"])
    s = m.sample(5, np.random.default_rng(0))
    assert s.shape == (5, 16, 16) and s.dtype == np.float32
    assert 0 <= s.min() and s.max() <= 1


def test_cli_train_sample_eval(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert cli.main(["train", "gan", "--model", "r1", "--data", "ring8", "--steps", "6",
                     "--batch-size", "32", "--set", "pack=2", "--set", "hidden=16",
                     "--out", run, "--quiet"]) == 0
    with open(f"{run}/checkpoint.json") as f:
        assert json.load(f)["config"]["pack"] == 2
    npy = str(tmp_path / "s.npy")
    assert cli.main(["sample", run, "--n", "10", "--out", npy]) == 0
    assert np.load(npy).shape == (10, 2)
    capsys.readouterr()
    assert cli.main(["eval", run, "--n-samples", "200"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"modes", "high_quality", "reverse_kl", "mmd2", "d_real", "d_fake"} <= set(result)
    assert result["nll"] is None


def test_lazy_r1_is_computed_every_nth_d_step_and_scaled_by_n(monkeypatch):
    from scratch_gen.gan import losses
    calls = []
    real_r1 = losses.r1_penalty

    def spy(d, x, gamma, y=None):
        calls.append(gamma)
        return real_r1(d, x, gamma, y)
    monkeypatch.setattr(losses, "r1_penalty", spy)
    m = registry.build("gan", "r1", RING, dict(SMALL, r1=0.5, r1_every=4, k=2),
                       np.random.default_rng(0))
    m.setup(ring(100), None, np.random.default_rng(0))
    reported = [m.train_step(ring(32), None, np.random.default_rng(t))["r1"] for t in range(4)]
    assert calls == [2.0, 2.0]                  # d steps 4 and 8 of 8, gamma * 4
    assert reported[0] == 0.0 and reported[1] > 0 and reported[2] == reported[1]


def test_rejection_by_the_optimal_discriminator_turns_q_into_p(monkeypatch):
    # d* = p/(p+q) has logit log p/q: accepting q's samples with probability
    # exp(a - max a) leaves exactly p. Here q = N(0, 1) (the "generator"), p = N(1, 0.5^2).
    spec = DataSpec("continuous", (1,), name="line")
    m = registry.build("gan", "r1", spec, SMALL, np.random.default_rng(0))

    def generate(n, rng, label=None, ema=True):
        return rng.standard_normal((n, 1))

    class OptimalD:
        def __call__(self, x, y=None):
            x = x.data[:, 0]
            log_p = -0.5 * ((x - 1) / 0.5) ** 2 - np.log(0.5)
            log_q = -0.5 * x ** 2
            return autograd.Tensor(log_p - log_q)
    monkeypatch.setattr(m, "_generate", generate)
    monkeypatch.setattr(m, "D", OptimalD())
    s = m.rejection_sample(20_000, np.random.default_rng(1))[:, 0]
    assert abs(s.mean() - 1.0) < 0.02 and abs(s.std() - 0.5) < 0.02
    with pytest.raises(UserError, match="pack=1"):
        registry.build("gan", "r1", spec, dict(SMALL, pack=2), np.random.default_rng(0)
                       ).sample(3, np.random.default_rng(0), reject=True)


def test_topk_fraction_decays_per_epoch_to_its_floor():
    m = registry.build("gan", "r1", RING, dict(SMALL, topk=0.5, topk_decay=0.9),
                       np.random.default_rng(0))
    m.setup(ring(1000), None, np.random.default_rng(0))
    fractions = []
    for seen in (0, 999, 1000, 5000, 10_000):
        m.examples_seen = seen
        fractions.append(m.topk_fraction())
    np.testing.assert_allclose(fractions, [1, 1, 0.9, 0.9 ** 5, 0.5])   # 0.9^10 < 0.5
    m.examples_seen = 0
    for t in range(10):                       # 10 steps of 100 = one epoch of 1000
        m.train_step(ring(100, seed=t), None, np.random.default_rng(t))
    assert m.examples_seen == 1000 and m.topk_fraction() == 0.9
    off = registry.build("gan", "r1", RING, SMALL, np.random.default_rng(0))
    off.setup(ring(1000), None, np.random.default_rng(0))
    off.examples_seen = 10_000
    assert off.topk_fraction() == 1.0


@pytest.mark.parametrize("pack", [1, 2])
def test_topk_generator_gradient_is_the_gradient_on_the_k_best_fakes_only(pack):
    """Sinha et al. 2020's masked loss, written out: -sum_i mask_i log d(g(z_i)) / k with
    mask_i = 1 on the k fakes (packs) d scores highest, over the whole batch, must give g
    the same gradient as the model's step (which runs g forward on those k only)."""
    from autograd import functional as F
    from scratch_gen.gan.model import _frozen
    m = registry.build("gan", "r1", RING, dict(SMALL, pack=pack, topk=0.25, topk_decay=0.5),
                       np.random.default_rng(0))
    m.setup(ring(100), None, np.random.default_rng(0))
    m.examples_seen = 100                     # epoch 1: fraction max(0.25, 0.5) = 0.5
    n, params = 24, m.G.parameters()

    def grads_of(loss):
        m.opt_g.zero_grad()
        with _frozen(m.D):
            loss.backward()
        return [np.array(p.grad, dtype=np.float64) for p in params]
    z = m.noise(n, np.random.default_rng(7))
    logits = m.D(m.G(z))
    a = logits.numpy()
    k = n // pack // 2
    mask = np.zeros(len(a), np.float32)
    mask[np.argsort(-a)[:k]] = 1.0
    assert len(set(a.tolist())) == len(a)      # no ties: "the k best" is well defined
    by_hand = grads_of(-(F.log_sigmoid(logits) * autograd.Tensor(mask)).sum() / k)
    full = grads_of(-F.log_sigmoid(m.D(m.G(z))).mean())
    m.opt_g.lr = 0.0                           # the step must leave g as it was
    m._generator_step(n, None, np.random.default_rng(7))
    model = [np.array(p.grad, dtype=np.float64) for p in params]
    for mine, hand in zip(model, by_hand):
        np.testing.assert_allclose(mine, hand, rtol=1e-4, atol=1e-6)
    assert max(np.abs(f - h).max() for f, h in zip(full, by_hand)) > 1e-3


def test_topk_settings_out_of_range_are_one_line_user_errors():
    for cfg, word in [({"topk": 1.5}, "topk=1.5"), ({"topk": -0.1}, "topk=-0.1"),
                      ({"topk_decay": 0.0}, "topk_decay=0.0"),
                      ({"topk_decay": 1.2}, "topk_decay=1.2")]:
        with pytest.raises(UserError, match=word) as e:
            registry.build("gan", "r1", RING, cfg, np.random.default_rng(0))
        assert "\n" not in str(e.value) and "expected" in str(e.value)
