"""The tour: every family of the lectures trained on built-in data, measured against the
truth, in one gallery.

Each family package has a ``tour`` module with ``run(out_dir, quick=False, seed=0)``
returning one row per model trained:

    {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
     "figures": [paths relative to out_dir], "slide"}

NLL and entropy are in nats per example, so ``kl = test_nll - entropy`` is how far the
model is from the best possible on that data (DESIGN.md, "Data with ground truth"): a
number every row can be judged by, not only a ranking against other models. A model
without a density (a GAN, the filing cabinet on unseen points) says so: ``None`` or
``inf``, never a large finite number.

This module only orchestrates: it times each family, gathers the rows and writes
``summary.json``, ``summary.md`` and a self-contained ``index.html`` (figures beside it,
nothing fetched from the internet).
"""
import html
import importlib
import json
import math
import os
import time

# Lecture order: the tour reads like the two lectures.
TOUR_MODULES = (
    ("density", "scratch_gen.density.tour"),
    ("ebm", "scratch_gen.ebm.tour"),
    ("autoregressive", "scratch_gen.autoregressive.tour"),
    ("diffusion", "scratch_gen.diffusion.tour"),
    ("gan", "scratch_gen.gan.tour"),
    ("conditional", "scratch_gen.conditional.tour"),
)
COLUMNS = ("family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds", "slide")


def available():
    """(family, module) pairs whose tour module exists."""
    found = []
    for family, name in TOUR_MODULES:
        try:
            found.append((family, importlib.import_module(name)))
        except ModuleNotFoundError as e:
            if not name.startswith(e.name or "\0"):
                raise
    return found


def run(out="tour", quick=False, seed=0, families=None, progress=print):
    """Train every family, write the gallery into ``out``, return the rows."""
    os.makedirs(out, exist_ok=True)
    rows, started = [], time.perf_counter()
    chosen = [(f, m) for f, m in available() if families is None or f in families]
    for i, (family, module) in enumerate(chosen, 1):
        sub = os.path.join(out, family)
        os.makedirs(sub, exist_ok=True)
        t0 = time.perf_counter()
        family_rows = module.run(sub, quick=quick, seed=seed)
        for row in family_rows:
            row["figures"] = [os.path.join(family, f) for f in row.get("figures", [])]
            row["kl"] = _kl(row)
            rows.append(row)
        progress(f"[{i}/{len(chosen)}] {family:<15} {len(family_rows)} model(s) "
                 f"in {time.perf_counter() - t0:6.1f}s")
    total = time.perf_counter() - started
    summary = {"quick": quick, "seed": seed, "seconds": total, "rows": [_jsonable(r) for r in rows]}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(markdown_table(rows, total, quick))
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(html_page(rows, total, quick))
    progress(f"tour done in {total:.1f}s: {out}/index.html, summary.md, summary.json")
    return rows


def _kl(row):
    """KL to the truth is defined here once: test NLL minus the data's entropy (both in
    nats per example); a row without a finite NLL or a known entropy keeps what the
    family said (inf for the filing cabinet, None for a GAN)."""
    nll, h = row.get("test_nll"), row.get("entropy")
    if isinstance(nll, (int, float)) and isinstance(h, (int, float)) and math.isfinite(nll) \
            and math.isfinite(h):
        return float(nll) - float(h)
    return row.get("kl")


def _jsonable(row):
    """JSON has no infinities: write them as the strings "inf"/"-inf" (DESIGN.md)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, float) and math.isinf(v):
            v = "inf" if v > 0 else "-inf"
        out[k] = v
    return out


def fmt(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.3f}"
    return str(value)


def markdown_table(rows, seconds, quick):
    head = ["family", "model", "dataset", "test NLL (nats)", "entropy (nats)",
            "KL to truth", "modes", "time (s)", "slide"]
    lines = [f"Tour {'(--quick) ' if quick else ''}: {len(rows)} models in {seconds:.0f} s. "
             "NLL and entropy in nats per example; KL = test NLL - entropy.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.get("family"), r.get("model"), r.get("dataset"), r.get("test_nll"),
                 r.get("entropy"), r.get("kl"), r.get("modes"), r.get("seconds"), r.get("slide")]
        lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def html_page(rows, seconds, quick):
    esc = html.escape
    trs = []
    for r in rows:
        figs = " ".join(f'<a href="#{esc(fig)}">{esc(os.path.basename(fig))}</a>'
                        for fig in r.get("figures", []))
        cells = [r.get("family"), r.get("model"), r.get("dataset"), r.get("test_nll"),
                 r.get("entropy"), r.get("kl"), r.get("modes"), r.get("seconds")]
        trs.append("<tr>" + "".join(f"<td>{esc(fmt(c))}</td>" for c in cells)
                   + f"<td>{esc(str(r.get('slide', '')))}</td><td>{figs}</td></tr>")
    gallery = []
    for r in rows:
        for fig in r.get("figures", []):
            gallery.append(f'<figure id="{esc(fig)}"><img src="{esc(fig)}" alt="{esc(fig)}">'
                           f'<figcaption>{esc(r["family"])} / {esc(str(r["model"]))} on '
                           f'{esc(str(r["dataset"]))}: {esc(os.path.basename(fig))}</figcaption></figure>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scratch_gen tour</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; font-size: 14px; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
th {{ background: #eee; }}
figure {{ display: inline-block; margin: 8px; vertical-align: top; width: 360px; }}
figure img {{ width: 100%; border: 1px solid #ddd; }}
figcaption {{ font-size: 12px; color: #444; }}
</style></head><body>
<h1>scratch_gen tour{' (quick)' if quick else ''}</h1>
<p>{len(rows)} models in {seconds:.0f} s. NLL and entropy in nats per example; KL to the
truth = test NLL &minus; entropy of the data (zero is the best any model can do).</p>
<table><tr><th>family</th><th>model</th><th>dataset</th><th>test NLL</th><th>entropy</th>
<th>KL to truth</th><th>modes</th><th>time (s)</th><th>slide</th><th>figures</th></tr>
{''.join(trs)}
</table>
<h2>Gallery</h2>
{''.join(gallery)}
</body></html>
"""
