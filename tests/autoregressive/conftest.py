"""Shared builders for the autoregressive tests: tiny models in float64 on tiny spaces
that can be enumerated, so probabilities can be summed exactly."""
import itertools

import numpy as np

from scratch_gen.registry import DataSpec, get

# Small enough to enumerate: 3 levels x 4 positions = 81 sequences; text over "ab" with
# at most 3 characters (max_len 4) = 1 + 2 + 4 + 8 = 15 strings.
GRID = DataSpec("discrete", shape=(4,), levels=3)
IMAGE = DataSpec("image", shape=(2, 2), levels=3)
TEXT = DataSpec("text", vocab="ab")

TINY = {
    "ngram": {"n": 3, "k": 0.5},
    "mlp": {"block": 2, "embed": 4, "hidden": 8},
    "wavenet": {"channels": 4, "skip": 4, "kernel_size": 2, "dilations": [1, 2]},
    "made": {"hidden": [12, 12], "num_orders": 3},
    "pixelcnn": {"channels": 4, "dilations": [1, 1], "first_kernel": 3},
    "transformer": {"d_model": 8, "heads": 2, "layers": 1},
}
SEQUENCE_MODELS = ("ngram", "mlp", "wavenet", "transformer")
ALL_DISCRETE = ("ngram", "mlp", "wavenet", "made", "pixelcnn", "transformer")


def all_grid():
    return np.array(list(itertools.product(range(3), repeat=4)), dtype=np.int64)


def all_text(max_chars=3, alphabet="ab"):
    return [""] + ["".join(t) for L in range(1, max_chars + 1)
                   for t in itertools.product(alphabet, repeat=L)]


def spec_for(variant, text=False):
    if text:
        return TEXT
    return IMAGE if variant == "pixelcnn" else GRID


def data_for(spec, n, rng):
    """Training data with some structure, so trained models are not uniform."""
    if spec.kind == "text":
        words = ["a", "ab", "ba", "abb", "bab", "", "aa"]
        return [words[i] for i in rng.choice(len(words), size=n, p=[.3, .2, .15, .1, .1, .1, .05])]
    first = rng.integers(0, 3, size=n)
    x = np.stack([first, (first + 1) % 3, rng.integers(0, 3, size=n), first], axis=1)
    flip = rng.random(x.shape) < 0.2
    x = np.where(flip, rng.integers(0, 3, size=x.shape), x)
    return x.reshape((n,) + spec.shape)


def tiny_model(variant, text=False, steps=20, seed=0, float64=True):
    """A tiny model, trained a few steps (so it is not at its initialization), then cast
    to float64 so that sums of probabilities are exact to ~1e-15."""
    spec = spec_for(variant, text)
    config = dict(TINY[variant])
    if text:
        config["max_len"] = 4
    cls = get("autoregressive", variant)
    model = cls(spec, config, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    x = data_for(spec, 200, rng)
    model.setup(x, None, rng)
    if model.trainable():
        for _ in range(steps):
            idx = rng.integers(0, len(x), size=32)
            model.train_step([x[i] for i in idx] if text else x[idx], None, rng)
        if float64:
            model.net.to(np.float64)
    return model
