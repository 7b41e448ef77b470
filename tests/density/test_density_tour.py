"""The density family's tour rows (scratch_gen/tour.py's contract), at --quick size."""
import math
import os

from scratch_gen.density import tour

KEYS = {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
        "figures", "slide"}


def test_quick_tour_rows_and_figures(tmp_path):
    rows = tour.run(str(tmp_path), quick=True, seed=0)
    for r in rows:
        assert KEYS <= set(r), r
        for f in r["figures"]:
            assert not os.path.isabs(f) and os.path.getsize(tmp_path / f) > 1000
    by = {(r["family"], r["model"], r["dataset"]): r for r in rows}
    cab = by[("density", "filing-cabinet", "gaussians8")]
    assert cab["test_nll"] == math.inf and cab["kl"] == math.inf and cab["modes"] == 8
    for model in ("kde", "mixture", "gaussian", "histogram"):
        r = by[("density", model, "gaussians8")]
        assert r["kl"] == r["test_nll"] - r["entropy"] and math.isfinite(r["kl"])
    assert by[("density", "mixture", "gaussians8")]["kl"] < 0.1
    assert by[("density", "gaussian", "ring8")]["kl"] > 5          # one blob for eight modes
    toy = [r for r in rows if r["dataset"] == "three-class toy"]
    assert len(toy) == 4 and all(r["family"] == "conditional" for r in toy)
    assert all(r["modes"].startswith("acc ") and " / Bayes 0.87" in r["modes"] for r in toy)
    assert all(r["kl"] > -0.05 for r in toy)      # label NLL above H(Y|X) up to test noise
    glyphs = [r for r in rows if r["dataset"] == "glyphs"]
    assert glyphs and all(r["entropy"] is None for r in glyphs)
    turtle = next(r for r in rows if r["family"] == "latent")
    assert abs(turtle["kl"]) < 1e-12 and "noise_is_latent_turtle.png" in turtle["figures"]
    figs = {f for r in rows for f in r["figures"]}
    assert {"density_gaussians8.png", "bandwidth_sweep.png", "bayes_rule_toy.png"} <= figs
