"""The density family's pictures, each after a slide; every function writes one PNG
and returns its path (matplotlib through scratch_gen.plots: headless, closed after
saving; data in green, model in red, as Isola L14 draws them)."""
import math

import numpy as np

from .. import plots

GREEN, RED, BLUE = plots.GREEN, plots.RED, "#1f77b4"


def _grid(lo, hi, n):
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], 1)


def density_panels(path, models, data, lo, hi, n=160, vmin=-8.0, title=None):
    """Isola L14, "Density models": p_theta: X -> [0, inf), drawn as log p_theta on the
    plane, one panel per ``(name, model)``, on one colour scale (log p below ``vmin``
    is drawn as ``vmin``; log p = -inf, zero density, is left white). The filing
    cabinet is white everywhere but its drawers, drawn as red dots: delta functions,
    infinitely high where the training points are."""
    plt = plots._plt()
    xs, ys, pts = _grid(lo, hi, n)
    fig, axes = plt.subplots(1, len(models), figsize=(3.3 * len(models) + 0.8, 3.6),
                             squeeze=False)
    im = None
    for ax, (name, model) in zip(axes[0], models):
        lp = np.asarray(model.log_prob(pts), dtype=np.float64).reshape(n, n)
        finite = np.isfinite(lp)
        shown = np.ma.masked_array(np.maximum(np.where(finite, lp, vmin), vmin), mask=~finite)
        vmax = max(1.0, float(np.nanmax(np.where(finite, lp, -np.inf))) if finite.any() else 1.0)
        im = ax.imshow(shown, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]),
                       cmap="viridis", vmin=vmin, vmax=vmax, aspect="equal")
        if not finite.any():
            cab = np.asarray(getattr(model, "cabinet", []), dtype=np.float64).reshape(-1, 2)
            ax.scatter(cab[:2000, 0], cab[:2000, 1], s=2, c=RED, linewidths=0)
            ax.text(0.5, 0.5, "log p = -inf off\nthe drawers,\n+inf on them", fontsize=7,
                    ha="center", va="center", transform=ax.transAxes)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if im is not None:
        fig.colorbar(im, ax=list(axes[0]), fraction=0.02, pad=0.01, label="log p(x)")
    if title:
        fig.suptitle(title, fontsize=10)
    return plots._save(fig, path)


def deltas_figure(path, train, test, truth_log_pdf, bandwidths, lo=-4.0, hi=4.0):
    """He L1, "to the extreme, using delta functions is like sampling from training
    data", in one dimension: the true density (black), KDEs of shrinking bandwidth, and
    at h = 0 the filing cabinet, drawn as arrows: each delta function is infinitely high
    at its training point and zero everywhere else, so the test points (crosses) get
    density 0."""
    from .kde import kde_log_prob
    plt = plots._plt()
    xs = np.linspace(lo, hi, 1200)
    fig, axes = plt.subplots(len(bandwidths) + 1, 1, figsize=(7, 1.6 * (len(bandwidths) + 1)),
                             sharex=True)
    truth = np.exp(truth_log_pdf(xs))
    tr, te = np.asarray(train, float).reshape(-1, 1), np.asarray(test, float).reshape(-1, 1)
    for ax, h in zip(axes, list(bandwidths) + [0.0]):
        ax.plot(xs, truth, color="k", lw=1, label="p_data")
        if h > 0:
            p = np.exp(kde_log_prob(xs[:, None], tr, h))
            ax.plot(xs, p, color=RED, lw=1.3, label=f"KDE, h = {h:g}")
            test_nll = float(-kde_log_prob(te, tr, h).mean())
            ax.set_ylim(0, max(1.15 * truth.max(), min(1.15 * p.max(), 4 * truth.max())))
            ax.text(0.99, 0.92, f"test NLL {test_nll:.2f}", transform=ax.transAxes,
                    ha="right", va="top", fontsize=8)
        else:
            top = 1.15 * truth.max()
            for x in tr[:, 0]:
                ax.annotate("", xy=(x, top), xytext=(x, 0),
                            arrowprops=dict(arrowstyle="->", color=RED, lw=1))
            ax.plot([], [], color=RED, label="filing cabinet: 1/N sum_i delta(x - x_i)")
            ax.set_ylim(0, top)
            ax.text(0.99, 0.92, "test NLL +inf", transform=ax.transAxes, ha="right",
                    va="top", fontsize=8)
        ax.scatter(tr[:, 0], np.zeros(len(tr)), s=14, c=GREEN, zorder=3, label="train")
        ax.scatter(te[:, 0], np.zeros(len(te)), s=18, c="k", marker="x", zorder=3,
                   label="test")
        ax.legend(loc="upper left", fontsize=7, ncol=2)
        ax.set_yticks([])
    axes[-1].set_xlabel("x")
    fig.suptitle("He L1: 'to the extreme, using delta functions is like sampling from "
                 "training data' (h -> 0 is the filing cabinet)", fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)


def bandwidth_sweep_figure(path, sweep, title=None):
    """Isola L14, "likelihood of the test data under the model": train and test NLL of
    the KDE against its bandwidth. Left: the whole range on a symmetric-log scale, with
    the limit h -> 0 (the filing cabinet: train NLL -inf, test NLL +inf) marked.
    Right: the bottom of the U next to the data's entropy, the best any model can do."""
    plt = plots._plt()
    h, tr, te = sweep["bandwidth"], sweep["train_nll"], sweep["test_nll"]
    b = sweep["best"]
    ent = sweep.get("entropy")
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.plot(h, tr, "o-", color=BLUE, ms=3, label="train NLL")
    ax.plot(h, te, "o-", color=RED, ms=3, label="test NLL")
    if ent is not None:
        ax.axhline(ent, color="k", ls="--", lw=1, label=f"entropy H = {ent:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10)
    ax.annotate("h -> 0: the filing cabinet,\ntest NLL -> +inf", xy=(h[0], te[0]),
                xytext=(0.3, 0.9), textcoords="axes fraction", fontsize=8, va="top",
                arrowprops=dict(arrowstyle="->", color=RED))
    ax.annotate("train NLL -> -inf", xy=(h[0], tr[0]), xytext=(0.08, 0.12),
                textcoords="axes fraction", fontsize=8,
                arrowprops=dict(arrowstyle="->", color=BLUE))
    ax.set_xlabel("bandwidth h")
    ax.set_ylabel("NLL (nats per example, symlog scale)")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("overfit (left) ... underfit (right)", fontsize=9)
    lo, hi = max(b - 4, 0), min(b + 5, len(h))
    se = sweep.get("test_nll_se")
    zoom.errorbar(h[lo:hi], te[lo:hi], yerr=None if se is None else 2 * se[lo:hi], fmt="o-",
                  color=RED, ms=3, capsize=2, label="test NLL (+-2 s.e.)")
    zoom.plot(h[lo:hi], tr[lo:hi], "o-", color=BLUE, ms=3, label="train NLL")
    if ent is not None:
        zoom.axhline(ent, color="k", ls="--", lw=1, label="entropy of the data")
        zoom.annotate(f"best: h = {h[b]:.3g}\ntest NLL {te[b]:.3f} = H + {te[b] - ent:.3f}",
                      xy=(h[b], te[b]), xytext=(0.4, 0.7), textcoords="axes fraction",
                      fontsize=8, arrowprops=dict(arrowstyle="->"))
    zoom.set_xscale("log")
    zoom.xaxis.set_minor_formatter(plt.NullFormatter())
    zoom.set_xlabel("bandwidth h")
    zoom.legend(fontsize=8, loc="upper left")
    zoom.set_title("the bottom of the U", fontsize=9)
    fig.suptitle(title or "Isola L14: 'likelihood of the test data under the model'",
                 fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)


def mle_kl_figure(path, p_hat, thetas, entropy_value):
    """Isola L14, "Density models", on a categorical: along gradient ascent (left) the
    KL to the empirical distribution and the NLL fall together, their difference fixed
    at -H(p_hat); the model's probabilities end at the count frequencies (right)."""
    from .categorical import kl, log_softmax
    plt = plots._plt()
    kls = np.array([kl(p_hat, np.exp(log_softmax(t))) for t in thetas])
    nlls = np.array([-(p_hat * log_softmax(t)).sum() for t in thetas])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    steps = np.arange(len(thetas))
    a.plot(steps, nlls, color=RED, label="NLL(theta)")
    a.plot(steps, kls, color=BLUE, label="KL(p_hat || p_theta)")
    a.plot(steps, kls - nlls, color="k", ls="--",
           label=f"KL - NLL = -H(p_hat) = {-entropy_value:.4f}")
    a.set_xscale("symlog", linthresh=1)
    a.set_xlabel("gradient-ascent step")
    a.set_ylabel("nats")
    a.legend(fontsize=8)
    a.set_title("max likelihood = min KL: the two differ by a constant", fontsize=9)
    k = len(p_hat)
    w = 0.27
    b.bar(np.arange(k) - w, np.exp(log_softmax(thetas[0])), w, color="0.7",
          label="p_theta at start")
    b.bar(np.arange(k), np.exp(log_softmax(thetas[-1])), w, color=RED,
          label="p_theta at the end")
    b.bar(np.arange(k) + w, p_hat, w, color=GREEN, label="count frequencies p_hat")
    b.set_xlabel("value")
    b.legend(fontsize=8)
    b.set_title("the argmax is the count frequencies", fontsize=9)
    fig.suptitle("Isola L14, 'Density models': argmin KL(p_data, p_theta) = argmax "
                 "E[log p_theta(x)]", fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)


def _ellipse(ax, mean, cov, color, ls="-"):
    w, v = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * math.pi, 100)
    pts = mean + (v @ (2 * np.sqrt(w)[:, None] * np.stack([np.cos(t), np.sin(t)]))).T
    ax.plot(pts[:, 0], pts[:, 1], color=color, ls=ls, lw=1.3)


def em_vs_gradient_figure(path, x, em_fit, grad_fit):
    """Two ways up the same hill (Dempster et al. 1977; autograd + Adam): the mean
    log-likelihood along each (left), and the fitted components as 2-sigma ellipses on
    the data (right): EM solid, gradient ascent dashed, on top of each other."""
    plt = plots._plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    he, hg = em_fit[3], grad_fit[3]
    a.plot(np.arange(1, len(he) + 1), he, "o-", ms=3, color=BLUE, label="EM rounds")
    a.plot(np.arange(1, len(hg) + 1), hg, color=RED, label="Adam steps (autograd)")
    a.set_xscale("log")
    a.set_ylim(min(he[0], hg[0]) - 0.1, max(he[-1], hg[-1]) + 0.05 * abs(he[-1] - he[0]) + 0.01)
    a.set_xlabel("iteration")
    a.set_ylabel("mean log-likelihood (nats)")
    a.legend(fontsize=8)
    a.set_title(f"end: EM {he[-1]:.8f}, gradient {hg[-1]:.8f}", fontsize=9)
    b.scatter(x[:, 0], x[:, 1], s=4, c=GREEN, alpha=0.5, linewidths=0)
    for k in range(len(em_fit[0])):
        _ellipse(b, em_fit[1][k], em_fit[2][k], BLUE)
        _ellipse(b, grad_fit[1][k], grad_fit[2][k], RED, ls="--")
    b.set_aspect("equal")
    b.set_title("components (2 sigma): EM solid blue, gradient dashed red", fontsize=9)
    fig.suptitle("A mixture of Gaussians by EM and by gradient ascent: the same optimum",
                 fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)


def memorization_figure(path, rows, title=None):
    """The memorization table as bars: copy rate, nearest-neighbour distance of samples
    to the training set relative to fresh data's, and coverage of the test set."""
    plt = plots._plt()
    names = [r["model"] for r in rows]
    ratio = [r["nn_distance"] / r["nn_distance_test"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 0.45 * len(rows) + 1.6), sharey=True)
    for ax, vals, label in zip(axes, ([r["copy_rate"] for r in rows], ratio,
                                      [r["coverage"] for r in rows]),
                               ("copy rate (He L1: delta functions)",
                                "NN distance to train / fresh data's",
                                "coverage of the test set (Naeem et al. 2020)")):
        ax.barh(np.arange(len(rows)), vals, color=[RED if n.startswith("filing") else BLUE
                                                   for n in names])
        ax.set_title(label, fontsize=9)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=7)
    axes[0].set_yticks(np.arange(len(rows)), names, fontsize=8)
    axes[0].invert_yaxis()
    axes[1].axvline(1.0, color="k", ls="--", lw=1)
    fig.suptitle(title or "Memorization: copies of the training set vs new data", fontsize=10)
    fig.tight_layout()
    return plots._save(fig, path)
