"""The GAN slides' pictures: real data in green and fakes in red as training goes
(Isola L14, "GANs -- Training": "Real data / Training data" beside "Synthetic data"),
the discriminator's belief d(x) over the plane, the optimal discriminator on a finite
space, and the plain game beside the stabilized one. Each function writes one PNG and
returns its path (matplotlib through ``scratch_gen.plots``, headless)."""
import numpy as np

from .. import plots
from ..plots import GREEN, RED


def _scatter(ax, real, fake, lim):
    if real is not None:
        r = np.asarray(real)[:2500]
        ax.scatter(r[:, 0], r[:, 1], s=3, c=GREEN, alpha=0.5, linewidths=0, label="real")
    if fake is not None:
        f = np.asarray(fake)[:2500]
        ax.scatter(f[:, 0], f[:, 1], s=3, c=RED, alpha=0.5, linewidths=0, label="fake g(z)")
    ax.set_xlim(lim[0][0], lim[1][0])
    ax.set_ylim(lim[0][1], lim[1][1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def limits(real, pad=0.25):
    """A square box around the real data, the same for every panel."""
    r = np.asarray(real, float)
    lo, hi = r.min(0), r.max(0)
    c, half = (lo + hi) / 2, (hi - lo).max() / 2 * (1 + pad)
    return c - half, c + half


def snapshots(path, real, shots, title=None):
    """One panel per ``(step, fakes)`` in ``shots``: fakes in red over the data in green."""
    plt = plots._plt()
    lim = limits(real)
    fig, axes = plt.subplots(1, len(shots), figsize=(2.6 * len(shots), 2.9), squeeze=False)
    for ax, (step, fake) in zip(axes[0], shots):
        _scatter(ax, real, fake, lim)
        ax.set_title(f"step {step}", fontsize=9)
    axes[0, 0].legend(loc="lower left", fontsize=7, markerscale=3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94) if title else None)
    return plots._save(fig, path)


def discriminator_map(path, d_of, real, fake, title=None, n=160):
    """``d(x)`` on a grid as a heatmap (blue: "real", red: "fake"), with real points in
    green and fakes in red over it: where d is high, g's samples are pulled. The colour
    scale is centred on 1/2, the value of d at the game's optimum, and spans d's actual
    range, since a regularized d near equilibrium stays close to 1/2 everywhere."""
    plt = plots._plt()
    lo, hi = limits(real)
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    d = d_of(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(n, n)
    fig, ax = plt.subplots(figsize=(5.4, 4.6))
    r = max(float(np.abs(d - 0.5).max()), 1e-3)
    im = ax.imshow(d, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="coolwarm_r",
                   vmin=0.5 - r, vmax=0.5 + r, aspect="equal")
    fig.colorbar(im, ax=ax, label="d(x): probability that x is real", fraction=0.046, pad=0.04)
    r, f = np.asarray(real)[:800], np.asarray(fake)[:800]
    ax.scatter(r[:, 0], r[:, 1], s=4, c=GREEN, linewidths=0, label="real")
    ax.scatter(f[:, 0], f[:, 1], s=4, c=RED, linewidths=0, label="fake")
    ax.set_xlim(lo[0], hi[0])          # fakes that stray outside the map are cut, not
    ax.set_ylim(lo[1], hi[1])          # drawn over a blank margin
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    if title:
        ax.set_title(title, fontsize=10)
    return plots._save(fig, path)


def side_by_side(path, panels, title=None, ncols=None):
    """Panels ``(title, real, fake)``, ``ncols`` to a row (default: one row): the plain
    game beside the stabilized one."""
    plt = plots._plt()
    ncols = ncols or len(panels)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    for ax, (name, real, fake) in zip(axes.ravel(), panels):
        _scatter(ax, real, fake, limits(real))
        ax.set_title(name, fontsize=8)
    axes[0, 0].legend(loc="lower left", fontsize=7, markerscale=3)
    if title:
        fig.suptitle(title, fontsize=10)
    # h_pad: room for the two-line panel titles of the next row (equal-aspect panels
    # leave tight_layout short of it)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (3.6 * nrows)) if title else None, h_pad=2.5)
    return plots._save(fig, path)


def optimal_discriminator(path, xs, p, q, d_star, d_trained, v_star, jsd):
    """The finite-space theory: p (data) and q (generator) over outcomes, the optimal
    d* = p/(p+q), and a tabular d trained by gradient ascent sitting on it."""
    plt = plots._plt()
    fig, (a, b) = plt.subplots(2, 1, figsize=(6.4, 4.8), sharex=True)
    w = (xs[1] - xs[0]) * 0.4
    a.bar(xs - w / 2, p, width=w, color=GREEN, label="p_data")
    a.bar(xs + w / 2, q, width=w, color=RED, label="p_g (the generator)")
    a.legend(fontsize=8)
    a.set_ylabel("probability")
    b.plot(xs, d_star, "k-", lw=1.5, label="d* = p / (p + q)")
    b.plot(xs, d_trained, "o", ms=4, color="#1f77b4", mfc="none",
           label="tabular d, gradient ascent on V")
    b.axhline(0.5, color="0.6", lw=0.8, ls="--")
    b.set_ylim(-0.05, 1.05)
    b.set_ylabel("d(x)")
    b.set_xlabel("x")
    b.legend(fontsize=8, loc="lower left")
    a.set_title(f"V(g, d*) = {v_star:.6f} = -log 4 + 2 JSD = {-np.log(4) + 2 * jsd:.6f}",
                fontsize=9)
    fig.tight_layout()
    return plots._save(fig, path)


def image_samples(path, images, title=None):
    """A grid of generated images."""
    return plots.image_grid(path, images, ncols=8, title=title)
