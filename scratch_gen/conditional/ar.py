"""Conditional autoregressive models: the chain rule with y in every factor.

Isola L14, "Autoregressive probability model": ``p(x) = prod_i p(x_i | x_<i)``; a
conditional model only adds y to every conditional (He L1, "generative models are about
p(x|y)"):

    p(x | y) = prod_i p(x_i | x_<i, y).

Each factor is a small classifier or density that also reads y, so the model stays
exactly normalized for every y, and ``log p(x|y)`` is a sum of D terms computed in one
pass: the conditional NLL and the Bayes-rule classifier (``argmax_y log p(x|y) + log
p(y)``) come for free. The autoregressive family has no conditional variant yet, so the
two used by the chapter live here, built on ``autograd.nn`` and the registry contract:

- ``conditional/ar-mdn``: for continuous x (the obstacle's 2D waypoint),
  ``p(x_1 | y) p(x_2 | x_1, y)``, each factor a mixture of M Gaussians whose weights,
  means and scales an MLP computes from ``(x_<i, y)`` (a mixture density network,
  Bishop 1994). The first factor alone already has two modes (left, right of the
  obstacle): a single Gaussian per factor could only say "the middle".
- ``conditional/ar-made``: for binary images (glyphs, thresholded at 1/2), a MADE
  (Germain et al. 2015): one masked MLP whose output i sees only pixels before i in
  raster order, plus y fed to every layer through unmasked weights (their section 4.3
  does the same with the inputs of a conditional model). One pass gives all 256
  Bernoulli logits; sampling takes 256 passes.

The five parts: formulation x | y with the designed raster-order dependency graph;
representation the masked or per-coordinate MLPs with y as an extra input; objective the
exact conditional NLL ``-log p(x|y)`` (maximum likelihood on pairs); optimization Adam
with an optional cosine decay; inference ancestral sampling, one coordinate at a time,
and the exact density.
"""
import math

import numpy as np

from autograd import Tensor, no_grad, nn, optim
from autograd import functional as F

from ..common.errors import UserError
from ..common.mixture import MixtureHead, mixture_log_density
from ..registry import register
from .condition import Conditioned

class _Trained(Conditioned):
    """Adam on the conditional NLL per dimension, with an optional cosine decay."""

    def make_optimizer(self):
        self.opt = optim.Adam(self.net.parameters(), lr=self.config["lr"])
        self.steps_done = 0

    def _lr(self):
        c = self.config
        if c["decay_steps"] > 0:
            return optim.cosine_warmup_lr(self.steps_done + 1, c["lr"], 0, c["decay_steps"])
        return c["lr"]

    def descend(self, nll_per_example):
        """One Adam step on the mean NLL per dimension; returns the mean NLL per example."""
        loss = nll_per_example.mean() / float(self.spec.n_dims)
        self.opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(self.net.parameters(), 5.0)
        self.opt.lr = self._lr()
        self.opt.step()
        self.steps_done += 1
        return float(loss.item()) * self.spec.n_dims

    def state_dict(self):
        return {**super().state_dict(), "net": dict(self.net.state_dict()),
                "opt": self.opt.state_dict(), "steps_done": int(self.steps_done)}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.steps_done = int(state["steps_done"])


# =============================================================== continuous: the MDN

class MDNNet(nn.Module):
    def __init__(self, D, width, hidden, M, rng):
        super().__init__()
        self.heads = nn.ModuleList([MixtureHead(i + width, hidden, M, rng) for i in range(D)])

    def inputs(self, z, c, i):
        """``[x_<i, y]``: what the i-th factor reads."""
        return c if i == 0 else F.cat([z[:, :i], c], axis=1)


@register("conditional", "ar-mdn")
class ConditionalMDN(_Trained):
    description = "conditional autoregressive p(x1|y) p(x2|x1,y)...: mixture-of-Gaussians factors"
    slide = ("Isola L14, 'Autoregressive probability model'; He L1, 'generative models are "
             "about p(x|y)'; Bishop 1994")
    data_kinds = ("continuous",)
    default_steps = 3000
    default_batch_size = 256
    default_config = {"cond_dim": 0, "components": 4, "hidden": 64, "lr": 3e-3,
                      "decay_steps": 0}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if c["components"] < 1 or c["hidden"] < 1:
            raise UserError(f"{self.name()}: components={c['components']}, hidden={c['hidden']}: "
                            "expected positive integers")
        self.D = spec.n_dims
        self.net = MDNNet(self.D, self.width, c["hidden"], c["components"], self.rng)
        self.mean, self.std = np.zeros(self.D), np.ones(self.D)
        self.make_optimizer()

    def setup(self, train_x, train_y, rng):
        """Standardize each coordinate (the change of variables adds ``-sum log std``)."""
        super().setup(train_x, train_y, rng)
        x = np.asarray(self.check_x(train_x), np.float64).reshape(len(train_x), self.D)
        self.mean, self.std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-8)

    def _z(self, x):
        x = np.asarray(x, np.float64).reshape(len(x), self.D)
        return Tensor(((x - self.mean) / self.std).astype(np.float32))

    def log_conditionals(self, z, c):
        """(n, D) Tensor: ``log p(x_i | x_<i, y)`` of x (Jacobian of the standardization
        included)."""
        c = Tensor(c)
        cols = [mixture_log_density(z[:, i:i + 1], *head(self.net.inputs(z, c, i)))
                - float(math.log(self.std[i])) for i, head in enumerate(self.net.heads)]
        return F.stack(cols, axis=1)

    def train_step(self, batch_x, batch_y, rng):
        x = self.check_x(batch_x)
        nll = -self.log_conditionals(self._z(x), self.cond_matrix(batch_y, len(x))).sum(axis=1)
        return {"loss": self.descend(nll)}

    def log_prob_given(self, x, c):
        with no_grad():
            lp = self.log_conditionals(self._z(x), np.asarray(c, np.float32)).data
        return lp.astype(np.float64).sum(axis=1)

    def sample_given(self, c, rng):
        """Ancestral: x_1 from its mixture given y, then x_2 given (x_1, y), ..."""
        n = len(c)
        z = np.zeros((n, self.D), dtype=np.float32)
        ct = Tensor(np.asarray(c, np.float32))
        rows = np.arange(n)
        with no_grad():
            for i, head in enumerate(self.net.heads):
                logits, mu, log_s = head(self.net.inputs(Tensor(z), ct, i))
                p = np.exp(logits.data - logits.data.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                m = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
                m = np.minimum(m, p.shape[1] - 1)
                z[:, i] = mu.data[rows, m] + np.exp(log_s.data[rows, m]) * rng.standard_normal(n)
        x = z.astype(np.float64) * self.std + self.mean
        return x.reshape((n,) + self.spec.shape)

    def state_dict(self):
        return {**super().state_dict(), "mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.mean = np.asarray(state["mean"], np.float64)
        self.std = np.asarray(state["std"], np.float64)


# ============================================================ binary images: MADE

def made_degrees(D, hidden):
    """Degrees of MADE's units (Germain et al. 2015, section 4): input/output pixel i
    (raster order) has degree i + 1; the hidden units of each layer are spread evenly
    over 1..D-1 (Germain et al. draw them at random; an even spread covers every degree
    with the same count and needs no seed)."""
    layers = [np.arange(1, D + 1)]
    for h in hidden:
        layers.append(1 + (np.arange(h) * max(D - 1, 1)) // h if D > 1 else np.zeros(h, np.int64))
    return layers


def made_masks(D, hidden):
    """0/1 masks ``(out, in)``: a hidden unit of degree m reads units of degree <= m; the
    output of pixel i (degree i + 1) reads hidden units of degree < i + 1, so it sees
    exactly the pixels before it: ``p(x_i | x_<i, y)``."""
    deg = made_degrees(D, hidden)
    masks = [(m_out[:, None] >= m_in[None, :]).astype(np.float32)
             for m_in, m_out in zip(deg[:-1], deg[1:])]
    masks.append((deg[0][:, None] > deg[-1][None, :]).astype(np.float32))
    return masks


class CondMADENet(nn.Module):
    """Masked layers on the pixels, plus an unmasked linear map of y into every layer:
    y may reach every output, since every factor is conditioned on it."""

    def __init__(self, D, width, hidden, rng):
        super().__init__()
        sizes = [D] + list(hidden) + [D]
        masks = made_masks(D, hidden)
        self.layers = nn.ModuleList([nn.Linear(a, b, mask=m, rng=rng)
                                     for a, b, m in zip(sizes[:-1], sizes[1:], masks)])
        self.cond = nn.ModuleList([nn.Linear(width, b, bias=False, rng=rng) for b in sizes[1:]])

    def forward(self, x, c):
        """``(n, D)`` pixels and ``(n, width)`` conditions -> ``(n, D)`` Bernoulli logits."""
        h = x
        for i, (layer, cond) in enumerate(zip(self.layers, self.cond)):
            h = layer(h) + cond(c)
            if i < len(self.layers) - 1:
                h = h.relu()
        return h


@register("conditional", "ar-made")
class ConditionalMADE(_Trained):
    description = ("conditional MADE on binary pixels: p(x|y) = prod_i p(x_i | x_<i, y), "
                   "y fed to every layer")
    slide = ("Isola L14, 'Autoregressive probability model' (pixels); Germain et al. 2015 "
             "(MADE); He L1, 'Case study: class-conditional image generation'")
    data_kinds = ("image", "discrete")
    default_steps = 3000
    default_batch_size = 64
    default_config = {"cond_dim": 0, "hidden": [256, 256], "lr": 2e-3, "decay_steps": 0}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if not c["hidden"] or min(c["hidden"]) < 1:
            raise UserError(f"{self.name()}: hidden={c['hidden']}: expected a non-empty list "
                            "of positive widths")
        if spec.levels not in (None, 2):
            raise UserError(f"{self.name()} models binary pixels; {spec.name or 'this data'} "
                            f"has {spec.levels} levels (quantize to 2, or use float images "
                            "in [0, 1], thresholded at 1/2)")
        self.D = spec.n_dims
        self.net = CondMADENet(self.D, self.width, c["hidden"], self.rng)
        self.make_optimizer()

    def binarize(self, x):
        """The pixels this model scores: 0/1 data as is; float images thresholded at 1/2
        (a glyph's ink coverage above one half)."""
        x = np.asarray(self.check_x(x)).reshape(len(x), self.D)
        if self.spec.levels == 2:
            return x.astype(np.float32)
        return (x > 0.5).astype(np.float32)

    def _log_p(self, xb, c):
        logits = self.net(Tensor(xb), Tensor(np.asarray(c, np.float32)))
        # log Bernoulli(x; sigmoid(a)) = x log s(a) + (1 - x) log s(-a) = log s((2x - 1) a)
        return F.log_sigmoid(logits * Tensor(2.0 * xb - 1.0)).sum(axis=1)

    def train_step(self, batch_x, batch_y, rng):
        xb = self.binarize(batch_x)
        nll = -self._log_p(xb, self.cond_matrix(batch_y, len(xb)))
        return {"loss": self.descend(nll)}

    def log_prob_given(self, x, c):
        """``log p(x_bin | y)`` in nats: a probability mass over the 2^D binary images."""
        with no_grad():
            return self._log_p(self.binarize(x), c).data.astype(np.float64)

    def sample_given(self, c, rng, temperature=1.0):
        """Pixel by pixel in raster order: D passes, each fixing one more pixel.
        ``temperature`` divides the logits (1: the model itself)."""
        if not temperature > 0:
            raise UserError(f"temperature={temperature!r}: expected a positive number")
        n = len(c)
        x = np.zeros((n, self.D), dtype=np.float32)
        ct = Tensor(np.asarray(c, np.float32))
        with no_grad():
            for i in range(self.D):
                a = self.net(Tensor(x), ct).data[:, i].astype(np.float64) / temperature
                x[:, i] = rng.random(n) < 1.0 / (1.0 + np.exp(-a))
        out = x.reshape((n,) + self.spec.shape)
        return out.astype(np.int64) if self.spec.levels == 2 else out
