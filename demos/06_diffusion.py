"""Isola L14, "Diffusion models": the slides' pictures, redrawn from models trained here.

    python demos/06_diffusion.py [--out DIR] [--tiny]

1. "Diffusion: just add noise": glyphs through the forward process
   x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t.      -> diffusion_forward_strip.png
   The same on ring8's points: q(x_t) melts into N(0, I).    -> diffusion_forward_2d.png
2. "Autoregressive models vs diffusion models" (Concept #3: generation as a sequence
   of supervised learning problems).                         -> diffusion_vs_autoregressive.png
3. The reverse process in 2D: DDPM on ring8, snapshots at a few t and single paths
   from x_T to x_0.                                          -> diffusion_reverse_2d.png
4. Three ways to learn and run the reverse process, side by side on ring8: the lecture's
   Algorithm 1.2, DDPM's eps-prediction with ancestral sampling, and DDIM (eta = 0, 50
   steps) from the same DDPM network.                        -> diffusion_three_ways.png
5. "Different noise samples (dice rolls) result in different images": a U-Net on glyphs,
   each row a different x_T and its path to a sample.        -> diffusion_dice_rolls.png
6. p(x | y): the same U-Net is class-conditional (label dropout), sampled with
   classifier-free guidance, one row per asked digit.        -> diffusion_guidance.png

``--tiny`` runs every step at a toy size in seconds (the pictures are then rough).
"""
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # small matrices: threads only fight over the cores

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen import data, metrics  # noqa: E402
from scratch_gen.diffusion import experiment, figures  # noqa: E402
from scratch_gen.diffusion.sampling import timesteps  # noqa: E402
from scratch_gen.diffusion.schedule import Schedule  # noqa: E402

FULL = dict(ring_steps=3000, lecture_steps=2000, batch=256, n=2500, ddim_steps=50,
            glyph_steps=1000, glyph_batch=32, glyph_cfg={}, T=1000, guidance=2.0)
TINY = dict(ring_steps=30, lecture_steps=30, batch=64, n=300, ddim_steps=10,
            glyph_steps=2, glyph_batch=8, glyph_cfg={"channels": 4, "mults": [1, 2]},
            T=100, guidance=2.0)


def log(msg, t0):
    print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", flush=True)


def main(argv=None):
    from _args import demo_args
    args = demo_args(__doc__.split("\n")[0], "06_diffusion", argv, tiny="toy sizes, seconds",
                     seed=False)
    cfg = TINY if args.tiny else FULL
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    small = {} if not args.tiny else {"T": cfg["T"], "beta_1": 1e-3, "beta_T": 0.15,
                                      "hidden": 32, "depth": 1}

    # 1-2. The forward process, and the two sequences of supervised problems.
    glyphs = data.get("glyphs")
    gx, gy = glyphs.sample_labelled(6, rng)
    sched = Schedule.make("linear", 1000)
    figures.forward_strip(out("diffusion_forward_strip.png"), gx[:4], sched,
                          [0, 25, 50, 100, 200, 400, 700, 1000], rng)
    ring = data.get("ring8")
    rx = ring.sample(10_000, rng)
    z = (rx - rx.mean(0)) / np.sqrt(((rx - rx.mean(0)) ** 2).mean())
    figures.forward_2d(out("diffusion_forward_2d.png"), z[:2000], sched,
                       [0, 50, 150, 300, 600, 1000], rng)
    figures.ar_vs_diffusion(out("diffusion_vs_autoregressive.png"), gx[0], sched, rng, n_steps=7)
    log("forward process figures", t0)

    # 3-4. DDPM and the lecture's algorithm on ring8.
    ddpm = experiment.build("ddpm", ring, cfg["ring_steps"], small)
    experiment.fit(ddpm, rx, None, cfg["ring_steps"], cfg["batch"])
    log(f"DDPM on ring8, {cfg['ring_steps']} steps", t0)
    lecture = experiment.build("lecture", ring, cfg["lecture_steps"],
                               {k: v for k, v in small.items() if k in ("hidden", "depth")})
    experiment.fit(lecture, rx, None, cfg["lecture_steps"], cfg["batch"])
    log(f"lecture (Algorithm 1.2) on ring8, {cfg['lecture_steps']} steps", t0)

    srng = np.random.default_rng(1)
    _, path = ddpm.sample_path(400, srng, sampler="ancestral", steps=min(200, ddpm.schedule.T))
    ts = [ddpm.schedule.T] + list(timesteps(ddpm.schedule.T, min(200, ddpm.schedule.T))[1:]) + [0]
    figures.reverse_2d(out("diffusion_reverse_2d.png"),
                       np.stack([ddpm.from_model(p) for p in path]), ts, data=rx[:2000],
                       title="DDPM reverse process on ring8 (ancestral, 200 steps)")
    panels = []
    for name, model, opts in (("lecture, Alg. 1.2", lecture, {}),
                              ("DDPM, ancestral", ddpm, {}),
                              (f"DDIM eta=0, {cfg['ddim_steps']} steps", ddpm,
                               {"sampler": "ddim", "steps": cfg["ddim_steps"]})):
        s = model.sample(cfg["n"], srng, **opts)
        mm = metrics.mode_metrics(s, ring.centers, ring.std)
        panels.append((f"{name}: {mm['modes']}/8 modes, "
                       f"{100 * mm['high_quality']:.0f}% high quality", s))
        log(f"  {name}: {mm['modes']}/8 modes, {100 * mm['high_quality']:.1f}% high quality", t0)
    figures.side_by_side_2d(out("diffusion_three_ways.png"), panels, data=rx[:2500],
                            title="Three ways to learn and run the reverse process (ring8)")

    # 5-6. A class-conditional U-Net on glyphs: dice rolls, and guidance.
    x, y = glyphs.sample_labelled(4000 if not args.tiny else 64, rng)
    gcfg = {**cfg["glyph_cfg"], "lr": 2e-3, "warmup": 50}
    if args.tiny:
        gcfg.update({"T": cfg["T"], "beta_1": 1e-3, "beta_T": 0.15})
    unet = experiment.build("ddpm-cond", glyphs, cfg["glyph_steps"], gcfg)
    experiment.fit(unet, x, y, cfg["glyph_steps"], cfg["glyph_batch"])
    log(f"class-conditional U-Net on glyphs, {cfg['glyph_steps']} steps", t0)
    steps = 10 if args.tiny else 100
    _, path = unet.sample_path(6, np.random.default_rng(2), steps=steps)    # label None: p(x)
    ts = [unet.schedule.T] + list(timesteps(unet.schedule.T, steps)[1:]) + [0]
    figures.dice_rolls(out("diffusion_dice_rolls.png"), path[:, :, 0], ts)
    asked = np.repeat(np.arange(10), 8)                       # one batch, 8 per digit
    rows = unet.sample(80, np.random.default_rng(10), label=asked, guidance=cfg["guidance"],
                       steps=steps).reshape(10, 8, *glyphs.shape)
    figures.class_grid(out("diffusion_guidance.png"), rows, list(range(10)),
                       title=f"p(x | y) with classifier-free guidance w={cfg['guidance']}: "
                             "row y asks for digit y")
    log("glyph figures", t0)
    print(f"wrote 8 figures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
