"""Bayes' rule both ways: generative models classify, discriminative ones need a prior.

He L1, "Discriminative vs. generative models":

    p(y|x) = p(x|y) p(y) / p(x)      "generative models can be discriminative"
    p(x|y) = p(y|x) p(x) / p(y)      "can discriminative models be generative?
                                      ... still need to model prior"

Both lines are one function, :func:`bayes_rule`, with the roles of x and y swapped;
on finite tables it is exact (give it ``fractions.Fraction`` and no rounding happens).
For continuous x the same rule runs in log space (:func:`log_posterior`), and
:class:`BayesClassifier` is the first line as a model: fit one density per class
(any of the density family's, built through the registry), count the priors, and
classify by the largest posterior. It is still a generative model: it samples
``y ~ p(y), x ~ p(x|y)`` and gives the density ``p(x) = sum_y p(x|y) p(y)``.
"""
import math

import numpy as np

from .. import registry
from ..common.errors import UserError
from ..registry import DataSpec, Model, register


# ------------------------------------------------------------------ on finite tables

def bayes_rule(cond, prior):
    """Turn ``p(a|b)`` around: given the table ``cond[b, a] = p(a|b)`` and ``prior[b] =
    p(b)``, return ``(post, evidence)`` with ``post[a, b] = p(b|a) = p(a|b) p(b) / p(a)``
    and ``evidence[a] = p(a) = sum_b p(a|b) p(b)``.

    Generative to discriminative: ``cond = p(x|y)`` (rows y), ``prior = p(y)``.
    Discriminative to generative: ``cond = p(y|x)`` (rows x), ``prior = p(x)``.
    Works on object arrays of Fractions exactly. Where ``p(a) = 0`` the posterior is
    0/0, undefined: a UserError, since no data can ever show such an a."""
    cond = np.asarray(cond)
    prior = np.asarray(prior)
    if cond.ndim != 2 or prior.shape != cond.shape[:1]:
        raise UserError(f"bayes_rule: cond of shape {cond.shape} and prior of shape "
                        f"{prior.shape}; expected cond[b, a] and prior[b]")
    joint = cond * prior[:, None]                       # p(a, b), rows b
    evidence = joint.sum(axis=0)                        # p(a)
    if (evidence == 0).any():
        raise UserError(f"bayes_rule: p(a) = 0 for a = {np.flatnonzero(evidence == 0).tolist()}; "
                        "the posterior there is 0/0")
    return (joint / evidence).T, evidence


# A small joint table p(x, y) (counts out of 60): x in 0..5, y in 0..2. Its rows are
# the generative direction's p(x|y) columns, its normalized rows the discriminative
# p(y|x); the tests go around the loop with it exactly.
DISCRETE_TOY_COUNTS = np.array([[9, 1, 0],
                                [6, 4, 2],
                                [2, 8, 1],
                                [1, 5, 5],
                                [0, 2, 8],
                                [2, 0, 4]])


# ------------------------------------------------------------------ in log space

def _logsumexp_rows(a):
    m = a.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


def log_posterior(log_px_given_y, log_prior):
    """``log p(y|x) = log p(x|y) + log p(y) - log p(x)`` for ``log_px_given_y`` (n, K);
    returns ``(log_post (n, K), log_px (n,))``. Rows where every class gives zero
    density (p(x) = 0, Bayes' rule 0/0) fall back to the prior, the answer with no
    evidence, and have ``log p(x) = -inf``."""
    lj = np.asarray(log_px_given_y, dtype=np.float64) + np.asarray(log_prior, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_px = _logsumexp_rows(lj)
        post = lj - log_px[:, None]
    dead = ~np.isfinite(log_px)
    if dead.any():
        post[dead] = np.asarray(log_prior, dtype=np.float64)
    return post, log_px


class BayesRule:
    """The generative classifier from given class-conditional log-densities: a callable
    ``x -> (n, K)`` array of ``log p(x|y)`` and the priors. With a dataset's *true*
    densities this is the Bayes classifier itself (tests/conditional check it against
    the toy's own posterior and Bayes error)."""

    def __init__(self, log_px_given_y, priors):
        self.log_px_given_y = log_px_given_y
        self.log_prior = np.log(np.asarray(priors, dtype=np.float64))

    def log_posterior(self, x):
        return log_posterior(self.log_px_given_y(x), self.log_prior)[0]

    def predict(self, x):
        return np.argmax(self.log_posterior(x), axis=1)


# ------------------------------------------------------------------ the model

# Class-conditional densities that are positive wherever the data can be (a filing
# cabinet's p(x|y) is zero off its drawers, so Bayes' rule would be 0/0 on every new x)
CLASS_DENSITIES = ("gaussian", "kde", "mixture", "histogram")


@register("conditional", "bayes-classifier")
class BayesClassifier(Model):
    description = "generative classifier p(y|x) = p(x|y) p(y) / p(x), one density per class"
    slide = "He L1, 'Discriminative vs. generative models' (Bayes' rule)"
    data_kinds = ("continuous", "image")
    default_steps = 0
    conditional = True
    # density: the density family's variant for p(x|y); density_config: its settings
    default_config = {"density": "gaussian", "density_config": {}}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        if not spec.num_classes:
            raise UserError(f"{self.name()} needs labelled data; "
                            f"{spec.name or 'this data'} has no labels")
        if self.config["density"] not in CLASS_DENSITIES:
            raise UserError(f"density={self.config['density']!r}: expected one of "
                            f"{', '.join(CLASS_DENSITIES)}")
        # p(x|y) sees flat points: an image's pixels are its coordinates
        class_spec = DataSpec("continuous", (spec.n_dims,), name=spec.name)
        self.class_models = [registry.build("density", self.config["density"], class_spec,
                                            self.config["density_config"], self.rng)
                             for _ in range(spec.num_classes)]
        self.log_prior = np.full(spec.num_classes, -math.log(spec.num_classes))

    def _flat(self, x):
        a = np.asarray(x, dtype=np.float64)
        if a.shape[1:] != self.spec.shape:
            raise UserError(f"data of shape {a.shape[1:]} per example; this classifier was "
                            f"fitted to shape {self.spec.shape}")
        return a.reshape(len(a), -1)

    def setup(self, train_x, train_y, rng):
        """Maximum likelihood for the joint p(x, y) = p(y) p(x|y): the priors are the
        class frequencies, and each p(x|y) is fitted to its own class's points only."""
        if train_y is None:
            raise UserError(f"{self.name()} trains on labelled data; got no labels")
        x, y = self._flat(train_x), np.asarray(train_y).reshape(-1)
        counts = np.bincount(y, minlength=self.spec.num_classes)
        if len(counts) > self.spec.num_classes or (counts == 0).any():
            raise UserError(f"every class 0..{self.spec.num_classes - 1} needs training "
                            f"examples; counts per class: {counts.tolist()}")
        self.log_prior = np.log(counts / counts.sum())
        for k, model in enumerate(self.class_models):
            try:
                model.setup(x[y == k], None, rng)
            except UserError as e:
                raise UserError(f"class {k}: {e}; its density's settings go in "
                                "--set density_config='{\"reg\": 0.01}' (for example)") from None

    def state_dict(self):
        return {"log_prior": self.log_prior.copy(),
                "classes": [m.state_dict() for m in self.class_models]}

    def load_state_dict(self, state):
        self.log_prior = np.array(state["log_prior"], dtype=np.float64)
        for m, s in zip(self.class_models, state["classes"]):
            m.load_state_dict(s)

    # ---- Bayes' rule ------------------------------------------------------------
    def log_px_given_y(self, x):
        """(n, K): ``log p(x | y)`` of each class's density."""
        x = self._flat(x)
        return np.stack([m.log_prob(x) for m in self.class_models], axis=1)

    def log_posterior(self, x):
        """``log p(y|x)`` (n, K) by Bayes' rule."""
        return log_posterior(self.log_px_given_y(x), self.log_prior)[0]

    def predict(self, x):
        """Bayes' decision rule: the class of largest posterior."""
        return np.argmax(self.log_posterior(x), axis=1)

    def log_prob(self, x, y=None):
        """``log p(x|y)`` for given labels (He L1: "generative models are about
        p(x|y)"), else the marginal ``log p(x) = log sum_y p(x|y) p(y)``."""
        lik = self.log_px_given_y(x)
        if y is None:
            return log_posterior(lik, self.log_prior)[1]
        y = np.asarray(y).reshape(-1)
        return lik[np.arange(len(lik)), y]

    def sample(self, n, rng, label=None, **options):
        """Ancestral sampling: ``y ~ p(y)`` (or the given label), then ``x ~ p(x|y)``."""
        label = self.check_label(label)
        y = (np.full(n, label) if label is not None
             else rng.choice(len(self.log_prior), size=n, p=np.exp(self.log_prior)))
        x = np.empty((n, self.spec.n_dims))
        for k, m in enumerate(self.class_models):
            idx = np.flatnonzero(y == k)
            if len(idx):
                x[idx] = m.sample(len(idx), rng).reshape(len(idx), -1)
        return x.reshape((n,) + self.spec.shape)

    def evaluate(self, test, dataset):
        """The classifier's own numbers: the NLL of the test labels ``-log p(y|x)``
        (what a discriminative model is trained on) and of the points ``-log p(x)``."""
        out = {}
        y = getattr(test, "y", None)
        if y is not None:
            lp = self.log_posterior(test.x)
            picked = lp[np.arange(len(lp)), np.asarray(y).reshape(-1)]
            out["label_nll"] = float(-picked.mean())
        out["marginal_nll"] = float(-self.log_prob(test.x).mean())
        return out


@register("density", "bayes-classifier")
class DensityBayesClassifier(BayesClassifier):
    """The same model, also reachable as ``scratch-gen train density --model
    bayes-classifier`` (its parts are density models). Registered from here, through
    the registry only, so the density package imports nothing of this one."""
