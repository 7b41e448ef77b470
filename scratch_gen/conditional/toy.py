"""A 2D, 3-class toy whose every probability is known: the referee for Bayes' rule.

He L1, "Discriminative vs. generative models": a classifier wants p(y|x); Bayes' rule
gets it from the class conditionals, ``p(y|x) = p(x|y) p(y) / p(x)``. Here the class
conditionals are Gaussians we chose, with unequal priors and unequal covariances (so
the best boundary is curved and the prior moves it), and so everything a classifier
can be judged against is computable:

- the Bayes posterior p(y|x), exactly;
- the Bayes error ``1 - integral max_y p(x, y) dx``, the lowest error any classifier can
  have (Bayes' decision rule picks the largest posterior);
- the conditional entropy ``H(Y|X) = -integral sum_y p(x, y) log p(y|x) dx``, the lowest
  expected label NLL any classifier can have (its excess is the expected KL from the true
  posterior to the classifier's, max likelihood = min KL again, L14 "Density models").

The two integrals are 2D, done by the midpoint rule on a box holding all but ~1e-12 of
the mass; ``error`` is the change from the grid with half as many cells per axis
(the midpoint rule's error shrinks ~4x per halving where the integrand is smooth).
"""
import numpy as np
from scipy import stats

from ..common.errors import UserError


class ThreeClassToy:
    """Class priors, means and covariances (public, so plots and tests can read them)."""

    name = "three-class toy"
    num_classes = 3
    priors = np.array([0.5, 0.3, 0.2])
    means = np.array([[-1.0, 0.0], [1.2, 0.6], [0.2, -1.6]])
    covs = np.array([[[1.0, 0.3], [0.3, 0.6]],
                     [[0.5, -0.2], [-0.2, 0.9]],
                     [[0.7, 0.0], [0.0, 0.4]]])
    box = 8.0                                   # [-8, 8]^2: > 6.8 std from every mean

    def sample_labelled(self, n, rng):
        """Ancestral sampling, the generative story: ``y ~ p(y)``, then ``x ~ p(x|y)``."""
        y = rng.choice(3, size=n, p=self.priors)
        x = np.empty((n, 2))
        for k in range(3):
            idx = np.flatnonzero(y == k)
            x[idx] = rng.multivariate_normal(self.means[k], self.covs[k], size=len(idx))
        return x, y

    def log_px_given_y(self, x):
        """(n, 3): ``log p(x | y)`` for each class (SciPy's Gaussian, independent of the
        density models this toy referees)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2:
            raise UserError(f"the toy's points are 2D; got shape {x.shape}")
        return np.stack([stats.multivariate_normal(m, c).logpdf(x)
                         for m, c in zip(self.means, self.covs)], axis=1).reshape(len(x), 3)

    def log_joint(self, x):
        return self.log_px_given_y(x) + np.log(self.priors)

    def log_posterior(self, x):
        """The Bayes posterior ``log p(y|x)``, exactly."""
        lj = self.log_joint(x)
        m = lj.max(1, keepdims=True)
        return lj - (m + np.log(np.exp(lj - m).sum(1, keepdims=True)))

    # ------------------------------------------------------------- the integrals
    def _grid(self, n):
        xs = -self.box + (np.arange(n) + 0.5) * 2 * self.box / n
        g = np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)
        return g, (2 * self.box / n) ** 2

    def _grid_joint(self, n):
        """Grid points, cell area and ``p(x, y)`` on them, computed once per grid size."""
        cache = self.__dict__.setdefault("_joint_cache", {})
        if n not in cache:
            g, cell = self._grid(n)
            cache[n] = (g, cell, np.exp(self.log_joint(g)))
        return cache[n]

    def integrate(self, f, n=512):
        """``integral sum_y p(x, y) f(x)[y] dx`` for ``f``: points (M, 2) -> (M, 3), by
        the midpoint rule; returns ``(value, error)``."""
        values = []
        for m in (n, n // 2):
            g, cell, joint = self._grid_joint(m)
            values.append(float((joint * f(g)).sum() * cell))
        return values[0], abs(values[0] - values[1])

    def error_rate(self, predict, n=512):
        """Expected error of a decision rule ``predict``: points -> labels,
        ``integral sum_y p(x, y) 1[predict(x) != y] dx``; ``(value, error)``."""
        return self.integrate(lambda g: np.asarray(predict(g))[:, None] != np.arange(3), n)

    def expected_label_nll(self, log_posterior, n=512):
        """``E[-log q(y|x)]`` of a classifier's ``log_posterior``: points -> (M, 3)."""
        return self.integrate(lambda g: -np.asarray(log_posterior(g)), n)

    def bayes_error(self, n=512):
        """``1 - integral max_y p(x, y) dx``, written without any decision rule."""
        values = []
        for m in (n, n // 2):
            _, cell, joint = self._grid_joint(m)
            values.append(1.0 - float(joint.max(1).sum() * cell))
        return values[0], abs(values[0] - values[1])

    def conditional_entropy(self, n=512):
        """``H(Y|X)`` in nats, ``(value, error)``."""
        return self.expected_label_nll(self.log_posterior, n)

    def label_entropy(self):
        """``H(Y)``: what the labels cost with no x at all (the prior alone)."""
        return float(-(self.priors * np.log(self.priors)).sum())
