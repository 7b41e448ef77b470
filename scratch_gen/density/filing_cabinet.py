"""The filing cabinet, exactly as on the slide, with its honest density.

Isola L14, "Is the filing cabinet a good generative model?"::

    def train(X):
        for x in X:
            cabinet.append(x)

    def generate():
        return cabinet[np.random.randint(len(cabinet))]

"What is the pdf the filing cabinet is sampling from?" A sum of delta functions at the
training points, ``p(x) = 1/N sum_i delta(x - x_i)`` (He L1: "to the extreme, using
delta functions is like sampling from training data"). So on continuous data the
log-likelihood of a training point is +inf (the maximum: by the training likelihood it
is the best model there is) and of any unseen point -inf: its test NLL is infinite, and
the metrics and the CLI say "inf", never a large finite number. On discrete data
(pixels, tokens, strings) the same cabinet is the empirical distribution,
``p(x) = count(x)/N``: finite on training points, -inf (zero mass) on unseen ones.

The lecture's point: the goal is new data, and test likelihood catches a memorizer that
training likelihood rewards. Its copy rate (metrics.copy_rate) is 1.0.
"""
import math
from collections import Counter

import numpy as np

from ..common.errors import UserError
from ..registry import DATA_KINDS, Model, register


@register("density", "filing-cabinet")
class FilingCabinet(Model):
    description = "train appends, generate picks a random drawer; density: delta functions"
    slide = "Isola L14, 'Is the filing cabinet a good generative model?'"
    data_kinds = DATA_KINDS
    default_steps = 0

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        self.cabinet = []
        self._counts = None

    # ---- the slide's code -----------------------------------------------------------
    def train(self, X):
        for x in X:
            self.cabinet.append(x)
        self._counts = None

    def generate(self, rng):
        return self.cabinet[rng.integers(len(self.cabinet))]

    # ---- the workbench's protocol ----------------------------------------------------
    def setup(self, train_x, train_y, rng):
        self.train(train_x)

    def sample(self, n, rng, label=None, **options):
        self.check_label(label)
        if not self.cabinet:
            raise UserError("the filing cabinet is empty; train it before sampling")
        drawn = [self.generate(rng) for _ in range(n)]
        if self.spec.kind == "text":
            return drawn
        return np.stack(drawn).reshape((n,) + self.spec.shape)

    def state_dict(self):
        if self.spec.kind == "text":
            return {"cabinet": np.array(self.cabinet, dtype=str)}
        return {"cabinet": np.stack(self.cabinet) if self.cabinet else np.zeros((0,) + self.spec.shape)}

    def load_state_dict(self, state):
        self.cabinet = []
        self.train(state["cabinet"].tolist() if self.spec.kind == "text" else state["cabinet"])

    def _key(self, x):
        if self.spec.kind == "text":
            return x
        # float64 bytes; "+ 0.0" turns -0.0 into 0.0 so equal numbers give equal keys
        return (np.ascontiguousarray(x, dtype=np.float64) + 0.0).tobytes()

    def log_prob(self, x, y=None):
        """+inf / -inf on continuous data (delta functions); log(count/N) / -inf on
        discrete data (the empirical distribution). See the module docstring."""
        if self.spec.kind != "text":
            x = np.asarray(x)
            if x.shape[1:] != self.spec.shape:
                raise UserError(f"data of shape {x.shape[1:]} per example; this cabinet "
                                f"holds shape {self.spec.shape}")
        if self._counts is None:
            self._counts = Counter(self._key(c) for c in self.cabinet)
        n = len(self.cabinet)
        out = np.full(len(x), -math.inf)
        for i, xi in enumerate(x):
            c = self._counts.get(self._key(xi), 0)
            if c:
                out[i] = math.inf if self.spec.kind == "continuous" else math.log(c / n)
        return out
