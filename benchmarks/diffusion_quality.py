"""Quality of the diffusion family against the truth of the built-in data (issue 8, item 7).

    python benchmarks/diffusion_quality.py [--quick] [--out DIR] [--only NAME ...]

Prints one JSON object: for each run the training steps, wall-clock and CPU seconds
(the machine is shared: CPU seconds say what the run itself cost), and its figures:

- ring8, grid25 (DDPM): PacGAN's mode metrics on 2,500 samples (modes captured, the
  fraction of high-quality samples within 3 std of a mode, reverse KL); target 8/8 and
  25/25 with >= 90% high quality. Ancestral sampling on 200 respaced steps and DDIM
  (eta = 0, 100 steps) from the same network.
- gaussians8 (DDPM): the variational bound (an upper bound on the NLL) against the
  exact entropy; target within 0.3 nats.
- MMD, every 2D run: ``mmd_ratio`` = MMD(samples, truth) / MMD(truth, truth'), both by
  the biased V-statistic (never negative, so the ratio is well-posed; the unbiased
  MMD^2 between two true samples scatters around 0), each the mean over 5 independent
  true samples of the samples' size (2,500), Gaussian kernel at the median bandwidth
  (metrics.mmd_ratio). Target: at most 2. ``mmd_ratio_perfect`` is what a fresh true
  sample scores in the model's place (about 1; its spread is about +-0.25).
- ring8 (the lecture's Algorithm 1.2), side by side with DDPM.
- glyphs (class-conditional U-Net, label dropout): the bound in bits/dim of the 8-bit
  images, conditional and unconditional; guided samples per digit, classified by a
  5-nearest-neighbour vote among true labelled glyphs (accuracy = "shows the asked
  digit").
- river (U-Net on the lecture's binary river images): the bound in bits/dim against the
  truth (10 ln 2 nats per image); the fraction of samples that are exactly a river the
  program can draw, and how many pixels a sample is off the nearest of the 1,024 rivers.

Figures (PNG) go to --out (default out/benchmarks/diffusion_quality).
"""
import argparse
import json
import math
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # small matrices: threads only fight over the cores

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen import data, metrics  # noqa: E402
from scratch_gen.common.jsonio import jsonable  # noqa: E402
from scratch_gen.diffusion import experiment, figures  # noqa: E402

FULL = {"ring8": 5000, "grid25": 6000, "gaussians8": 8000, "lecture": 5000, "glyphs": 1500,
        "river": 1000}
QUICK = {"ring8": 200, "grid25": 200, "gaussians8": 200, "lecture": 200, "glyphs": 10,
         "river": 5}
CONFIG = {"ring8": {}, "grid25": {"hidden": 256}, "gaussians8": {"fourier_max": 16.0},
          "lecture": {},
          "glyphs": {"lr": 2e-3, "warmup": 100, "p_uncond": 0.15},
          # river: the cosine schedule (Nichol & Dhariwal) wastes fewer training t's on
          # pure noise than the linear one (abar < 1e-2 from t = 935 of 1000, not 673),
          # with its betas clipped at 0.05 (not 0.999: eps-prediction divides the mean by
          # sqrt(alpha_t), so a beta near 1 turns a small eps error into a huge KL term of
          # the bound); a wider lowest level (mults 1, 2, 4: +10% time) for the river's
          # global shape. At 1,000 steps (300 CPU s): 0.79 bits/dim, samples 14.7 pixels
          # off the nearest river and visibly connected (800 steps of the linear schedule
          # and mults 1, 2, 2: 0.96 bits/dim, 22.7 pixels off, broken segments); still no
          # sample is exactly one of the 1,024 rivers.
          "river": {"lr": 3e-3, "warmup": 50, "channels": 8, "mults": [1, 2, 4],
                    "schedule": "cosine", "max_beta": 0.05}}


class Clock:
    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return {"wall_s": round(time.perf_counter() - self.wall, 1),
                "cpu_s": round(time.process_time() - self.cpu, 1)}


def run_2d(name, variant, dataset, steps, out, seed=0):
    ds = data.get(dataset)
    rng = np.random.default_rng([seed, 7])
    x = ds.sample(10_000, rng)
    model = experiment.build(variant, ds, steps, CONFIG[name], seed=seed)
    clock = Clock()
    experiment.fit(model, x, None, steps, 256, seed=seed)
    res = {"dataset": dataset, "model": model.name(), "steps": steps, "batch": 256,
           "config": {k: v for k, v in model.config.items()
                      if k in ("T", "hidden", "fourier", "fourier_max", "beta_1", "beta_T")},
           "train": clock.read()}
    panels = []
    k = min(200, model.schedule.T)
    samplers = [(f"ancestral, {k} steps", {"steps": k})]
    if variant == "ddpm":
        samplers.append(("DDIM eta=0, 100 steps", {"sampler": "ddim", "steps": 100}))
    for label, opts in samplers:
        clock = Clock()
        sc = experiment.score_2d(model, ds, np.random.default_rng([seed, 8]), **opts)
        key = "ddim" if opts.get("sampler") == "ddim" else "ancestral"
        res[key] = {k: v for k, v in sc.items() if k != "samples"}
        res[key]["time"] = clock.read()
        cap = label
        if "modes" in sc:
            cap += f": {sc['modes']}/{sc['n_modes']} modes, {100 * sc['high_quality']:.1f}% HQ"
        panels.append((cap, sc["samples"]))
    fig = figures.side_by_side_2d(os.path.join(out, f"diffusion_{name}.png"), panels,
                                  data=x[:2500], title=f"{model.name()} on {dataset}, "
                                  f"{steps} steps")
    res["figure"] = os.path.basename(fig)
    return res


def run_glyphs(steps, out, seed=0, quick=False):
    ds = data.get("glyphs")
    rng = np.random.default_rng([seed, 9])
    x, y = ds.sample_labelled(10_000, rng)
    model = experiment.build("ddpm-cond", ds, steps, CONFIG["glyphs"], seed=seed)
    clock = Clock()
    experiment.fit(model, x, y, steps, 32, seed=seed)
    res = {"dataset": "glyphs", "model": model.name(), "steps": steps, "batch": 32,
           "config": {k: model.config[k] for k in ("T", "channels", "mults", "p_uncond")},
           "train": clock.read()}
    clock = Clock()
    xt, yt = ds.sample_labelled(100 if quick else 500, rng)
    d_ln2 = 256 * math.log(2)
    cond = model.bound_terms(xt, yt, rng=rng, n_strata=50)["total"]
    uncond = model.bound_terms(xt, None, rng=rng, n_strata=50)["total"]
    res["bits_per_dim_given_label"] = float(cond.mean() / d_ln2)
    res["bits_per_dim_given_label_se"] = float(cond.std(ddof=1) / math.sqrt(len(cond)) / d_ln2)
    res["bits_per_dim"] = float(uncond.mean() / d_ln2)
    res["bits_per_dim_se"] = float(uncond.std(ddof=1) / math.sqrt(len(uncond)) / d_ln2)
    res["bound_time"] = clock.read()
    ref_x, ref_y = ds.sample_labelled(5000, rng)
    per = 4 if quick else 20
    asked = np.repeat(np.arange(10), per)
    for w in (1.0, 3.0):
        clock = Clock()
        s = model.sample(len(asked), np.random.default_rng([seed, 10]), label=asked, guidance=w,
                         steps=100)
        acc = float((experiment.knn_labels(s, ref_x, ref_y) == asked).mean())
        res[f"guided_w{w:g}"] = {"knn_accuracy": acc, "n": len(asked),
                                 "sampler": "ancestral, 100 steps", "time": clock.read()}
        figures.class_grid(os.path.join(out, f"diffusion_glyphs_guided_w{w:g}.png"),
                           s.reshape(10, per, 16, 16)[:, :8], list(range(10)),
                           title=f"ddpm-cond on glyphs, guidance w={w:g}: row y asks for digit "
                                 f"y (5-NN agrees on {100 * acc:.0f}%)")
    s = model.sample(64, np.random.default_rng([seed, 11]), steps=100)
    figures.class_grid(os.path.join(out, "diffusion_glyphs_unconditional.png"),
                       s.reshape(8, 8, 16, 16), [""] * 8,
                       title="ddpm-cond on glyphs, unconditional (null label)")
    res["figures"] = ["diffusion_glyphs_guided_w1.png", "diffusion_glyphs_guided_w3.png",
                      "diffusion_glyphs_unconditional.png"]
    return res


def run_river(steps, out, seed=0, quick=False):
    ds = data.get("river")
    rng = np.random.default_rng([seed, 12])
    x = ds.sample(5000, rng)
    model = experiment.build("ddpm", ds, steps, CONFIG["river"], seed=seed)
    clock = Clock()
    experiment.fit(model, x, None, steps, 32, seed=seed)
    res = {"dataset": "river", "model": model.name(), "steps": steps, "batch": 32,
           "config": {k: model.config[k] for k in ("T", "channels", "mults", "schedule",
                                                   "max_beta", "lr")},
           "train": clock.read()}
    clock = Clock()
    xt = ds.sample(50 if quick else 200, rng)
    total = model.bound_terms(xt, rng=rng, n_strata=40)["total"]
    d_ln2 = math.prod(ds.shape) * math.log(2)
    res.update(bound_nats=float(total.mean()), entropy_nats=float(ds.entropy()),
               bits_per_dim=float(total.mean() / d_ln2),
               bits_per_dim_se=float(total.std(ddof=1) / math.sqrt(len(total)) / d_ln2),
               truth_bits_per_dim=float(ds.entropy() / d_ln2), bound_time=clock.read())
    clock = Clock()
    s = model.sample(64, np.random.default_rng([seed, 13]), steps=100)
    res["valid_river_fraction"] = float((ds.decode(s)[:, 0] >= 0).mean())
    # pixels off the nearest of all 1,024 rivers (Hamming distance: squared Euclidean
    # on 0/1 pixels); a river has about 25 lit pixels
    support, _ = ds.support()
    d = metrics.nn_distances(s.reshape(64, -1).astype(float),
                             support.reshape(len(support), -1).astype(float)) ** 2
    res["mean_pixels_off_nearest_river"] = float(np.mean(d))
    res["within_3_pixels_fraction"] = float(np.mean(d <= 3.0 + 1e-9))
    res["sample_time"] = clock.read()
    figures.class_grid(os.path.join(out, "diffusion_river_samples.png"),
                       s[:32].reshape(4, 8, 40, 32),
                       [""] * 4, title=f"ddpm (U-Net) on river, {steps} steps: "
                       f"{100 * res['valid_river_fraction']:.0f}% exact rivers, "
                       f"{res['mean_pixels_off_nearest_river']:.1f} pixels off on average")
    figures.class_grid(os.path.join(out, "diffusion_river_data.png"), x[:16].reshape(2, 8, 40, 32),
                       [""] * 2, title="river: training data")
    res["figures"] = ["diffusion_river_samples.png", "diffusion_river_data.png"]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    ap.add_argument("--out", default=os.path.join("out", "benchmarks", "diffusion_quality"))
    ap.add_argument("--only", nargs="*", choices=sorted(FULL), help="run only these")
    args = ap.parse_args(argv)
    budget = QUICK if args.quick else FULL
    os.makedirs(args.out, exist_ok=True)
    chosen = args.only or list(FULL)
    total = Clock()
    results = {}
    for name in chosen:
        t = Clock()
        if name in ("ring8", "grid25", "gaussians8"):
            results[name] = run_2d(name, "ddpm", name, budget[name], args.out)
        elif name == "lecture":
            results[name] = run_2d(name, "lecture", "ring8", budget[name], args.out)
        elif name == "glyphs":
            results[name] = run_glyphs(budget[name], args.out, quick=args.quick)
        elif name == "river":
            results[name] = run_river(budget[name], args.out, quick=args.quick)
        results[name]["total"] = t.read()
        print(f"{name}: done {results[name]['total']}", file=sys.stderr, flush=True)
    summary = {"benchmark": "diffusion_quality", "quick": args.quick, "out": args.out,
               "results": results, "total": total.read()}
    print(json.dumps(jsonable(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
