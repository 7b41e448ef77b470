"""MADE: one masked MLP that outputs every conditional at once (Germain et al. 2015).

The chain rule holds in *any* order: ``log p(x) = sum_i log p(x_{o_i} | x_{o_1..o_{i-1}})``
for every permutation o. MADE ("Masked Autoencoder for Distribution Estimation") builds
that dependency graph into an autoencoder by zeroing weights (He L1: the graph is
designed, here literally as 0/1 matrices; Isola L14's "autoregressive probability
model" in one forward pass):

- every unit gets a degree m: input and output units of coordinate d get
  ``m = rank of d in the ordering`` (1..D); hidden units a random integer in
  ``[min degree of the layer below, D - 1]``;
- a hidden unit may read a unit of the layer below iff ``m_out >= m_in`` (it then
  depends only on coordinates of rank <= m_out);
- an output unit of rank r may read a hidden unit iff ``r > m_hidden``, so output r
  depends only on coordinates of rank < r: exactly p(x_r | x_<r) (their eq. 12-13).

A masked weight times zero has zero gradient, so training never reconnects it (the tests
check the whole Jacobian with autograd). Training density needs one pass; sampling still
needs D passes, one coordinate at a time in the ordering.

Order-agnostic training (Germain et al. section 4.2): ``num_orders`` orderings (the
first is the natural one when ``num_orders == 1``), each with its own hidden degrees,
drawn from ``mask_seed``; each training step uses one at random. At test time the
ensemble ``p(x) = 1/S sum_s p_s(x)`` averages the S chain-rule models, a mixture of
normalized distributions and therefore normalized itself, which is usually better than
any single ordering.
"""
import math

import numpy as np

from autograd import Tensor, no_grad
from autograd.nn import Linear, Module, ModuleList

from ..common.errors import UserError
from ..registry import register
from .chain import TokenModel, ancestral_sample, check_sampling_options


def made_masks(order, hidden, rng):
    """Masks ``[(h1, D), (h2, h1), ..., (D, hL)]`` per coordinate (expand by the K
    one-hot units of each coordinate afterwards) for the ordering ``order`` (order[i] is
    the coordinate sampled i-th) and hidden widths ``hidden``."""
    D = len(order)
    rank = np.empty(D, dtype=np.int64)
    rank[order] = np.arange(1, D + 1)                 # rank of coordinate d: 1..D
    degrees = [rank]
    for h in hidden:
        lo = min(int(degrees[-1].min()), D - 1)
        degrees.append(rng.integers(lo, D, size=h) if D > 1 else np.zeros(h, np.int64))
    masks = [(m_out[:, None] >= m_in[None, :]).astype(np.float64)
             for m_in, m_out in zip(degrees[:-1], degrees[1:])]
    masks.append((rank[:, None] > degrees[-1][None, :]).astype(np.float64))
    return masks


class MADENet(Module):
    def __init__(self, D, K, hidden, rng):
        super().__init__()
        self.D, self.K = D, K
        sizes = [D * K] + list(hidden) + [D * K]
        self.layers = ModuleList([Linear(a, b, rng=rng) for a, b in zip(sizes[:-1], sizes[1:])])

    def set_masks(self, masks):
        """Per-coordinate masks -> unit masks: each coordinate is K one-hot inputs and K
        output logits, which share its degree."""
        K = self.K
        for i, (layer, m) in enumerate(zip(self.layers, masks)):
            if i == 0:
                m = np.repeat(m, K, axis=1)
            if i == len(masks) - 1:
                m = np.repeat(m, K, axis=0)
            layer.set_mask(m)

    def forward(self, onehot):
        """``(N, D*K)`` one-hot inputs -> ``(N, D, K)`` logits."""
        h = onehot
        for layer in self.layers[:-1]:
            h = layer(h).relu()
        return self.layers[-1](h).reshape(len(onehot), self.D, self.K)


@register("autoregressive", "made")
class MADE(TokenModel):
    description = "masked MLP with random orderings, ensembled over orderings at test time"
    slide = "Isola L14, 'Autoregressive probability model'; Germain et al. 2015 (MADE)"
    data_kinds = ("discrete", "image")
    default_steps = 3000
    default_batch_size = 64
    default_config = {"hidden": [256, 256], "num_orders": 4, "mask_seed": 0, "lr": 2e-3,
                      "decay_steps": 0}
    prefix_ok = False

    def build(self, rng):
        c = self.config
        if c["num_orders"] < 1 or not c["hidden"] or min(c["hidden"]) < 1:
            raise UserError(f"num_orders={c['num_orders']}, hidden={c['hidden']}: expected "
                            "num_orders >= 1 and a non-empty list of positive widths")
        D = self.seq.length
        self.net = MADENet(D, self.seq.V, c["hidden"], rng)
        mask_rng = np.random.default_rng(c["mask_seed"])
        self.orders, self.masks = [], []
        for s in range(c["num_orders"]):
            order = np.arange(D) if s == 0 else mask_rng.permutation(D)
            self.orders.append(order)
            self.masks.append(made_masks(order, c["hidden"], mask_rng))
        self.use_order(0)

    def use_order(self, s):
        """Install ordering s: its masks in the network, its order for sampling."""
        self.active = s
        self.order = self.orders[s]
        self.net.set_masks(self.masks[s])

    def onehot(self, x):
        D, K = self.seq.length, self.seq.V
        out = np.zeros((len(x), D * K), dtype=self.net.layers[0].weight.dtype)
        out[np.arange(len(x))[:, None], np.arange(D)[None, :] * K + x] = 1.0
        return out

    def logits(self, x):
        return self.net(Tensor(self.onehot(x)))

    def before_step(self, rng):
        self.use_order(int(rng.integers(len(self.orders))))

    def log_prob(self, x, y=None, orders=None):
        """``log (1/S sum_s p_s(x))`` over the orderings (each ``p_s`` by the chain rule);
        ``orders`` picks a subset (``[s]`` gives one ordering's own model)."""
        orders = range(len(self.orders)) if orders is None else list(orders)
        per = []
        for s in orders:
            self.use_order(s)
            per.append(super().log_prob(x))
        self.use_order(0)
        per = np.stack(per)
        m = per.max(axis=0)
        with np.errstate(invalid="ignore"):
            lse = m + np.log(np.exp(per - np.where(np.isfinite(m), m, 0.0)).sum(axis=0))
        return np.where(np.isfinite(m), lse - math.log(len(per)), m)

    def sample(self, n, rng, label=None, temperature=1.0, top_k=None, cached=True):
        """Ancestral sampling from the ensemble: pick an ordering uniformly per sample
        (how one samples a mixture), then draw the coordinates in that ordering."""
        self.check_label(label)
        check_sampling_options(temperature, top_k, n)
        which = rng.integers(len(self.orders), size=n)
        tokens = np.zeros((n, self.seq.length), dtype=np.int64)
        self.net.eval()
        with no_grad():
            for s in range(len(self.orders)):
                rows = np.flatnonzero(which == s)
                if len(rows):
                    self.use_order(s)
                    tokens[rows] = ancestral_sample(self, len(rows), rng, temperature, top_k)
        self.net.train()
        self.use_order(0)
        return self.seq.decode(tokens)

    def state_dict(self):
        self.use_order(0)
        return super().state_dict()

    def load_state_dict(self, state):
        self.use_order(0)
        super().load_state_dict(state)
