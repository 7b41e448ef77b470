"""The quality figures of issue 7, in nats, against the truth where the data knows it.

    python benchmarks/ar_quality.py [--only stories,river,...] [--scale 1.0] [--jobs 2]
    python benchmarks/ar_quality.py --merge a.json b.json     # no training: one table

Prints one JSON object. For each experiment: the model, its settings, training steps,
wall and CPU seconds, test NLL per example and per token/pixel, the data's entropy and
the gap (the KL to the truth, L14 "Density models": test NLL - entropy), whether its
target is met; and ``table``, one flat row per model and dataset (the README's table).
``--merge`` rebuilds that object from earlier outputs of this script (a later file's
experiment replaces an earlier one's), so a long run can be done one experiment at a
time. The targets:

- ``stories``: test NLL within 2% of the grammar's exact entropy;
- ``river``: PixelCNN within 5% of N ln 2 (N = 10 turns of the lecture's turtle);
- ``gaussians8``: the continuous chain rule p(x1) p(x2 | x1), KL <= 0.05 nats;
- ``names``: the ladder n-gram > MLP > WaveNet > Transformer in test NLL per character;
- ``pydoc``: bits per character (no truth: real text).

``--scale`` multiplies every step count (0.05 for a smoke run). One BLAS / Numba thread:
the machine these run on is shared, so CPU seconds are the honest cost.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen.autoregressive.tour import load_split, train_and_score  # noqa: E402

RIVER_CONFIG = {"channels": 24, "dilations": [1, 2, 1, 2], "scan": "columns", "lr": 6e-3}
RIVER_STEPS = 4000

# (dataset, n_train, n_test, [(variant, config, steps, batch_size), ...])
EXPERIMENTS = {
    "stories": ("stories", 20000, 2000, [
        ("ngram", {"n": 12, "k": 0.001, "max_len": 128}, 0, 1),
        ("wavenet", {"channels": 48, "skip": 64, "dilations": [1, 2, 4, 8, 16, 32],
                     "lr": 3e-3, "max_len": 128}, 3000, 32),
    ]),
    "river": ("river", 5000, 1000, [
        # column by column: the turtle's own left-to-right order (pixelcnn.py's docstring)
        ("pixelcnn", RIVER_CONFIG, RIVER_STEPS, 16),
    ]),
    "gaussians8": ("gaussians8", 10000, 5000, [
        ("mdn", {"components": 8, "hidden": 64, "lr": 3e-3}, 2000, 256),
    ]),
    "names": ("names", 20000, 2000, [
        ("ngram", {"n": 3, "k": 0.01}, 0, 1),
        ("mlp", {"block": 6}, 2000, 64),
        ("wavenet", {"channels": 48, "skip": 64}, 2000, 64),
        ("transformer", {"d_model": 64, "heads": 4}, 2000, 64),
    ]),
    "pydoc": ("pydoc", None, None, [
        ("ngram", {"n": 5, "k": 0.01, "max_len": 320}, 0, 1),
        ("mlp", {"block": 24, "embed": 16, "hidden": 256, "lr": 3e-3, "max_len": 320},
         1500, 32),
    ]),
}


def run_experiment(key, scale):
    name, n_train, n_test, models = EXPERIMENTS[key]
    if name == "pydoc":
        from scratch_gen import data
        ds = data.get("pydoc")
        train_x, test_x = ds.pool("train"), ds.pool("test")
    else:
        train_x, test_x, ds = load_split(name, n_train, n_test, seed=0)
    rows = []
    for variant, config, steps, batch in models:
        steps = max(1, int(round(steps * scale))) if steps else 0
        _, res = train_and_score(variant, name, train_x, test_x, ds, config, steps,
                                 batch_size=batch, seed=0)
        res["config"] = config
        res["batch_size"] = batch
        res["bits_per_dim"] = res["nll_per_dim"] / math.log(2)
        rows.append(res)
        print(f"{key}: {variant} {res['test_nll']:.4f} nats/example, "
              f"{res['nll_per_dim']:.4f} per dim, gap {res['kl']}, {res['steps']} steps, "
              f"{res['cpu_seconds']:.0f} cpu s", file=sys.stderr, flush=True)
    out = {"n_train": len(train_x), "n_test": len(test_x), "models": rows}
    if key == "stories":
        best = min(rows, key=lambda r: r["test_nll"])
        out["target"] = "relative gap <= 0.02"
        out["met"] = best["relative_gap"] <= 0.02
    elif key == "river":
        out["target"] = "test NLL <= 1.05 * 10 ln 2"
        out["met"] = rows[0]["test_nll"] <= 1.05 * rows[0]["entropy"]
    elif key == "gaussians8":
        out["target"] = "KL <= 0.05"
        out["met"] = rows[0]["kl"] <= 0.05
    elif key == "names":
        per = [r["nll_per_dim"] for r in rows]
        out["target"] = "ngram > mlp > wavenet > transformer (nats per character)"
        out["met"] = all(a > b for a, b in zip(per, per[1:]))
    return out


SHORT_TARGETS = {"stories": "gap <= 2%", "river": "gap <= 5%", "gaussians8": "KL <= 0.05",
                 "names": "ngram > mlp > wavenet > transformer", "pydoc": None}


def table(out):
    """One row per model and dataset: test NLL (nats per example) against the truth
    (the data's entropy, where known), the gap, nats and bits per token or pixel, steps
    and CPU seconds. ``met`` is the experiment's target (shared by its models)."""
    rows = []
    for key in EXPERIMENTS:
        if key not in out:
            continue
        for r in out[key]["models"]:
            h = r.get("entropy")
            rows.append({"dataset": key, "model": r["model"], "test_nll": round(r["test_nll"], 4),
                         "truth": None if h is None else round(h, 4),
                         "gap": None if h is None else round(r["test_nll"] - h, 4),
                         "relative_gap": None if h is None else round((r["test_nll"] - h) / h, 4),
                         "nll_per_dim": round(r["nll_per_dim"], 4),
                         "bits_per_dim": round(r["nll_per_dim"] / math.log(2), 4),
                         "steps": r["steps"], "batch_size": r["batch_size"],
                         "cpu_seconds": r["cpu_seconds"], "target": SHORT_TARGETS[key],
                         "met": out[key].get("met")})
    return rows


def markdown(rows):
    """The table as Markdown, for the README."""
    lines = ["| data | model | test NLL (nats) | truth | gap | nats/dim | bits/dim | steps "
             "| CPU s | target |", "|" + "---|" * 10]
    for r in rows:
        truth = "-" if r["truth"] is None else f"{r['truth']:.3f}"
        gap = "-" if r["gap"] is None else f"{r['gap']:.3f} ({100 * r['relative_gap']:.1f}%)"
        met = "" if r["met"] is None else (" (met)" if r["met"] else " (NOT met)")
        lines.append(f"| {r['dataset']} | {r['model']} | {r['test_nll']:.3f} | {truth} | {gap} "
                     f"| {r['nll_per_dim']:.4f} | {r['bits_per_dim']:.3f} | {r['steps']} "
                     f"| {r['cpu_seconds']:.0f} | {(r['target'] or '-') + met} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="quality figures of the autoregressive family")
    ap.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated subset")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every step count")
    ap.add_argument("--jobs", type=int, default=1,
                    help="run the experiments in this many processes at once")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="train nothing: combine earlier outputs of this script into one table")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the table as Markdown (to stderr)")
    args = ap.parse_args(argv)
    if args.merge:
        out = {}
        for path in args.merge:
            with open(path) as f:
                text = f.read().strip()
            if not text:
                ap.error(f"--merge {path}: the file is empty; expected this script's JSON output")
            got = json.loads(text.splitlines()[-1])
            out.update({k: v for k, v in got.items() if k in EXPERIMENTS})
        out["table"] = table(out)
        if args.markdown:
            print(markdown(out["table"]), file=sys.stderr)
        print(json.dumps(out))
        return 0
    keys = args.only.split(",")
    for key in keys:
        if key not in EXPERIMENTS:
            ap.error(f"unknown experiment {key!r}; expected some of {', '.join(EXPERIMENTS)}")
    t0 = time.perf_counter()
    out = {}
    if args.jobs > 1 and len(keys) > 1:
        # one process per experiment: each is single-threaded, so this is how they share
        # the cores; each child prints its own JSON object
        from concurrent.futures import ThreadPoolExecutor
        import subprocess

        def child(key):
            cmd = [sys.executable, os.path.abspath(__file__), "--only", key,
                   "--scale", str(args.scale)]
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            return key, json.loads(done.stdout.strip().splitlines()[-1])[key]

        with ThreadPoolExecutor(args.jobs) as pool:
            for key, result in pool.map(child, keys):
                out[key] = result
    else:
        import numba
        numba.set_num_threads(1)
        for key in keys:
            out[key] = run_experiment(key, args.scale)
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    out["table"] = table(out)
    if args.markdown:
        print(markdown(out["table"]), file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
