"""Mode coverage and sample quality of the slide's plain GAN and the stabilized GAN on
the PacGAN protocol, over seeds. Prints one JSON object (progress goes to stderr).

    python benchmarks/gan_quality.py [--seeds 10] [--steps N] [--datasets ring8,grid25]
                                     [--models minimax,r1] [--jobs 2] [--out PATH]

Protocol (Lin et al. 2018, "PacGAN", section 5 and Table 1; the workbench's
``metrics.mode_metrics``): after training, 2,500 samples; a sample is high quality when
within 3 standard deviations of its nearest mode; a mode is captured when it gets at
least one high-quality sample; reverse KL is KL(histogram of high-quality samples over
modes || uniform). Each seed draws its own training set, initial weights and noise.
Reported: mean and standard error (std with ddof=1 over sqrt(seeds)) of each, and per
seed the training's wall-clock seconds and CPU seconds (one thread per process, ``--jobs``
processes at a time; on a machine shared with other work the wall-clock includes the
waiting, and the CPU seconds are what the training itself costs).

PacGAN's Table 1, for comparison: ring (8 modes, std 0.01): GAN 6.3 modes, 98.2% high
quality, reverse KL 0.45; PacGAN2 7.9, 95.6%, 0.07. Grid (25 modes, std 0.05): GAN 17.3,
94.8%, 0.70; PacGAN4 24.8, 93.6%, 0.04. A perfect sampler scores 1 - exp(-9/2) = 98.9%.
"""
import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # tiny matrices: threads only fight over the cores

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen import registry  # noqa: E402
from scratch_gen.common.jsonio import jsonable  # noqa: E402
from scratch_gen.gan import experiment  # noqa: E402

STEPS = {"ring8": 6000, "grid25": 16000}
PACGAN = {"ring8": {"GAN": [6.3, 0.982, 0.45], "PacGAN2": [7.9, 0.956, 0.07]},
          "grid25": {"GAN": [17.3, 0.948, 0.70], "PacGAN4": [24.8, 0.936, 0.04]}}


def mean_se(values):
    v = np.asarray(values, dtype=float)
    if len(v) < 2 or not np.all(np.isfinite(v)):
        return float(v.mean()), math.nan
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))


def one_run(job):
    """One (dataset, variant, steps, seed) run, in a worker process."""
    name, variant, steps, seed = job
    r = experiment.run(name, variant, steps, seed=seed)
    return {"dataset": name, "model": variant, "seed": seed, "modes": r["modes"],
            "n_modes": r["n_modes"], "high_quality": r["high_quality"],
            "reverse_kl": r["reverse_kl"], "seconds": r["seconds"],
            "cpu_seconds": r["cpu_seconds"]}


def summary(done, names, variants, args, started):
    """The JSON table of the runs ``done`` so far: mean and standard error per row."""
    rows = []
    for name in names:
        for variant in variants:
            per_seed = [r for r in done if (r["dataset"], r["model"]) == (name, variant)]
            if not per_seed:
                continue
            cls = registry.get("gan", variant)
            row = {"dataset": name, "model": f"gan/{variant}", "steps": args.steps or STEPS[name],
                   "batch_size": cls.default_batch_size, "seeds": len(per_seed),
                   "config": cls.default_config}
            for key in ("modes", "high_quality", "reverse_kl", "seconds", "cpu_seconds"):
                row[key + "_mean"], row[key + "_se"] = mean_se([r[key] for r in per_seed])
            row["per_seed"] = [{k: r[k] for k in ("seed", "modes", "high_quality",
                                                  "reverse_kl", "seconds", "cpu_seconds")}
                               for r in per_seed]
            rows.append(row)
    return json.dumps(jsonable({"protocol": "PacGAN (Lin et al. 2018) Table 1: 2500 samples, "
                                            "high quality = within 3 std of the nearest mode",
                                "jobs": args.jobs, "cpu_count": os.cpu_count(),
                                "load_average_at_end": list(os.getloadavg()),
                                "wall_seconds": time.perf_counter() - started,
                                "results": rows, "pacgan_table1": PACGAN}))


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=None,
                    help=f"training steps per run (default per dataset: {STEPS})")
    ap.add_argument("--datasets", default="ring8,grid25")
    ap.add_argument("--models", default="minimax,r1",
                    help="gan variants: minimax (the slide's plain GAN), r1 (stabilized)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="runs at a time, one process each (default: 2, the cores of the "
                         "reference machine)")
    ap.add_argument("--out", default=None,
                    help="also write the JSON table here, rewritten after every run")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or (args.steps is not None and args.steps < 1):
        ap.error("--seeds, --jobs and --steps must be positive")
    names, variants = args.datasets.split(","), args.models.split(",")
    jobs = [(name, variant, args.steps or STEPS[name], seed)      # seed by seed, so a run
            for name in names                                        # cut short has as many
            for seed in range(args.first_seed, args.first_seed + args.seeds)  # seeds of each
            for variant in variants]
    started = time.perf_counter()
    done = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(one_run, jobs):
            done.append(r)
            print(f"{r['dataset']} {r['model']} seed {r['seed']}: {r['modes']}/{r['n_modes']} "
                  f"modes, {100 * r['high_quality']:.2f}% hq, rKL {r['reverse_kl']:.4f}, "
                  f"{r['seconds']:.1f}s wall, {r['cpu_seconds']:.1f}s cpu",
                  file=sys.stderr, flush=True)
            if args.out:            # the table so far, so a run cut short still reports
                _write(args.out, summary(done, names, variants, args, started))
    table = summary(done, names, variants, args, started)
    if args.out:
        _write(args.out, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
