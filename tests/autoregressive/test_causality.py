"""The designed dependency graph (He L1): p(x_i | x_<i) must not look at x_j, j >= i.

A model that peeks at the token it predicts gets a wonderful training loss and a
density that does not sum to 1; these tests catch that directly. MADE is checked
through the autograd Jacobian of its masked network; the convolutions and attention by
perturbing later tokens and watching earlier outputs not move (and earlier tokens move
them, so the check has power).
"""
import numpy as np
import pytest

from autograd import Tensor, grad
from scratch_gen.autoregressive.wavenet import receptive_field
from scratch_gen.registry import DataSpec, get

from .conftest import tiny_model

L = 12
SEQ = DataSpec("discrete", shape=(L,), levels=3)


def model_on(variant, spec, config, seed=0):
    m = get("autoregressive", variant)(spec, config, np.random.default_rng(seed))
    if m.trainable():
        m.net.to(np.float64)
    return m


def perturbation_dependence(model, x, rng):
    """``dep[i, j]`` True when changing x_j changed the logits at i (float64 model)."""
    D = x.shape[1]
    base = model.logits(x).data
    dep = np.zeros((D, D), dtype=bool)
    for j in range(D):
        for _ in range(3):
            y = x.copy()
            y[:, j] = (y[:, j] + rng.integers(1, model.seq.V, size=len(y))) % model.seq.V
            changed = np.abs(model.logits(y).data - base).max(axis=2) > 1e-12   # (N, D)
            dep[:, j] |= changed.any(axis=0)
    return dep


@pytest.mark.parametrize("variant,config", [
    ("mlp", {"block": 4, "embed": 4, "hidden": 8}),
    ("wavenet", {"channels": 4, "skip": 4, "kernel_size": 2, "dilations": [1, 2, 4]}),
    ("transformer", {"d_model": 8, "heads": 2, "layers": 2}),
    ("ngram", {"n": 3, "k": 0.5}),
])
def test_sequence_models_never_look_ahead(variant, config):
    model = model_on(variant, SEQ, config)
    rng = np.random.default_rng(0)
    if variant == "ngram":
        x = rng.integers(0, 3, size=(500, L))
        model.setup(x, None, rng)
    x = rng.integers(0, 3, size=(8, L))
    dep = perturbation_dependence(model, x, rng)
    i, j = np.indices(dep.shape)
    assert not dep[j >= i].any()                       # never x_j, j >= i
    assert dep[np.arange(1, L), np.arange(L - 1)].all()  # always x_{i-1}
    if variant == "transformer":
        assert dep[j < i].all()                        # attention reads the whole prefix
    if variant == "mlp":
        assert np.array_equal(dep, (j < i) & (j >= i - 4))   # exactly its window


def test_wavenet_receptive_field_is_one_plus_sum_of_dilated_taps():
    for k, dil in ((2, [1, 2, 4]), (3, [1, 2]), (2, [1, 1, 2, 4]), (3, [1, 3, 1])):
        rf = receptive_field(k, dil)
        assert rf == 1 + sum((k - 1) * d for d in dil)
        D = rf + 6
        spec = DataSpec("discrete", shape=(D,), levels=3)
        model = model_on("wavenet", spec, {"channels": 4, "skip": 4, "kernel_size": k,
                                           "dilations": dil})
        assert model.receptive_field == rf
        rng = np.random.default_rng(1)
        dep = perturbation_dependence(model, rng.integers(0, 3, size=(6, D)), rng)
        i, j = np.indices(dep.shape)
        # logits at i read the shifted inputs s_{i-rf+1..i} = x_{i-rf..i-1}
        assert np.array_equal(dep, (j < i) & (j >= i - rf)), (k, dil)


def test_pixelcnn_masks_type_a_then_b_hide_the_current_and_later_pixels():
    spec = DataSpec("image", shape=(5, 5), levels=4)
    model = model_on("pixelcnn", spec, {"channels": 6, "dilations": [1, 2, 1], "first_kernel": 5})
    model.net.pos.data[...] = np.random.default_rng(5).normal(size=model.net.pos.shape)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(6, 25))
    dep = perturbation_dependence(model, x, rng)
    i, j = np.indices(dep.shape)
    assert not dep[j >= i].any()
    # the pixel to the left and the one above are always read
    left = np.arange(25)[np.arange(25) % 5 > 0]
    assert dep[left, left - 1].all()
    assert dep[np.arange(5, 25), np.arange(0, 20)].all()
    # the first layer's mask A hides the centre, later masks B keep it
    from scratch_gen.autoregressive.pixelcnn import pixelcnn_mask
    a, b = pixelcnn_mask("A", 3), pixelcnn_mask("B", 3)
    assert a[1, 1] == 0 and b[1, 1] == 1 and a.sum() == 4 and b.sum() == 5


def test_made_jacobian_respects_each_ordering():
    """d logits(x_{o_r}) / d input(x_{o_s}) = 0 for s >= r, through autograd, for every
    ordering; and nonzero for some s < r (the masks connect what they may)."""
    D, K = 5, 3
    spec = DataSpec("discrete", shape=(D,), levels=K)
    model = model_on("made", spec, {"hidden": [32, 32], "num_orders": 3, "mask_seed": 4})
    rng = np.random.default_rng(3)
    x = rng.integers(0, K, size=(4, D))
    for s in range(3):
        model.use_order(s)
        rank = np.empty(D, dtype=int)
        rank[model.order] = np.arange(D)
        inp = Tensor(model.onehot(x), requires_grad=True)
        out = model.net(inp)                                  # (N, D, K)
        reached = np.zeros((D, D), dtype=bool)
        for d in range(D):
            for k in range(K):
                (g,) = grad(out[:, d, k].sum(), [inp])
                reached[d] |= np.abs(g.data if hasattr(g, "data") else g).reshape(
                    len(x), D, K).sum(axis=(0, 2)) > 0
        allowed = rank[None, :] < rank[:, None]               # [d, e]: e before d
        assert not reached[~allowed].any()
        assert reached[allowed].sum() >= allowed.sum() // 2
        first = model.order[0]
        assert not reached[first].any()                      # p(x_first) has no parents
    model.use_order(0)


def test_mdn_first_coordinate_ignores_the_second():
    spec = DataSpec("continuous", shape=(2,))
    model = get("autoregressive", "mdn")(spec, {"components": 2, "hidden": 8},
                                         np.random.default_rng(0))
    model.net.to(np.float64)
    x = np.random.default_rng(1).normal(size=(10, 2))
    y = x.copy()
    y[:, 1] += 3.0
    t = model.log_conditionals(model.encode(x)[0]).data
    u = model.log_conditionals(model.encode(y)[0]).data
    np.testing.assert_array_equal(t[:, 0], u[:, 0])
    assert np.abs(t[:, 1] - u[:, 1]).min() > 0
    z = x.copy()
    z[:, 0] += 1.0
    assert np.abs(model.log_conditionals(model.encode(z)[0]).data[:, 1] - t[:, 1]).min() > 0


def test_text_models_are_causal_in_characters_too():
    model = tiny_model("transformer", text=True)
    tokens, _ = model.seq.encode(["ab", "bb", "a"])
    assert tokens.tolist() == [[1, 2, 0], [2, 2, 0], [1, 0, -1]]     # CharVocab: end = 0
    x = np.where(tokens < 0, 0, tokens)
    y = x.copy()
    y[:, 2] = (y[:, 2] + 1) % 3
    np.testing.assert_array_equal(model.logits(x).data[:, :3], model.logits(y).data[:, :3])
