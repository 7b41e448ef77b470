"""The GAN family's stop on the tour: the slide's plain game and the stabilized one on
ring8, scored by PacGAN's mode metrics, and a small convolutional GAN on glyphs.

A GAN gives no density (Isola L14: a direct generator, x = g(z)), so its rows have no
test NLL and no KL to the truth: ``None``, said in a note, never a made-up number. They
carry the sample-based scores instead: modes captured and the high-quality fraction on
ring8, calibrated MMD on glyphs.
"""
import os
import time

import numpy as np

from .. import data, metrics, registry
from . import experiment, figures
from .model import SLIDE

NO_DENSITY = "a GAN gives no density (x = g(z)): no test NLL, no KL; judged by samples"

# (steps, batch) per run; the default fits ~80 s on 2 shared cores, quick ~10 s.
BUDGET = {False: {"ring_plain": 1000, "ring_stable": 2000, "glyph_steps": 250,
                  "glyph_batch": 32},
          True: {"ring_plain": 150, "ring_stable": 250, "glyph_steps": 10, "glyph_batch": 16}}


def _ring_row(out_dir, variant, steps, seed, label):
    t0 = time.perf_counter()
    r = experiment.run("ring8", variant, steps, seed=seed)
    seconds = time.perf_counter() - t0
    ds = data.get("ring8")
    fig = figures.side_by_side(os.path.join(out_dir, f"gan_{variant}_ring8.png"),
                               [(f"{label}, {steps} steps: {r['modes']}/8 modes, "
                                 f"{100 * r['high_quality']:.1f}% high quality", r["data"],
                                 r["samples"])])
    return {"family": "gan", "model": f"gan/{variant}", "dataset": "ring8",
            "test_nll": None, "entropy": float(ds.entropy()), "kl": None,
            "modes": f"{r['modes']}/{r['n_modes']}", "high_quality": r["high_quality"],
            "reverse_kl": r["reverse_kl"], "seconds": seconds,
            "figures": [os.path.relpath(fig, out_dir)],
            "slide": registry.get("gan", variant).slide, "note": NO_DENSITY}


def _glyph_row(out_dir, steps, batch, seed):
    t0 = time.perf_counter()
    ds = data.get("glyphs")
    x = ds.sample(max(500, 8 * batch), np.random.default_rng([seed, 1]))
    model = registry.build("gan", "r1", experiment.spec_for(ds),
                           dict(experiment.GLYPHS_CONFIG, total_steps=steps),
                           np.random.default_rng([seed, 2]))
    experiment.train(model, x, steps, batch, seed=seed)
    rng = np.random.default_rng([seed, 3])
    s = model.sample(400, rng)
    a, b = ds.sample(400, rng), ds.sample(400, rng)
    mmd = metrics.mmd_calibrated(s, a, b, h=_median_distance(a, b))
    fig = figures.image_samples(os.path.join(out_dir, "gan_glyphs.png"), s[:32],
                                title=f"conv GAN on glyphs, {steps} steps")
    return {"family": "gan", "model": "gan/r1 (conv)", "dataset": "glyphs",
            "test_nll": None, "entropy": None, "kl": None, "modes": None,
            "high_quality": None, "mmd2": mmd["mmd2"], "mmd2_baseline": mmd["mmd2_baseline"],
            "seconds": time.perf_counter() - t0, "figures": [os.path.relpath(fig, out_dir)],
            "slide": SLIDE, "note": NO_DENSITY}


def _median_distance(a, b):
    """The median heuristic's bandwidth (Gretton et al. 2012) from the squared-norm
    expansion, which for 256-pixel images is far cheaper than broadcasting differences."""
    z = np.concatenate([a, b]).reshape(len(a) + len(b), -1).astype(np.float64)
    sq = (z * z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    return float(np.sqrt(np.median(d2[np.triu_indices(len(z), 1)])))


def run(out_dir, quick=False, seed=0):
    """Train the tour's GANs into ``out_dir``; one row per model (see the module doc)."""
    os.makedirs(out_dir, exist_ok=True)
    b = BUDGET[bool(quick)]
    return [_ring_row(out_dir, "minimax", b["ring_plain"], seed, "plain minimax GAN"),
            _ring_row(out_dir, "r1", b["ring_stable"], seed, "stabilized GAN"),
            _glyph_row(out_dir, b["glyph_steps"], b["glyph_batch"], seed)]
