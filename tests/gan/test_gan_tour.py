"""The tour's GAN rows: the fields the gallery reads, honest Nones, figures on disk."""
import os
import re

from scratch_gen.gan import tour


def test_tour_rows(tmp_path, monkeypatch):
    monkeypatch.setitem(tour.BUDGET, True, {"ring_plain": 4, "ring_stable": 4,
                                           "glyph_steps": 2, "glyph_batch": 8})
    rows = tour.run(str(tmp_path), quick=True, seed=0)
    assert [r["model"] for r in rows] == ["gan/minimax", "gan/r1", "gan/r1 (conv)"]
    for r in rows:
        assert {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes",
                "high_quality", "seconds", "figures", "slide"} <= set(r)
        assert r["family"] == "gan" and r["test_nll"] is None and r["kl"] is None
        assert "no density" in r["note"] and "Isola L14" in r["slide"]
        for f in r["figures"]:
            assert not os.path.isabs(f) and os.path.getsize(tmp_path / f) > 1000
    assert re.fullmatch(r"\d/8", rows[0]["modes"]) and 0 <= rows[1]["high_quality"] <= 1
    assert rows[0]["entropy"] < 0          # ring8's differential entropy: std 0.01 is tiny
