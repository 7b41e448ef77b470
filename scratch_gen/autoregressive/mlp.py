"""Bengio et al. 2003's neural probabilistic language model: an MLP next-token classifier.

Isola L14, "Modeling a sequence of words: just treat it as a next word classifier!"
The n-gram's table keeps every context apart; Bengio et al. (2003, "A Neural
Probabilistic Language Model", JMLR) share statistics between contexts by giving each
token a learned vector (an embedding) and predicting the next token with an MLP on the
concatenated vectors of the last ``block`` tokens:

    p(x_i | x_<i) = softmax(W2 tanh(W1 [e(x_{i-block}); ...; e(x_{i-1})] + b1) + b2).

The dependency graph is still designed (He L1): a fixed window, ``bos`` before the
start. What is learned is the mapping, trained by gradient descent on the chain rule's
NLL. (Bengio et al. also add direct input-output connections; we leave them out.)
"""
from autograd.nn import Embedding, Linear, Module

from ..registry import register
from .chain import TokenModel, context_windows


class ContextMLP(Module):
    def __init__(self, V_in, V_out, block, embed, hidden, rng):
        super().__init__()
        self.block = block
        self.embed = Embedding(V_in, embed, rng=rng)
        self.hidden = Linear(block * embed, hidden, rng=rng)
        self.out = Linear(hidden, V_out, rng=rng)

    def forward(self, windows):
        """``(N, L, block)`` token windows -> ``(N, L, V_out)`` logits."""
        n, L, b = windows.shape
        e = self.embed(windows).reshape(n, L, -1)          # concatenated embeddings
        return self.out(self.hidden(e).tanh())


@register("autoregressive", "mlp")
class MLP(TokenModel):
    description = "MLP next-token classifier over a fixed context window (Bengio et al. 2003)"
    slide = "Isola L14, 'Just treat it as a next word classifier!'; Bengio et al. 2003"
    default_steps = 3000
    default_batch_size = 64
    default_config = {"block": 6, "embed": 16, "hidden": 128, "lr": 3e-3, "max_len": 64,
                      "decay_steps": 0}

    def build(self, rng):
        c = self.config
        self.markov_window = c["block"]
        self.net = ContextMLP(self.seq.n_inputs, self.seq.V, c["block"], c["embed"], c["hidden"], rng)

    def logits(self, x):
        return self.net(context_windows(x, self.seq.bos, self.config["block"]))
