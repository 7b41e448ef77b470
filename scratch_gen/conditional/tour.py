"""The conditional chapter's stop on the tour: one input, many answers (He L1), learned
four ways and scored against the truth.

Rows, one per model trained (scratch_gen/tour.py's contract): on the obstacle toy the
regressor, the conditional autoregressive model, the class-conditional diffusion model
and the conditional GAN, with the true p(x|y) as the first row (the best possible
scores), once with the start as one of five labels and once with the start s itself as
a number (scored at starts between the labelled ones; not in ``--quick``); on glyphs the
regressor and the conditional MADE (class-conditional, then lower half -> upper half),
and softmax regression beside the Bayes-rule classifiers.
``test_nll`` is the *conditional* NLL ``-E log q(x|y)`` in nats per example, ``entropy``
is ``H(X|Y)``, so ``kl`` is ``E_y KL(p(x|y) || q(x|y))``; ``modes`` is the modes captured
over all inputs (two per start on the toy). The diffusion model and the GAN on glyphs
(by class, and completing a lower half) run in the demo's default budget and the
benchmark, not here: a minute on two cores is not enough for them to draw digits.
"""
import os
import time

from . import chapter, pictures

NO_DENSITY = "a GAN gives no density (x = g(z)): judged by samples"


def run(out_dir, quick=False, seed=0):
    """Run the chapter at the tour's budget ("quick": about 10 s of CPU; default: about a
    minute) and return its rows."""
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    r = chapter.run_all("quick" if quick else "default", seed=seed)
    figs = {"obstacle": pictures.obstacle_figure(os.path.join(out_dir, "obstacle.png"),
                                                 r["obstacle"]),
            "glyph classes": pictures.glyph_classes_figure(
                os.path.join(out_dir, "glyph_classes.png"), r["classes"]),
            "classification": pictures.classification_figure(
                os.path.join(out_dir, "classification.png"), r["classification"])}
    if r["obstacle_continuous"]:
        figs["obstacle (continuous start)"] = pictures.obstacle_continuous_figure(
            os.path.join(out_dir, "obstacle_continuous.png"), r["obstacle_continuous"])
    if r["completion"]:
        figs["glyph completion"] = pictures.completion_figure(
            os.path.join(out_dir, "completion.png"), r["completion"])
    rel = {k: os.path.relpath(v, out_dir) for k, v in figs.items()}
    ds = r["obstacle"]["dataset"]
    accuracy = {c["classifier"].split(" ")[0]: c.get("accuracy") for c in r["classification"]}
    rows = []
    for t in r["table"]:
        if t.get("landing") is None:
            continue                                  # a method the task could not run
        toy = t["task"].startswith("obstacle")
        per = t.get("per_input") or []
        modes = (f"{sum(p['modes'] for p in per)}/{2 * len(per)}" if toy else None)
        figures = [rel[t["task"]]] + ([rel["classification"]] if t["task"] == "glyph classes"
                                      else [])
        # on glyphs only the autoregressive model's NLL is a number to compare: a mass on
        # binarized glyphs; the regressor's is a density on grey pixels, another unit
        nll = t.get("conditional_nll") if toy or t["method"] == "autoregressive" else None
        row = {"family": "conditional", "model": f"{t['method']}: {t['model']}",
               "dataset": t["task"] if toy else f"glyphs ({t['task'].split(' ', 1)[1]})",
               "test_nll": nll,
               "entropy": (t.get("conditional_entropy", ds.conditional_entropy()) if toy
                           else None),
               "kl": t.get("conditional_kl"), "modes": modes, "seconds": t["seconds"],
               "figures": figures, "slide": t["slide"], "landing": t["landing"],
               "coverage": t["coverage"]}
        if toy and t["method"] == "gan":
            row["note"] = NO_DENSITY
        elif nll is not None and not toy:
            row["note"] = "test_nll: -log p(x|y) of the binarized glyph, nats per example"
        if t.get("regressor_distance"):
            row["regressor_distance"] = t["regressor_distance"]["distance"]
        if t["task"] == "glyph classes" and t["method"] in accuracy:
            row["bayes_accuracy"] = accuracy[t["method"]]
        rows.append(row)
    soft = r["classification"][-1]
    rows.append({"family": "conditional", "model": "softmax regression (discriminative)",
                 "dataset": "glyphs (classification)", "test_nll": None, "entropy": None,
                 "kl": None, "modes": None, "seconds": soft["seconds"],
                 "figures": [rel["classification"]],
                 "slide": "He L1, 'Case study: classification (a generative perspective)'",
                 "accuracy": soft["accuracy"], "label_nll": soft["label_nll"]})
    rows[-1]["note"] = (f"chapter total {time.perf_counter() - t0:.1f}s; Bayes-rule "
                        "accuracies are in the glyph-class rows (bayes_accuracy)")
    return rows
