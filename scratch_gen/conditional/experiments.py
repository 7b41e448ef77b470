"""Generative vs discriminative classifiers, measured: the numbers the demo, the tour
and the benchmark report (He L1, "Discriminative vs. generative models").

On the 3-class toy every classifier is measured against the best possible: its
accuracy on a test set next to the Bayes rate ``1 - Bayes error``, its *expected*
accuracy (by quadrature over the known joint, no test-set noise), and its test label
NLL next to ``H(Y|X)``. On ``glyphs`` there is no known truth, only the test set.
"""
import time

import numpy as np

from .. import data, metrics, registry
from ..registry import DataSpec
from .softmax import SoftmaxRegression
from .toy import ThreeClassToy


def label_nll(log_post, y):
    """Mean ``-log q(y_i | x_i)`` and its standard error."""
    y = np.asarray(y).reshape(-1)
    return metrics.mean_se(-log_post[np.arange(len(y)), y])


def _row(name, clf, x, y, seconds, toy=None, quadrature=512):
    acc, acc_se = metrics.accuracy(clf.predict(x), y)
    nll, nll_se = label_nll(clf.log_posterior(x), y)
    row = {"classifier": name, "accuracy": acc, "accuracy_se": acc_se,
           "label_nll": nll, "label_nll_se": nll_se, "seconds": seconds, "model": clf}
    if toy is not None:
        row["expected_accuracy"] = 1.0 - toy.error_rate(clf.predict, quadrature)[0]
        row["expected_label_nll"] = toy.expected_label_nll(clf.log_posterior, quadrature)[0]
    return row


def fit_classifiers(train_x, train_y, num_classes, densities, softmax_steps, rng,
                    softmax_lr=0.05, softmax_batch=256, spec=None):
    """The generative classifiers (one per ``(name, variant, settings)`` in
    ``densities``) and softmax regression, fitted on the same data; yields
    ``(name, classifier, seconds)``."""
    spec = spec or DataSpec("continuous", np.shape(train_x)[1:], num_classes=num_classes)
    for name, variant, settings in densities:
        t0 = time.perf_counter()
        clf = registry.build("conditional", "bayes-classifier", spec,
                             {"density": variant, "density_config": settings}, rng)
        clf.setup(train_x, train_y, rng)
        yield name, clf, time.perf_counter() - t0
    t0 = time.perf_counter()
    sm = SoftmaxRegression(int(np.prod(np.shape(train_x)[1:])), num_classes, rng=rng)
    sm.fit(train_x, train_y, softmax_steps, rng, lr=softmax_lr, batch_size=softmax_batch)
    yield "softmax regression", sm, time.perf_counter() - t0


def toy_comparison(n_train=2000, n_test=20000, seed=0, softmax_steps=2000, quadrature=512):
    """Every classifier on the 3-class toy, next to the truth (integrals on a
    ``quadrature`` x ``quadrature`` grid, see :mod:`.toy`). Returns a dict with
    ``rows`` (one per classifier, the true-density Bayes classifier first), ``bayes_rate``,
    ``bayes_error_quadrature_error``, ``conditional_entropy`` (H(Y|X)), ``label_entropy``
    (H(Y)), the data and the toy."""
    from .bayes import BayesRule
    toy = ThreeClassToy()
    rng_train, rng_test, rng_fit = (np.random.default_rng(s)
                                    for s in np.random.SeedSequence(seed).spawn(3))
    x, y = toy.sample_labelled(n_train, rng_train)
    xt, yt = toy.sample_labelled(n_test, rng_test)
    bayes_error, bayes_err_q = toy.bayes_error(quadrature)
    h_cond, h_err = toy.conditional_entropy(quadrature)
    rows = [_row("Bayes rule, true p(x|y)", BayesRule(toy.log_px_given_y, toy.priors),
                 xt, yt, 0.0, toy, quadrature)]
    densities = [("Bayes rule, Gaussian p(x|y)", "gaussian", {}),
                 ("Bayes rule, KDE p(x|y)", "kde", {})]
    for name, clf, sec in fit_classifiers(x, y, 3, densities, softmax_steps, rng_fit):
        rows.append(_row(name, clf, xt, yt, sec, toy, quadrature))
    return {"rows": rows, "bayes_rate": 1.0 - bayes_error,
            "bayes_error_quadrature_error": bayes_err_q, "conditional_entropy": h_cond,
            "conditional_entropy_error": h_err, "label_entropy": toy.label_entropy(),
            "toy": toy, "train": (x, y), "test": (xt, yt)}


def glyphs_comparison(n_train=5000, n_test=2000, seed=0, softmax_steps=1500,
                      reg=0.01, use_kde=True):
    """The same classifiers on ``glyphs`` (16x16 digits, 256 numbers per image). The
    Gaussian per class needs the ridge ``reg`` (some pixels are blank in every image of
    a class, so the 1/N covariance is singular). No truth is known here: no Bayes rate."""
    train, test, _ = data.load("glyphs", seed=seed, n_train=n_train, n_test=n_test)
    spec = DataSpec.from_data(train)
    rng_fit = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    densities = [(f"Bayes rule, Gaussian p(x|y) (ridge {reg:g})", "gaussian", {"reg": reg})]
    if use_kde:
        densities.append(("Bayes rule, KDE p(x|y)", "kde", {}))
    rows = [_row(name, clf, test.x, test.y, sec)
            for name, clf, sec in fit_classifiers(train.x, train.y, 10, densities,
                                                  softmax_steps, rng_fit, softmax_lr=0.01,
                                                  softmax_batch=128, spec=spec)]
    return {"rows": rows, "train": train, "test": test}


def reverse_direction_table():
    """He L1's second line on the discrete toy, with a *learned* p(y|x): softmax regression
    on one-hot x recovers the table's p(y|x) (its maximum-likelihood answer is the
    count frequencies of each row; the zeros it only approaches, as logits -> -inf);
    Bayes' rule with the prior p(x) (the counts) turns it into p(x|y). Returns the exact
    and the learned tables, each indexed ``[x, y]``."""
    from .bayes import DISCRETE_TOY_COUNTS, bayes_rule
    joint = DISCRETE_TOY_COUNTS / DISCRETE_TOY_COUNTS.sum()
    p_x = joint.sum(1)
    p_y_given_x = joint / p_x[:, None]
    post, p_y = bayes_rule(p_y_given_x, p_x)           # post[y, x] = p(x|y)
    # training pairs (x, y), one per count
    xs, ys = np.nonzero(DISCRETE_TOY_COUNTS)
    reps = DISCRETE_TOY_COUNTS[xs, ys]
    x_ids, y_ids = np.repeat(xs, reps), np.repeat(ys, reps)
    onehot = np.eye(len(p_x))[x_ids]
    sm = SoftmaxRegression(len(p_x), joint.shape[1], rng=np.random.default_rng(0))
    sm.fit(onehot, y_ids, 500, np.random.default_rng(1), lr=1.0, batch_size=len(x_ids))
    learned_y_given_x = sm.probs(np.eye(len(p_x)))
    learned_post, _ = bayes_rule(learned_y_given_x, p_x)
    # every table indexed [x, y]: p(x|y)'s columns sum to one
    return {"joint": joint, "p_x": p_x, "p_y": p_y, "p_y_given_x": p_y_given_x,
            "p_x_given_y": post.T, "learned_p_y_given_x": learned_y_given_x,
            "learned_p_x_given_y": learned_post.T}
