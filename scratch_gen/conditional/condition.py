"""What every model of this chapter shares: how it reads y, and Bayes' rule over labels.

He L1, "Formulating Real-world Problems as Generative Models": "generative models are
about p(x|y)", and y can be a label, a condition, a constraint, an attribute. Here y is
one of two things, chosen by the setting ``cond_dim``:

- ``cond_dim = 0``: a class label in ``0..K-1`` (``K = spec.num_classes``), read by
  the network as a one-hot vector (the obstacle's start index, a glyph's digit);
- ``cond_dim = C > 0``: a vector of C numbers (any shape, flattened), e.g. the lower
  half of a glyph, for input-conditional models (``scratch-gen train ... --condition
  PATH``).

Label-conditional models are also Bayes-rule classifiers (He L1, "generative models can
be discriminative"): ``p(y|x) = p(x|y) p(y) / p(x)``, with ``p(y)`` the label
frequencies of the training set. :class:`Conditioned` keeps that prior, so ``predict``
classifies, ``log_prob(x)`` without y is the marginal ``log sum_y p(y) p(x|y)``, and
``sample`` without a label draws ``y ~ p(y)`` first (ancestral sampling of the joint).
"""
import math

import numpy as np

from ..common.errors import UserError
from ..registry import Model


def logsumexp_rows(a):
    """``log sum_k exp a[:, k]`` without overflow; rows of -inf give -inf."""
    a = np.asarray(a, dtype=np.float64)
    m = a.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


class Conditioned(Model):
    """Base of the chapter's own models (regressor, conditional MDN, conditional MADE).

    Subclasses set ``default_config`` (with ``cond_dim``) and implement
    ``log_prob_given(x, c)`` for a float condition matrix ``c`` (n, width) and
    ``sample_given(c, rng, **options)``; this class turns labels and vectors into ``c``."""

    conditional = True

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        cond_dim = self.config["cond_dim"]
        if cond_dim < 0:
            raise UserError(f"{self.name()} setting cond_dim={cond_dim}: expected 0 (class "
                            "labels) or the number of numbers in each condition vector")
        if cond_dim == 0 and not spec.num_classes:
            raise UserError(f"{self.name()} conditions on class labels, but "
                            f"{spec.name or 'this data'} has none; give labelled data or a "
                            "condition vector (cond_dim, --condition PATH)")
        self.num_classes = None if cond_dim else int(spec.num_classes)
        self.width = cond_dim or self.num_classes
        k = self.num_classes or 1
        self.log_prior = np.full(k, -math.log(k))

    @property
    def by_label(self):
        return self.num_classes is not None

    def check_label(self, label):
        """The workbench's label check; a model conditioned on vectors takes none."""
        if label is not None and not self.by_label:
            raise UserError(f"{self.name()} conditions on vectors of {self.width} numbers, "
                            f"not on labels; got label={label!r} (give condition vectors: "
                            "--condition-file)")
        return super().check_label(label)

    # ---- y -> the network's condition input ----------------------------------------
    def cond_matrix(self, y, n):
        """Labels (n,) -> one-hot (n, K); vectors (n, ...) -> (n, C); float32."""
        if y is None:
            what = "labels" if self.by_label else f"condition vectors of {self.width} numbers"
            raise UserError(f"{self.name()} is conditional; it needs {what} for its {n} examples")
        y = np.asarray(y)
        if self.by_label:
            y = y.reshape(-1)
            if y.dtype.kind == "f" and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            if (y.shape != (n,) or y.dtype.kind not in "iu" or
                    (n and (y.min() < 0 or y.max() >= self.num_classes))):
                raise UserError(f"labels y: expected {n} integers in 0..{self.num_classes - 1}, "
                                f"got shape {y.shape} dtype {y.dtype}")
            return np.eye(self.num_classes, dtype=np.float32)[y]
        if y.dtype.kind not in "biuf":
            raise UserError(f"condition vectors of dtype {y.dtype}: expected numbers")
        c = y.reshape(len(y), -1).astype(np.float32) if y.ndim else y
        if c.shape != (n, self.width):
            raise UserError(f"condition vectors: expected shape ({n}, {self.width}) after "
                            f"flattening, got {tuple(np.shape(y))}")
        if not np.isfinite(c).all():
            raise UserError("condition vectors hold nan or inf; expected finite numbers")
        return c

    def setup(self, train_x, train_y, rng):
        """The label prior p(y) (class frequencies), for Bayes' rule and for sampling
        the joint; vector-conditional models keep none."""
        if train_y is None:
            raise UserError(f"{self.name()} trains on (x, y) pairs; got no labels or "
                            "conditions (use labelled data or --condition)")
        if self.by_label:
            y = np.asarray(train_y).reshape(-1).astype(np.int64)
            counts = np.bincount(y, minlength=self.num_classes)[:self.num_classes]
            # add-one smoothing: a class absent from a small training set keeps p(y) > 0
            self.log_prior = np.log((counts + 1.0) / (counts.sum() + self.num_classes))

    # ---- the protocol ----------------------------------------------------------------
    def sample(self, n, rng, label=None, condition=None, **options):
        """``n`` draws of ``p(x | y)``: with ``label`` (an int) all for that class; with
        ``condition`` (one vector, or n vectors) for those inputs; with neither, a
        label-conditional model draws ``y ~ p(y)`` first (the joint's ancestral
        sampling)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise UserError(f"number of samples must be an integer >= 0, got {n!r}")
        if label is not None and not self.by_label:
            self.check_label(label)
        if condition is not None:
            if label is not None:
                raise UserError("give a label or a condition, not both")
            if self.by_label:
                raise UserError(f"{self.name()} conditions on class labels; pass label=, "
                                "not a condition vector")
            cond = np.asarray(condition)
            if cond.size == self.width:
                cond = np.broadcast_to(cond.reshape(1, -1), (n, self.width))
            c = self.cond_matrix(cond, n)
        elif self.by_label:
            label = self.check_label(label)
            y = (np.full(n, label) if label is not None else
                 rng.choice(self.num_classes, size=n, p=np.exp(self.log_prior)))
            c = self.cond_matrix(y.astype(np.int64), n)
        else:
            raise UserError(f"{self.name()} conditions on vectors of {self.width} numbers; "
                            "pass condition= (the CLI's --condition-file)")
        return self.sample_given(c, rng, **options)

    def log_prob(self, x, y=None):
        """``log p(x | y)`` in nats per example; without y (label models) the marginal
        ``log sum_y p(y) p(x | y)``, exact when each ``p(x|y)`` is."""
        x = self.check_x(x)
        if y is not None:
            return self.log_prob_given(x, self.cond_matrix(y, len(x)))
        if not self.by_label:
            raise UserError(f"{self.name()} needs the condition vectors to score x")
        return logsumexp_rows(self.log_likelihoods(x) + self.log_prior)

    def log_likelihoods(self, x):
        """``(n, K)``: ``log p(x | y = k)`` for every class (label models)."""
        x = self.check_x(x)
        eye = np.eye(self.num_classes, dtype=np.float32)
        return np.stack([self.log_prob_given(x, np.repeat(eye[k:k + 1], len(x), 0))
                         for k in range(self.num_classes)], axis=1)

    def log_posterior(self, x):
        """``log p(y | x)`` by Bayes' rule (He L1, "generative models can be
        discriminative")."""
        joint = self.log_likelihoods(x) + self.log_prior
        return joint - logsumexp_rows(joint)[:, None]

    def predict(self, x):
        """Bayes' decision rule: ``argmax_y log p(x|y) + log p(y)``."""
        if not self.by_label:
            raise UserError(f"{self.name()} conditions on vectors; it has no classes to predict")
        return np.argmax(self.log_likelihoods(x) + self.log_prior, axis=1)

    def state_dict(self):
        return {"log_prior": self.log_prior.copy()}

    def load_state_dict(self, state):
        self.log_prior = np.array(state["log_prior"], dtype=np.float64)

    # ---- subclasses ------------------------------------------------------------------
    def log_prob_given(self, x, c):
        raise NotImplementedError

    def sample_given(self, c, rng, **options):
        raise NotImplementedError
