"""Generalization (Isola L14, "likelihood of the test data under the model"; He L1,
"overfitting vs. underfitting"): the KDE bandwidth sweep on gaussians8, the filing
cabinet as its h -> 0 limit, reported as infinite everywhere it is."""
import json
import math

import numpy as np
import pytest

from scratch_gen import data, metrics, registry
from scratch_gen.cli import main
from scratch_gen.density import generalization, memorization
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit


@pytest.fixture(scope="module")
def g8():
    train, test, ds = data.load("gaussians8", seed=0, n_train=5000, n_test=4000)
    return train.x, test.x, ds


@pytest.fixture(scope="module")
def sweep(g8):
    train, test, ds = g8
    hs = generalization.default_bandwidths(train, 14, 1e-3, 3.0)
    return generalization.bandwidth_sweep(train, test, hs, ds)


def test_test_nll_is_u_shaped_and_its_bottom_is_near_the_entropy(sweep):
    te, h = sweep["test_nll"], sweep["bandwidth"]
    assert generalization.is_u_shaped(te)
    b = sweep["best"]
    assert abs(te[b] - sweep["entropy"]) < 0.1                  # 5,000 training points
    assert 0.05 < h[b] < 0.3
    # the paired KL estimate agrees, with a far smaller standard error
    assert 0 < sweep["kl"][b] < 0.1 and sweep["kl_se"][b] < sweep["test_nll_se"][b] / 3


def test_train_nll_falls_without_bound_and_test_nll_rises_as_h_shrinks(sweep):
    tr, te = sweep["train_nll"], sweep["test_nll"]
    assert np.all(np.diff(tr) > 0)                # monotone in h: smaller h, better fit
    assert tr[0] < te[0] - 100                    # at the smallest h: memorized...
    assert te[0] > 100                            # ...and useless on new points
    assert sweep["h0_train_nll"] == -math.inf and sweep["h0_test_nll"] == math.inf


def test_the_filing_cabinet_is_the_limit_and_its_test_nll_is_inf(g8):
    train, test, _ = g8
    fc = registry.build("density", "filing-cabinet", DataSpec("continuous", (2,)))
    fit(fc, train, quiet=True)
    assert metrics.nll(fc.log_prob(train[:100]), 2)["nll"] == -math.inf
    r = metrics.nll(fc.log_prob(test), 2)
    assert r["nll"] == math.inf and math.isnan(r["nll_se"])


def test_the_cli_reports_the_cabinet_as_inf_and_the_kde_as_a_number(tmp_path, capsys):
    for model in ("filing-cabinet", "kde"):
        assert main(["train", "density", "--model", model, "--data", "gaussians8", "--out",
                     str(tmp_path / model), "--quiet"]) == 0
        capsys.readouterr()
        assert main(["eval", str(tmp_path / model), "--n-samples", "500"]) == 0
        out = json.loads(capsys.readouterr().out)
        if model == "filing-cabinet":
            assert out["nll"] == "inf" and out["kl_to_truth"] == "inf" and out["copy_rate"] == 1.0
        else:
            assert isinstance(out["nll"], float) and 0 < out["kl_to_truth"] < 0.15
            assert out["copy_rate"] == 0.0 and out["bandwidth"] > 0


def test_memorization_table_separates_copies_from_new_data(g8):
    train, test, ds = g8
    models = [("cabinet", registry.build("density", "filing-cabinet", DataSpec("continuous", (2,))))]
    for h in (1e-8, 0.15):
        models.append((f"kde {h}", registry.build("density", "kde", DataSpec("continuous", (2,)),
                                                  {"bandwidth": h})))
    models.append(("gaussian", registry.build("density", "gaussian", DataSpec("continuous", (2,)))))
    for _, m in models:
        fit(m, train, quiet=True)
    rows = memorization.memorization_table(models, train, test[:1000], 1000,
                                           np.random.default_rng(0), truth=ds)
    by = {r["model"]: r for r in rows}
    truth = by["fresh data (the truth)"]
    assert by["cabinet"]["copy_rate"] == 1.0 and by["kde 1e-08"]["copy_rate"] == 1.0
    assert by["kde 0.15"]["copy_rate"] == 0.0 and by["gaussian"]["copy_rate"] == 0.0
    assert truth["copy_rate"] == 0.0
    # the memorizers cover the test set as well as new data does: coverage alone is fooled
    assert by["cabinet"]["coverage"] > truth["coverage"] - 0.05
    assert by["gaussian"]["coverage"] < truth["coverage"] - 0.2         # the blur misses modes
    assert truth["coverage"] > 0.9                                      # about 1 - 2^-5
    assert by["cabinet"]["test_nll"] == math.inf and by["cabinet"]["nn_distance"] == 0.0
    assert abs(by["kde 0.15"]["nn_distance"] / truth["nn_distance_test"] - 1) < 0.2
    assert "inf" in memorization.format_table(rows)


def test_coverage_against_brute_force():
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(60, 2)), rng.normal(size=(50, 2)) * 1.5
    d_rr = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    np.fill_diagonal(d_rr, np.inf)
    radius = np.sort(d_rr, axis=1)[:, 2]                            # k = 3
    d_rf = np.sqrt(((real[:, None] - fake[None]) ** 2).sum(-1))
    expected = np.mean((d_rf <= radius[:, None]).any(axis=1))
    assert memorization.coverage(fake, real, k=3) == pytest.approx(expected, abs=1e-15)
    np.testing.assert_allclose(memorization.kth_neighbour_distance(real, 3), radius, rtol=1e-10)
