"""A tiny GPT: token and position embeddings, causal self-attention blocks, layer norm.

He (MIT 6.S978, L1, "Case study: Autoregressive model"): the dependency graph is
designed (each token depends on all tokens before it), "the mapping function is learned
(e.g., Transformer)". Where the MLP reads a fixed window and WaveNet a fixed receptive
field, attention reads the whole prefix, weighting each earlier position by a learned
similarity: ``softmax(q k^T / sqrt(d)) v`` (Vaswani et al. 2017, eq. 1), with the causal
mask making the row of position t ignore keys after t.

The block is GPT-2's (Radford et al. 2019, section 2.3): layer norm *before* attention and
before the MLP, residual connections around both, a final layer norm, a linear head.
Inputs are shifted right by one (``bos`` first), so logits at t see x_<t.

Sampling with a key/value cache: at step t only the new token's query, key and value are
computed; the keys and values of earlier positions are the same as last step (causality:
they never see later tokens), so they are kept and appended to. Each step then costs
O(t) attention work instead of the O(t^2) of re-running the prefix.
"""
import numpy as np

from autograd import Tensor
import autograd.functional as F
from autograd.nn import Embedding, LayerNorm, Linear, Module, ModuleList

from ..common.errors import UserError
from ..registry import register
from .chain import TokenModel, shift_right

ATTENTION_BYTES = 4 * 2 ** 30    # the most attention may take in one pass (see attention_bytes)


class Block(Module):
    def __init__(self, d, heads, rng):
        super().__init__()
        self.d, self.heads = d, heads
        self.ln1 = LayerNorm(d)
        self.qkv = Linear(d, 3 * d, rng=rng)
        self.proj = Linear(d, d, rng=rng)
        self.ln2 = LayerNorm(d)
        self.fc1 = Linear(d, 4 * d, rng=rng)
        self.fc2 = Linear(4 * d, d, rng=rng)

    def forward(self, h, cache=None):
        """``h (N, T, d)``; with ``cache`` (a dict) the keys and values of earlier
        positions are read from it and the new ones appended."""
        n, T, d = h.shape
        H = self.heads
        qkv = self.qkv(self.ln1(h)).reshape(n, T, 3, H, d // H).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                           # (N, H, T, d/H)
        if cache is not None:
            if "k" in cache:
                k = F.cat([Tensor(cache["k"]), k], axis=2)
                v = F.cat([Tensor(cache["v"]), v], axis=2)
            cache["k"], cache["v"] = k.data, v.data
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = h + self.proj(y.transpose(0, 2, 1, 3).reshape(n, T, d))
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h))))


class GPT(Module):
    def __init__(self, V_in, V_out, max_len, d, heads, layers, rng):
        super().__init__()
        self.max_len = max_len
        self.tok = Embedding(V_in, d, rng=rng)
        self.pos = Embedding(max_len, d, rng=rng)
        # GPT-2 initializes embeddings with std 0.02 (not PyTorch's N(0, 1)); 0.1 is
        # enough here to keep the first layer norms' inputs tame.
        self.tok.weight.data *= 0.1
        self.pos.weight.data *= 0.1
        self.blocks = ModuleList([Block(d, heads, rng) for _ in range(layers)])
        self.ln = LayerNorm(d)
        self.head = Linear(d, V_out, rng=rng)

    def forward(self, s, start=0, caches=None):
        """Input tokens ``(N, T)`` at positions ``start..start+T-1`` -> logits
        ``(N, T, V_out)``."""
        T = s.shape[1]
        h = self.tok(s) + self.pos(np.arange(start, start + T))
        for l, block in enumerate(self.blocks):
            h = block(h, None if caches is None else caches[l])
        return self.head(self.ln(h))


@register("autoregressive", "transformer")
class Transformer(TokenModel):
    description = "tiny GPT: embeddings, causal self-attention blocks, layer norm"
    slide = ("He L1, 'the mapping function is learned (e.g., Transformer)'; "
             "Vaswani et al. 2017; Radford et al. 2019")
    default_steps = 3000
    default_batch_size = 64
    default_config = {"d_model": 64, "heads": 4, "layers": 2, "lr": 2e-3, "max_len": 64,
                      "decay_steps": 0}

    def build(self, rng):
        c = self.config
        if c["d_model"] % c["heads"]:
            raise UserError(f"d_model={c['d_model']} is not divisible by heads={c['heads']}")
        self.net = GPT(self.seq.n_inputs, self.seq.V, self.seq.length, c["d_model"], c["heads"],
                       c["layers"], rng)

    def attention_bytes(self, n):
        """About the memory attention takes for a pass over n sequences of L positions:
        ``heads x n x L^2`` scores per layer, several copies of that alive at once (the
        scores, the mask, the softmax kept for backward, their gradients). Measured: 64
        river images (L = 1280) took over 20 GB, 6.3 GB by this count."""
        c = self.config
        L = self.seq.length
        itemsize = self.net.pos.weight.data.dtype.itemsize
        return 6 * c["layers"] * c["heads"] * n * L * L * itemsize

    def eval_batch(self):
        return max(1, min(super().eval_batch(), ATTENTION_BYTES // self.attention_bytes(1)))

    def logits(self, x):
        need = self.attention_bytes(len(x))
        if need > ATTENTION_BYTES:
            fits = ATTENTION_BYTES // self.attention_bytes(1)
            raise UserError(
                f"transformer: attention over {self.seq.length} positions for a batch of "
                f"{len(x)} needs about {need / 2 ** 30:.1f} GiB (every pair of positions, "
                f"per head and layer); expected at most {ATTENTION_BYTES / 2 ** 30:.0f} GiB: "
                f"use --batch-size {fits} or less"
                + ("" if fits else ", or a model without all-pairs attention (pixelcnn)"))
        return self.net(shift_right(x, self.seq.bos))

    def stepper(self, n, cached=True):
        """Cached sampling: one new position per step, keys and values kept per block."""
        if not cached:
            return super().stepper(n, cached)
        caches = [{} for _ in self.net.blocks]

        def step(x, i):
            token = np.full(n, self.seq.bos) if i == 0 else x[:, i - 1]
            return self.net(token[:, None], start=i, caches=caches).data[:, 0]
        return step
