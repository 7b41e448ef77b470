"""The chapter's pictures: one input, many answers, and what each method does with it.
Each function writes one PNG and returns its path.

- :func:`obstacle_figure`: the obstacle toy (Chi et al. 2023, figure 3 in miniature):
  the true p(x|y) next to each method's samples, with the regressor's average (a black
  cross, joined to its start) drawn in every panel: it sits inside the obstacle.
- :func:`obstacle_continuous_figure`: the same with the start s itself as the
  condition: samples coloured by s, the regressor's f(s) as a curve through the obstacle.
- :func:`glyph_classes_figure`: class-conditional glyphs, one panel per method, one
  row per digit (He L1, "Case study: class-conditional image generation").
- :func:`completion_figure`: lower halves with several plausible digits, completed by
  the regressor (one blurred answer) and by the conditional autoregressive model, the
  diffusion model and the GAN (several answers each).
- :func:`classification_figure`: Bayes-rule classifiers beside softmax regression.
"""
import numpy as np

from .. import plots

LABEL_COLOURS = np.array([[0.27, 0.00, 0.33], [0.23, 0.32, 0.55], [0.13, 0.57, 0.55],
                          [0.37, 0.79, 0.38], [0.90, 0.62, 0.00]])
SHORT = {"regressor": "MSE", "autoregressive": "AR", "diffusion": "diffusion", "gan": "GAN"}
TITLES = {"regressor": "regressor (MSE)", "autoregressive": "autoregressive",
          "diffusion": "conditional diffusion", "gan": "conditional GAN"}


def _obstacle_axes(ax, ds, prediction, squares=True):
    plt = plots._plt()
    ax.add_patch(plt.Circle(ds.obstacle_center, ds.obstacle_radius, color="0.75", zorder=0))
    for k, s in enumerate(ds.starts if squares else ()):
        ax.plot([s], [ds.start_height], marker="s", ms=6, color=LABEL_COLOURS[k],
                markeredgecolor="k", zorder=3)
    if prediction is not None:
        for k, p in enumerate(prediction):
            ax.plot([ds.starts[k], p[0]], [ds.start_height, p[1]], color="k", lw=0.6,
                    alpha=0.6, zorder=2)
        ax.scatter(prediction[:, 0], prediction[:, 1], marker="x", s=40, c="k", zorder=4,
                   linewidths=1.5, label="regressor's average")
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-2.3, 0.8)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def obstacle_figure(path, result, max_points=250):
    """Truth and each method's samples, coloured by start (the square below), with the
    regressor's average in every panel."""
    plt = plots._plt()
    ds = result["dataset"]
    methods = list(result["samples"])
    rows = {r["method"]: r for r in result["rows"]}
    fig, axes = plt.subplots(1, len(methods) + 1, figsize=(3.0 * (len(methods) + 1), 2.9))
    rng = np.random.default_rng(0)
    truth = {k: ds.sample_given(np.full(max_points, k), rng) for k in range(ds.num_classes)}
    panels = [("truth p(x|y): left or right", truth)] + [
        (f"{TITLES.get(m, m)}\nlanding {rows[m]['landing']:.2f}, coverage "
         f"{rows[m]['coverage']:.2f}, crash {rows[m]['crash']:.2f}", result["samples"][m])
        for m in methods]
    for ax, (title, per) in zip(np.atleast_1d(axes), panels):
        _obstacle_axes(ax, ds, result["prediction"])
        for k, s in per.items():
            s = np.asarray(s)[:max_points]
            ax.scatter(s[:, 0], s[:, 1], s=3, color=LABEL_COLOURS[k], alpha=0.6, linewidths=0)
        ax.set_title(title, fontsize=8)
    np.atleast_1d(axes)[0].legend(loc="upper left", fontsize=6, frameon=False)
    fig.suptitle("From a start (squares), go around the obstacle: two right answers; "
                 "the regressor's average (x) crashes", fontsize=9)
    return plots._save(fig, path)


def obstacle_continuous_figure(path, result, max_points=600):
    """The obstacle with the start s itself as the condition: samples at random starts,
    coloured by s (the bar of starts below), the regressor's f(s) for every s in [-1, 1]
    as a black curve (inside the obstacle all along), each panel titled with its scores
    at the held-out starts."""
    plt = plots._plt()
    ds = result["dataset"]
    methods = list(result["samples"])
    rows = {r["method"]: r for r in result["rows"]}
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, len(methods) + 1, figsize=(3.0 * (len(methods) + 1), 2.9))
    panels = [("truth p(x|s), s in [-1, 1]", "truth")] + [
        (f"{TITLES.get(m, m)}\nlanding {rows[m]['landing']:.2f}, coverage "
         f"{rows[m]['coverage']:.2f}, crash {rows[m]['crash']:.2f}", m) for m in methods]
    for ax, (title, key) in zip(np.atleast_1d(axes), panels):
        _obstacle_axes(ax, ds, None, squares=False)
        grid = np.linspace(-1.0, 1.0, 50)
        ax.scatter(grid, np.full(len(grid), ds.start_height), c=cmap((grid + 1) / 2), s=12,
                   marker="s", linewidths=0, zorder=3)
        starts, pts = result["sweep"][key]
        starts, pts = np.asarray(starts)[:max_points], np.asarray(pts)[:max_points]
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c=cmap((starts + 1) / 2), alpha=0.7, linewidths=0)
        if result["curve"] is not None:
            _, f = result["curve"]
            ax.plot(f[:, 0], f[:, 1], color="k", lw=1.5, zorder=4,
                    label="regressor's f(s), s in [-1, 1]")
        ax.set_title(title, fontsize=8)
    np.atleast_1d(axes)[0].legend(loc="upper left", fontsize=6, frameon=False)
    fig.suptitle("The start s itself as the condition (colour: s); scores at 8 starts "
                 "between the labelled ones", fontsize=9)
    return plots._save(fig, path)


def _mosaic(images, ncols, pad=1, value=1.0):
    """Images (n, h, w) in [0, 1] tiled row by row, with ``pad`` pixels of ``value``."""
    x = np.asarray(images, np.float64)
    n, h, w = x.shape
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), value)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = x[i]
    return out


def glyph_classes_figure(path, result, per_row=8):
    """One panel per method: row d holds samples for digit d."""
    plt = plots._plt()
    methods = list(result["samples"])
    rows = {r["method"]: r for r in result["rows"]}
    fig, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods), 3.5))
    for ax, m in zip(np.atleast_1d(axes), methods):
        per = result["samples"][m]
        k = min(per_row, min(len(v) for v in per.values()))
        tiles = np.concatenate([np.clip(np.asarray(per[d][:k], np.float64), 0, 1)
                                for d in sorted(per)])
        ax.imshow(_mosaic(tiles, k), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.axis("off")
        r = rows[m]
        ax.set_title(f"{TITLES.get(m, m)}, {r['steps']} steps\nlanding {r['landing']:.2f}, "
                     f"coverage {r['coverage']:.2f}", fontsize=8)
    fig.suptitle("p(glyph | digit): one row per digit 0-9", fontsize=9)
    return plots._save(fig, path)


def completion_figure(path, result, n_inputs=8, per_method=6):
    """Rows: a held-out glyph, its lower half as given, then completions by each method
    (the given half is kept; only the upper half is generated). The title of a row
    names the digits a lower half allows."""
    plt = plots._plt()
    methods = list(result["completions"])
    n_inputs = min(n_inputs, len(result["inputs"]))
    counts = [1 if m == "regressor" else min(per_method, result["completions"][m].shape[1])
              for m in methods]
    ncols = 2 + sum(counts)
    fig, axes = plt.subplots(n_inputs, ncols, figsize=(0.62 * ncols + 0.6, 0.7 * n_inputs + 0.7),
                             squeeze=False)
    fig.subplots_adjust(wspace=0.06, hspace=0.12)
    for i in range(n_inputs):
        given = np.concatenate([np.full((8, 16), 0.35), result["inputs"][i]], axis=0)
        tiles = [(result["truth"][i], "glyph"), (given, "given")]
        for m, c in zip(methods, counts):
            for j in range(c):
                tiles.append((result["completions"][m][i][j], SHORT.get(m, m) if j == 0 else ""))
        for j, (ax, (img, name)) in enumerate(zip(axes[i], tiles)):
            ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0 and name:
                ax.set_title(name, fontsize=6)
        axes[i, 0].set_ylabel(" ".join(map(str, result["plausible"][i])) or "-", fontsize=6,
                              rotation=0, labelpad=12, va="center")
    fig.suptitle("Complete the upper half from the lower half (left labels: digits the "
                 "lower half allows)", fontsize=8)
    return plots._save(fig, path)


def classification_figure(path, rows):
    """Accuracy on test glyphs of each Bayes-rule classifier and of softmax regression."""
    plt = plots._plt()
    rows = [r for r in rows if r.get("accuracy") is not None]
    fig, ax = plt.subplots(figsize=(5.5, 0.45 * len(rows) + 1.0))
    names = [r["classifier"] for r in rows]
    acc = [r["accuracy"] for r in rows]
    err = [1.96 * r.get("accuracy_se", 0.0) for r in rows]
    colours = ["#1f77b4" if "Bayes" in n else "#ff7f0e" for n in names]
    ax.barh(range(len(rows)), acc, xerr=err, color=colours, capsize=3)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    for i, (a, r) in enumerate(zip(acc, rows)):
        ax.text(0.02, i, f"{a:.3f} (n={r['n_test']})", va="center", fontsize=7, color="white")
    ax.set_xlabel("test accuracy (bars: 95% interval)", fontsize=8)
    ax.set_title("p(y|x) by Bayes' rule from p(x|y), beside softmax regression", fontsize=9)
    return plots._save(fig, path)
