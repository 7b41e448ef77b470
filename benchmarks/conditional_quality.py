"""The conditional chapter's table: mode-landing rate and coverage per input of each
method on each task, the conditional NLL where defined, the regressor's distance to the
nearest true mode, and the Bayes-rule classifiers beside softmax regression. Prints one
JSON object (progress goes to stderr) and writes the chapter's figures.

    python benchmarks/conditional_quality.py [--budget full|default|quick|tiny] [--seed S]
                                             [--out DIR]

Tasks: the obstacle toy from one of five labelled starts, and from the start s itself
(a number, scored at eight starts between the labelled ones against the exact p(x|s));
glyphs by digit; a glyph's upper half from its lower half (128 numbers). Each row
carries its training steps, wall and CPU seconds (``cpu_seconds``: this process's, for
that model's training alone).

What is measured (scratch_gen/conditional/evaluation.py): on the obstacle toy, an output
lands when within 3 std of a true mode of p(x|y) (a perfect sampler: 1 - exp(-9/2) =
0.989), coverage is the fraction of the two modes of each start that get a landed output,
weight error the mean |share of landed outputs on the right - true w_R|; on glyphs, an
output lands when it is as near a real glyph of its digit, and as crisp, as 95% of fresh
real glyphs are, and coverage is the fraction of fresh real glyphs with a landed output
that near (for completions: of the digits a lower half allows, the fraction reached). The
"truth" rows score the data's own sampler the same way: the best possible at this many
samples. Wall-clock seconds include waiting on a shared machine; CPU seconds are what the
run itself cost (one thread per library).
"""
import argparse
import json
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # tiny matrices: threads only fight over the cores

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen.common.jsonio import jsonable  # noqa: E402
from scratch_gen.conditional import chapter, pictures  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", default="full", choices=sorted(chapter.BUDGETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("out", "benchmarks", "conditional_quality"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    r = chapter.run_all(args.budget, seed=args.seed,
                        progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    figures = [pictures.obstacle_figure(os.path.join(args.out, "obstacle.png"), r["obstacle"]),
               pictures.glyph_classes_figure(os.path.join(args.out, "glyph_classes.png"),
                                             r["classes"]),
               pictures.classification_figure(os.path.join(args.out, "classification.png"),
                                              r["classification"])]
    if r["obstacle_continuous"]:
        figures.append(pictures.obstacle_continuous_figure(
            os.path.join(args.out, "obstacle_continuous.png"), r["obstacle_continuous"]))
    if r["completion"]:
        figures.append(pictures.completion_figure(os.path.join(args.out, "completion.png"),
                                                  r["completion"]))
    per_input = {task: {row["method"]: [{k: p[k] for k in ("start", "landing", "coverage",
                                                           "share_right", "true_right",
                                                           "crash")}
                                        for p in row["per_input"]]
                        for row in r[task]["rows"]}
                 for task in ("obstacle", "obstacle_continuous") if r[task]}
    out = {"budget": args.budget, "seed": args.seed,
           "steps": {task: chapter.BUDGETS[args.budget][task]
                     for task in ("obstacle", "glyphs", "completion")},
           "table": chapter.summary_table(r["table"]),
           "obstacle_per_start": per_input,
           "classification": [{k: c.get(k) for k in ("classifier", "model", "accuracy",
                                                      "accuracy_se", "label_nll", "n_test",
                                                      "note")}
                              for c in r["classification"]],
           "conditional_entropy_obstacle": r["obstacle"]["dataset"].conditional_entropy(),
           "heldout_starts": chapter.HELDOUT_STARTS,
           "figures": figures,
           "wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
           "threads": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS",
                                                      "NUMBA_NUM_THREADS")}}
    print(json.dumps(jsonable(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
