"""Pictures of Bayes' rule both ways (He L1, "Discriminative vs. generative models");
each function writes one PNG and returns its path."""
import numpy as np

from .. import plots

CLASS_COLOURS = np.array([[0.12, 0.47, 0.71], [0.84, 0.15, 0.16], [0.17, 0.63, 0.17]])


def _regions(ax, predict, lo, hi, n=200):
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    pred = np.asarray(predict(np.stack([gx.ravel(), gy.ravel()], 1))).reshape(n, n)
    ax.imshow(0.35 * CLASS_COLOURS[pred] + 0.65, origin="lower",
              extent=(lo[0], hi[0], lo[1], hi[1]), aspect="equal")


def toy_figure(path, result, max_points=600):
    """The 3-class toy: the true class conditionals p(x|y) as contours over the data
    (left), then the decision regions of Bayes' rule with the true densities (the
    Bayes classifier), with fitted Gaussians, with KDEs, and of softmax regression, each
    titled with its accuracy next to the Bayes rate."""
    plt = plots._plt()
    toy = result["toy"]
    x, y = result["test"]
    x, y = x[:max_points], y[:max_points]
    lo, hi = np.array([-4.0, -4.0]), np.array([4.0, 3.5])
    rows = result["rows"]
    fig, axes = plt.subplots(1, len(rows) + 1, figsize=(3.4 * (len(rows) + 1), 3.8))
    ax = axes[0]
    xs, ys = np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200)
    gx, gy = np.meshgrid(xs, ys)
    lik = toy.log_px_given_y(np.stack([gx.ravel(), gy.ravel()], 1))
    for k in range(3):
        ax.contour(xs, ys, np.exp(lik[:, k]).reshape(gx.shape), levels=4,
                   colors=[CLASS_COLOURS[k]], linewidths=0.8)
    ax.scatter(x[:, 0], x[:, 1], s=4, c=CLASS_COLOURS[y], linewidths=0)
    ax.set_title(f"p(x|y) (contours), p(y) = {', '.join(f'{p:g}' for p in toy.priors)}",
                 fontsize=8)
    for ax, row in zip(axes[1:], rows):
        _regions(ax, row["model"].predict, lo, hi)
        ax.scatter(x[:, 0], x[:, 1], s=4, c=CLASS_COLOURS[y], linewidths=0)
        extra = (f"\nexpected acc {row['expected_accuracy']:.4f}"
                 if "expected_accuracy" in row else "")
        ax.set_title(f"{row['classifier']}\ntest acc {row['accuracy']:.4f} / Bayes "
                     f"{result['bayes_rate']:.4f}{extra}", fontsize=8)
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("He L1: p(y|x) = p(x|y) p(y) / p(x). Generative classifiers (Bayes' rule) "
                 "vs a discriminative one (softmax regression); regions = predicted class",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return plots._save(fig, path)


def glyphs_figure(path, result, rng, per_class=6):
    """On glyphs: the generative classifier is still generative. Its samples ``x ~
    p(x|y)`` for each digit (one row per class: Gaussian p(x|y), which draws blurry but
    recognisable digits), next to every classifier's test accuracy."""
    plt = plots._plt()
    gen = result["rows"][0]["model"]
    fig, axes = plt.subplots(10, per_class + 1, figsize=(0.95 * (per_class + 1) + 3.2, 10.5))
    test = result["test"]
    for k in range(10):
        real = test.x[np.flatnonzero(test.y == k)[:1]]
        axes[k, 0].imshow(real[0], cmap="gray", vmin=0, vmax=1)
        samples = np.clip(gen.sample(per_class, rng, label=k), 0, 1)
        for j in range(per_class):
            axes[k, j + 1].imshow(samples[j], cmap="gray", vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].set_title("data", fontsize=8)
    axes[0, 1 + per_class // 2].set_title("x ~ p(x | y) (Gaussian)", fontsize=8)
    text = "\n".join(f"{r['classifier']}:\n  test acc {r['accuracy']:.4f}, "
                     f"label NLL {r['label_nll']:.4f}" for r in result["rows"])
    fig.text(0.70, 0.5, text, fontsize=8, va="center", family="monospace")
    fig.subplots_adjust(right=0.68, top=0.93, wspace=0.05, hspace=0.05)
    fig.suptitle("glyphs: the generative classifier classifies (Bayes' rule) and still "
                 "samples each class", fontsize=10)
    return plots._save(fig, path)


def reverse_figure(path, table):
    """He L1's second line, p(x|y) = p(y|x) p(x) / p(y), on the discrete toy: the
    discriminative table p(y|x) and the prior p(x) it "still needs" give the
    generative table p(x|y); with a learned p(y|x) (softmax regression) too."""
    plt = plots._plt()
    panels = [("p(y|x) (each row sums to 1)", table["p_y_given_x"]),
              ("p(x) (the prior it needs)", table["p_x"][:, None]),
              ("p(x|y) = p(y|x) p(x) / p(y) (columns sum to 1)", table["p_x_given_y"]),
              ("learned p(y|x) (softmax regr.)", table["learned_p_y_given_x"]),
              ("p(x|y) from the learned p(y|x)", table["learned_p_x_given_y"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.6),
                             gridspec_kw={"width_ratios": [3, 1.2, 3, 3, 3]})
    for ax, (name, m) in zip(axes, panels):
        ax.imshow(m, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 else "black")
        ax.set_title(name, fontsize=8)
        ax.set_yticks(range(m.shape[0]), [f"x={i}" for i in range(m.shape[0])], fontsize=7)
        ax.set_xticks(range(m.shape[1]), [f"y={j}" for j in range(m.shape[1])]
                      if m.shape[1] > 1 else [""], fontsize=7)
    fig.suptitle("He L1: 'can discriminative models be generative?' p(x|y) = p(y|x) p(x) / "
                 "p(y): 'still need to model prior'", fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)
