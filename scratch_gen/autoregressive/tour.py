"""The autoregressive family's part of the tour: a few models trained briefly, scored
against the truth where the data knows it, each with a picture.

``run(out_dir, quick=False, seed=0)`` returns one row per model trained (see
:func:`row`). The budget is small on purpose (about 90 s in all, 12 s with ``quick``
on 2 cores): the tour shows what each model does; ``benchmarks/ar_quality.py`` trains
them to the figures of issue 7.
"""
import os
import time

import numpy as np

from .. import data, plots
from ..metrics import dims_per_example
from ..registry import DataSpec, get
from ..train import fit

SLIDE = "Isola L14, 'Autoregressive probability model'"


def load_split(name, n_train, n_test, seed=0):
    """``(train_x, test_x, dataset)`` from a built-in dataset, with independent seeded
    generators for the two splits (the splits of a fixed pool such as pydoc)."""
    ds = data.get(name)
    r_train, r_test = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if getattr(ds, "has_splits", False):
        return (ds.sample(n_train, r_train, split="train"),
                ds.sample(n_test, r_test, split="test"), ds)
    return ds.sample(n_train, r_train), ds.sample(n_test, r_test), ds


def spec_of(name, train_x, ds):
    if ds.kind == "text":
        return DataSpec("text", vocab="".join(sorted(set("".join(train_x)))), name=name)
    return DataSpec(ds.kind, ds.image_shape or ds.shape if ds.kind == "image" else ds.shape,
                    ds.levels, None, None, name)


def train_and_score(variant, name, train_x, test_x, ds, config=None, steps=None,
                    batch_size=None, seed=0):
    """Build ``autoregressive/variant``, train it with the workbench's ``fit``, and score
    it on ``test_x``: a dict with the test NLL per example and per token/pixel, the
    entropy and the KL to the truth where the data knows them, steps, wall and CPU
    seconds."""
    spec = spec_of(name, train_x, ds)
    cls = get("autoregressive", variant)
    config = dict(config or {})
    steps = cls.default_steps if steps is None else steps
    if "decay_steps" in cls.default_config and steps:
        config.setdefault("decay_steps", steps)
    model = cls(spec, config, np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,))))
    wall, cpu = time.perf_counter(), time.process_time()
    fit(model, train_x, steps=steps if model.trainable() else 0, batch_size=batch_size,
        seed=seed, quiet=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lp = model.log_prob(test_x)
    dims = dims_per_example(spec, test_x)
    nll = float(-lp.mean())
    out = {"model": variant, "dataset": name, "steps": steps if model.trainable() else 0,
           "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "test_nll": nll,
           "nll_per_dim": float(-lp.sum() / np.sum(np.broadcast_to(dims, lp.shape))),
           "entropy": None, "kl": None}
    if getattr(ds, "has_entropy", False):
        h = float(ds.entropy())
        out.update(entropy=h, kl=nll - h, relative_gap=(nll - h) / h)
    return model, out


def row(result, figures, slide):
    """The tour's row format."""
    return {"family": "autoregressive", "model": result["model"],
            "dataset": result["dataset"], "test_nll": result["test_nll"],
            "entropy": result["entropy"], "kl": result["kl"], "modes": None,
            "seconds": result["seconds"], "figures": figures, "slide": slide}


def bit_rows(path, data_x, samples, title):
    """Binary sequences as rows of pixels, data (left) next to samples (right)."""
    plt = plots._plt()
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    for ax, x, name in zip(axes, (data_x, samples), ("data", "samples")):
        ax.imshow(np.asarray(x), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=9, color=plots.GREEN if name == "data" else plots.RED)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return plots._save(fig, path)


def run(out_dir, quick=False, seed=0):
    """Train the family's models briefly; write one figure per model; return the rows."""
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    rng = np.random.default_rng(seed)

    # The ladder on names: every rung sees further back than the one below.
    train_x, test_x, ds = load_split("names", 1500 if quick else 6000, 500, seed)
    h_token = -ds.log_prob(test_x).sum() / sum(len(s) + 1 for s in test_x)   # truth's NLL
    ladder = [("ngram", {}, 0), ("mlp", {}, 60 if quick else 300)]
    if not quick:
        ladder += [("wavenet", {"channels": 24, "skip": 32}, 200),
                   ("transformer", {"d_model": 32, "heads": 4}, 200)]
    for variant, config, steps in ladder:
        model, res = train_and_score(variant, "names", train_x, test_x, ds, config, steps,
                                     batch_size=32, seed=seed)
        fname = f"autoregressive_{variant}_names.png"
        plots.text_samples(os.path.join(out_dir, fname), model.sample(20, rng),
                           title=f"{variant} on names ({res['steps']} steps): "
                                 f"{res['nll_per_dim']:.3f} nats/char, truth {h_token:.3f}")
        rows.append(row(res, [fname], model.slide))

    # The continuous chain rule: p(x1) p(x2 | x1) on gaussians8.
    train_x, test_x, ds = load_split("gaussians8", 2000 if quick else 5000, 2000, seed)
    model, res = train_and_score("mdn", "gaussians8", train_x, test_x, ds,
                                 {"components": 6, "hidden": 32}, 150 if quick else 1500,
                                 batch_size=256, seed=seed)
    fname = "autoregressive_mdn_gaussians8.png"
    plots.scatter_2d(os.path.join(out_dir, fname), test_x, model.sample(2000, rng),
                     title=f"mdn p(x1) p(x2|x1): KL to truth {res['kl']:.3f} nats")
    rows.append(row(res, [fname], model.slide))

    if not quick:
        # MADE on heartbeat bits, with an ensemble of orderings.
        train_x, test_x, ds = load_split("heartbeat", 3000, 1000, seed)
        model, res = train_and_score("made", "heartbeat", train_x, test_x, ds,
                                     {"hidden": [128], "num_orders": 2}, 800,
                                     batch_size=64, seed=seed)
        fname = "autoregressive_made_heartbeat.png"
        bit_rows(os.path.join(out_dir, fname), test_x[:24], model.sample(24, rng),
                 f"MADE (2 orderings, {res['steps']} steps): KL {res['kl']:.3f} nats")
        rows.append(row(res, [fname], model.slide))

        # PixelCNN on the lecture's river, pixel by pixel, column by column (the turtle's
        # order). 50 steps at a high rate (decayed over the run): 35 nats against 10 ln 2
        # = 6.9 (138 by rows at lr 2e-3); benchmarks/ar_quality.py trains it for longer
        train_x, test_x, ds = load_split("river", 1000, 100, seed)
        steps = 50
        model, res = train_and_score("pixelcnn", "river", train_x, test_x, ds,
                                     {"channels": 16, "dilations": [1, 2, 1], "scan": "columns",
                                      "lr": 3e-2}, steps, batch_size=8, seed=seed)
        fname = "autoregressive_pixelcnn_river.png"
        plots.image_grid(os.path.join(out_dir, fname), model.sample(2, rng), levels=2,
                         ncols=2, title=f"PixelCNN ({steps} steps): {res['test_nll']:.1f} nats "
                                        f"vs truth {res['entropy']:.2f}")
        rows.append(row(res, [fname], model.slide))
    return rows
