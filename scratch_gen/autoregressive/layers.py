"""Causal convolutions written as "shifted copies, then one matrix product".

A convolution is a sum over kernel taps: ``y[t] = b + sum_j W_j x[t + offset_j]``. Written
that way, causality is a property of the *list of offsets* you can read off the code:

- WaveNet's dilated causal conv1d (van den Oord et al. 2016) reads offsets
  ``-(k-1) d, ..., -d, 0``: never the future;
- PixelCNN's masked conv2d (van den Oord et al. 2016) reads, of a k x k window, the
  rows above and the pixels to the left (mask A), plus the centre (mask B): the taps a
  0/1 mask would keep, and no others.

Both layers work channels-last, ``(N, L, C)`` and ``(N, H, W, C)``: the shifted copies
are concatenated along channels and one ``Linear`` maps ``taps * C_in -> C_out`` (a 2-D
matrix product, BLAS's fast case). They compute exactly ``F.conv1d`` with causal padding
and ``F.conv2d`` with a masked weight (the tests check both against the engine), and they
skip the zeroed taps instead of multiplying them by zero. The single-step forms
(:meth:`CausalConv1d.step`) serve the cached sampler.
"""
import autograd.functional as F
from autograd.nn import Linear, Module


class CausalConv1d(Module):
    """``y_t = b + sum_{j=0}^{k-1} W_j x_{t-(k-1-j) d}`` over ``(N, L, C_in)``, with zeros
    before the start (the causal left padding)."""

    def __init__(self, c_in, c_out, kernel_size, dilation=1, rng=None):
        super().__init__()
        self.c_in, self.k, self.d = c_in, kernel_size, dilation
        # weight[o, j * c_in + c] = W_j[o, c]: fan_in k * c_in, PyTorch Conv1d's init
        self.lin = Linear(kernel_size * c_in, c_out, rng=rng)

    @property
    def span(self):
        """How far back the layer reads: (k - 1) d."""
        return (self.k - 1) * self.d

    def forward(self, x):
        n, L, _ = x.shape
        xp = F.pad(x, (0, 0, self.span, 0))               # zeros before t = 0
        taps = [xp[:, j * self.d:j * self.d + L] for j in range(self.k)]
        return self.lin(taps[0] if self.k == 1 else F.cat(taps, axis=-1))

    def step(self, window):
        """One output from the last ``span + 1`` inputs ``(n, span + 1, C_in)`` (oldest
        first): the taps at ``0, d, 2d, ...`` of that window."""
        taps = [window[:, j * self.d] for j in range(self.k)]
        return self.lin(taps[0] if self.k == 1 else F.cat(taps, axis=-1))


def pixelcnn_taps(kind, k):
    """Offsets (dy, dx) of a k x k mask of type "A" (rows above; the centre row left of
    the centre) or "B" (also the centre itself), in raster order."""
    h = k // 2
    return [(dy, dx) for dy in range(-h, 1) for dx in range(-h, h + 1)
            if dy < 0 or dx < 0 or (dx == 0 and kind == "B")]


class MaskedConv2d(Module):
    """PixelCNN's masked convolution over ``(N, H, W, C_in)``, zero padding outside:
    ``y[r, c] = b + sum_{(dy, dx) in taps} W_(dy,dx) x[r + d dy, c + d dx]``.

    ``dilation`` d spreads the taps (as WaveNet's do in time); every tap stays above, or
    left of, the centre, so the mask's promise holds at any d."""

    def __init__(self, c_in, c_out, kernel_size, kind, dilation=1, rng=None):
        super().__init__()
        if kind not in ("A", "B"):
            raise ValueError(f"mask type {kind!r}: expected 'A' or 'B'")
        self.k, self.kind, self.d = kernel_size, kind, dilation
        self.taps = [(dy * dilation, dx * dilation) for dy, dx in pixelcnn_taps(kind, kernel_size)]
        self.lin = Linear(len(self.taps) * c_in, c_out, rng=rng)

    @property
    def reach(self):
        """How far up and sideways the layer reads."""
        return (self.k // 2) * self.d

    def forward(self, x):
        n, H, W, _ = x.shape
        h = self.reach
        xp = F.pad(x, (0, 0, h, h, h, 0))                 # C: none; W: both sides; H: above
        cols = [xp[:, h + dy:h + dy + H, h + dx:h + dx + W] for dy, dx in self.taps]
        return self.lin(cols[0] if len(cols) == 1 else F.cat(cols, axis=-1))
