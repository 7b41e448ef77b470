"""`scratch-gen tour --quick` end to end: the files, the table, and figures that obey
the truth (issue 11). NLL and entropy are nats per example, so KL = NLL - entropy, and
no model can beat the truth by more than its Monte Carlo error."""
import json
import math
import os

import pytest

from scratch_gen import cli, tour

REQUIRED = ("family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
            "figures", "slide")


@pytest.fixture(scope="module")
def quick_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    assert cli.main(["tour", "--quick", "--out", str(out)]) == 0
    with open(out / "summary.json") as f:
        return out, json.load(f)


def _num(v):
    return {"inf": math.inf, "-inf": -math.inf}.get(v, v) if isinstance(v, str) else v


def test_writes_the_three_files(quick_tour):
    out, summary = quick_tour
    for name in ("index.html", "summary.md", "summary.json"):
        assert (out / name).stat().st_size > 500, name
    assert summary["quick"] is True


def test_every_family_has_rows_with_every_column(quick_tour):
    _, summary = quick_tour
    rows = summary["rows"]
    families = {r["family"] for r in rows}
    for family, _ in tour.available():
        assert family in families or family == "density" and "latent" in families, family
    for r in rows:
        assert set(REQUIRED) <= set(r), r
        assert r["slide"], r


def test_kl_is_nll_minus_entropy_and_never_beats_the_truth(quick_tour):
    _, summary = quick_tour
    checked = 0
    for r in summary["rows"]:
        nll, h, kl = _num(r["test_nll"]), _num(r["entropy"]), _num(r["kl"])
        if isinstance(nll, float) and isinstance(h, float) and math.isfinite(nll) and kl is not None:
            assert kl == pytest.approx(nll - h, abs=1e-6), r
            assert kl > -0.1, f"{r['model']} on {r['dataset']} beats the truth: {r}"
            checked += 1
    assert checked >= 8


def test_the_filing_cabinet_reports_an_infinite_test_nll(quick_tour):
    _, summary = quick_tour
    cabinet = [r for r in summary["rows"] if r["model"] == "filing-cabinet"]
    assert cabinet and all(r["test_nll"] == "inf" for r in cabinet)


def test_figures_exist_and_the_page_shows_them(quick_tour):
    out, summary = quick_tour
    page = (out / "index.html").read_text()
    figures = [f for r in summary["rows"] for f in r["figures"]]
    assert len(figures) >= 10
    for fig in figures:
        assert (out / fig).stat().st_size > 1000, fig
        assert f'src="{fig}"' in page, fig
    assert "http://" not in page and "https://" not in page   # nothing fetched


def test_markdown_table_has_a_line_per_row(quick_tour):
    out, summary = quick_tour
    lines = [ln for ln in (out / "summary.md").read_text().splitlines() if ln.startswith("| ")]
    assert len(lines) == len(summary["rows"]) + 1     # header + rows
