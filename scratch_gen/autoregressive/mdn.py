"""Continuous x: p(x_1) p(x_2 | x_1) ... with mixture-of-Gaussians conditionals.

The chain rule does not care whether x_i is a word or a real number: for continuous x
each factor is a density, ``log p(x) = sum_i log p(x_i | x_<i)`` (Isola L14,
"Autoregressive probability model") is a log-density, and maximum likelihood is the
same objective. A softmax was the next-word classifier; here the "classifier" outputs
the weights, means and scales of a mixture of M Gaussians: a mixture density network
(Bishop 1994, "Mixture Density Networks"):

    p(x_i | x_<i) = sum_m pi_m(x_<i) N(x_i; mu_m(x_<i), sigma_m(x_<i)^2).

One small MLP per coordinate maps x_<i to the 3M numbers (the first coordinate has no
parents, so its MLP reads a constant zero: p(x_1) is a plain mixture). A single
Gaussian per conditional could not split x_2 | x_1 between the two modes of a ring that
share an x_1; a mixture can (He L1: "decompose complex distributions into simple and
tractable ones").

The data are standardized first (z = (x - mean) / std, fitted in ``setup``), and the
change of variables adds ``-sum_i log std_i`` to every log-density, so ``log_prob`` is
of x itself.
"""
import math

import numpy as np

from autograd import Tensor, no_grad
import autograd.functional as F
from autograd.nn import Module, ModuleList

from ..common.errors import UserError
from ..common.mixture import MixtureHead, mixture_log_density
from ..registry import register
from .chain import Autoregressive, check_sampling_options, draw


class MDNNet(Module):
    def __init__(self, D, hidden, M, rng):
        super().__init__()
        self.D = D
        self.conds = ModuleList([MixtureHead(max(i, 1), hidden, M, rng) for i in range(D)])

    def parents(self, z, i):
        """x_<i as the i-th network's input (a zero column for i = 0)."""
        if i == 0:
            return Tensor(np.zeros((len(z), 1), dtype=self.conds[0].fc1.weight.dtype))
        return z[:, :i]


@register("autoregressive", "mdn")
class MDN(Autoregressive):
    description = "continuous chain rule p(x1) p(x2|x1)...: mixture-of-Gaussians conditionals"
    slide = "Isola L14, 'Autoregressive probability model'; Bishop 1994 (mixture density networks)"
    data_kinds = ("continuous",)
    default_steps = 4000
    default_batch_size = 256
    default_config = {"components": 8, "hidden": 64, "lr": 3e-3, "decay_steps": 0}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if c["components"] < 1 or c["hidden"] < 1:
            raise UserError(f"components={c['components']}, hidden={c['hidden']}: expected "
                            "positive integers")
        self.D = spec.n_dims
        self.net = MDNNet(self.D, c["hidden"], c["components"], self.rng)
        self.mean = np.zeros(self.D)
        self.std = np.ones(self.D)
        self.make_optimizer()

    def setup(self, train_x, train_y, rng):
        x = self._flat(train_x)
        self.mean = x.mean(axis=0)
        self.std = np.maximum(x.std(axis=0), 1e-8)

    def _flat(self, x):
        return self.check_x(np.asarray(x, dtype=np.float64)).reshape(len(x), self.D)

    def encode(self, x, strict=False):
        z = (self._flat(x) - self.mean) / self.std
        return Tensor(z.astype(self.net.conds[0].fc1.weight.dtype)), np.ones(len(z), bool)

    def count(self, z):
        return z.shape[0] * z.shape[1]

    def log_conditionals(self, z):
        """``(N, D)``: log p(x_i | x_<i) of x (the standardization's Jacobian included)."""
        cols = []
        for i, cond in enumerate(self.net.conds):
            logits, mu, log_s = cond(self.net.parents(z, i))
            cols.append(mixture_log_density(z[:, i:i + 1], logits, mu, log_s)
                        - float(np.log(self.std[i])))
        return F.stack(cols, axis=1)

    def sample(self, n, rng, label=None, temperature=1.0, top_k=None, cached=True):
        """Ancestral sampling: x_1 from its mixture, then x_2 from the mixture its MLP
        outputs given x_1, ... . ``temperature`` T scales the component logits by 1/T and
        the standard deviations by sqrt(T) (T = 1: the model itself)."""
        self.check_label(label)
        check_sampling_options(temperature, top_k, n)
        z = np.zeros((n, self.D), dtype=self.net.conds[0].fc1.weight.dtype)
        with no_grad():
            for i, cond in enumerate(self.net.conds):
                logits, mu, log_s = cond(self.net.parents(Tensor(z), i))
                m = draw(logits.data, rng, temperature, top_k)
                rows = np.arange(n)
                s = np.exp(log_s.data[rows, m]) * math.sqrt(temperature)
                z[:, i] = mu.data[rows, m] + s * rng.standard_normal(n)
        x = z.astype(np.float64) * self.std + self.mean
        return x.reshape((n,) + self.spec.shape)

    def state_dict(self):
        return {**super().state_dict(), "mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.std = np.asarray(state["std"], dtype=np.float64)
