"""The ``names`` dataset: a grammar whose every name has an exact probability."""
import math

import numpy as np

from scratch_gen import data
from scratch_gen.data.namegen import INITIALS, MAX_SYLLABLES, TAILS, Names


def test_registered_and_loadable():
    assert "names" in data.names() and callable(data.names)
    train, test, ds = data.load("names", n_train=50, n_test=20)
    assert isinstance(ds, Names) and len(train.x) == 50 and train.kind == "text"
    assert set("".join(train.x)) <= set(ds.vocab().chars)


def test_log_prob_is_the_grammar_product_and_entropy_its_mean():
    ds = Names()
    x = ds.sample(20000, np.random.default_rng(0))
    lp = ds.log_prob(x)
    assert np.isfinite(lp).all()
    m = np.array([(len(s) - 5) // 2 for s in x])
    np.testing.assert_allclose(lp, -2 * math.log(6) - math.log(MAX_SYLLABLES) - m * math.log(24))
    # E[-log p] = H, within 4 standard errors of the Monte Carlo mean
    assert abs(-lp.mean() - ds.entropy()) < 4 * lp.std() / math.sqrt(len(lp))
    # the body length is uniform on 1..10 (chi-square-free check: each within 5 sigma)
    counts = np.bincount(m, minlength=MAX_SYLLABLES + 1)[1:]
    p = 1 / MAX_SYLLABLES
    assert np.all(np.abs(counts - len(x) * p) < 5 * math.sqrt(len(x) * p * (1 - p)))


def test_the_tail_agrees_with_the_first_letter_far_away():
    x = Names().sample(2000, np.random.default_rng(1))
    assert all(s[-3] == TAILS[INITIALS.index(s[0])] for s in x)
    assert max(len(s) for s in x) > 20          # up to 22 characters apart


def test_off_the_support_is_minus_infinity():
    ds = Names()
    good = ds.sample(1, np.random.default_rng(2))[0]
    bad = [good[:-1], "x" + good[1:], good[:2] + "q" + good[3:], good + "a",
           good[:-3] + TAILS[(TAILS.index(good[-3]) + 1) % 6] + good[-2:], "",
           "bo" + "la" * 11 + "wan"]
    assert np.all(ds.log_prob(bad) == -np.inf)
