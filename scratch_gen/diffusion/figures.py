"""The diffusion pictures of Isola's lecture, redrawn from our own models and data.

- :func:`forward_strip`: "Diffusion: just add noise": images (rows) at increasing t
  (columns) of the slide's forward process, with sqrt(abar_t), the share of the
  image's signal left, under each column.
- :func:`forward_2d`: the same on 2D points: the data's marginal q(x_t) melting into
  N(0, I) -- the picture the "check abar_T ~ 0" warning is about.
- :func:`reverse_2d`: the reverse process on 2D points: snapshots at a few t, and the
  paths of single points from x_T (grey x) to x_0 (red), data in green (L14's colours).
- :func:`dice_rolls`: "Different noise samples (dice rolls) result in different
  images": each row a different x_T, its reverse path left to right.
- :func:`ar_vs_diffusion`: "Autoregressive models vs diffusion models" and "Concept #3:
  turn generative modeling into a sequence of supervised learning problems": one image
  taken apart two ways, and at each step the (input -> target) pair one supervised
  problem learns.
- :func:`side_by_side_2d`: several samplers or models on one dataset, one panel each.
- :func:`class_grid`: class-conditional samples, one row per label.

Each function writes one PNG (matplotlib, headless) and returns its path.
"""
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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _gray(ax, img, vmin=None, vmax=None):
    ax.imshow(np.asarray(img, float), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def forward_strip(path, images, schedule, ts, rng, title=None):
    """Rows: images in [0, 1]; columns: x_t for t in ``ts`` by the closed form q(x_t | x_0)
    (the same law as iterating the slide's step, as tests check), shown on a fixed
    scale [-2.5, 2.5] in model units so the noise's growth is visible."""
    plt = _plt()
    x0 = 2.0 * np.asarray(images, float) - 1.0
    n = len(x0)
    fig, axes = plt.subplots(n, len(ts), figsize=(1.1 * len(ts), 1.15 * n + 0.4), squeeze=False)
    eps = rng.standard_normal(x0.shape)
    for j, t in enumerate(ts):
        xt = schedule.q_sample(x0, int(t), eps) if t > 0 else x0
        for i in range(n):
            _gray(axes[i, j], xt[i], -2.5, 2.5)
        axes[-1, j].set_xlabel(f"t={t}\n" + r"$\sqrt{\bar\alpha_t}$" +
                               f"={math.sqrt(schedule.abar[t]):.2f}", fontsize=7)
    fig.suptitle(title or r"Forward process $x_t = \sqrt{1-\beta_t}\,x_{t-1} + "
                 r"\sqrt{\beta_t}\,\epsilon_t$: just add noise", fontsize=9)
    return _save(fig, path)


def forward_2d(path, x0, schedule, ts, rng, title=None):
    """Panels of the 2D marginal q(x_t) at t in ``ts`` (data in model units), with the
    unit circle of N(0, I) for reference."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(ts), figsize=(2.2 * len(ts), 2.5), squeeze=False)
    eps = rng.standard_normal(x0.shape)
    for ax, t in zip(axes[0], ts):
        xt = schedule.q_sample(x0, int(t), eps) if t > 0 else x0
        ax.scatter(xt[:, 0], xt[:, 1], s=2, c=GREEN if t == 0 else "0.35", alpha=0.5,
                   linewidths=0)
        ax.add_patch(plt.Circle((0, 0), 2.0, fill=False, ls="--", lw=0.6, color="0.6"))
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"t={t}, " + r"$\bar\alpha_t$" + f"={schedule.abar[t]:.2g}", fontsize=8)
    fig.suptitle(title or "q(x_t): the data melts into N(0, I) (dashed: 2 std)", fontsize=9)
    return _save(fig, path)


def reverse_2d(path, path_xs, ts, data=None, title=None, n_paths=15):
    """``path_xs``: (K + 1, N, 2) reverse path (x_T first) in data units; ``ts`` the
    times of its rows. Left: snapshots at six times (grey, the last in red); right:
    single paths from x_T (x) to x_0 (red dot), data in green behind them."""
    plt = _plt()
    from matplotlib.gridspec import GridSpec
    p = np.asarray(path_xs, float)
    k = len(p) - 1
    pick = sorted({0, k // 5, (2 * k) // 5, (3 * k) // 5, (4 * k) // 5, k})
    fig = plt.figure(figsize=(11, 4.6))
    gs = GridSpec(2, 5, figure=fig, wspace=0.08, hspace=0.25)
    ref = p[-1] if data is None else np.asarray(data, float)
    lo, hi = np.percentile(ref, 0.5, axis=0), np.percentile(ref, 99.5, axis=0)
    pad = 0.15 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    for j, r in enumerate(pick):
        ax = fig.add_subplot(gs[j // 3, j % 3])
        ax.scatter(p[r][:, 0], p[r][:, 1], s=1.5, c=RED if r == k else "0.35", alpha=0.5,
                   linewidths=0)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"t={ts[r]}", fontsize=8)
    ax = fig.add_subplot(gs[:, 3:])
    if data is not None:
        d = np.asarray(data, float)[:2000]
        ax.scatter(d[:, 0], d[:, 1], s=3, c=GREEN, alpha=0.4, linewidths=0, label="data")
    m = min(n_paths, p.shape[1])
    for i in range(m):
        ax.plot(p[:, i, 0], p[:, i, 1], color="0.5", lw=0.5, alpha=0.7)
    ax.scatter(p[0, :m, 0], p[0, :m, 1], s=10, c="0.3", marker="x", linewidths=0.8,
               label=r"start $x_T$")
    ax.scatter(p[-1, :m, 0], p[-1, :m, 1], s=10, c=RED, label=r"end $x_0$")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right", markerscale=1.5)
    ax.set_title("single reverse paths", fontsize=9)
    fig.suptitle(title or "Reverse process", fontsize=10)
    return _save(fig, path)


def dice_rolls(path, paths, ts, n_cols=7, title=None):
    """``paths``: (K + 1, R, H, W) reverse paths of R images in [-1, 1] model units (row r
    starts from its own x_T). Columns: ``n_cols`` evenly spaced steps, the last the
    sample."""
    plt = _plt()
    p = np.asarray(paths, float)
    k, r = len(p) - 1, p.shape[1]
    cols = np.unique(np.round(np.linspace(0, k, n_cols)).astype(int))
    fig, axes = plt.subplots(r, len(cols), figsize=(1.0 * len(cols), 1.0 * r + 0.5),
                             squeeze=False)
    for i in range(r):
        for j, c in enumerate(cols):
            _gray(axes[i, j], p[c, i], -1.0, 1.0)
        axes[i, 0].set_ylabel(f"roll {i + 1}", fontsize=7)
    for j, c in enumerate(cols):
        axes[-1, j].set_xlabel(f"t={ts[c]}", fontsize=7)
    fig.suptitle(title or "Different noise samples (dice rolls) give different images",
                 fontsize=9)
    return _save(fig, path)


def ar_vs_diffusion(path, image, schedule, rng, n_steps=6, title=None):
    """One image in [0, 1], taken apart two ways (Isola L14, "Autoregressive models vs
    diffusion models").

    Top, diffusion: x_0 -> ... -> x_T by adding noise; reading right to left, each step
    is the supervised problem "given x_t (and t), predict x_{t-1}" (Algorithm 1.2,
    line 10). Bottom, autoregressive: the image revealed in raster order; each step is
    "given the pixels so far, predict the next ones" (a next-token classifier). Both
    turn one hard generative problem into a sequence of easier supervised ones
    (Concept #3).
    """
    plt = _plt()
    img = np.asarray(image, float)
    h, w = img.shape
    x0 = 2.0 * img - 1.0
    ts = np.unique(np.round(np.geomspace(1, schedule.T, n_steps - 1)).astype(int))
    ts = [0] + list(ts)
    chain, eps = [], rng.standard_normal(x0.shape)
    for t in ts:
        chain.append(x0 if t == 0 else schedule.q_sample(x0[None], t, eps[None])[0])
    n = len(chain)
    reveal = np.linspace(0, h * w, n).round().astype(int)[::-1]     # full -> empty
    fig, axes = plt.subplots(2, n, figsize=(1.25 * n, 3.4))
    for j in range(n):
        _gray(axes[0, j], chain[j], -2.0, 2.0)
        axes[0, j].set_xlabel(f"t={ts[j]}", fontsize=7)
        shown = np.full(h * w, np.nan)
        shown[:reveal[j]] = x0.reshape(-1)[:reveal[j]]
        axes[1, j].imshow(np.ma.masked_invalid(shown.reshape(h, w)), cmap="gray", vmin=-1,
                          vmax=1, interpolation="nearest")
        axes[1, j].set_facecolor("#f0d9a8")          # not yet generated
        axes[1, j].set_xticks([])
        axes[1, j].set_yticks([])
        axes[1, j].set_xlabel(f"{reveal[j]} px", fontsize=7)
    axes[0, 0].set_ylabel("diffusion", fontsize=9)
    axes[1, 0].set_ylabel("autoregressive", fontsize=9)
    for row, text in ((0, r"supervised step: $(x_t, t) \to x_{t-1}$ (denoise)"),
                      (1, r"supervised step: $x_{<i} \to x_i$ (next pixels)")):
        axes[row, n - 1].annotate("", xy=(0.0, 1.08), xytext=(1.0, 1.08),
                                  xycoords="axes fraction",
                                  arrowprops=dict(arrowstyle="->", color=RED, lw=1.2))
        axes[row, n // 2].set_title(text + ";  generation runs right to left",
                                    fontsize=8, color=RED)
    fig.suptitle(title or "Generation as a sequence of supervised learning problems",
                 fontsize=10)
    fig.subplots_adjust(hspace=0.55)
    return _save(fig, path)


def side_by_side_2d(path, panels, data=None, title=None):
    """``panels``: list of (caption, samples (N, 2)); data in green behind each."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.8), squeeze=False)
    allpts = np.concatenate([np.asarray(s, float) for _, s in panels] +
                            ([np.asarray(data, float)] if data is not None else []))
    lo, hi = np.percentile(allpts, 0.5, axis=0), np.percentile(allpts, 99.5, axis=0)
    pad = 0.1 * (hi - lo)
    for ax, (caption, s) in zip(axes[0], panels):
        if data is not None:
            d = np.asarray(data, float)[:2500]
            ax.scatter(d[:, 0], d[:, 1], s=2, c=GREEN, alpha=0.5, linewidths=0)
        s = np.asarray(s, float)[:2500]
        ax.scatter(s[:, 0], s[:, 1], s=2, c=RED, alpha=0.5, linewidths=0)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_aspect("equal")
        ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def class_grid(path, rows, labels, title=None, vmin=0.0, vmax=1.0):
    """``rows``: (K, M, H, W) images, row k conditioned on ``labels[k]``."""
    plt = _plt()
    rows = np.asarray(rows, float)
    k, m = rows.shape[:2]
    fig, axes = plt.subplots(k, m, figsize=(0.8 * m, 0.8 * k + 0.4), squeeze=False)
    for i in range(k):
        for j in range(m):
            _gray(axes[i, j], rows[i, j], vmin, vmax)
        if labels[i] != "":
            axes[i, 0].set_ylabel(f"y={labels[i]}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)
