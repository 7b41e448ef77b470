"""The histogram: the oldest density estimate, and a filing cabinet with coarse drawers.

Cut a box around the training data into ``bins`` equal cells per axis and call the
density in a cell its share of the points divided by the cell's volume:

    p(x) = (count(cell(x)) + alpha) / ((N + alpha B) * volume),   B = bins^D cells,

zero outside the box. With ``alpha = 0`` this is the maximum-likelihood density among
all functions constant on the cells (the same counting argument as a categorical's MLE,
tests/density/test_mle_is_min_kl.py), and a test point in an empty cell gets log p =
-inf: as the cells shrink it becomes the filing cabinet (Isola L14, "Is the filing
cabinet a good generative model?"), as they grow one flat block (He L1, "overfitting vs.
underfitting"). The pseudo-count ``alpha`` (default 0.5, Krichevsky & Trofimov 1981)
gives every cell in the box some mass, so one unlucky test point does not make the test
NLL infinite. The density is honest at the edges: outside the box it is 0 and log p is
-inf, never a large finite number.

Only counts of occupied cells are stored, so memory grows with N, not with bins^D; but
the cells themselves grow as bins^D, which is why nobody uses histograms beyond a few
dimensions (the curse of dimensionality), and why ``B`` must stay below 2^62 here.
"""
import math

import numpy as np

from ..common.errors import UserError
from ..registry import Model, register
from .points import as_points


@register("density", "histogram")
class Histogram(Model):
    description = "histogram on a box around the data, bins per axis, add-alpha counts"
    slide = "Isola L14, 'Density models'; He L1, 'overfitting vs. underfitting'"
    data_kinds = ("continuous",)
    default_steps = 0
    # pad: the box is the data's range widened by this fraction of it on each side
    default_config = {"bins": 32, "alpha": 0.5, "pad": 0.25}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        bins, d = self.config["bins"], spec.n_dims
        if bins < 1:
            raise UserError(f"bins={bins}: expected an integer >= 1")
        if d * math.log2(bins) >= 62:
            raise UserError(f"bins={bins} in {d} dimensions makes {bins}^{d} cells; a histogram "
                            "needs bins^D < 2^62 (use density --model kde in high dimensions)")
        if self.config["alpha"] < 0 or self.config["pad"] < 0:
            raise UserError(f"alpha={self.config['alpha']}, pad={self.config['pad']}: "
                            "expected numbers >= 0")
        self.lo = np.zeros(d)
        self.width = np.ones(d)                 # cell width per axis
        self.cells = np.zeros(0, dtype=np.int64)   # sorted flat indices of occupied cells
        self.counts = np.zeros(0, dtype=np.int64)
        self.n = 0

    def _cell(self, x):
        """Flat cell index of each point, and whether it lies inside the box."""
        bins = self.config["bins"]
        i = np.floor((x - self.lo) / self.width).astype(np.int64)
        inside = ((i >= 0) & (i < bins)).all(axis=1)
        i = np.clip(i, 0, bins - 1)
        flat = np.zeros(len(x), dtype=np.int64)
        for axis in range(x.shape[1]):
            flat = flat * bins + i[:, axis]
        return flat, inside

    def setup(self, train_x, train_y, rng):
        x = as_points(train_x, self.spec.shape, "training data")
        lo, hi = x.min(axis=0), x.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        self.lo = lo - self.config["pad"] * span
        self.width = span * (1 + 2 * self.config["pad"]) / self.config["bins"]
        flat, _ = self._cell(x)
        self.cells, self.counts = np.unique(flat, return_counts=True)
        self.n = len(x)

    def state_dict(self):
        return {"lo": self.lo.copy(), "width": self.width.copy(), "cells": self.cells.copy(),
                "counts": self.counts.copy(), "n": int(self.n)}

    def load_state_dict(self, state):
        self.lo = np.array(state["lo"], dtype=np.float64)
        self.width = np.array(state["width"], dtype=np.float64)
        self.cells = np.array(state["cells"], dtype=np.int64)
        self.counts = np.array(state["counts"], dtype=np.int64)
        self.n = int(state["n"])

    def log_prob(self, x, y=None):
        x = as_points(x, self.spec.shape)
        flat, inside = self._cell(x)
        count = np.zeros(len(x), dtype=np.int64)
        if len(self.cells):
            j = np.minimum(np.searchsorted(self.cells, flat), len(self.cells) - 1)
            hit = self.cells[j] == flat
            count[hit] = self.counts[j[hit]]
        alpha = self.config["alpha"]
        n_cells = float(self.config["bins"]) ** x.shape[1]
        log_volume = float(np.log(self.width).sum())
        with np.errstate(divide="ignore"):
            lp = np.log(count + alpha) - math.log(self.n + alpha * n_cells) - log_volume
        return np.where(inside, lp, -np.inf)

    def sample(self, n, rng, label=None, **options):
        """A cell with probability (count + alpha) / (N + alpha B), then a uniform point
        in it. With alpha > 0 the empty cells share ``alpha B / (N + alpha B)`` of the
        mass, drawn uniformly over all B cells (occupied ones included, whose count
        part is drawn separately)."""
        self.check_label(label)
        bins, d = self.config["bins"], self.spec.n_dims
        alpha = self.config["alpha"]
        n_cells = float(bins) ** d
        p_smooth = alpha * n_cells / (self.n + alpha * n_cells)
        smooth = rng.random(n) < p_smooth
        cell = self.cells[rng.choice(len(self.cells), size=n, p=self.counts / self.n)]
        # a uniform cell: one uniform index per axis
        idx = rng.integers(0, bins, size=(n, d))
        flat_uniform = np.zeros(n, dtype=np.int64)
        for axis in range(d):
            flat_uniform = flat_uniform * bins + idx[:, axis]
        cell = np.where(smooth, flat_uniform, cell)
        coords = np.empty((n, d), dtype=np.int64)
        rest = cell.copy()
        for axis in range(d - 1, -1, -1):
            coords[:, axis] = rest % bins
            rest //= bins
        x = self.lo + (coords + rng.random((n, d))) * self.width
        return x.reshape((n,) + self.spec.shape)
