"""The diffusion family's stop on the tour: DDPM and the lecture's Algorithm 1.2 side by
side on ring8, and a class-conditional U-Net on glyphs with classifier-free guidance.

Each row carries the variational bound as ``test_nll``: an *upper* bound on the model's
NLL (Ho et al. 2020, eq. 5), so ``kl = bound - entropy`` is an upper bound on the KL to
the truth, not an estimate of it (the row's note says so). On ring8 the rows also carry
PacGAN's mode metrics. Glyphs have no known density: their bound is in bits/dim of the
8-bit images and their ``entropy`` and ``kl`` are None.
"""
import os
import time

import numpy as np

from .. import data
from . import experiment, figures

BOUND_NOTE = ("test_nll is the variational bound (Ho et al. eq. 5), an upper bound on the "
              "NLL, so kl is an upper bound on the KL to the truth")

# Steps per run; the default fits in ~90 s on 2 shared cores, quick in ~12 s.
BUDGET = {False: {"ring": 1200, "lecture": 600, "batch": 256, "glyph": 100,
                  "glyph_batch": 32, "sample_steps": 100, "n": 2500, "bound_n": 1000,
                  "strata": 50},
          True: {"ring": 120, "lecture": 120, "batch": 128, "glyph": 4, "glyph_batch": 16,
                 "sample_steps": 20, "n": 500, "bound_n": 200, "strata": 10}}


def _ring_row(out_dir, variant, b, seed):
    ds = data.get("ring8")
    rng = np.random.default_rng([seed, 2])
    x = ds.sample(10_000, rng)
    steps = b["ring"] if variant == "ddpm" else b["lecture"]
    model = experiment.build(variant, ds, steps, seed=seed)
    _, seconds = experiment.fit(model, x, None, steps, b["batch"], seed=seed)
    t0 = time.perf_counter()
    sc = experiment.score_2d(model, ds, rng, n=b["n"], bound_n=b["bound_n"],
                             n_strata=b["strata"], steps=min(b["sample_steps"], model.schedule.T))
    caption = (f"{model.name()} on ring8, {steps} steps: {sc['modes']}/8 modes, "
               f"{100 * sc['high_quality']:.0f}% high quality")
    figs = [figures.side_by_side_2d(os.path.join(out_dir, f"diffusion_{variant}_ring8.png"),
                                    [(caption, sc["samples"])], data=x[:2500])]
    if variant == "ddpm":
        _, path = model.sample_path(300, rng, sampler="ddim", steps=b["sample_steps"])
        z = np.stack([model.from_model(p) for p in path])
        ts = [model.schedule.T] + list(_ddim_times(model, b["sample_steps"]))
        figs.append(figures.reverse_2d(os.path.join(out_dir, "diffusion_reverse_ring8.png"),
                                       z, ts, data=x[:2000],
                                       title="DDIM reverse process on ring8"))
    return {"family": "diffusion", "model": model.name(), "dataset": "ring8",
            "test_nll": sc["bound"], "entropy": sc["entropy"], "kl": sc["bound_minus_entropy"],
            "modes": f"{sc['modes']}/{sc['n_modes']}", "high_quality": sc["high_quality"],
            "mmd2": sc["mmd2"], "mmd2_baseline": sc["mmd2_baseline"],
            "mmd_ratio": sc["mmd_ratio"],
            "seconds": seconds + time.perf_counter() - t0,
            "figures": [os.path.relpath(f, out_dir) for f in figs],
            "slide": model.slide, "note": BOUND_NOTE}


def _ddim_times(model, steps):
    from .sampling import timesteps
    ts = list(timesteps(model.schedule.T, steps))
    return ts[1:] + [0]


def _glyph_row(out_dir, b, seed):
    t0 = time.perf_counter()
    ds = data.get("glyphs")
    rng = np.random.default_rng([seed, 3])
    x, y = ds.sample_labelled(4000, rng)
    steps = b["glyph"]
    model = experiment.build("ddpm-cond", ds, steps, {"lr": 2e-3, "warmup": 20}, seed=seed)
    experiment.fit(model, x, y, steps, b["glyph_batch"], seed=seed)
    asked = np.repeat(np.arange(10), 8)                      # one batch, 8 per digit
    grid = model.sample(80, rng, label=asked, guidance=2.0,
                        steps=b["sample_steps"]).reshape(10, 8, *ds.shape)
    fig = figures.class_grid(os.path.join(out_dir, "diffusion_glyphs_guided.png"), grid,
                             list(range(10)), title=f"class-conditional U-Net on glyphs, "
                             f"{steps} steps, guidance w=2 (rows: asked digit)")
    xt, yt = ds.sample_labelled(b["bound_n"] // 4, rng)
    total = model.bound_terms(xt, yt, rng=rng, n_strata=b["strata"])["total"]
    bpd = float(total.mean() / (ds.shape[0] * ds.shape[1] * np.log(2)))
    return {"family": "diffusion", "model": model.name(), "dataset": "glyphs",
            "test_nll": float(total.mean()), "entropy": None, "kl": None, "modes": None,
            "bits_per_dim": bpd, "seconds": time.perf_counter() - t0,
            "figures": [os.path.relpath(fig, out_dir)], "slide": model.slide,
            "note": "bound on -log p(x | y) of the 8-bit glyphs (discretized decoder); "
                    "glyphs have no known entropy"}


def run(out_dir, quick=False, seed=0):
    """Train the tour's diffusion models into ``out_dir``; one row per model."""
    os.makedirs(out_dir, exist_ok=True)
    b = BUDGET[bool(quick)]
    return [_ring_row(out_dir, "ddpm", b, seed), _ring_row(out_dir, "lecture", b, seed),
            _glyph_row(out_dir, b, seed)]
