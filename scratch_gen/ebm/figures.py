"""The pictures of the energy-based models, drawn as the lecture draws them.

Isola L14, "Energy-based models": data in green, model samples in red, and "at
convergence, green (data) and red (model) samples are identical and model update
(green-red) cancels out". Multi-panel figures (snapshots through training, samplers
side by side) live here; single pictures use scratch_gen.plots. Every function writes
one PNG and returns its path.
"""
import os

import numpy as np

from .. import plots
from .energies import energy_array

GREEN, RED = plots.GREEN, plots.RED


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return path


def energy_grid(energy, lo, hi, n=120):
    """E on an n x n grid over the box (``grid[i, j]`` at ``(xs[j], ys[i])``)."""
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    e = energy_array(energy, np.stack([gx.ravel(), gy.ravel()], 1)).astype(float)
    return e.reshape(n, n), xs, ys


def snapshots(path, frames, lo, hi, title=None):
    """Training through time, one column per snapshot: the energy landscape (top row,
    low energy bright; shifted so its minimum is 0 and clipped at 12 nats above it, so
    every panel shares one colour scale) and the data (green) with the model samples
    of that step (red) below it.

    frames: dicts with ``step``, ``energy`` (grid, xs, ys), ``data``, ``samples`` and an
    optional ``note`` (printed under the step)."""
    plt = _plt()
    k = len(frames)
    fig, axes = plt.subplots(2, k, figsize=(2.6 * k, 5.4), squeeze=False)
    extent = (lo[0], hi[0], lo[1], hi[1])
    for j, f in enumerate(frames):
        grid, xs, ys = f["energy"]
        ax = axes[0, j]
        im = ax.imshow(np.minimum(grid - grid.min(), 12.0), origin="lower", extent=extent,
                       cmap="magma_r", vmin=0, vmax=12, aspect="equal")
        ax.set_title(f"step {f['step']}" + (f"\n{f['note']}" if f.get("note") else ""),
                     fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax = axes[1, j]
        d, s = np.asarray(f["data"])[:600], f.get("samples")
        ax.scatter(d[:, 0], d[:, 1], s=3, c=GREEN, alpha=0.6, linewidths=0, label="data")
        if s is not None:
            s = np.asarray(s)[:600]
            ax.scatter(s[:, 0], s[:, 1], s=3, c=RED, alpha=0.6, linewidths=0, label="model")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1, 0].legend(loc="lower left", fontsize=7, markerscale=3)
    fig.colorbar(im, ax=axes[0, :].tolist(), fraction=0.02, pad=0.01,
                 label="E(x) - min E (nats)")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def update_curves(path, history, title=None):
    """The two terms of the lecture's gradient and their difference against the step:
    |E_data[grad E]| (green), |E_model[grad E]| (red) and |green - red|, the update;
    below, the update relative to the terms, which falls toward the minibatch noise as
    the model's samples come to look like the data (the slide's "cancels out")."""
    plt = _plt()
    steps = [h["step"] for h in history]
    fig, axes = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    ax = axes[0]
    ax.plot(steps, _smooth([h["norm_data"] for h in history]), color=GREEN,
            label="|E_data[grad E]| (green)")
    ax.plot(steps, _smooth([h["norm_model"] for h in history]), color=RED,
            label="|E_model[grad E]| (red)")
    ax.plot(steps, _smooth([h["update"] for h in history]), color="k",
            label="|green - red| (the update)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[1]
    ratio = [h["update"] / max(h["norm_model"], 1e-300) for h in history]
    ax.plot(steps, _smooth(ratio), color="k")
    ax.set_yscale("log")
    ax.set_ylabel("|green - red| / |red|")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3, which="both")
    if title:
        axes[0].set_title(title, fontsize=10)
    return _save(fig, path)


def _smooth(v, width=None):
    v = np.asarray(v, float)
    width = width or max(1, len(v) // 50)
    if width <= 1:
        return v
    kernel = np.ones(width) / width
    padded = np.concatenate([np.full(width - 1, v[0]), v])
    return np.convolve(padded, kernel, mode="valid")


def samplers_side_by_side(path, panels, data, lo, hi, title=None):
    """Chain trajectories of several samplers on one model: grey paths, a cross where
    each starts (uniform noise), a red dot where it ends; data in green behind.
    panels: (label, path array (T, N, 2)) pairs."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4.4), squeeze=False)
    d = np.asarray(data)[:1500]
    for ax, (label, p) in zip(axes[0], panels):
        ax.scatter(d[:, 0], d[:, 1], s=3, c=GREEN, alpha=0.35, linewidths=0)
        for k in range(p.shape[1]):
            ax.plot(p[:, k, 0], p[:, k, 1], color="0.45", lw=0.6, alpha=0.8)
        ax.scatter(p[0, :, 0], p[0, :, 1], s=10, c="0.2", marker="x", linewidths=0.8)
        ax.scatter(p[-1, :, 0], p[-1, :, 1], s=12, c=RED, zorder=3)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def exact_vs_cd(path, curves, cosines=None, title=None):
    """Training curves of one energy by exact maximum likelihood, CD-1 and PCD: the exact
    KL(data || model) against the step (left) and, right, the cosine between the CD
    gradient and the exact one at the same parameters (1 = the same direction).
    curves: {label: (steps, kl)}; cosines: {label: (steps, cos)}."""
    plt = _plt()
    ncol = 2 if cosines else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.2 * ncol, 3.8), squeeze=False)
    colors = {"exact": "k", "CD-1": "#1f77b4", "PCD-1": "#ff7f0e"}
    ax = axes[0, 0]
    for label, (steps, kl) in curves.items():
        ax.plot(steps, kl, label=label, color=colors.get(label), lw=1.4)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("KL(data || model), nats (exact)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if cosines:
        ax = axes[0, 1]
        for label, (steps, cos) in cosines.items():
            ax.plot(steps, _smooth(cos), label=label, color=colors.get(label), lw=1.2)
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("step")
        ax.set_ylabel("cos(approximate, exact gradient)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def three_gradients(path, a, b, c, c_se, title=None):
    """grad log Z three ways, component by component: (b) the identity and (c) Monte
    Carlo (with 2-standard-error bars) against (a) autograd through logsumexp; all
    three on the diagonal when they agree."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    lim = [min(a.min(), c.min()), max(a.max(), c.max())]
    ax.plot(lim, lim, color="0.6", lw=0.8, zorder=0)
    ax.errorbar(a, c, yerr=2 * c_se, fmt="o", ms=3, color=RED, alpha=0.7, elinewidth=0.8,
                label="(c) Monte Carlo, Gibbs samples (+-2 se)")
    ax.plot(a, b, "x", color="k", ms=5, label="(b) -E_p[grad E], exact")
    ax.set_xlabel("(a) autograd through logsumexp(-E) over all states")
    ax.set_ylabel("grad log Z component")
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def discrete_samples(path, rows, image_shape, title=None):
    """Rows of binary images: ``rows`` is a list of (label, samples (n, D))."""
    plt = _plt()
    ncols = max(len(s) for _, s in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(0.55 * ncols + 1.4, 0.65 * len(rows) + 0.4),
                             squeeze=False)
    for r, (label, s) in enumerate(rows):
        for j in range(ncols):
            ax = axes[r, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():       # a frame, so an empty image shows
                side.set_color("0.75")
            if j < len(s):
                ax.imshow(np.asarray(s[j]).reshape(image_shape), cmap="gray_r", vmin=0, vmax=1,
                          interpolation="nearest")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
