"""Pictures to look at, as PNG files: the lectures argue with pictures, so do we.

Isola L14 draws data in green and model samples in red ("Energy-based models: at
convergence, green (data) and red (model) samples are identical"); :func:`scatter_2d`
keeps those colours. The rest: density and energy heatmaps (L14, "Density models",
"Energy-based models"), training curves from the JSON-lines log, image grids, text
samples, and trajectories (Langevin chains, diffusion's reverse paths).

Every function writes one PNG and returns its path. Matplotlib runs headless (Agg), and
each figure is closed after saving so a long tour does not pile up memory.
"""
import json
import math
import os

import numpy as np

GREEN = "#2ca02c"
RED = "#d62728"


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _limits(*arrays, pad=0.08):
    pts = np.concatenate([np.asarray(a, float).reshape(-1, 2) for a in arrays if a is not None])
    pts = pts[np.isfinite(pts).all(1)]
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    span = np.maximum(hi - lo, 1e-6)
    return lo - pad * span, hi + pad * span


def scatter_2d(path, data=None, samples=None, title=None, limits=None, max_points=3000):
    """2D data in green and model samples in red, as on L14's slides."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    for pts, color, label in ((data, GREEN, "data"), (samples, RED, "model samples")):
        if pts is not None:
            pts = np.asarray(pts, float)[:max_points]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, c=color, alpha=0.6, linewidths=0, label=label)
    lo, hi = limits if limits is not None else _limits(data, samples)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=3, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def heatmap(path, grid, xs, ys, data=None, title=None, label="log density", cmap="viridis"):
    """A 2D field (``grid[i, j]`` at ``(xs[j], ys[i])``): a log-density, a density or an
    energy; optional data points drawn over it in green. Non-finite cells are left
    blank (a model's -inf log-density is no colour, not the darkest colour)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 5))
    g = np.ma.masked_invalid(np.asarray(grid, float))
    if g.mask.all():                              # e.g. delta functions: -inf everywhere
        g = np.ma.masked_array(np.zeros(g.shape), mask=True)
        ax.text(0.5, 0.5, "no finite values on this grid\n(zero density everywhere it looked)",
                transform=ax.transAxes, ha="center", va="center", fontsize=9)
    extent = (xs[0] - (xs[1] - xs[0]) / 2, xs[-1] + (xs[1] - xs[0]) / 2,
              ys[0] - (ys[1] - ys[0]) / 2, ys[-1] + (ys[1] - ys[0]) / 2)
    im = ax.imshow(g, origin="lower", extent=extent, cmap=cmap, aspect="equal")
    fig.colorbar(im, ax=ax, label=label, fraction=0.046, pad=0.04)
    if data is not None:
        d = np.asarray(data, float)[:1000]
        ax.scatter(d[:, 0], d[:, 1], s=3, c=GREEN, alpha=0.6, linewidths=0)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def density_heatmap(path, log_f, lo, hi, n=200, data=None, title=None, energy=False):
    """Evaluate ``log_f`` ((M, 2) -> (M,)) on a grid and draw it: the log-density, or
    with ``energy=True`` the energy ``E = -log_f`` (for unnormalized models)."""
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    vals = np.asarray(log_f(np.stack([gx.ravel(), gy.ravel()], 1)), float).reshape(n, n)
    if energy:
        return heatmap(path, -vals, xs, ys, data, title, label="energy E(x)", cmap="magma_r")
    return heatmap(path, vals, xs, ys, data, title)


def read_log(path):
    """The JSON-lines training log as a list of dicts (non-finite numbers restored)."""
    from .common.jsonio import from_jsonable_float
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows.append({k: (from_jsonable_float(v) if isinstance(v, (str, int, float)) and k != "event"
                                 else v) for k, v in row.items()})
    return rows


def training_curves(path, log, title=None, keys=None):
    """One panel per metric against the step, from a log path or a list of dicts
    (``FitResult.history`` works too)."""
    plt = _plt()
    rows = read_log(log) if isinstance(log, (str, os.PathLike)) else list(log)
    if not rows:
        raise ValueError("the training log is empty; nothing to plot")
    skip = {"step", "time", "steps_per_s"}
    keys = keys or [k for k in rows[0] if k not in skip]
    fig, axes = plt.subplots(len(keys), 1, figsize=(6, 2.2 * len(keys)), sharex=True, squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, k in zip(axes[:, 0], keys):
        ax.plot(steps, [r.get(k, math.nan) for r in rows], lw=1.2, color="#1f77b4")
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    return _save(fig, path)


def _as_images(images, shape=None, levels=None):
    x = np.asarray(images, float)
    if shape is not None:
        x = x.reshape((len(x),) + tuple(shape))
    if x.ndim == 2:                               # flat square images
        side = int(round(math.sqrt(x.shape[1])))
        x = x.reshape(len(x), side, side)
    if x.ndim == 4 and x.shape[1] in (1, 3):      # (N, C, H, W) -> (N, H, W, C)
        x = x.transpose(0, 2, 3, 1)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if levels:
        x = x / (levels - 1)
    elif x.size:
        lo, hi = x.min(), x.max()
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.clip(x, 0.0, 1.0)


def image_grid(path, images, shape=None, levels=None, ncols=None, title=None):
    """A grid of images: (N, H, W), (N, C, H, W), (N, H, W, C) or flat with ``shape``.
    Pixel values ``0..levels-1`` are shown on a fixed scale; otherwise min..max."""
    plt = _plt()
    x = _as_images(images, shape, levels)
    n = len(x)
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 0.9), squeeze=False)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(x[i], cmap="gray" if x[i].ndim == 2 else None, vmin=0, vmax=1,
                      interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def text_samples(path, texts, title=None, max_lines=40):
    """Text samples as a picture, one per line in a monospace font (for the tour; the
    CLI writes .txt files)."""
    plt = _plt()
    lines = [repr(t)[1:-1] for t in list(texts)[:max_lines]] or ["(no samples)"]
    if title:
        lines = [title, "-" * len(title)] + lines
    fig = plt.figure(figsize=(7, 0.25 * len(lines) + 0.6))
    fig.text(0.01, 0.98, "\n".join(lines), family="monospace", fontsize=12, va="top")
    return _save(fig, path)


def trajectories(path, paths, data=None, title=None, max_paths=50):
    """Sample paths ``(T, N, 2)`` (Langevin chains, reverse diffusion): grey lines from
    start to end, red dots where they end, data in green behind them."""
    plt = _plt()
    p = np.asarray(paths, float)[:, :max_paths]
    fig, ax = plt.subplots(figsize=(5, 5))
    if data is not None:
        d = np.asarray(data, float)[:2000]
        ax.scatter(d[:, 0], d[:, 1], s=3, c=GREEN, alpha=0.4, linewidths=0, label="data")
    for k in range(p.shape[1]):
        ax.plot(p[:, k, 0], p[:, k, 1], color="0.5", lw=0.6, alpha=0.7)
    ax.scatter(p[0, :, 0], p[0, :, 1], s=8, c="0.3", marker="x", linewidths=0.8, label="start")
    ax.scatter(p[-1, :, 0], p[-1, :, 1], s=10, c=RED, label="end")
    lo, hi = _limits(data, p.reshape(-1, 2))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8, markerscale=2)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def samples_figure(path, spec, samples, data=None, title=None):
    """The natural picture of samples for the data's kind: 2D points over the data,
    an image grid, or text; other shapes get the first two coordinates."""
    if spec.kind == "text":
        return text_samples(path, samples, title)
    if spec.kind == "image":
        return image_grid(path, np.asarray(samples)[:64], spec.shape, spec.levels, title=title)
    s = np.asarray(samples, float).reshape(len(samples), -1)
    d = None if data is None else np.asarray(data, float).reshape(len(data), -1)
    if s.shape[1] == 1:                           # 1D: pair each value with zero height
        s = np.concatenate([s, np.zeros_like(s)], 1)
        d = None if d is None else np.concatenate([d, np.zeros_like(d) + 0.05], 1)
    return scatter_2d(path, None if d is None else d[:, :2], s[:, :2], title)
