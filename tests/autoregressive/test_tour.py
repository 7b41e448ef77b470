"""The family's tour rows follow the contract (one row per model, figures on disk)."""
import math
import os

from scratch_gen.autoregressive import tour

KEYS = {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
        "figures", "slide"}


def test_quick_tour_rows_and_figures(tmp_path):
    rows = tour.run(str(tmp_path), quick=True, seed=0)
    assert [r["model"] for r in rows] == ["ngram", "mlp", "mdn"]
    for r in rows:
        assert set(r) == KEYS and r["family"] == "autoregressive" and r["modes"] is None
        assert math.isfinite(r["test_nll"]) and r["kl"] == r["test_nll"] - r["entropy"]
        assert r["kl"] > -0.05                       # a model cannot beat the truth by much
        assert r["figures"] and all(os.path.getsize(tmp_path / f) > 1000 for f in r["figures"])
        assert r["slide"]
