"""The chain rule gives a normalized distribution, and sampling draws from it.

Isola L14, "Autoregressive probability model": p(X) = prod_i p(x_i | x_<i). If every
conditional is normalized, the product sums to 1 over all sequences, whatever the
network. These tests enumerate every sequence of a tiny space and check exactly that,
for every model of the family, then check that ancestral samples follow the same
probabilities (chi-square).
"""
import math

import numpy as np
import pytest
from scipy import stats

from scratch_gen.autoregressive.chain import draw
from scratch_gen.metrics import normalize_2d
from scratch_gen.registry import DataSpec, get

from .conftest import ALL_DISCRETE, SEQUENCE_MODELS, all_grid, all_text, tiny_model


def enumerate_space(model, text):
    if text:
        return all_text()
    x = all_grid()
    return x.reshape((len(x),) + model.spec.shape)


@pytest.mark.parametrize("variant", ALL_DISCRETE)
def test_probabilities_over_all_sequences_sum_to_one(variant):
    model = tiny_model(variant)
    lp = model.log_prob(enumerate_space(model, False))
    assert lp.dtype == np.float64 and np.isfinite(lp).all()
    assert abs(math.fsum(np.exp(lp)) - 1.0) < 1e-10
    # A trained model is not uniform: the check is not passing by symmetry.
    assert lp.max() - lp.min() > 0.1


@pytest.mark.parametrize("variant", SEQUENCE_MODELS)
def test_probabilities_over_all_strings_sum_to_one(variant):
    """Text: the end token counts, and the end is certain after max_len - 1 = 3
    characters, so the 15 strings of length 0..3 carry all the mass."""
    model = tiny_model(variant, text=True)
    strings = all_text()
    lp = model.log_prob(strings)
    assert np.isfinite(lp).all()
    assert abs(math.fsum(np.exp(lp)) - 1.0) < 1e-10
    # Off the support: a fourth character, or one never seen in training.
    assert np.all(model.log_prob(["abab", "abc", "c"]) == -np.inf)


def test_made_single_orderings_and_ensemble_each_sum_to_one():
    model = tiny_model("made")
    x = all_grid()
    per = [model.log_prob(x, orders=[s]) for s in range(3)]
    for lp in per:
        assert abs(math.fsum(np.exp(lp)) - 1.0) < 1e-10
    # The orderings are different models, and the ensemble is their average.
    assert np.abs(per[0] - per[1]).max() > 1e-3
    np.testing.assert_allclose(np.exp(model.log_prob(x)), np.mean(np.exp(per), axis=0),
                               rtol=1e-12)


def test_mdn_density_integrates_to_one():
    """Continuous: the quadrature of exp(log p) over a box holding the mass is 1 up to
    the quadrature's own stated error, and each conditional p(x2 | x1) integrates to 1
    along its line."""
    spec = DataSpec("continuous", shape=(2,))
    model = get("autoregressive", "mdn")(spec, {"components": 3, "hidden": 8},
                                         np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal([0, 1], 0.5, (200, 2)), rng.normal([1, -1], 0.3, (200, 2))])
    model.setup(x, None, rng)
    for _ in range(30):
        model.train_step(x[rng.integers(0, 400, 64)], None, rng)
    model.net.to(np.float64)
    q = normalize_2d(model.log_prob, lo=(-6, -8), hi=(7, 9), n=400)
    assert abs(q.log_z) < max(3 * q.error, 1e-4)
    grid = np.linspace(-30, 30, 60001)
    for x1 in (-0.5, 0.3, 1.2):
        pts = np.stack([np.full_like(grid, x1), grid], axis=1)
        terms = model.log_conditionals(model.encode(pts)[0]).data      # (N, 2)
        assert abs(np.trapezoid(np.exp(terms[:, 1]), grid) - 1.0) < 1e-6   # p(x2 | x1)
    pts = np.stack([grid, np.zeros_like(grid)], axis=1)
    terms = model.log_conditionals(model.encode(pts)[0]).data
    assert abs(np.trapezoid(np.exp(terms[:, 0]), grid) - 1.0) < 1e-6       # p(x1)


def _counts(samples, space):
    index = {tuple(np.ravel(s)) if not isinstance(s, str) else s: i for i, s in enumerate(space)}
    c = np.zeros(len(space))
    for s in samples:
        c[index[tuple(np.ravel(s)) if not isinstance(s, str) else s]] += 1
    return c


@pytest.mark.parametrize("variant,text", [(v, False) for v in ALL_DISCRETE]
                         + [(v, True) for v in ("ngram", "wavenet", "transformer")])
def test_sample_frequencies_pass_chi_square_against_model_probabilities(variant, text):
    model = tiny_model(variant, text=text, float64=False)
    space = enumerate_space(model, text)
    p = np.exp(model.log_prob(space))
    n = 6000
    samples = model.sample(n, np.random.default_rng(123))
    observed = _counts(samples, space if text else [tuple(np.ravel(s)) for s in space])
    expected = n * p / p.sum()
    _, pvalue = stats.chisquare(observed, expected)
    assert pvalue > 1e-3, (variant, pvalue)


def test_draw_temperature_and_top_k_follow_their_formulas():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    rng = np.random.default_rng(0)
    n = 40000
    for T, k in ((1.0, None), (0.5, None), (2.0, None), (1.0, 2), (0.7, 3)):
        z = logits[0] / T
        if k is not None:
            z = np.where(np.argsort(np.argsort(-z)) < k, z, -np.inf)
        want = np.exp(z - z.max())
        want /= want.sum()
        got = np.bincount(draw(np.repeat(logits, n, 0), rng, T, k), minlength=4)
        keep = want > 0
        assert got[~keep].sum() == 0
        _, pvalue = stats.chisquare(got[keep], n * want[keep])
        assert pvalue > 1e-3, (T, k, pvalue)
    # top_k = 1 is greedy decoding
    assert np.all(draw(np.repeat(logits, 100, 0), rng, 1.0, 1) == 0)


def test_a_wrong_sampler_fails_the_chi_square():
    """The chi-square above has power: draws from a temperature-2 sampler are rejected
    against the temperature-1 probabilities."""
    model = tiny_model("mlp", float64=False)
    space = all_grid()
    p = np.exp(model.log_prob(space))
    samples = model.sample(6000, np.random.default_rng(123), temperature=2.0)
    observed = _counts(samples, [tuple(s) for s in space])
    _, pvalue = stats.chisquare(observed, 6000 * p / p.sum())
    assert pvalue < 1e-6
