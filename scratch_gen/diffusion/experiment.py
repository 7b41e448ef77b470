"""Small helpers the tour, the demo and the quality benchmark share: build a model for a
built-in dataset, train it with the workbench's loop, and score it against the truth.

The scores are the workbench's (scratch_gen.metrics): PacGAN's mode metrics on ring8 and
grid25 (2,500 samples; high quality = within 3 std of a mode), MMD against true samples
as a ratio to the MMD between true samples (mmd_figures), and the variational bound (an
upper bound on the NLL) next to the dataset's entropy, so ``bound - entropy`` is an upper
bound on the KL to the truth.
"""
import math
import time

import numpy as np

from .. import metrics, registry, train as train_mod
from ..registry import DataSpec

def spec_for(ds):
    """The DataSpec of a built-in dataset."""
    return DataSpec(ds.kind, ds.shape, ds.levels, ds.num_classes, name=ds.name)


def build(variant, ds, steps, config=None, seed=0):
    """``diffusion/variant`` for dataset ``ds``, with the learning rate decaying to 0 over
    ``steps`` (a cosine: the last steps at a small rate settle the fine detail)."""
    cfg = {"decay_steps": int(steps), **(config or {})}
    return registry.build("diffusion", variant, spec_for(ds), cfg,
                          rng=np.random.default_rng([seed, 1]))


def fit(model, x, y, steps, batch_size, seed=0):
    """The workbench's loop (scratch_gen.train.fit), quietly; returns (FitResult, s)."""
    t0 = time.perf_counter()
    result = train_mod.fit(model, (x, y) if y is not None else x, steps=steps,
                           batch_size=batch_size, seed=seed, quiet=True)
    return result, time.perf_counter() - t0


def mmd_figures(samples, ds, rng, reps=5):
    """The MMD criterion of issue 8 ("MMD to the truth at most twice that between two
    true samples of the same size"), well-posed: metrics.mmd_ratio, the V-statistic MMD
    (never negative) of the samples to ``reps`` true samples over that between ``reps``
    pairs of true samples, all of the samples' size, at the median bandwidth. Beside it
    ``mmd_ratio_perfect``: the same ratio with a fresh true sample in the model's place,
    what a perfect model would score on this draw (about 1, spread +-0.25)."""
    n = len(samples)
    truths = [ds.sample(n, rng) for _ in range(reps)]
    refs = [ds.sample(n, rng) for _ in range(reps)]
    out = metrics.mmd_ratio(samples, truths, refs)
    perfect = metrics.mmd_ratio(ds.sample(n, rng), truths, refs, h=out["mmd_bandwidth"])
    out["mmd_ratio_perfect"] = perfect["mmd_ratio"]
    return out


def score_2d(model, ds, rng, n=2500, bound_n=2000, n_strata=None, **sample_options):
    """Sample-based and bound figures of a 2D model on its dataset."""
    t0 = time.perf_counter()
    s = model.sample(n, rng, **sample_options)
    out = {"sample_seconds": time.perf_counter() - t0, "samples": s}
    centers, std = getattr(ds, "centers", None), getattr(ds, "std", None)
    if centers is not None and std is not None and np.ndim(std) == 0:
        mm = metrics.mode_metrics(s, centers, std)
        out.update(modes=mm["modes"], n_modes=mm["n_modes"], high_quality=mm["high_quality"],
                   reverse_kl=mm["reverse_kl"])
    a, b = ds.sample(n, rng), ds.sample(n, rng)
    cal = metrics.mmd_calibrated(s, a, b)           # the workbench's unbiased MMD^2
    out.update(mmd2=cal["mmd2"], mmd2_baseline=cal["mmd2_baseline"])
    out.update(mmd_figures(s, ds, rng))
    t0 = time.perf_counter()
    xt = ds.sample(bound_n, rng)
    total = model.bound_terms(xt, rng=rng, n_strata=n_strata)["total"]
    out.update(bound=float(total.mean()), bound_se=float(total.std(ddof=1) / math.sqrt(len(total))),
               entropy=float(ds.entropy()) if getattr(ds, "has_entropy", False) else None,
               bound_seconds=time.perf_counter() - t0)
    if out["entropy"] is not None:
        out["bound_minus_entropy"] = out["bound"] - out["entropy"]
    return out


def knn_labels(samples, ref_x, ref_y, k=5):
    """Labels of ``samples`` by a k-nearest-neighbour vote among labelled true images:
    a classifier built from the data alone, to ask whether a class-conditional sample
    shows the digit it was asked for."""
    a = np.asarray(samples, np.float64).reshape(len(samples), -1)
    b = np.asarray(ref_x, np.float64).reshape(len(ref_x), -1)
    d2 = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    nearest = np.argsort(d2, axis=1)[:, :k]
    votes = np.asarray(ref_y)[nearest]
    return np.array([np.bincount(v).argmax() for v in votes])
