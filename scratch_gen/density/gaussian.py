"""One Gaussian fitted by maximum likelihood, in closed form.

Isola L14, "Density models": max likelihood = min KL(p_data, p_theta). For the
Gaussian family the argmax of ``1/N sum_i log N(x_i; mu, Sigma)`` is known: the sample
mean and the covariance with 1/N (not 1/(N-1): the unbiased estimator is not the
maximum-likelihood one). On a dataset that is itself one Gaussian, its test NLL minus
the entropy, the KL to the truth, goes to zero as N grows; on ring8 it stays far from
zero, which is the point: the family, not the fit, is what is wrong.

``reg`` (default 0, the MLE) adds ``reg * I`` to the covariance. In high dimensions with
few points (a glyph class: 256 pixels, some always blank) the MLE covariance is
singular and the density degenerate; the ridge makes it a proper density again, at the
price of no longer being the maximum-likelihood fit.
"""
import math

import numpy as np

from ..common.errors import UserError
from ..registry import Model, register


@register("density", "gaussian")
class Gaussian(Model):
    description = "one Gaussian, closed-form maximum likelihood (mean, 1/N covariance)"
    slide = "Isola L14, 'Density models' (max likelihood = min KL)"
    data_kinds = ("continuous",)
    default_steps = 0
    default_config = {"reg": 0.0}
    is_default = True

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        if not self.config["reg"] >= 0:
            raise UserError(f"reg={self.config['reg']!r}: expected a number >= 0")
        d = spec.n_dims
        self.mean = np.zeros(d)
        self.cov = np.eye(d)
        self._factor()

    def _factor(self):
        """Cholesky factor of the covariance; a singular one is a user-level problem
        (too few or degenerate points), reported as such."""
        w = np.linalg.eigvalsh(self.cov) if np.isfinite(self.cov).all() else [0.0]
        try:
            if not w[0] > 1e-12 * abs(w[-1]):     # rounding can let Cholesky pass a singular one
                raise np.linalg.LinAlgError
            self._chol = np.linalg.cholesky(self.cov)
        except np.linalg.LinAlgError:
            raise UserError(
                f"the maximum-likelihood covariance of this data is singular (dimension "
                f"{len(self.mean)}); a Gaussian needs more points than dimensions, not all "
                "on one line or plane (or set reg > 0)") from None
        self._logdet = 2.0 * float(np.log(np.diag(self._chol)).sum())

    def _flat(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != self.spec.shape:
            raise UserError(f"data of shape {x.shape[1:]} per example; this model was "
                            f"fitted to shape {self.spec.shape}")
        return x.reshape(len(x), -1)

    def setup(self, train_x, train_y, rng):
        x = self._flat(train_x)
        if not np.isfinite(x).all():
            raise UserError("the training data holds nan or inf; expected finite numbers")
        self.mean = x.mean(axis=0)
        r = x - self.mean
        self.cov = r.T @ r / len(x)                     # the MLE divides by N
        if self.config["reg"]:
            self.cov += self.config["reg"] * np.eye(len(self.mean))
        self._factor()

    def state_dict(self):
        return {"mean": self.mean.copy(), "cov": self.cov.copy()}

    def load_state_dict(self, state):
        self.mean = np.array(state["mean"], dtype=np.float64)
        self.cov = np.array(state["cov"], dtype=np.float64)
        self._factor()

    def log_prob(self, x, y=None):
        """``-1/2 (D log 2 pi + log det Sigma + (x-mu)^T Sigma^-1 (x-mu))`` in nats."""
        r = self._flat(x) - self.mean
        z = np.linalg.solve(self._chol, r.T)            # L z = r, so |z|^2 = r^T Sigma^-1 r
        d = len(self.mean)
        return -0.5 * (d * math.log(2 * math.pi) + self._logdet + (z * z).sum(axis=0))

    def sample(self, n, rng, label=None, **options):
        """``mu + L z`` with ``z ~ N(0, I)`` and ``Sigma = L L^T``."""
        self.check_label(label)
        z = rng.standard_normal((n, len(self.mean)))
        return (self.mean + z @ self._chol.T).reshape((n,) + self.spec.shape)
