"""The density family's two variants, and the registry they plug into."""
import math
import sys

import numpy as np
import pytest
from scipy import stats

from scratch_gen import checkpoint, metrics, registry
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit


class Split:
    def __init__(self, x, y=None):
        self.x, self.y = x, y


def gaussian_data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ np.array([[1.0, 0.6], [0.0, 0.5]]) + [1.0, -1.0]


def test_gaussian_is_the_closed_form_mle_with_one_over_n():
    x = gaussian_data(400, 0)
    g = registry.build("density", "gaussian", DataSpec("continuous", (2,)))
    res = fit(g, x, quiet=True)
    assert res.step == 0 and res.history == []
    np.testing.assert_allclose(g.mean, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(g.cov, np.cov(x.T, bias=True), rtol=1e-12)
    two = registry.build("density", "gaussian", DataSpec("continuous", (1,)))
    fit(two, np.array([[0.0], [2.0]]), quiet=True)
    assert two.mean[0] == 1.0 and two.cov[0, 0] == 1.0            # 1/N, not 1/(N-1) = 2
    test = gaussian_data(50, 1)
    np.testing.assert_allclose(g.log_prob(test),
                               stats.multivariate_normal(g.mean, g.cov).logpdf(test), rtol=1e-12)
    s = g.sample(100_000, np.random.default_rng(2))
    assert s.shape == (100_000, 2)
    np.testing.assert_allclose(s.mean(0), g.mean, atol=0.01)
    np.testing.assert_allclose(np.cov(s.T), g.cov, atol=0.01)


def test_gaussian_kl_to_a_gaussian_truth_is_near_zero():
    g = registry.build("density", "gaussian", DataSpec("continuous", (2,)))
    fit(g, gaussian_data(20_000, 3), quiet=True)
    cov = np.array([[1.0, 0.6], [0.0, 0.5]]).T @ np.array([[1.0, 0.6], [0.0, 0.5]])
    h = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * cov))
    r = metrics.nll(g.log_prob(gaussian_data(20_000, 4)), 2)
    kl, se = metrics.kl_to_truth(r["nll"], r["nll_se"], h)
    assert abs(kl) < 4 * se + 1e-3


def test_gaussian_refuses_what_it_cannot_model():
    g = registry.build("density", "gaussian", DataSpec("continuous", (2,)))
    with pytest.raises(UserError, match="singular"):
        fit(g, np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), quiet=True)
    with pytest.raises(UserError, match="models continuous data; got text"):
        registry.build("density", "gaussian", DataSpec("text", vocab="ab"))
    with pytest.raises(UserError, match="closed form"):
        fit(registry.build("density", "gaussian", DataSpec("continuous", (2,))),
            gaussian_data(10, 0), steps=5, quiet=True)
    with pytest.raises(UserError, match="unconditional"):
        g.sample(3, np.random.default_rng(0), label=1)


def test_filing_cabinet_is_the_slide_with_delta_functions(tmp_path):
    x = gaussian_data(100, 5)
    fc = registry.build("density", "filing-cabinet", DataSpec("continuous", (2,)))
    fit(fc, x, out=str(tmp_path / "fc"), quiet=True)
    assert len(fc.cabinet) == 100
    s = fc.sample(500, np.random.default_rng(0))
    assert metrics.copy_rate(s, x) == 1.0                          # every drawer a training point
    lp = fc.log_prob(np.concatenate([x[:3], gaussian_data(3, 6)]))
    assert lp.tolist() == [math.inf] * 3 + [-math.inf] * 3
    r = metrics.evaluate(fc, Split(gaussian_data(200, 7)), train=Split(x))
    assert r["nll"] == math.inf and r["bits_per_dim"] == math.inf and r["copy_rate"] == 1.0
    back, _ = checkpoint.load_model(str(tmp_path / "fc"))
    np.testing.assert_array_equal(np.stack(back.cabinet), x)
    np.testing.assert_array_equal(back.sample(20, np.random.default_rng(1)),
                                  fc.sample(20, np.random.default_rng(1)))


def test_filing_cabinet_on_discrete_data_and_text_is_the_empirical_distribution(tmp_path):
    bits = np.array([[0, 1], [0, 1], [1, 1], [0, 1]])
    fc = registry.build("density", "filing-cabinet", DataSpec("discrete", (2,), levels=2))
    fit(fc, bits, quiet=True)
    np.testing.assert_allclose(fc.log_prob(np.array([[0, 1], [1, 1], [0, 0]])),
                               [math.log(3 / 4), math.log(1 / 4), -math.inf])
    words = ["anna", "bob", "anna", ""]
    tc = registry.build("density", "filing-cabinet", DataSpec("text", vocab="abno"))
    fit(tc, words, out=str(tmp_path / "t"), quiet=True)
    assert tc.log_prob(["anna", "", "zed"]).tolist() == [math.log(0.5), math.log(0.25), -math.inf]
    s = tc.sample(50, np.random.default_rng(0))
    assert isinstance(s, list) and set(s) <= set(words)
    back, _ = checkpoint.load_model(str(tmp_path / "t"))
    assert back.cabinet == words


def test_registry_lookup_and_settings():
    assert "density" in registry.families()
    assert set(registry.variants("density")) >= {"gaussian", "filing-cabinet"}
    assert registry.get("density").variant == "gaussian"          # the default
    with pytest.raises(UserError, match="unknown family 'nope'; expected one of: .*density"):
        registry.get("nope")
    with pytest.raises(UserError, match="unknown model 'kde2' for family 'density'"):
        registry.get("density", "kde2")
    cls = registry.get("density", "gaussian")
    with pytest.raises(UserError, match="has no setting 'lr'"):
        cls.resolve_config({"lr": 0.1})

    class WithSettings(registry.Model):
        family, variant = "_test", "settings"
        default_config = {"lr": 1e-3, "hidden": 64, "act": "relu", "ema": False}
    assert WithSettings.resolve_config({"lr": 1, "hidden": 32.0}) == \
        {"lr": 1.0, "hidden": 32, "act": "relu", "ema": False}
    for bad in ({"hidden": 3.5}, {"lr": "fast"}, {"ema": 1}, {"act": 3}):
        with pytest.raises(UserError, match="expected a value like the default"):
            WithSettings.resolve_config(bad)


def test_missing_family_packages_are_skipped_but_broken_ones_are_not(tmp_path, monkeypatch):
    pkg = tmp_path / "brokenfam"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import a_module_that_does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "FAMILY_MODULES", ("not_a_family_package_yet",))
    registry.load_families()                                        # absent: skipped
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "FAMILY_MODULES", ("brokenfam",))
    with pytest.raises(ModuleNotFoundError, match="a_module_that_does_not_exist_anywhere"):
        registry.load_families()
    sys.modules.pop("brokenfam", None)
