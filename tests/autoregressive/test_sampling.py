"""Ancestral sampling (Isola L14, "Sampling"): one conditional at a time, and the cached
samplers of WaveNet and the Transformer compute exactly the conditionals of the full
forward pass."""
import numpy as np
import pytest

from scratch_gen.autoregressive.chain import PAD
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec, get

from .conftest import tiny_model


def path_log_prob(model, tokens, cached):
    """log p(x) by running the sampler's conditionals along x (the inference path),
    to compare with log_prob (the training path)."""
    n, L = tokens.shape
    step = model.stepper(n, cached)
    x = np.where(tokens == PAD, 0, tokens)
    total = np.zeros(n)
    for i in model.order:
        if model.seq.text and i == model.seq.length - 1:
            break
        z = step(x, i).astype(np.float64)
        lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
        lp = z[np.arange(n), x[:, i]] - lse
        total += np.where(tokens[:, i] == PAD, 0.0, lp)
    return total


@pytest.mark.parametrize("variant", ["wavenet", "transformer"])
def test_cached_sampler_equals_full_forward(variant):
    spec = DataSpec("discrete", shape=(20,), levels=4)
    config = {"wavenet": {"channels": 6, "skip": 5, "kernel_size": 3, "dilations": [1, 2, 4]},
              "transformer": {"d_model": 12, "heads": 3, "layers": 2}}[variant]
    model = get("autoregressive", variant)(spec, config, np.random.default_rng(0))
    model.net.to(np.float64)
    x = np.random.default_rng(1).integers(0, 4, size=(5, 20))
    full = model.logits(x).data
    for cached in (True, False):
        step = model.stepper(5, cached)
        rows = np.stack([step(x, i) for i in range(20)], axis=1)
        np.testing.assert_allclose(rows, full, rtol=1e-10, atol=1e-12)
    a = model.sample(30, np.random.default_rng(7), cached=True)
    b = model.sample(30, np.random.default_rng(7), cached=False)
    np.testing.assert_array_equal(a, b)


def test_pixelcnn_window_sampler_equals_full_forward():
    """The fast PixelCNN sampler runs the net on a crop of ``reach`` rows and columns;
    every pixel's logits equal the full pass's."""
    spec = DataSpec("image", shape=(9, 11), levels=3)
    model = get("autoregressive", "pixelcnn")(spec, {"channels": 5, "dilations": [1, 2],
                                                     "first_kernel": 5},
                                              np.random.default_rng(0))
    model.net.to(np.float64)
    model.net.pos.data[...] = np.random.default_rng(5).normal(size=model.net.pos.shape)
    assert model.net.reach == 2 + 1 + 2
    x = np.random.default_rng(1).integers(0, 3, size=(3, 99))
    full = model.logits(x).data
    step = model.stepper(3, cached=True)
    rows = np.stack([step(x, i) for i in range(99)], axis=1)
    np.testing.assert_allclose(rows, full, rtol=1e-10, atol=1e-12)
    a = model.sample(4, np.random.default_rng(2), cached=True)
    b = model.sample(4, np.random.default_rng(2), cached=False)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("variant", ["ngram", "mlp", "wavenet", "transformer"])
def test_sampling_path_and_training_path_give_the_same_log_prob(variant):
    model = tiny_model(variant, text=True)
    words = ["", "a", "ab", "bab", "bbb", "aba"]
    tokens, _ = model.seq.encode(words)
    want = model.log_prob(words)
    for cached in (True, False):
        np.testing.assert_allclose(path_log_prob(model, tokens, cached), want, rtol=1e-10)


def test_made_and_pixelcnn_sample_in_their_own_order():
    model = tiny_model("made")
    tokens = model.seq.encode(model.sample(4, np.random.default_rng(0)))[0]
    for s in range(3):
        model.use_order(s)
        np.testing.assert_allclose(path_log_prob(model, tokens, True),
                                   model.log_prob(tokens, orders=[s]), rtol=1e-10)
    model.use_order(0)
    pix = tiny_model("pixelcnn")
    imgs = pix.sample(5, np.random.default_rng(0))
    assert imgs.shape == (5, 2, 2) and imgs.dtype == np.int64
    np.testing.assert_allclose(path_log_prob(pix, pix.seq.encode(imgs)[0], True),
                               pix.log_prob(imgs), rtol=1e-10)


def test_samples_have_the_data_form_and_are_reproducible():
    text = tiny_model("mlp", text=True)
    s = text.sample(50, np.random.default_rng(3))
    assert isinstance(s, list) and all(isinstance(w, str) and len(w) <= 3 for w in s)
    assert set("".join(s)) <= {"a", "b"}
    assert s == text.sample(50, np.random.default_rng(3))
    assert s != text.sample(50, np.random.default_rng(4))
    grid = tiny_model("wavenet")
    g = grid.sample(7, np.random.default_rng(0), temperature=0.5, top_k=2)
    assert g.shape == (7, 4) and g.min() >= 0 and g.max() <= 2
    assert text.sample(0, np.random.default_rng(0)) == []


def test_low_temperature_approaches_greedy_decoding():
    """T -> 0 makes every conditional a point mass on its argmax: the samples become the
    greedy path, which top_k = 1 gives exactly."""
    model = tiny_model("transformer", text=True, steps=60)
    greedy = model.sample(20, np.random.default_rng(1), top_k=1)
    assert len(set(greedy)) == 1
    # the smallest gap between the best and second-best logit along the greedy path
    tokens, _ = model.seq.encode(greedy[:1])
    step = model.stepper(1)
    gaps = []
    for i in range(tokens.shape[1]):
        z = np.sort(step(tokens, i)[0])
        gaps.append(z[-1] - z[-2])
    T = min(gaps) / 12.0           # off-path mass per step <= V e^-12
    cold = model.sample(200, np.random.default_rng(0), temperature=T)
    assert cold.count(greedy[0]) >= 198
    warm = model.sample(200, np.random.default_rng(0))
    assert warm.count(greedy[0]) < 150


@pytest.mark.parametrize("options,match", [({"temperature": 0}, "temperature"),
                                           ({"temperature": -1.0}, "temperature"),
                                           ({"top_k": 0}, "top_k")])
def test_bad_sampling_options_are_user_errors(options, match):
    model = tiny_model("ngram")
    with pytest.raises(UserError, match=match):
        model.sample(3, np.random.default_rng(0), **options)
