"""Representation: the networks f_theta(x_t, t [, y]) that undo one step of noise.

Isola L14, "Gaussian diffusion models": the reverse process is ``mu = f_theta(x_t, t)``;
one network serves every t, told which t it is at by a time embedding. He L1 ("The
mapping function is learned (e.g., Unet)"): for images that network is a U-Net.

- :func:`sinusoidal_embedding`: the Transformer's position code (Vaswani et al. 2017,
  section 3.5), which Ho et al. 2020 (Appendix B) use for t: nearby t's get similar
  codes, and a linear layer can read off any frequency.
- :class:`MLPDenoiser`: for 2D points (or any flat vector): residual MLP blocks, each
  told the time (and the condition) by an added embedding.
- :class:`UNet`: for (C, H, W) images: conv2d at full resolution, stride-2 conv2d down,
  nearest-neighbour up, skip connections across (Ronneberger et al. 2015; the shape Ho
  et al. use, much smaller), the embedding added in every residual block.

Conditioning, for p(x | y) (He L1, "Generative models are about p(x|y)"; Ho & Salimans
2022), is the same in both networks and is kept general on purpose, so the conditional-
models chapter can reuse it: :class:`Conditioning` turns

- ``y``: integer class labels (N,) in 0..K-1, where ``NULL_LABEL`` (-1) means "no
  label" and selects a learned null embedding (the unconditional model of classifier-
  free guidance shares every weight with the conditional one), and/or
- ``c``: a continuous conditioning vector (N, cond_dim), with an optional boolean
  ``c_keep`` (N,) whose False rows are replaced by a learned null vector (dropout of a
  continuous condition, for guidance on it),

into one vector added to the time embedding. Either may be absent; a network built
without them ignores nothing silently: passing a label to an unconditional network is an
error.
"""
import math

import numpy as np

from autograd import Tensor
from autograd import functional as F
from autograd import nn
from ..common.errors import UserError

NULL_LABEL = -1


def sinusoidal_embedding(t, dim, max_period=10000.0):
    """``[sin(t w_k), cos(t w_k)]`` with ``w_k = max_period^(-k / (dim/2))``, k = 0..dim/2-1
    (Vaswani et al. 2017, section 3.5). t: integer times (N,). A constant input (no
    gradient flows into t), returned as a float32 NumPy array (N, dim)."""
    if dim % 2:
        raise ValueError(f"sinusoidal_embedding: dim={dim} must be even")
    half = dim // 2
    freqs = np.exp(-math.log(max_period) * np.arange(half) / half)
    args = np.asarray(t, dtype=np.float64).reshape(-1, 1) * freqs[None, :]
    return np.concatenate([np.sin(args), np.cos(args)], axis=1).astype(np.float32)


class Conditioning(nn.Module):
    """Embeds the condition of p(x | y): class labels and/or a continuous vector, each with
    a learned "null" for the unconditional model (see the module docstring).

    A vector goes through a small MLP (Linear, SiLU, Linear) into the embedding, so the
    network can read a nonlinear summary of it (a glyph's lower half, 128 pixels, is more
    than a bias per channel can say linearly). The null of a vector is a learned
    embedding selected by a flag (``c_keep`` False), not the zero vector: zero is often a
    legitimate condition (an empty lower half, the origin of a 2D start position), and the
    unconditional model must not be confused with the model given that input."""

    def __init__(self, dim, num_classes=None, cond_dim=None, rng=None):
        super().__init__()
        self.num_classes = None if not num_classes else int(num_classes)
        self.cond_dim = None if not cond_dim else int(cond_dim)
        self.label = nn.Embedding(self.num_classes + 1, dim, rng=rng) if self.num_classes else None
        if self.cond_dim:
            self.vector = nn.Linear(self.cond_dim, dim, rng=rng)
            self.vector2 = nn.Linear(dim, dim, rng=rng)
            self.null_vector = nn.Parameter(np.zeros((1, dim), np.float32))
        else:
            self.vector = None

    def forward(self, n, y=None, c=None, c_keep=None):
        """The summed embedding (N, dim), or None when the network is unconditional."""
        out = None
        if y is not None:
            if self.label is None:
                raise UserError("this network was built without class labels (num_classes "
                                "unset); it cannot take y")
            y = np.asarray(y).reshape(-1)
            if len(y) != n or not np.issubdtype(y.dtype, np.integer) or \
                    np.any((y < NULL_LABEL) | (y >= self.num_classes)):
                raise UserError(f"labels y must be {n} integers in 0..{self.num_classes - 1} "
                                f"(or {NULL_LABEL} for none)")
            out = self.label(np.where(y == NULL_LABEL, self.num_classes, y))
        elif self.label is not None:
            out = self.label(np.full(n, self.num_classes))          # all null
        if self.vector is not None:
            null = self.null_vector + np.zeros((n, 1), np.float32)
            if c is None:
                v = null
            else:
                c = np.asarray(c, dtype=np.float32)
                if c.size != n * self.cond_dim:
                    raise UserError(f"conditioning vectors c of shape {c.shape}: expected {n} "
                                    f"vectors of {self.cond_dim} numbers")
                v = self.vector2(F.silu(self.vector(Tensor(c.reshape(n, self.cond_dim)))))
                if c_keep is not None:
                    keep = np.asarray(c_keep, dtype=bool).reshape(n, 1)
                    v = F.where(np.broadcast_to(keep, v.shape), v, null)
            out = v if out is None else out + v
        elif c is not None:
            raise UserError("this network was built without a conditioning vector "
                            "(cond_dim unset); it cannot take c")
        return out


class TimeEmbedding(nn.Module):
    """t -> sinusoidal code -> Linear -> SiLU -> Linear (Ho et al. Appendix B), plus the
    condition's embedding when there is one."""

    def __init__(self, dim, sin_dim=64, num_classes=None, cond_dim=None, rng=None):
        super().__init__()
        self.sin_dim = sin_dim
        self.lin1 = nn.Linear(sin_dim, dim, rng=rng)
        self.lin2 = nn.Linear(dim, dim, rng=rng)
        self.cond = Conditioning(dim, num_classes, cond_dim, rng=rng)

    def forward(self, t, y=None, c=None, c_keep=None):
        e = self.lin2(F.silu(self.lin1(Tensor(sinusoidal_embedding(t, self.sin_dim)))))
        ce = self.cond(len(np.asarray(t).reshape(-1)), y, c, c_keep)
        return e if ce is None else e + ce


def _zero_(layer):
    """Zero a layer's weights: a residual branch (or the output) starts as nothing, so
    the untrained network is the identity plus zero -- a calm start that Ho et al.'s
    code also uses (zero-initialised final convolutions)."""
    layer.weight.data[...] = 0.0
    if layer.bias is not None:
        layer.bias.data[...] = 0.0
    return layer


def fourier_features(x, freqs):
    """``[x, sin(2 pi x B^T), cos(2 pi x B^T)]`` for a fixed frequency matrix B (m, D):
    random Fourier features (Tancik et al. 2020, after Rahimi & Recht 2007). An MLP of
    raw low-dimensional input is biased towards smooth functions and fits sharp ones
    slowly; sinusoids of many frequencies and directions remove that bias. Gaussian B
    (rather than powers of two along each axis) has no preferred direction, so no
    axis-aligned streaks in the samples. A fixed map of the input, not learned."""
    x = np.asarray(x, dtype=np.float64)
    if freqs is None or len(freqs) == 0:
        return x.astype(np.float32)
    a = 2.0 * np.pi * x @ np.asarray(freqs, np.float64).T
    return np.concatenate([x, np.sin(a), np.cos(a)], axis=1).astype(np.float32)


def random_frequencies(m, dim, f_max, rng, f_min=0.5):
    """m frequency vectors (m, dim) in cycles per unit of x: directions uniform on the
    sphere, magnitudes log-uniform in [f_min, f_max]. Log-uniform magnitudes cover every
    scale from the data's spread down to a 2D mode's width, like the octaves 2^k of
    Mildenhall et al.'s positional encoding; random directions (rather than the axes)
    leave no axis-aligned streaks in the samples, which per-axis octaves did here."""
    d = rng.standard_normal((m, dim))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    mag = np.exp(rng.uniform(math.log(f_min), math.log(f_max), size=(m, 1)))
    return (d * mag).astype(np.float64)


class MLPBlock(nn.Module):
    """h + W2 silu(W1 silu(h) + E e): a residual block told the time by ``e``."""

    def __init__(self, hidden, emb_dim, rng=None):
        super().__init__()
        self.lin1 = nn.Linear(hidden, hidden, rng=rng)
        self.emb = nn.Linear(emb_dim, hidden, rng=rng)
        self.lin2 = _zero_(nn.Linear(hidden, hidden, rng=rng))

    def forward(self, h, e):
        return h + self.lin2(F.silu(self.lin1(F.silu(h)) + self.emb(e)))


class MLPDenoiser(nn.Module):
    """f_theta(x_t, t [, y, c]) for flat vectors (2D points): ``dim`` in, ``dim`` out.

    What the output means (the noise eps, or the next x_{t-1}) is the objective's
    business, not the network's."""

    def __init__(self, dim, hidden=128, depth=3, emb_dim=None, num_classes=None,
                 cond_dim=None, fourier=0, fourier_max=64.0, rng=None):
        super().__init__()
        emb_dim = emb_dim or hidden
        self.dim = int(dim)
        self.fourier = int(fourier)
        # Drawn from the init rng and saved with the weights (a buffer). A fixed generator
        # per configuration was tried: the tiny 2D runs' mode figures moved by +-0.1
        # between draws of B, so the draw is part of the seed, as the weights are.
        g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)
        self.register_buffer("freqs", random_frequencies(self.fourier, self.dim, fourier_max, g))
        self.time = TimeEmbedding(emb_dim, num_classes=num_classes, cond_dim=cond_dim, rng=rng)
        self.inp = nn.Linear(self.dim + 2 * self.fourier, hidden, rng=rng)
        self.blocks = nn.ModuleList([MLPBlock(hidden, emb_dim, rng=rng) for _ in range(depth)])
        self.out = _zero_(nn.Linear(hidden, self.dim, rng=rng))

    def forward(self, x, t, y=None, c=None, c_keep=None):
        e = F.silu(self.time(t, y, c, c_keep))
        h = self.inp(self.features(x))
        for block in self.blocks:
            h = block(h, e)
        return self.out(F.silu(h))

    def load_state_dict(self, state, strict=True):
        """As nn.Module's, except for states saved before the ``freqs`` buffer existed:
        with ``fourier`` = 0 the buffer is empty and nothing is missing, so they load;
        with fourier > 0 such a state is from the per-axis-octave features, whose input
        layer has another shape and another meaning: a one-line error says so."""
        if "freqs" not in state:
            if self.fourier:
                raise ValueError("this state has no Fourier frequencies 'freqs': it was saved "
                                 "before random Fourier features (per-axis octaves, another "
                                 "input layer); retrain it, or build with fourier=0")
            state = dict(state, freqs=self.freqs.copy())
        return super().load_state_dict(state, strict)

    def features(self, x):
        if isinstance(x, Tensor):
            if self.fourier:
                raise TypeError("MLPDenoiser with Fourier features takes x as an array "
                                "(the features are a fixed map, not differentiated)")
            return x
        return Tensor(fourier_features(x, self.freqs))


# ------------------------------------------------------------------------------ U-Net

def group_norm1(x, weight, bias, eps=1e-5):
    """Normalize each example over (C, H, W), then scale and shift per channel: GroupNorm
    with one group (Wu & He 2018), which Ho et al.'s U-Net uses with 32 groups; one group
    is enough for these small widths and needs only the engine's mean."""
    mu = x.mean(axis=(1, 2, 3), keepdims=True)
    d = x - mu
    y = d / ((d * d).mean(axis=(1, 2, 3), keepdims=True) + eps).sqrt()
    return y * weight.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


class Norm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(np.ones(channels, np.float32))
        self.bias = nn.Parameter(np.zeros(channels, np.float32))

    def forward(self, x):
        return group_norm1(x, self.weight, self.bias)


def upsample2(x):
    """Nearest-neighbour 2x upsampling of (N, C, H, W) by reshape and broadcasting: each
    pixel is copied into a 2x2 block. The engine differentiates it for free: the
    gradient of a broadcast is the sum over the copies (its ``unbroadcast``)."""
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h, 1, w, 1) + np.zeros((1, 1, 1, 2, 1, 2), dtype=x.dtype)
    return blocks.reshape(n, c, 2 * h, 2 * w)


class ResBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm x)) + E e))), with a 1x1 conv on the skip
    path when the width changes (Ho et al.'s residual block, without dropout)."""

    def __init__(self, c_in, c_out, emb_dim, rng=None):
        super().__init__()
        self.norm1 = Norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, rng=rng)
        self.emb = nn.Linear(emb_dim, c_out, rng=rng)
        self.norm2 = Norm(c_out)
        self.conv2 = _zero_(nn.Conv2d(c_out, c_out, 3, padding=1, rng=rng))
        self.skip = nn.Conv2d(c_in, c_out, 1, rng=rng) if c_in != c_out else None

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e).reshape(e.shape[0], -1, 1, 1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class UNet(nn.Module):
    """A small U-Net for (C, H, W) images with H, W divisible by 2^(levels - 1).

    Widths ``base * mults[i]`` per resolution; one ResBlock per level going down (its
    output kept as the skip), stride-2 conv2d between levels, one ResBlock in the
    middle, then up: nearest 2x upsampling, concatenate the skip, one ResBlock. For
    16x16 glyphs, base=32 and mults=(1, 2, 2) give 16 -> 8 -> 4 and about 0.4M weights.
    """

    def __init__(self, channels=1, base=32, mults=(1, 2, 2), emb_dim=None, num_classes=None,
                 cond_dim=None, rng=None):
        super().__init__()
        emb_dim = emb_dim or 4 * base
        widths = [base * m for m in mults]
        self.channels = int(channels)
        self.levels = len(widths)
        self.time = TimeEmbedding(emb_dim, num_classes=num_classes, cond_dim=cond_dim, rng=rng)
        self.inp = nn.Conv2d(channels, widths[0], 3, padding=1, rng=rng)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = widths[0]
        for i, w in enumerate(widths):
            self.down.append(ResBlock(prev, w, emb_dim, rng=rng))
            prev = w
            if i + 1 < len(widths):
                self.downsample.append(nn.Conv2d(w, w, 3, stride=2, padding=1, rng=rng))
        self.mid = ResBlock(prev, prev, emb_dim, rng=rng)
        self.up = nn.ModuleList()
        for w in reversed(widths):
            self.up.append(ResBlock(prev + w, w, emb_dim, rng=rng))
            prev = w
        self.out_norm = Norm(prev)
        self.out = _zero_(nn.Conv2d(prev, channels, 3, padding=1, rng=rng))

    def forward(self, x, t, y=None, c=None, c_keep=None):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        if x.ndim != 4 or x.shape[1] != self.channels or \
                x.shape[2] % 2 ** (self.levels - 1) or x.shape[3] % 2 ** (self.levels - 1):
            raise UserError(f"U-Net input of shape {tuple(x.shape)}: expected (N, "
                            f"{self.channels}, H, W) with H, W divisible by "
                            f"{2 ** (self.levels - 1)}")
        e = F.silu(self.time(t, y, c, c_keep))
        h = self.inp(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, e)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, e)
        for i, block in enumerate(self.up):
            if i > 0:
                h = upsample2(h)
            h = block(F.cat([h, skips.pop()], axis=1), e)
        return self.out(F.silu(self.out_norm(h)))
