"""Text: the character vocabulary, the story grammar's exact truth, the pydoc pool."""

import itertools
import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data.text import CharVocab, FiniteGrammar, STORY_RULES, _join, _split


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ CharVocab

def test_vocab_encodes_with_a_counted_end_token_and_decodes_back():
    v = CharVocab(["ab", "ba c"])
    assert v.chars == " abc" and v.size == 5 and v.eos == 0
    ids, lengths = v.encode(["ab", "", "c a"])
    assert ids.dtype == np.int64 and ids.shape == (3, 4)
    np.testing.assert_array_equal(lengths, [3, 1, 4])
    np.testing.assert_array_equal(ids[0], [2, 3, 0, 0])
    np.testing.assert_array_equal(ids[1], [0, 0, 0, 0])
    assert v.decode(ids) == ["ab", "", "c a"]
    assert v.decode(np.array([2, 3])) == ["ab"]                     # no end token: row end
    assert CharVocab([v.chars]).chars == v.chars


def test_vocab_errors_name_the_problem():
    v = CharVocab(["ab"])
    with pytest.raises(data.DataError, match="'z'"):
        v.encode(["az"])
    with pytest.raises(data.DataError, match="0..2"):
        v.decode(np.array([[1, 7]]))
    with pytest.raises(data.DataError, match="list of str"):
        v.encode("ab")


# ------------------------------------------------------------------ grammar machinery

TINY = {
    "S": [(0.7, "A x ."), (0.3, "y B .")],
    "A": [(0.5, "a"), (0.25, "b"), (0.25, "")],
    "B": [(0.6, "c A"), (0.4, "d")],
}


def enumerate_language(g, sym="S"):
    """Every (words, prob) by brute-force expansion (finite grammars only)."""
    if sym not in g.rules:
        return [((sym,), 1.0)]
    out = []
    for p, rhs in g.rules[sym]:
        parts = [enumerate_language(g, s) for s in rhs]
        for combo in itertools.product(*parts):
            words = tuple(w for ws, _ in combo for w in ws)
            out.append((words, p * math.prod(q for _, q in combo)))
    return out


def test_tiny_grammar_probabilities_are_exact_and_sum_to_one():
    g = FiniteGrammar(TINY)
    lang = enumerate_language(g)
    strings = [w for w, _ in lang]
    assert len(set(strings)) == len(strings) == g.count()            # unambiguous
    assert abs(math.fsum(p for _, p in lang) - 1) < 1e-12
    for words, p in lang:
        assert g.log_prob(list(words)) == pytest.approx(math.log(p), abs=1e-12)
    assert g.entropy() == pytest.approx(-math.fsum(p * math.log(p) for _, p in lang), abs=1e-12)
    assert g.log_prob(["x", "."]) == pytest.approx(math.log(0.7 * 0.25))
    assert g.log_prob(["a", "x"]) == -math.inf
    assert g.log_prob(["a", "x", ".", "."]) == -math.inf


def test_grammar_refuses_ambiguity_cycles_and_bad_probabilities():
    with pytest.raises(ValueError, match="LL\\(1\\)"):
        FiniteGrammar({"S": [(0.5, "a b"), (0.5, "a c")]})
    with pytest.raises(ValueError, match="LL\\(1\\)"):                # "a" or "a a"?
        FiniteGrammar({"S": [(1.0, "A A")], "A": [(0.5, "a"), (0.5, "")]})
    with pytest.raises(ValueError, match="not finite"):
        FiniteGrammar({"S": [(0.5, "a S"), (0.5, "b")]})
    with pytest.raises(ValueError, match="sum to 1"):
        FiniteGrammar({"S": [(0.5, "a"), (0.4, "b")]})


def test_sampled_derivations_score_their_own_probability():
    g = FiniteGrammar(STORY_RULES)
    for words, logp in g.sample(2000, rng(1)):
        assert g.log_prob(words) == pytest.approx(logp, abs=1e-12)
        assert _split(_join(words)) == words


# ------------------------------------------------------------------ stories

def test_stories_truth_matches_the_sampler():
    ds = data.get("stories")
    x = ds.sample(20_000, rng(2))
    assert isinstance(x, list) and all(isinstance(s, str) for s in x)
    assert x == ds.sample(20_000, rng(2))
    lp = ds.log_prob(x)
    assert np.isfinite(lp).all()
    se = lp.std(ddof=1) / math.sqrt(len(lp))
    assert abs(-lp.mean() - ds.entropy()) < 4 * se
    assert ds.entropy_error() == 0.0
    tokens = np.array([len(s) + 1 for s in x])
    assert abs(tokens.mean() - ds.expected_tokens()) < 4 * tokens.std() / math.sqrt(len(x))


def test_stories_are_lower_case_sentences_within_the_brief():
    ds = data.get("stories")
    assert 8 <= ds.entropy() <= 20
    assert 40 <= len(ds.words()) <= 80
    for s in ds.sample(200, rng(3)):
        assert s == s.lower() and s.endswith(".") and "  " not in s and s.strip() == s
    first = "once upon a time there was a little fox who lived in a dark forest."
    p = 0.5 * 0.5 / 8 / 10 * 0.4 * 0.5 / 4 / 6 * 0.5
    assert ds.log_prob([first])[0] == pytest.approx(math.log(p), abs=1e-12)


@pytest.mark.parametrize("bad", [
    "once upon a time there was a little fox who lived in a dark forest",     # no period
    "once upon a time there was a little fox who lived in a dark forest .",   # space
    "once upon a time there was a  little fox who lived in a dark forest.",   # two spaces
    " once upon a time there was a little fox who lived in a dark forest.",
    "Once upon a time there was a little fox who lived in a dark forest.",
    "once upon a time there was a little fox who lived in a dark forest. and",
    "once upon a time there was a little owl who lived in a dark forest.",
    "once upon a time there was a little little fox who lived in a dark forest.",
    "", ".",
])
def test_strings_outside_the_language_have_probability_zero(bad):
    assert data.get("stories").log_prob([bad])[0] == -np.inf


def test_stories_vocab_covers_every_sentence():
    ds = data.get("stories")
    v = ds.vocab()
    x = ds.sample(500, rng(4))
    ids, lengths = v.encode(x)
    assert v.decode(ids) == x
    with pytest.raises(data.DataError, match="list of str"):
        ds.log_prob("once.")


# ------------------------------------------------------------------ pydoc

def test_pydoc_pool_splits_without_overlap():
    ds = data.get("pydoc")
    train, test = ds.pool("train"), ds.pool("test")
    assert len(train) > 500 and len(test) > 30
    assert not set(train) & set(test)
    assert 0.05 < len(test) / (len(train) + len(test)) < 0.2
    assert sorted(train + test) == sorted(ds.pool())
    x = ds.sample(300, rng(5), split="test")
    assert set(x) <= set(test) and x == ds.sample(300, rng(5), split="test")
    assert all(s.isascii() and s[0].isupper() for s in x)
    assert not ds.has_log_prob and not ds.has_entropy
    with pytest.raises(data.DataError, match="split"):
        ds.sample(3, rng(), split="valid")
    ds.vocab().encode(ds.pool())
