"""The pictures of "noise is latent variables" (Isola L14; He L1, "Probabilistic
modeling"), each written to a PNG whose path is returned."""
import numpy as np

from .. import plots
from . import landscape, turtle

RED = np.array([0.84, 0.15, 0.16])
PINK = np.array([1.0, 0.78, 0.78])


def _bits(z, mark=None):
    return " ".join(f"[{b}]" if i == mark else str(b) for i, b in enumerate(np.asarray(z)))


def turtle_figure(path, z, flips=(0, 5, 9)):
    """The turtle's river for a chosen ``z`` (first panel), then the same z with one bit
    flipped per panel: new ink in red, ink that went away in pink, the turtle's path
    before (blue) and after (red, dashed) drawn over them. Flipping ``z_i`` turns the
    river the other way at step i and moves everything after it; nothing before it
    changes."""
    plt = plots._plt()
    z = np.asarray(z)
    base = turtle.G(z[None])[0]
    panels = [(None, z)] + [(i, turtle.flip(z, i)) for i in flips]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 4.2))
    bx, by = turtle.path(z[None])
    for ax, (i, zi) in zip(axes, panels):
        img = turtle.G(zi[None])[0]
        rgb = np.repeat((1.0 - 0.8 * img)[:, :, None], 3, axis=2)      # ink dark grey
        if i is not None:
            rgb[(img == 1) & (base == 0)] = RED                          # new ink
            rgb[(img == 0) & (base == 1)] = PINK                         # ink gone
        ax.imshow(rgb, interpolation="nearest")
        ax.plot(bx[0] - 0.5, by[0] - 0.5, color="#1f77b4", lw=1, alpha=0.8)
        if i is not None:
            px, py = turtle.path(zi[None])
            ax.plot(px[0] - 0.5, py[0] - 0.5, color=RED, lw=1, ls="--")
            ax.set_title(f"flip z_{i + 1}\nz = {_bits(zi, i)}", fontsize=8, family="monospace")
        else:
            ax.set_title(f"x = G(z)\nz = {_bits(zi)}", fontsize=8, family="monospace")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Isola L14: z ~ Bernoulli(0.5)^N; extend 1 unit, turn 10 deg right if z_i = 1 "
                 "else left.\nOne latent changed = one turn changed (red: new ink, pink: ink "
                 "gone, compared with the first panel)", fontsize=10)
    return plots._save(fig, path)


def landscape_factors_figure(path, rng, ncols=5):
    """One row per latent: that latent redrawn across the row, every other latent held
    fixed. Each row changes one factor of the picture: the river's course, the grass
    colour, the number of trees."""
    plt = plots._plt()
    z0 = landscape.sample_z(rng)
    z0["n_trees"] = 4
    rows = []
    turns = [dict(z0, turns=landscape.sample_z(rng)["turns"]) for _ in range(ncols)]
    rows.append(("z_1 ~ Bernoulli(0.5)^N\n(river turns)", turns,
                 [_bits(z["turns"]).replace(" ", "") for z in turns]))
    grass = [dict(z0, grass=landscape.sample_z(rng)["grass"]) for _ in range(ncols)]
    rows.append(("z_2 ~ Normal(mu, Sigma)\n(grass colour)", grass,
                 ["rgb " + " ".join(f"{c:.2f}" for c in z["grass"]) for z in grass]))
    counts = np.linspace(0, landscape.MAX_TREES, ncols).round().astype(int)
    trees = [dict(z0, n_trees=int(k)) for k in counts]
    rows.append(("z_3 ~ Unif{0..10}\n(number of trees)", trees,
                 [f"{k} trees" for k in counts]))
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.2 * ncols + 1.6, 2.0 * len(rows)))
    for r, (label, zs, captions) in enumerate(rows):
        for c, (z, cap) in enumerate(zip(zs, captions)):
            ax = axes[r, c]
            ax.imshow(landscape.render(z), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(cap, fontsize=7, family="monospace")
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle("Isola L14, 'noise is latent variables': change one latent, the rest fixed; "
                 "one factor of the picture changes", fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)


def landscape_samples_figure(path, rng, nrows=3, ncols=6):
    """He L1, "Probabilistic modeling": the latents' simple distributions (top) and the
    complex distribution of pictures the world model renders from them (below)."""
    plt = plots._plt()
    fig = plt.figure(figsize=(2.0 * ncols, 1.55 * nrows + 2.4))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1.5] + [1] * nrows,
                            wspace=0.35, hspace=0.15)
    ax = fig.add_subplot(grid[0, 0:2])
    ax.bar([0, 1], [0.5, 0.5], color="0.5", width=0.6)
    ax.set_xticks([0, 1], ["left (0)", "right (1)"])
    ax.set_title("z_1,i ~ Bernoulli(0.5)", fontsize=9)
    ax = fig.add_subplot(grid[0, 2:4])
    swatches = np.clip(rng.multivariate_normal(landscape.GRASS_MEAN, landscape.GRASS_COV,
                                               size=40), 0, 1)
    ax.imshow(swatches.reshape(4, 10, 3), interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("z_2 ~ Normal(mu, Sigma): 40 grass colours", fontsize=9)
    ax = fig.add_subplot(grid[0, 4:6])
    ax.bar(np.arange(landscape.MAX_TREES + 1), 1.0 / (landscape.MAX_TREES + 1), color="0.5")
    ax.set_title("z_3 ~ Unif{0..10} trees", fontsize=9)
    for r in range(nrows):
        for c in range(ncols):
            ax = fig.add_subplot(grid[r + 1, c])
            ax.imshow(landscape.render(landscape.sample_z(rng)), interpolation="nearest")
            ax.set_axis_off()
    fig.suptitle("He L1: latent factors z with simple distributions (top), rendered by a "
                 "world model x = G(z):\nobservations x with a complex distribution (below)",
                 fontsize=10)
    return plots._save(fig, path)
