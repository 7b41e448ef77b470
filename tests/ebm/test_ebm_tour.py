"""The EBM tour's rows follow the gallery's contract (scratch_gen/tour.py)."""
import math
import os

from scratch_gen.ebm import tour

KEYS = {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
        "figures", "slide"}


def test_quick_tour_rows_and_figures(tmp_path):
    rows = tour.run(str(tmp_path), quick=True, seed=0)
    assert [r["dataset"] for r in rows] == ["ising", "gaussians8", "ring8"]
    for r in rows:
        assert KEYS <= set(r) and r["family"] == "ebm"
        assert math.isfinite(r["test_nll"]) and math.isfinite(r["entropy"])
        assert r["kl"] == r["test_nll"] - r["entropy"] and r["kl"] > -0.1
        assert r["seconds"] > 0 and r["figures"]
        for f in r["figures"]:
            assert not os.path.isabs(f) and os.path.getsize(tmp_path / f) > 1000
    # Exact KL on bits and the test-set estimate agree within the test NLL's noise.
    assert abs(rows[0]["kl_exact"] - rows[0]["kl"]) < 0.2
    assert rows[2]["modes"].endswith("/8")
