"""The 3-class toy referees the classifiers: Bayes' rule with the true densities is the
Bayes classifier; fitted generative and discriminative classifiers are measured against
the Bayes rate and H(Y|X). Softmax regression's output is a distribution and its loss
that distribution's NLL."""
import math

import numpy as np
import pytest
from scipy import stats

from scratch_gen import checkpoint, metrics, registry
from scratch_gen.common.errors import UserError
from scratch_gen.conditional import experiments
from scratch_gen.conditional.bayes import BayesRule
from scratch_gen.conditional.softmax import SoftmaxRegression
from scratch_gen.conditional.toy import ThreeClassToy
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit

TOY = ThreeClassToy()


def test_bayes_rule_with_the_true_densities_is_the_bayes_classifier():
    x, _ = TOY.sample_labelled(500, np.random.default_rng(0))
    clf = BayesRule(TOY.log_px_given_y, TOY.priors)
    # the posterior, computed independently: p(x|y) p(y) normalized, in plain densities
    dens = np.stack([TOY.priors[k] * stats.multivariate_normal(TOY.means[k], TOY.covs[k]).pdf(x)
                     for k in range(3)], 1)
    np.testing.assert_allclose(np.exp(clf.log_posterior(x)), dens / dens.sum(1, keepdims=True),
                               rtol=1e-12, atol=1e-15)
    # its expected error (integral of the joint where it is wrong) is the Bayes error
    # (1 - integral of the max of the joint), two different integrals on one grid
    bayes, q_err = TOY.bayes_error()
    assert TOY.error_rate(clf.predict)[0] == pytest.approx(bayes, abs=1e-12)
    assert q_err < 1e-4 and 0.12 < bayes < 0.14
    # and its expected label NLL is H(Y|X)
    h, _ = TOY.conditional_entropy()
    assert TOY.expected_label_nll(clf.log_posterior)[0] == pytest.approx(h, abs=1e-12)
    assert 0 < h < TOY.label_entropy()


def test_the_quadratures_against_monte_carlo():
    x, y = TOY.sample_labelled(100_000, np.random.default_rng(1))
    clf = BayesRule(TOY.log_px_given_y, TOY.priors)
    acc, se = metrics.accuracy(clf.predict(x), y)
    assert abs((1 - acc) - TOY.bayes_error()[0]) < 4 * se
    nll, nse = metrics.mean_se(-clf.log_posterior(x)[np.arange(len(y)), y])
    assert abs(nll - TOY.conditional_entropy()[0]) < 4 * nse
    np.testing.assert_allclose(np.bincount(y) / len(y), TOY.priors, atol=0.005)


@pytest.fixture(scope="module")
def toy_result():
    return experiments.toy_comparison(n_train=2000, n_test=10000, seed=0, softmax_steps=800,
                                      quadrature=256)


def test_fitted_classifiers_against_the_bayes_rate(toy_result):
    r = {row["classifier"]: row for row in toy_result["rows"]}
    rate = toy_result["bayes_rate"]
    for name, row in r.items():
        # nothing beats the Bayes rate in expectation (quadrature, no test-set noise)
        assert row["expected_accuracy"] <= rate + 1e-9, name
        assert row["expected_label_nll"] >= toy_result["conditional_entropy"] - 1e-9, name
    gauss = r["Bayes rule, Gaussian p(x|y)"]
    assert rate - gauss["expected_accuracy"] < 0.003            # the right family: near Bayes
    soft = r["softmax regression"]
    assert rate - soft["expected_accuracy"] < 0.02
    # the linear discriminative model cannot bend its boundary like the true one
    assert soft["expected_accuracy"] < gauss["expected_accuracy"]
    for row in r.values():
        assert abs(row["accuracy"] - row["expected_accuracy"]) < 4 * row["accuracy_se"] + 0.002


def test_softmax_outputs_are_distributions_and_the_loss_is_their_nll():
    x, y = TOY.sample_labelled(300, np.random.default_rng(2))
    sm = SoftmaxRegression(2, 3, rng=np.random.default_rng(0))
    sm.fit(x, y, 50, np.random.default_rng(1))
    p = sm.probs(x)
    assert (p >= 0).all() and np.allclose(p.sum(1), 1.0, atol=1e-12, rtol=0)
    loss = sm.loss(x, y).item()
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(len(y)), y])), abs=1e-12)
    # and its gradient is the softmax-regression gradient, (p - onehot) x / n
    sm.zero_grad()
    sm.loss(x, y).backward()
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(sm.linear.weight.grad, (p - onehot).T @ x / len(y), atol=1e-12)
    np.testing.assert_allclose(sm.linear.bias.grad, (p - onehot).mean(0), atol=1e-12)
    assert np.all(sm.predict(x) == p.argmax(1))


def test_bayes_classifier_in_the_workbench(tmp_path):
    x, y = TOY.sample_labelled(1500, np.random.default_rng(3))
    spec = DataSpec("continuous", (2,), num_classes=3)
    clf = registry.build("conditional", "bayes-classifier", spec, {"density": "kde"})
    fit(clf, (x, y), out=str(tmp_path / "c"), quiet=True)
    np.testing.assert_allclose(np.exp(clf.log_prior), np.bincount(y) / len(y), rtol=1e-12)
    back, _ = checkpoint.load_model(str(tmp_path / "c"))
    xt, _ = TOY.sample_labelled(200, np.random.default_rng(4))
    np.testing.assert_array_equal(back.log_posterior(xt), clf.log_posterior(xt))
    # generative still: log p(x) is the mixture of the class densities; samples by class
    lik = clf.log_px_given_y(xt)
    np.testing.assert_allclose(clf.log_prob(xt), np.log((np.exp(lik) * np.exp(clf.log_prior)).sum(1)),
                               rtol=1e-12)
    np.testing.assert_array_equal(clf.log_prob(xt, np.zeros(200, int)), lik[:, 0])
    s = clf.sample(2000, np.random.default_rng(5), label=2)
    np.testing.assert_allclose(s.mean(0), TOY.means[2], atol=0.1)
    assert registry.get("density", "bayes-classifier").__mro__[1] is type(clf)
    with pytest.raises(UserError, match="needs labelled data"):
        registry.build("conditional", "bayes-classifier", DataSpec("continuous", (2,)))
    with pytest.raises(UserError, match="density='filing-cabinet'"):
        registry.build("conditional", "bayes-classifier", spec, {"density": "filing-cabinet"})
    with pytest.raises(UserError, match="every class 0..2 needs training examples"):
        fit(registry.build("conditional", "bayes-classifier", spec), (x, np.minimum(y, 1)),
            quiet=True)


def test_glyphs_classifiers_are_accurate():
    r = experiments.glyphs_comparison(n_train=1500, n_test=500, seed=1, softmax_steps=400,
                                      use_kde=False)
    acc = {row["classifier"].split(" (")[0]: row["accuracy"] for row in r["rows"]}
    assert acc["Bayes rule, Gaussian p(x|y)"] > 0.97
    assert acc["softmax regression"] > 0.9
    gen = r["rows"][0]["model"]
    assert gen.sample(3, np.random.default_rng(0), label=7).shape == (3, 16, 16)


def test_reverse_direction_with_a_learned_discriminative_model():
    t = experiments.reverse_direction_table()
    np.testing.assert_allclose(t["p_x_given_y"].sum(0), 1.0, atol=1e-15)
    np.testing.assert_allclose(t["p_x_given_y"] * t["p_y"], t["joint"], atol=1e-15)
    assert np.abs(t["learned_p_y_given_x"] - t["p_y_given_x"]).max() < 1e-3
    assert np.abs(t["learned_p_x_given_y"] - t["p_x_given_y"]).max() < 1e-3
    assert math.isclose(t["p_y"].sum(), 1.0)


def test_cli_trains_the_bayes_classifier_and_eval_reports_accuracy(tmp_path, capsys):
    import json
    from scratch_gen.cli import main
    run_dir = str(tmp_path / "bc")
    assert main(["train", "density", "--model", "bayes-classifier", "--data", "ring8",
                 "--out", run_dir, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", run_dir, "--n-samples", "500"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "density/bayes-classifier"
    assert out["accuracy"] == 1.0                      # ring8's modes are 0.77 apart, std 0.01
    assert out["label_nll"] < 1e-6 and out["modes"] == 8
    assert main(["train", "conditional", "--model", "bayes-classifier", "--data", "river",
                 "--out", str(tmp_path / "r")]) == 2          # no labels: one line, exit 2
    assert "needs labelled data" in capsys.readouterr().err
