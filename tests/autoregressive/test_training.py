"""Maximum likelihood through the chain rule reaches known answers: the n-gram's counts
are the closed-form MLE; the networks, on data whose entropy is known, get within a
stated KL of it in a few hundred steps of the workbench's loop; checkpoints restore
the same density."""
import math
from collections import Counter

import numpy as np
import pytest

from scratch_gen import checkpoint
from scratch_gen.registry import DataSpec, get
from scratch_gen.train import fit

SEQ_LEN = 8
P_FOLLOW = 0.8


def markov2(n, rng):
    """x_0, x_1 uniform on {0,1,2}; then x_t = (x_{t-1} + x_{t-2}) mod 3 with prob 0.8,
    else one of the two other values: each conditional reads two tokens back."""
    x = np.zeros((n, SEQ_LEN), dtype=np.int64)
    x[:, :2] = rng.integers(0, 3, size=(n, 2))
    for t in range(2, SEQ_LEN):
        follow = (x[:, t - 1] + x[:, t - 2]) % 3
        other = (follow + rng.integers(1, 3, size=n)) % 3
        x[:, t] = np.where(rng.random(n) < P_FOLLOW, follow, other)
    return x


def markov2_log_prob(x):
    follow = (x[:, 1:-1] + x[:, :-2]) % 3
    hit = x[:, 2:] == follow
    return (-2 * math.log(3) + np.where(hit, math.log(P_FOLLOW),
                                        math.log((1 - P_FOLLOW) / 2)).sum(axis=1))


MARKOV_ENTROPY = 2 * math.log(3) + (SEQ_LEN - 2) * -(
    P_FOLLOW * math.log(P_FOLLOW) + (1 - P_FOLLOW) * math.log((1 - P_FOLLOW) / 2))


def test_ngram_is_the_add_k_count_estimate():
    rng = np.random.default_rng(0)
    x = markov2(3000, rng)
    spec = DataSpec("discrete", shape=(SEQ_LEN,), levels=3)
    k = 0.3
    model = get("autoregressive", "ngram")(spec, {"n": 3, "k": k})
    fit(model, x, steps=0, quiet=True)
    # counts by hand, with "start" (None) before the sequence
    pairs = Counter()
    for row in x:
        ctx = (None, None)
        for v in row:
            pairs[ctx + (int(v),)] += 1
            ctx = (ctx[1], int(v))
    test = markov2(50, rng)
    want = np.zeros(len(test))
    for i, row in enumerate(test):
        ctx = (None, None)
        for v in row:
            c = pairs[ctx + (int(v),)]
            total = sum(pairs[ctx + (u,)] for u in range(3))
            want[i] += math.log((c + k) / (total + 3 * k))
            ctx = (ctx[1], int(v))
    np.testing.assert_allclose(model.log_prob(test), want, rtol=1e-12)
    # and with this much data the MLE is close to the truth: KL < 0.02 nats/sequence
    big = markov2(4000, rng)
    assert -model.log_prob(big).mean() - MARKOV_ENTROPY < 0.02


@pytest.mark.parametrize("variant,config,steps", [
    ("mlp", {"block": 2, "embed": 8, "hidden": 32, "lr": 1e-2}, 250),
    ("wavenet", {"channels": 16, "skip": 16, "dilations": [1, 2], "lr": 1e-2}, 250),
    ("transformer", {"d_model": 16, "heads": 2, "layers": 1, "lr": 1e-2}, 250),
])
def test_networks_learn_a_second_order_chain(variant, config, steps):
    """Each network reads two tokens back and gets within 0.15 nats per sequence of the
    chain's entropy (8 tokens; the n-gram's add-k estimate reaches 0.02)."""
    rng = np.random.default_rng(1)
    train, test = markov2(4000, rng), markov2(2000, rng)
    spec = DataSpec("discrete", shape=(SEQ_LEN,), levels=3)
    model = get("autoregressive", variant)(spec, {**config, "decay_steps": steps},
                                           np.random.default_rng(2))
    fit(model, train, steps=steps, batch_size=64, seed=3, quiet=True)
    lp = model.log_prob(test)
    kl = -lp.mean() - MARKOV_ENTROPY
    assert -0.05 < kl < 0.15, (variant, kl)
    # the log-probabilities track the truth example by example, not just on average
    assert np.corrcoef(lp, markov2_log_prob(test))[0, 1] > 0.9


def test_made_learns_heartbeat_and_its_ensemble_beats_its_average_member():
    """Heartbeat (20 bits, a pulse every 5 at a random phase; entropy ln 5). MADE in the
    natural order gets within 0.15 nats; with 4 orderings, the ensemble's NLL is below
    the mean of its members' (log of a mean >= mean of logs) and each member is a
    different model."""
    from scratch_gen.data.discrete import Heartbeat
    rng = np.random.default_rng(1)
    x = Heartbeat().sample(3000, rng)
    spec = DataSpec("discrete", shape=(20,), levels=2)
    for S, steps in ((1, 300), (4, 200)):
        model = get("autoregressive", "made")(
            spec, {"hidden": [64, 64], "num_orders": S, "lr": 1e-2, "decay_steps": steps},
            np.random.default_rng(2))
        fit(model, x[:2000], steps=steps, batch_size=64, seed=3, quiet=True)
        test = x[2000:]
        nll = -model.log_prob(test).mean()
        if S == 1:
            assert nll - math.log(5) < 0.15
        else:
            members = [-model.log_prob(test, orders=[s]).mean() for s in range(S)]
            assert nll < np.mean(members) - 1e-3
            assert np.ptp(members) > 1e-3


def test_pixelcnn_learns_bars_to_near_their_entropy():
    """4x5 images of one vertical bar at a uniform column (entropy log 5): after the
    first row, every pixel is determined, and PixelCNN finds it."""
    rng = np.random.default_rng(4)
    col = rng.integers(0, 5, size=600)
    imgs = np.zeros((600, 4, 5), dtype=np.int64)
    imgs[np.arange(600), :, col] = 1
    spec = DataSpec("image", shape=(4, 5), levels=2)
    model = get("autoregressive", "pixelcnn")(
        spec, {"channels": 12, "dilations": [1, 1], "first_kernel": 5, "row_context": 8,
               "lr": 1e-2, "decay_steps": 150}, np.random.default_rng(5))
    fit(model, imgs, steps=150, batch_size=32, seed=6, quiet=True)
    nll = -model.log_prob(imgs[:200]).mean()
    assert nll - math.log(5) < 0.1
    samples = model.sample(50, np.random.default_rng(7))
    bars = [(s == s[0]).all() and s[0].sum() == 1 for s in samples]
    assert np.mean(bars) > 0.9


def test_mdn_learns_two_clusters_the_first_coordinate_cannot_separate():
    """x1 ~ N(0, 1); x2 | x1 = +-2 + 0.2 noise with probability 1/2 each: a bimodal
    conditional (one Gaussian per conditional would be 1.1 nats/point worse)."""
    rng = np.random.default_rng(8)

    def draw(n):
        x1 = rng.normal(size=n)
        x2 = rng.choice([-2.0, 2.0], size=n) + 0.2 * rng.normal(size=n)
        return np.stack([x1, x2], axis=1)

    entropy = 0.5 * math.log(2 * math.pi * math.e) + math.log(2) \
        + 0.5 * math.log(2 * math.pi * math.e * 0.04)
    spec = DataSpec("continuous", shape=(2,))
    model = get("autoregressive", "mdn")(spec, {"components": 3, "hidden": 16, "lr": 1e-2,
                                                "decay_steps": 400}, np.random.default_rng(9))
    fit(model, draw(4000), steps=400, batch_size=256, seed=10, quiet=True)
    kl = -model.log_prob(draw(4000)).mean() - entropy
    assert kl < 0.05, kl
    s = model.sample(2000, np.random.default_rng(11))
    assert abs(np.mean(np.abs(s[:, 1])) - 2.0) < 0.1 and abs(s[:, 0].std() - 1.0) < 0.1


@pytest.mark.parametrize("variant", ["ngram", "wavenet", "made", "mdn"])
def test_checkpoint_restores_the_same_density_and_resume_repeats_the_run(variant, tmp_path):
    rng = np.random.default_rng(12)
    if variant == "mdn":
        spec, x = DataSpec("continuous", shape=(2,)), rng.normal(size=(300, 2))
    else:
        spec, x = DataSpec("discrete", shape=(SEQ_LEN,), levels=3), markov2(300, rng)
    config = {"wavenet": {"channels": 4, "skip": 4, "dilations": [1, 2]},
              "made": {"hidden": [16], "num_orders": 2}, "mdn": {"components": 2, "hidden": 8},
              "ngram": {"n": 2}}[variant]
    cls = get("autoregressive", variant)
    steps = 0 if variant == "ngram" else 12
    if steps:
        config["decay_steps"] = steps
    a = cls(spec, config, np.random.default_rng(13))
    fit(a, x, steps=steps, batch_size=16, seed=14, out=str(tmp_path / "a"), quiet=True)
    loaded, _ = checkpoint.load_model(str(tmp_path / "a"))
    np.testing.assert_array_equal(loaded.log_prob(x[:50]), a.log_prob(x[:50]))
    if steps:
        b = cls(spec, config, np.random.default_rng(13))
        fit(b, x, steps=steps // 2, batch_size=16, seed=14, out=str(tmp_path / "b"), quiet=True,
            ckpt_every=steps // 2)
        b2, _ = checkpoint.load_model(str(tmp_path / "b"))
        fit(b2, x, steps=steps, out=str(tmp_path / "b"), resume=True, quiet=True)
        np.testing.assert_array_equal(b2.log_prob(x[:50]), a.log_prob(x[:50]))
