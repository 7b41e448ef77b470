"""He L1, "Discriminative vs. generative models": Bayes' rule both ways, exactly."""
from fractions import Fraction

import numpy as np
import pytest

from scratch_gen.common.errors import UserError
from scratch_gen.conditional.bayes import DISCRETE_TOY_COUNTS, bayes_rule, log_posterior


def exact_tables():
    counts = np.array(DISCRETE_TOY_COUNTS, dtype=object)
    total = Fraction(int(DISCRETE_TOY_COUNTS.sum()))
    joint = np.vectorize(lambda c: Fraction(int(c)) / total, otypes=[object])(counts)  # [x, y]
    p_x, p_y = joint.sum(axis=1), joint.sum(axis=0)
    return joint, p_x, p_y, joint / p_x[:, None], (joint / p_y[None, :])     # p(y|x), p(x|y)


def test_generative_to_discriminative_is_exact():
    joint, p_x, p_y, y_given_x, x_given_y = exact_tables()
    post, evidence = bayes_rule(x_given_y.T, p_y)          # cond[y, x] = p(x|y), prior p(y)
    assert post.dtype == object and isinstance(post[0, 0], Fraction)
    assert (post == y_given_x).all()                       # p(y|x), no rounding at all
    assert (evidence == p_x).all()


def test_discriminative_to_generative_needs_the_prior_and_is_exact():
    joint, p_x, p_y, y_given_x, x_given_y = exact_tables()
    post, evidence = bayes_rule(y_given_x, p_x)            # cond[x, y] = p(y|x), prior p(x)
    assert (post.T == x_given_y).all()                     # post[y, x] = p(x|y)
    assert (evidence == p_y).all()
    # the prior matters: with a uniform p(x) instead, the answer is a different table
    uniform = np.array([Fraction(1, len(p_x))] * len(p_x), dtype=object)
    wrong, _ = bayes_rule(y_given_x, uniform)
    assert not (wrong.T == x_given_y).all()


def test_going_around_twice_returns_the_start_in_floats():
    rng = np.random.default_rng(0)
    cond = rng.dirichlet(np.ones(5), size=4)               # p(a|b), 4 values of b
    prior = rng.dirichlet(np.ones(4))
    post, evidence = bayes_rule(cond, prior)
    back, prior_again = bayes_rule(post, evidence)
    np.testing.assert_allclose(back, cond, atol=1e-15)
    np.testing.assert_allclose(prior_again, prior, atol=1e-15)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-15)


def test_log_space_rule_and_its_zero_density_rows():
    rng = np.random.default_rng(1)
    lik, prior = rng.normal(size=(6, 3)) * 5, np.array([0.2, 0.5, 0.3])
    post, log_px = log_posterior(lik, np.log(prior))
    p, _ = bayes_rule(np.exp(lik).T, prior)
    np.testing.assert_allclose(np.exp(post), p, rtol=1e-12)
    np.testing.assert_allclose(log_px, np.log((np.exp(lik) * prior).sum(1)), rtol=1e-12)
    dead = np.full((1, 3), -np.inf)                        # p(x|y) = 0 for every class
    post, log_px = log_posterior(dead, np.log(prior))
    assert log_px[0] == -np.inf
    np.testing.assert_allclose(np.exp(post[0]), prior, rtol=1e-15)    # falls back to p(y)


def test_bad_tables_are_user_errors():
    with pytest.raises(UserError, match="p\\(a\\) = 0 for a = \\[1\\]"):
        bayes_rule(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0.5, 0.5]))
    with pytest.raises(UserError, match="expected cond\\[b, a\\]"):
        bayes_rule(np.ones((2, 3)), np.ones(3))
