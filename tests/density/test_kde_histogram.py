"""The KDE (Parzen 1962) and the histogram: their densities against the formulas,
normalization, and their limits (delta functions; empty cells)."""
import math

import numpy as np
import pytest

from scratch_gen import checkpoint, metrics, registry
from scratch_gen.common.errors import UserError
from scratch_gen.density.kde import kde_log_prob, select_bandwidth
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit


def points(n, d, seed):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_kde_log_prob_is_the_parzen_formula():
    c, x, h = points(60, 3, 0), points(25, 3, 1), 0.37
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    direct = np.log(np.mean(np.exp(-d2 / (2 * h * h)), axis=1) / (2 * math.pi * h * h) ** 1.5)
    np.testing.assert_allclose(kde_log_prob(x, c, h), direct, rtol=1e-10)


def test_kde_integrates_to_one():
    c = points(30, 1, 2)
    xs = np.linspace(-8, 8, 20001)[:, None]
    total = np.exp(kde_log_prob(xs, c, 0.2)).sum() * (xs[1, 0] - xs[0, 0])
    assert total == pytest.approx(1.0, abs=1e-9)


def test_kde_tends_to_the_filing_cabinet_as_h_shrinks():
    c, x = points(200, 2, 3), points(200, 2, 4)
    hs = [1.0, 0.1, 0.01, 1e-3, 1e-5]
    on_train = [kde_log_prob(c, c, h).mean() for h in hs]
    on_test = [kde_log_prob(x, c, h).mean() for h in hs]
    assert np.all(np.diff(on_train[1:]) > 0)        # training points: -> +inf (delta spikes)
    assert on_train[-1] > 15
    assert np.all(np.diff(on_test) < 0)             # unseen points: -> -inf (zero density)
    assert on_test[-1] < -1e6
    # at h -> 0 a training point's log p is its own spike: -log N - (D/2) log(2 pi h^2)
    h = 1e-5
    np.testing.assert_allclose(kde_log_prob(c, c, h), -math.log(200) - math.log(2 * math.pi * h * h),
                               rtol=1e-12)


def test_kde_model_chooses_its_bandwidth_on_held_out_points(tmp_path):
    x = points(2000, 2, 5)
    model = registry.build("density", "kde", DataSpec("continuous", (2,)))
    fit(model, x, out=str(tmp_path / "k"), quiet=True)
    # Silverman's rule for a standard normal in 2D: n^(-1/6) = 0.28; held-out likelihood
    # lands near it
    assert 0.15 < model.h < 0.5
    h, grid, scores = select_bandwidth(x[:1600], x[1600:])
    assert h == grid[np.argmax(scores)] and scores.max() > scores[0] and scores.max() > scores[-1]
    back, _ = checkpoint.load_model(str(tmp_path / "k"))
    assert back.h == model.h
    s = model.sample(5000, np.random.default_rng(0))
    assert metrics.copy_rate(s, x) == 0.0
    assert s.var(0).mean() == pytest.approx(x.var(0).mean() + model.h ** 2, abs=0.08)
    fixed = registry.build("density", "kde", DataSpec("continuous", (2,)), {"bandwidth": 0.3})
    fit(fixed, x, quiet=True)
    assert fixed.h == 0.3
    with pytest.raises(UserError, match="bandwidth=-1"):
        registry.build("density", "kde", DataSpec("continuous", (2,)), {"bandwidth": -1})


def test_histogram_is_counts_over_volume_and_integrates_to_one():
    x = points(3000, 2, 6)
    for alpha in (0.0, 0.5):
        model = registry.build("density", "histogram", DataSpec("continuous", (2,)),
                               {"bins": 10, "alpha": alpha})
        fit(model, x, quiet=True)
        vol = float(np.prod(model.width))
        centres = model.lo + (np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1)
                              .reshape(-1, 2) + 0.5) * model.width
        p = np.exp(model.log_prob(centres))
        assert p.sum() * vol == pytest.approx(1.0, abs=1e-12)
        # a training point's cell: (count + alpha) / ((N + alpha B) vol), count by hand
        cell = np.floor((x[0] - model.lo) / model.width)
        count = int(np.all(np.floor((x - model.lo) / model.width) == cell, axis=1).sum())
        assert model.log_prob(x[:1])[0] == pytest.approx(
            math.log((count + alpha) / ((3000 + alpha * 100) * vol)), abs=1e-12)
        assert model.log_prob(np.array([[50.0, 0.0]]))[0] == -math.inf     # outside the box


def test_histogram_without_pseudo_counts_has_infinite_test_nll():
    x = points(300, 2, 7)
    model = registry.build("density", "histogram", DataSpec("continuous", (2,)),
                           {"bins": 40, "alpha": 0.0})
    fit(model, x, quiet=True)
    lp = model.log_prob(points(300, 2, 8))
    assert np.isneginf(lp).any()                       # some test point in an empty cell
    assert metrics.nll(lp, 2)["nll"] == math.inf
    s = model.sample(20_000, np.random.default_rng(0))
    assert np.isfinite(model.log_prob(s)).all()        # samples only from occupied cells
    with pytest.raises(UserError, match="cells"):
        registry.build("density", "histogram", DataSpec("continuous", (20,)), {"bins": 32})
