"""The n-gram: counts, the exact maximum-likelihood answer for a context of n-1 tokens.

Isola L14, "Modeling a sequence of words": p(time | Once, upon, a) read off a table.
If the conditional may depend only on the last n-1 tokens and nothing ties contexts
together, maximum likelihood has a closed form: p(v | c) = count(c, v) / count(c) (set
the gradient of sum_c sum_v count(c, v) log p(v | c) to zero under sum_v p(v | c) = 1).
No network, no steps: "training" is counting, done once in ``setup``.

Add-k smoothing (Laplace's rule for k = 1; Chen & Goodman 1999 survey the family)
pretends every (context, next token) pair was seen k more times:

    p(v | c) = (count(c, v) + k) / (count(c) + k V),

so an unseen continuation has probability k / (count(c) + k V) instead of 0, and an
unseen context gets the uniform distribution. With k -> 0 this is exactly the MLE; the
test NLL of the MLE itself is +inf as soon as one test n-gram is new (the filing
cabinet's problem, one level down). Every rung of the ladder above this one is an
attempt to share statistics between contexts that a table keeps apart.
"""
import numpy as np

from autograd import Tensor
from autograd.nn import Module

from ..common.errors import UserError
from ..registry import Model, register
from .chain import PAD, TokenModel, context_windows


@register("autoregressive", "ngram")
class NGram(TokenModel):
    description = "n-gram counts with add-k smoothing: the closed-form maximum-likelihood baseline"
    slide = "Isola L14, 'Modeling a sequence of words' (a next-word table)"
    default_steps = 0
    default_config = {"n": 3, "k": 0.1, "max_len": 64}
    train_step = Model.train_step                  # closed form: no optimisation steps

    def build(self, rng):
        n, k = self.config["n"], self.config["k"]
        if n < 1:
            raise UserError(f"n={n}: expected an integer >= 1 (1 = unigram)")
        if not k > 0:
            raise UserError(f"k={k}: expected a positive smoothing count (k -> 0 is the "
                            "unsmoothed MLE, whose test NLL is +inf on any new n-gram)")
        base = self.seq.n_inputs                   # context symbols (with the start)
        if (n - 1) * np.log(base) >= 62 * np.log(2):
            raise UserError(f"n={n} with {base} symbols overflows a 64-bit context code; "
                            "use a smaller n")
        self.window = n - 1
        self.markov_window = self.window
        self.powers = base ** np.arange(self.window, dtype=np.int64)
        self.net = Module()                        # no parameters: a table, not a network
        self.contexts = np.zeros(0, dtype=np.int64)   # sorted context codes seen in training
        self.counts = np.zeros((0, self.seq.V))       # count(c, v) for those contexts

    def _codes(self, x):
        """One int64 per (example, position): the context x_{i-n+1}..x_{i-1} as digits."""
        return context_windows(x, self.seq.bos, self.window) @ self.powers

    def setup(self, train_x, train_y, rng):
        tokens, _ = self.seq.encode(train_x, strict=True)
        valid = tokens != PAD
        codes = self._codes(np.where(valid, tokens, 0))[valid]
        targets = tokens[valid]
        self.contexts, inverse = np.unique(codes, return_inverse=True)
        self.counts = np.zeros((len(self.contexts), self.seq.V))
        np.add.at(self.counts, (inverse.reshape(-1), targets), 1.0)

    def logits(self, x):
        """``log p(v | c)`` from the smoothed counts (already normalized logits)."""
        k, V = self.config["k"], self.seq.V
        codes = self._codes(x)
        row = np.searchsorted(self.contexts, codes)
        row = np.minimum(row, max(len(self.contexts) - 1, 0))
        seen = (self.contexts[row] == codes) if len(self.contexts) else np.zeros(codes.shape, bool)
        c = np.where(seen[..., None], self.counts[row] if len(self.contexts) else 0.0, 0.0)
        p = (c + k) / (c.sum(axis=-1, keepdims=True) + k * V)
        return Tensor(np.log(p))

    def state_dict(self):
        return {"contexts": self.contexts.copy(), "counts": self.counts.copy()}

    def load_state_dict(self, state):
        self.contexts = np.asarray(state["contexts"], dtype=np.int64)
        self.counts = np.asarray(state["counts"], dtype=np.float64).reshape(-1, self.seq.V)
