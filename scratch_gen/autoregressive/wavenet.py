"""WaveNet: stacks of dilated causal convolutions (van den Oord et al. 2016).

Isola L14 closes the autoregressive section with WaveNet: the same next-sample
classifier, with the prefix read by convolutions instead of a fixed MLP window.

- Causal: output t sees inputs <= t (``Conv1d(causal=True)`` pads on the left only).
  With the inputs shifted right by one (``bos`` first), logits at t see x_<t exactly.
- Dilated: layer l skips ``d_l - 1`` inputs between taps, so with dilations 1, 2, 4,
  ..., 2^(L-1) the receptive field doubles per layer:
  ``receptive_field = 1 + sum_l (k - 1) d_l`` inputs (van den Oord et al. 2016, Fig. 3).
- Gated activation units: ``z = tanh(W_f * h) * sigmoid(W_g * h)`` (their eq. 2,
  borrowed from PixelCNN), residual connections around each layer and a skip
  connection from each layer to the output (their Fig. 4), then
  ``relu -> 1x1 -> relu -> 1x1 -> softmax``.

Sampling is sequential, one token per step. Recomputing every layer over the whole
prefix costs O(t) per step; but layer l at time t needs its input only at times
``t, t - d_l, ..., t - (k-1) d_l``, so keeping a queue of each layer's last
``(k-1) d_l + 1`` inputs (the "Fast WaveNet" of Paine et al. 2016) makes each step
O(1) in t: :meth:`WaveNet.stepper`.
"""
import numpy as np

from autograd import Tensor
import autograd.functional as F
from autograd.nn import Embedding, Linear, Module, ModuleList

from ..common.errors import UserError
from ..registry import register
from .chain import TokenModel, shift_right
from .layers import CausalConv1d


def receptive_field(kernel_size, dilations):
    """``1 + sum_l (k - 1) d_l``: how many inputs (including the current one) one output
    sees through the stack of causal convolutions."""
    return 1 + sum((kernel_size - 1) * d for d in dilations)


class WaveNetNet(Module):
    """Channels-last: tokens ``(N, L)`` -> features ``(N, L, C)`` -> logits ``(N, L, V)``;
    the 1x1 convolutions of the paper are Linear layers on the channel axis."""

    def __init__(self, V_in, V_out, channels, skip, kernel_size, dilations, rng):
        super().__init__()
        self.C = channels
        self.embed = Embedding(V_in, channels, rng=rng)
        self.embed.weight.data *= 0.1
        self.convs = ModuleList([CausalConv1d(channels, 2 * channels, kernel_size, d, rng=rng)
                                 for d in dilations])
        self.res = ModuleList([Linear(channels, channels, rng=rng) for _ in dilations])
        self.skips = ModuleList([Linear(channels, skip, rng=rng) for _ in dilations])
        self.head1 = Linear(skip, skip, rng=rng)
        self.head2 = Linear(skip, V_out, rng=rng)

    def layer(self, l, h, a):
        """One residual layer given its dilated convolution's output ``a`` (2C channels):
        the gated unit tanh(filter) * sigmoid(gate), then residual and skip."""
        z = a[..., :self.C].tanh() * a[..., self.C:].sigmoid()
        return h + self.res[l](z), self.skips[l](z)

    def head(self, skip_sum):
        return self.head2(self.head1(skip_sum.relu()).relu())

    def forward(self, s):
        """Input tokens ``(N, L)`` -> logits ``(N, L, V_out)``; output t sees s_<=t."""
        h = self.embed(s)
        total = None
        for l, conv in enumerate(self.convs):
            h, skip = self.layer(l, h, conv(h))
            total = skip if total is None else total + skip
        return self.head(total)


@register("autoregressive", "wavenet")
class WaveNet(TokenModel):
    description = "dilated causal conv1d stacks, gated units, residual and skip connections"
    slide = "Isola L14, 'Wavenet'; van den Oord et al. 2016 (WaveNet)"
    default_steps = 3000
    default_batch_size = 64
    default_config = {"channels": 48, "skip": 64, "kernel_size": 2, "dilations": [1, 2, 4, 8],
                      "lr": 3e-3, "max_len": 64, "decay_steps": 0}

    def build(self, rng):
        c = self.config
        if c["kernel_size"] < 1 or not c["dilations"] or min(c["dilations"]) < 1:
            raise UserError(f"kernel_size={c['kernel_size']}, dilations={c['dilations']}: "
                            "expected kernel_size >= 1 and a non-empty list of dilations >= 1")
        self.net = WaveNetNet(self.seq.n_inputs, self.seq.V, c["channels"], c["skip"],
                              c["kernel_size"], c["dilations"], rng)

    @property
    def receptive_field(self):
        return receptive_field(self.config["kernel_size"], self.config["dilations"])

    def logits(self, x):
        return self.net(shift_right(x, self.seq.bos))

    def stepper(self, n, cached=True):
        """Cached sampling: per layer, a queue of its last ``(k-1) d + 1`` inputs.

        The queues start at zero, which is exactly the causal convolution's left
        padding, so each step's output equals the full forward's at that position;
        each step runs every layer on one time step only."""
        if not cached:
            return super().stepper(n, cached)
        net = self.net
        dtype = net.embed.weight.dtype
        queues = [np.zeros((n, conv.span + 1, net.C), dtype=dtype) for conv in net.convs]

        def step(x, i):
            token = np.full(n, self.seq.bos) if i == 0 else x[:, i - 1]
            h = net.embed(token)                                        # (n, C)
            total = None
            for l, conv in enumerate(net.convs):
                q = queues[l]
                q[:, :-1] = q[:, 1:]                   # drop the oldest input ...
                q[:, -1] = h.data                      # ... and append this step's
                h, skip = net.layer(l, h, conv.step(Tensor(q)))
                total = skip if total is None else total + skip
            return net.head(total).data
        return step
