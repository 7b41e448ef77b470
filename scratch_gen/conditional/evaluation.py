"""Scoring p(x|y) against the truth: does each output land in a right answer, and are all
right answers reached?

He L1: "there are multiple or infinite predictions to one input; some predictions are
more plausible than some others". A conditional model is judged on both halves of that
sentence, for each input y:

- **mode-landing rate** (precision): the fraction of its outputs for y that lie in a
  true mode of p(x|y). On the obstacle toy a mode is a Gaussian, and an output lands
  when it is within 3 standard deviations of the centre (PacGAN's "high quality", Lin
  et al. 2018, section 5; a perfect sampler lands with probability 1 - exp(-9/2) =
  0.9889 in 2D). On images, where no mode is written down, an output lands when it is as
  close to a real example of y as 95% of fresh real examples of y are (nearest-neighbour
  distance in pixel space, threshold calibrated per class on held-out data);
- **coverage per input** (recall): of the right answers for y, the fraction reached by
  at least one landed output (PacGAN's "modes captured", per input); on images, the
  fraction of fresh real examples of y that have a landed output within the same
  distance (the "coverage" of Naeem et al. 2020), and for completions the fraction of
  the plausible digits (those a k-nearest-neighbour look-up of the given lower half
  finds) reached by some completion;
- **mode weights**: the share of landed outputs per mode against the true weights
  ("more plausible than others"): |share_right - w_right| averaged over inputs;
- **conditional NLL** ``-E log p(x|y)`` where the model has a density, and with the
  dataset's ``H(X|Y)`` its KL to the truth, ``E_y KL(p(x|y) || q(x|y))`` (Isola L14,
  "max likelihood = min KL", one y at a time);
- for the regressor: the distance of its prediction to the nearest true mode (in
  units and in mode standard deviations), and whether it is inside the obstacle.

And classification as a generative model (He L1, "Case study: classification"; "x:
probability of classes conditioned on the image"): any label-conditional density gives a
Bayes-rule classifier ``argmax_y log q(x|y) + log p(y)`` (:func:`bayes_accuracy`).
"""
import math

import numpy as np

from .. import metrics
from ..common.errors import UserError
from .condition import logsumexp_rows

CHI2_3SD = 1.0 - math.exp(-4.5)     # a perfect 2D sampler's landing rate at 3 std


# ----------------------------------------------------------------- the obstacle toy

def land(samples, centers, std, threshold=3.0):
    """``(landed, nearest)`` for samples (n, D) and their own modes ``centers`` (n, M, D)
    (or shared (M, D)): within ``threshold`` std of the nearest centre, and its index."""
    x = np.asarray(samples, np.float64)
    c = np.asarray(centers, np.float64)
    if c.ndim == 2:
        c = np.broadcast_to(c, (len(x),) + c.shape)
    d2 = ((x[:, None, :] - c) ** 2).sum(-1)
    nearest = d2.argmin(axis=1)
    return d2[np.arange(len(x)), nearest] <= (threshold * std) ** 2, nearest


def obstacle_scores(samples_by_label, dataset):
    """Mode landing, coverage and weights per start, for ``{label: samples (n, 2)}``.

    Returns ``landing`` (mean over starts), ``coverage`` (mean fraction of the two
    modes captured), ``weight_error`` (mean |share of landed outputs on the right -
    true w_R|), ``crash`` (fraction inside the obstacle), and ``per_input`` rows."""
    rows = []
    for label, s in sorted(samples_by_label.items()):
        s = np.asarray(s, np.float64).reshape(len(s), 2)
        centers, weights = dataset.modes(np.full(len(s), label))
        landed, nearest = land(s, centers, dataset.std)
        counts = np.bincount(nearest[landed], minlength=2)
        share = counts[1] / counts.sum() if counts.sum() else math.nan
        rows.append({"label": int(label), "start": float(dataset.starts[label]),
                     "landing": float(landed.mean()), "modes": int((counts > 0).sum()),
                     "coverage": float((counts > 0).mean()), "share_right": float(share),
                     "true_right": float(weights[0, 1]),
                     "crash": float((dataset.crash_margin(s) > 0).mean())})
    errors = [abs(r["share_right"] - r["true_right"]) for r in rows]
    return {"landing": float(np.mean([r["landing"] for r in rows])),
            "coverage": float(np.mean([r["coverage"] for r in rows])),
            "weight_error": float(np.mean(errors)) if all(map(math.isfinite, errors)) else math.nan,
            "crash": float(np.mean([r["crash"] for r in rows])),
            "per_input": rows}


def regressor_distance(predictions, labels, dataset):
    """For one prediction per label: distance to the nearest true mode of p(x|y), in
    data units and in mode std, and whether it lies inside the obstacle (a crash)."""
    p = np.asarray(predictions, np.float64).reshape(len(predictions), 2)
    centers, _ = dataset.modes(np.asarray(labels))
    d = np.sqrt(((p[:, None, :] - centers) ** 2).sum(-1)).min(axis=1)
    return {"distance": float(d.mean()), "distance_std": float(d.mean() / dataset.std),
            "crash": float((dataset.crash_margin(p) > 0).mean()),
            "per_input": d.tolist()}


def conditional_nll(model, x, y, dataset=None):
    """``-E log q(x|y)`` in nats per example with its standard error, and with the
    dataset's ``H(X|Y)`` the KL to the truth; None where the model has no density."""
    if not model.has("log_prob"):
        return {"conditional_nll": None, "conditional_nll_se": None, "conditional_kl": None}
    nll, se = metrics.mean_se(-np.asarray(model.log_prob(x, y), np.float64))
    out = {"conditional_nll": nll, "conditional_nll_se": se, "conditional_kl": None}
    if dataset is not None and hasattr(dataset, "conditional_entropy"):
        h = dataset.conditional_entropy()
        out["conditional_entropy"] = h
        out["conditional_kl"] = nll - h
    return out


# ---------------------------------------------------------------------- images

def _flat(x):
    return np.asarray(x, np.float64).reshape(len(x), -1)


def _sq_distances(a, b):
    """(len(a), len(b)) squared distances, by ``|a|^2 - 2 a.b + |b|^2`` (no (n, m, D)
    temporary), clipped at 0 against rounding."""
    d2 = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.maximum(d2, 0.0)


def binary_view(x):
    """What a binary-pixel model's outputs are compared in: pixels thresholded at 1/2."""
    return (_flat(x) > 0.5).astype(np.float64)


class ImageModes:
    """Nearest-neighbour modes of a labelled image set (see the module docstring).

    ``reference`` (x, y) are the real examples outputs are compared to; ``heldout``
    (x, y) calibrate the per-class threshold (the ``quantile`` of their distances to the
    reference) and are the examples coverage asks about. ``view`` maps images to the
    space compared in (identity, or :func:`binary_view` for a binary model)."""

    def __init__(self, reference, heldout, view=None, quantile=0.95):
        self.view = view or _flat
        rx, ry = reference
        hx, hy = heldout
        self.ref_x, self.ref_y = self.view(rx), np.asarray(ry).reshape(-1)
        self.held_x, self.held_y = self.view(hx), np.asarray(hy).reshape(-1)
        self.classes = np.unique(self.ref_y)
        self.tau = {}
        for k in self.classes:
            d = metrics.nn_distances(self.held_x[self.held_y == k], self.ref_x[self.ref_y == k])
            self.tau[int(k)] = float(np.quantile(d, quantile))

    def scores(self, samples_by_label):
        """``landing`` and ``coverage`` (means over classes) and their per-class rows."""
        rows = []
        for k, s in sorted(samples_by_label.items()):
            v = self.view(s)
            tau = self.tau[int(k)]
            landed = metrics.nn_distances(v, self.ref_x[self.ref_y == k]) <= tau
            held = self.held_x[self.held_y == k]
            cover = (metrics.nn_distances(held, v[landed]) <= tau).mean() if landed.any() else 0.0
            rows.append({"label": int(k), "landing": float(landed.mean()),
                         "coverage": float(cover)})
        return {"landing": float(np.mean([r["landing"] for r in rows])),
                "coverage": float(np.mean([r["coverage"] for r in rows])), "per_input": rows}


class Completions:
    """Lower half -> glyph: which digits a lower half allows, and whether completions
    reach them.

    ``reference`` (x, y) full real glyphs. A given lower half's *plausible digits* are
    those holding at least ``min_share`` of its ``k`` nearest reference lower halves (a
    k-nearest-neighbour estimate of p(digit | lower half)). A completion (generated upper
    half + the given lower half) *lands* when it is within the distance of the
    ``quantile`` of held-out real glyphs to the reference; it *reaches* the digit of its
    nearest reference glyph."""

    def __init__(self, reference, heldout_x, rows=8, k=20, min_share=0.15, quantile=0.95,
                 view=None):
        self.view = view or _flat
        self.rows, self.k, self.min_share = rows, k, min_share
        rx, ry = reference
        self.ref_full = self.view(rx)
        self.ref_low = _flat(np.asarray(rx)[:, rows:])
        self.ref_y = np.asarray(ry).reshape(-1)
        d = metrics.nn_distances(self.view(heldout_x), self.ref_full)
        self.tau = float(np.quantile(d, quantile))

    def plausible(self, lower):
        """Per lower half, the sorted list of plausible digits."""
        d2 = _sq_distances(_flat(lower), self.ref_low)
        near = np.argsort(d2, axis=1)[:, :self.k]
        out = []
        for idx in near:
            share = np.bincount(self.ref_y[idx], minlength=10) / self.k
            out.append(sorted(int(c) for c in np.flatnonzero(share >= self.min_share)))
        return out

    def nearest(self, full):
        """(distance, digit) of each full glyph's nearest reference glyph."""
        v = self.view(full)
        j = _sq_distances(v, self.ref_full).argmin(axis=1)
        return np.sqrt(((v - self.ref_full[j]) ** 2).sum(1)), self.ref_y[j]

    def scores(self, lowers, completions):
        """``lowers`` (M, rows', W); ``completions`` (M, n, H, W) full glyphs. Landing and
        coverage over all inputs, and over the ambiguous ones (two or more plausible
        digits), where a regressor must fail."""
        plaus = self.plausible(lowers)
        rows = []
        for lower_ok, comp in zip(plaus, completions):
            d, digit = self.nearest(comp)
            landed = d <= self.tau
            reached = set(int(c) for c in digit[landed])
            cover = len(reached & set(lower_ok)) / len(lower_ok) if lower_ok else math.nan
            rows.append({"plausible": lower_ok, "landing": float(landed.mean()),
                         "coverage": cover, "reached": sorted(reached)})
        amb = [r for r in rows if len(r["plausible"]) >= 2]
        mean = lambda rs, key: float(np.nanmean([r[key] for r in rs])) if rs else math.nan
        return {"landing": mean(rows, "landing"), "coverage": mean(rows, "coverage"),
                "ambiguous_inputs": len(amb), "coverage_ambiguous": mean(amb, "coverage"),
                "landing_ambiguous": mean(amb, "landing"), "per_input": rows}


# ------------------------------------------------------------ classification

def class_log_likelihoods(model, x, num_classes, strata=None):
    """``(n, K)``: ``log q(x | y = k)`` from a label-conditional model. The chapter's own
    models compute it in one call; others go through ``log_prob(x, y)`` class by class
    (a diffusion model's is its variational bound, Ho et al. eq. 5: a lower bound on
    log q, with the same internal noise for every class, so the comparison across
    classes is paired; ``strata`` sets how many t's per example it uses)."""
    if hasattr(model, "log_likelihoods"):
        return model.log_likelihoods(x)
    if not model.has("log_prob"):
        raise UserError(f"{model.name()} gives no density; it cannot classify by Bayes' rule")
    cols = []
    for k in range(num_classes):
        y = np.full(len(x), k, dtype=np.int64)
        if strata is not None and hasattr(model, "bound_terms"):
            cols.append(-model.bound_terms(x, y, n_strata=strata)["total"])
        else:
            cols.append(model.log_prob(x, y))
    return np.stack(cols, axis=1)


def bayes_accuracy(model, x, y, num_classes, log_prior=None, strata=None):
    """Accuracy (and its standard error) of ``argmax_y log q(x|y) + log p(y)``, with the
    label-posterior NLL ``-log q(y|x)`` (He L1: "generative models can be
    discriminative: Bayes' rule")."""
    ll = class_log_likelihoods(model, x, num_classes, strata)
    log_prior = np.full(num_classes, -math.log(num_classes)) if log_prior is None else log_prior
    joint = ll + np.asarray(log_prior, np.float64)
    post = joint - logsumexp_rows(joint)[:, None]
    y = np.asarray(y).reshape(-1)
    acc, se = metrics.accuracy(joint.argmax(axis=1), y)
    return {"accuracy": acc, "accuracy_se": se,
            "label_nll": float(-post[np.arange(len(y)), y].mean())}
