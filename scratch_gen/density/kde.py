"""Kernel density estimation: the filing cabinet with its deltas smoothed into bumps.

Parzen (1962), "On estimation of a probability density function and mode": put a small
Gaussian of width h on every training point,

    p_h(x) = 1/N sum_i N(x; x_i, h^2 I),
    log p_h(x) = logsumexp_i(-|x - x_i|^2 / (2 h^2)) - log N - (D/2) log(2 pi h^2).

As h -> 0 each bump becomes a delta function and the KDE *is* the filing cabinet
(Isola L14, "Is the filing cabinet a good generative model?"; He L1, "to the extreme,
using delta functions is like sampling from training data"): the training likelihood
goes to +inf and the likelihood of any unseen point to 0. As h grows the bumps merge
into one blur. The bandwidth is the knob between memorizing and underfitting (He L1,
"overfitting vs. underfitting"), and the lecture's referee picks it: "likelihood of the
test data under the model" (L14, "What's the goal of generative modeling?"). So here a
bandwidth left unset is chosen by the likelihood of held-out training points, never of
the points the bumps sit on (that would always choose h -> 0).

The logsumexp over all pairs is the engine's compiled ``gauss_logsumexp`` kernel.
"""
import math

import numpy as np

from autograd.backend import kernels

from ..common.errors import UserError
from ..registry import Model, register
from .points import as_points, positive


def kde_log_prob(x, centres, h):
    """``log p_h(x)`` of points ``x`` (M, D) under the KDE with ``centres`` (N, D)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    c = np.ascontiguousarray(centres, dtype=np.float64)
    n, d = c.shape
    lse = kernels().gauss_logsumexp(x, c, float(h))
    return lse - math.log(n) - 0.5 * d * math.log(2 * math.pi * h * h)


def bandwidth_grid(x, n=25, lo=1e-3, hi=2.0):
    """``n`` log-spaced bandwidths from ``lo`` to ``hi`` times the data's scale (the
    root-mean-square standard deviation of its coordinates)."""
    scale = float(np.sqrt(np.asarray(x, np.float64).var(axis=0).mean()))
    if not scale > 0:
        raise UserError("all training points are equal; a bandwidth cannot be chosen")
    return scale * np.geomspace(lo, hi, n)


def select_bandwidth(fit_x, valid_x, grid=None, refine=True):
    """The bandwidth maximizing the mean log-likelihood of ``valid_x`` under the KDE on
    ``fit_x``: a log-spaced grid, then (``refine``) a finer grid between the best point's
    neighbours. Returns ``(h, grid, mean log-likelihoods)`` of all points tried."""
    grid = bandwidth_grid(fit_x) if grid is None else np.asarray(grid, dtype=np.float64)
    scores = np.array([kde_log_prob(valid_x, fit_x, h).mean() for h in grid])
    best = int(np.argmax(scores))
    if refine and len(grid) > 2:
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        fine = np.geomspace(lo, hi, 9)[1:-1]
        fine_scores = np.array([kde_log_prob(valid_x, fit_x, h).mean() for h in fine])
        grid, scores = np.concatenate([grid, fine]), np.concatenate([scores, fine_scores])
        order = np.argsort(grid)
        grid, scores = grid[order], scores[order]
        best = int(np.argmax(scores))
    return float(grid[best]), grid, scores


@register("density", "kde")
class KDE(Model):
    description = "kernel density estimate (Parzen windows); bandwidth by held-out likelihood"
    slide = "Isola L14, 'What's the goal of generative modeling?' (test likelihood); Parzen 1962"
    data_kinds = ("continuous",)
    default_steps = 0
    # bandwidth None: chosen by the likelihood of `holdout` of the training set
    default_config = {"bandwidth": None, "holdout": 0.2}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        if self.config["bandwidth"] is not None:
            positive(self.config["bandwidth"], "bandwidth")
        if not 0.0 < float(self.config["holdout"]) < 1.0:
            raise UserError(f"holdout={self.config['holdout']!r}: expected a fraction in (0, 1)")
        self.centres = np.zeros((0, spec.n_dims))
        self.h = None if self.config["bandwidth"] is None else float(self.config["bandwidth"])

    def setup(self, train_x, train_y, rng):
        x = as_points(train_x, self.spec.shape, "training data")
        if self.h is None:
            n_valid = int(round(self.config["holdout"] * len(x)))
            if n_valid < 1 or len(x) - n_valid < 1:
                raise UserError(f"{len(x)} training points are too few to choose a bandwidth "
                                "on held-out ones; give bandwidth=H")
            order = rng.permutation(len(x))
            self.h, _, _ = select_bandwidth(x[order[n_valid:]], x[order[:n_valid]])
        self.centres = x                    # the cabinet's drawers, each now a bump

    def state_dict(self):
        return {"centres": self.centres.copy(), "h": float(self.h if self.h is not None else 0.0)}

    def load_state_dict(self, state):
        self.centres = np.array(state["centres"], dtype=np.float64)
        self.h = float(state["h"])

    def log_prob(self, x, y=None):
        if not len(self.centres):
            raise UserError("the KDE has no training points yet; fit it first")
        return kde_log_prob(as_points(x, self.spec.shape), self.centres, self.h)

    def sample(self, n, rng, label=None, **options):
        """Pick a drawer at random (the filing cabinet's ``generate``), then add the
        bump's noise: ``x_i + h z`` with ``z ~ N(0, I)``."""
        self.check_label(label)
        if not len(self.centres):
            raise UserError("the KDE has no training points yet; fit it first")
        i = rng.integers(len(self.centres), size=n)
        x = self.centres[i] + self.h * rng.standard_normal((n, self.centres.shape[1]))
        return x.reshape((n,) + self.spec.shape)

    def evaluate(self, test, dataset):
        return {"bandwidth": self.h}
