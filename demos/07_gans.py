"""Generative adversarial networks: the minimax game of Isola L14's GAN slides, run.

    python demos/07_gans.py [--out DIR] [--tiny]

1. "g tries to fool the *best* d": on a finite space the best d is p / (p + q), a
   discriminator trained by gradient ascent finds it, and the game's value there is
   -log 4 + 2 JSD(p || q) (Goodfellow et al. 2014).            -> gan_optimal_d.png
2. "Training: iterate between training d and g with backprop": real data in green,
   fakes in red, through training, for the slide's plain minimax GAN and for the
   stabilized one (R1, EMA, learning-rate decay).  -> gan_training_minimax.png,
                                                      gan_training_stabilized.png
3. What d believes: d(x) over the plane, with real and fake points on top.
                                                   -> gan_discriminator.png
4. Mode collapse: the plain game beside the stabilized one on ring8 over the first
   seeds, and on grid25, scored by PacGAN's mode metrics.
                                                   -> gan_mode_collapse.png, gan_grid25.png
5. Images: a small convolutional GAN on glyphs.      -> gan_glyphs.png

``--tiny`` runs every step at a toy size in seconds (the pictures are then rough).
"""
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # tiny matrices: threads only fight over the cores

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen import data, registry  # noqa: E402
from scratch_gen.gan import experiment, figures, theory  # noqa: E402

FULL = dict(ring_steps=3000, grid_steps=6000, snap_every=600, seeds=5, glyph_steps=800,
            glyph_batch=32, cfg={})
TINY = dict(ring_steps=60, grid_steps=60, snap_every=20, seeds=2, glyph_steps=3, glyph_batch=8,
            cfg={"hidden": 32, "g_layers": 2, "channels": 8})


def optimal_d(out):
    """Section 1: the finite-space theory, exactly."""
    xs = np.arange(24, dtype=float)
    p = np.exp(-0.5 * ((xs - 7) / 2.0) ** 2) + 0.6 * np.exp(-0.5 * ((xs - 16) / 1.5) ** 2)
    q = np.exp(-0.5 * ((xs - 12) / 4.0) ** 2)
    # a little uniform mass everywhere, so every outcome's logit converges quickly
    p, q = 0.97 * p / p.sum() + 0.03 / len(xs), 0.97 * q / q.sum() + 0.03 / len(xs)
    d_star = theory.optimal_discriminator(p, q)
    d_trained, _ = theory.train_tabular_discriminator(p, q, steps=3000)
    v, js = theory.optimal_value(p, q), theory.jsd(p, q)
    print(f"[1] V(g, d*) = {v:.10f};  -log 4 + 2 JSD = {-np.log(4) + 2 * js:.10f};  "
          f"max |d_trained - d*| = {np.abs(d_trained - d_star).max():.1e}")
    print(f"    at p = q: V = {theory.optimal_value(p, p):.10f} = -log 4 = {-np.log(4):.10f}")
    return figures.optimal_discriminator(os.path.join(out, "gan_optimal_d.png"), xs, p, q,
                                         d_star, d_trained, v, js)


def train_with_snapshots(variant, name, steps, every, cfg, seed=0):
    ds = data.get(name)
    x = ds.sample(experiment.N_TRAIN, np.random.default_rng([seed, 1]))
    model = registry.build("gan", variant, experiment.spec_for(ds), dict(cfg, total_steps=steps),
                           np.random.default_rng([seed, 2]))
    shots = []

    def snap(step, m):
        shots.append((step, m.sample(1000, np.random.default_rng(step))))
    t0 = time.perf_counter()
    experiment.train(model, x, steps, seed=seed, every=every, on_snapshot=snap)
    return model, ds, x, shots, time.perf_counter() - t0


def score(model, ds):
    r = experiment.modes(model, ds)
    return r, (f"{r['modes']}/{r['n_modes']} modes, {100 * r['high_quality']:.1f}% high "
               f"quality, reverse KL {r['reverse_kl']:.3f}")


def main(argv=None):
    from _args import demo_args
    args = demo_args(__doc__.split("\n")[0], "07_gans", argv, tiny="toy sizes, seconds",
                     seed=False)
    size = TINY if args.tiny else FULL
    os.makedirs(args.out, exist_ok=True)
    written = [optimal_d(args.out)]

    # 2-3: one run of each on ring8, watched as it trains; d(x) of the plain game
    labels = {"minimax": "plain minimax GAN (the slide)",
              "r1": "stabilized: R1 + EMA + lr decay"}
    collapse = {"minimax": [], "r1": []}
    for variant, tag in (("minimax", "minimax"), ("r1", "stabilized")):
        steps = size["ring_steps"]
        model, ds, x, shots, sec = train_with_snapshots(variant, "ring8", steps,
                                                        size["snap_every"], size["cfg"])
        r, line = score(model, ds)
        print(f"[2] ring8  {variant:8s} seed 0, {steps} steps, {sec:5.1f}s: {line}")
        collapse[variant].append((f"seed 0: {line}", x, r["samples"]))
        written.append(figures.snapshots(
            os.path.join(args.out, f"gan_training_{tag}.png"), x, shots,
            title=f"ring8, {labels[variant]}: real (green) and fake (red) through training"))
        if variant == "minimax":
            written.append(figures.discriminator_map(
                os.path.join(args.out, "gan_discriminator.png"), model.discriminate, x,
                r["samples"], title=f"ring8, plain GAN after {steps} steps: d(x)"))

    # 4: mode collapse is a matter of luck for the plain game: the same budget, the
    # first few seeds (not chosen), both games
    for seed in range(1, size["seeds"]):
        for variant in ("minimax", "r1"):
            model, ds, x, _, sec = train_with_snapshots(variant, "ring8", size["ring_steps"],
                                                        0, size["cfg"], seed=seed)
            r, line = score(model, ds)
            print(f"[4] ring8  {variant:8s} seed {seed}, {sec:5.1f}s: {line}")
            collapse[variant].append((f"seed {seed}: {line}", x, r["samples"]))
    panels = [(f"{labels[v]}\n{name}", x, f) for v in ("minimax", "r1")
              for name, x, f in collapse[v]]
    written.append(figures.side_by_side(
        os.path.join(args.out, "gan_mode_collapse.png"), panels, ncols=size["seeds"],
        title=f"ring8, {size['ring_steps']} steps: the plain game (top) beside the stabilized "
              "one (bottom), seeds 0.. (PacGAN's metrics on 2,500 samples)"))
    grid = []
    for variant in ("minimax", "r1"):
        model, ds, x, _, sec = train_with_snapshots(variant, "grid25", size["grid_steps"], 0,
                                                    size["cfg"])
        r, line = score(model, ds)
        print(f"[4] grid25 {variant:8s} seed 0, {size['grid_steps']} steps, {sec:5.1f}s: {line}")
        grid.append((f"{labels[variant]}\n{line}", x, r["samples"]))
    written.append(figures.side_by_side(
        os.path.join(args.out, "gan_grid25.png"), grid,
        title=f"grid25, {size['grid_steps']} steps: plain beside stabilized"))

    # 5: images
    glyphs = data.get("glyphs")
    x = glyphs.sample(500 if args.tiny else 5000, np.random.default_rng(0))
    model = registry.build("gan", "r1", experiment.spec_for(glyphs),
                           dict(size["cfg"], **experiment.GLYPHS_CONFIG,
                                total_steps=size["glyph_steps"]),
                           np.random.default_rng(0))
    sec = experiment.train(model, x, size["glyph_steps"], size["glyph_batch"], seed=0)[0]
    s = model.sample(32, np.random.default_rng(0))
    both = np.concatenate([x[:32], s])
    written.append(figures.image_samples(
        os.path.join(args.out, "gan_glyphs.png"), both,
        title=f"glyphs: real (top 4 rows), conv GAN samples (bottom 4 rows), "
              f"{size['glyph_steps']} steps"))
    print(f"[5] glyphs conv GAN, {size['glyph_steps']} steps in {sec:.1f}s")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
