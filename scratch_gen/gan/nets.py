"""The representation: the two networks of the slide, g (noise -> fake data) and d (data
-> probability that it is real), as multilayer perceptrons for points and small
convolutional networks for images.

Isola L14, "Generative Adversarial Networks (GANs)": "g tries to synthesize fake images
that fool d; d tries to identify the fakes" (the slide writes "g tries to identify the
fakes" under d's picture: a slip; the equation under it is d's). g is a *direct*
generator (L14, "noise as latent variables"): ``x = g(z)``, ``z ~ N(0, I)``, with no
density to evaluate. d ends in one logit ``a``, ``d = sigmoid(a)``; the losses work on
``a`` for numerical stability (losses.py).

Conditioning (He L1, "generative models are about p(x|y)"). Every network here takes an
optional ``y``: integer class labels when built with ``num_classes=K`` (fed as one-hot
vectors), or float vectors when built with ``cond_dim=C`` (e.g. a 2D start position).
g reads ``[z, y]``; an MLP d reads ``[x, y]``; a convolutional d is a projection
discriminator (Miyato & Koyama 2018; see :class:`ConvDiscriminator`). Unconditional
models pass nothing.

Packing (PacGAN, Lin et al. 2018): a discriminator built with ``pack=m`` reads m samples
at once, concatenated into one input (rows ``i*m .. i*m+m-1`` form pack i), and answers
one logit per pack. A pack of m fakes from a collapsed generator looks unlike m
independent real samples (too alike), so d can punish collapse it could not see one
sample at a time; Lin et al. show packing penalizes mode collapse in the discriminator's
objective itself (their section 4).

Spectral normalization (Miyato et al. 2018): ``spectral=True`` divides each of d's
weights by its largest singular value (``autograd.nn.spectral_norm``), making d
1-Lipschitz in every layer.
"""
import numpy as np

from autograd import Tensor, nn
from autograd import functional as F

from ..common.errors import UserError


def leaky_relu(x, slope=0.2):
    """``max(x, slope x)`` written as ``slope x + (1 - slope) relu(x)``: the same function
    (for 0 < slope < 1), with relu's cheap mask as its derivative. The slope keeps d's
    gradient alive where a plain ReLU would be flat, so g always hears something."""
    return slope * x + (1.0 - slope) * x.relu()


class Condition:
    """How a network reads its conditioning input y (see the module docstring)."""

    def __init__(self, num_classes=None, cond_dim=None):
        if num_classes is not None and cond_dim is not None:
            raise UserError("condition on class labels (num_classes) or on vectors "
                            "(cond_dim), not both")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.cond_dim = None if cond_dim is None else int(cond_dim)

    @property
    def width(self):
        """Numbers y adds to an input: K for one-hot labels, C for vectors, 0 for none."""
        return self.num_classes or self.cond_dim or 0

    def vector(self, y, n, dtype=np.float32):
        """y as an (n, width) array, or None for an unconditional network."""
        if self.width == 0:
            if y is not None:
                raise UserError("this network is unconditional; it takes no y")
            return None
        if y is None:
            raise UserError(f"this network is conditional; it needs y for its {n} inputs")
        y = y.numpy() if isinstance(y, Tensor) else np.asarray(y)
        if self.num_classes:
            y = y.reshape(-1)
            if (y.shape != (n,) or not np.issubdtype(y.dtype, np.integer)
                    or y.min() < 0 or y.max() >= self.num_classes):
                raise UserError(f"labels y must be {n} integers in 0..{self.num_classes - 1}, "
                                f"got shape {y.shape} dtype {y.dtype}")
            return np.eye(self.num_classes, dtype=dtype)[y]
        y = np.asarray(y, dtype=dtype).reshape(len(y), -1) if np.ndim(y) else y
        if y.shape != (n, self.cond_dim):
            raise UserError(f"conditioning vectors y must have shape ({n}, {self.cond_dim}), "
                            f"got {y.shape}")
        return y


def he_init(module, rng, gain=2.0):
    """Redraw every Linear/Conv weight as ``N(0, gain / fan_in)`` and zero the biases
    (He et al. 2015, "Delving deep into rectifiers", eq. 10): with gain 2 a ReLU layer
    keeps the variance of its input, where PyTorch's default uniform init (kept by
    ``autograd.nn`` so recipes carry over) shrinks it by about 6x per ReLU layer, so a
    deep generator starts out nearly constant and must first grow the steep creases that
    separate modes."""
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    for m in module.modules():
        w = m._parameters.get("weight") if isinstance(m, (nn.Linear, nn.Conv2d)) else None
        if w is None:
            continue
        fan_in = int(np.prod(w.shape[1:]))
        new = rng.normal(0.0, np.sqrt(gain / fan_in), w.shape).astype(np.dtype(w.dtype))
        w.data = Tensor(new, device=w.device).data       # on the parameter's own device
        b = m._parameters.get("bias")
        if b is not None:
            b.data = Tensor(np.zeros(b.shape, np.dtype(b.dtype)), device=b.device).data
    return module


def _concat(x, c):
    return x if c is None else F.cat([x, Tensor(c.astype(x.dtype), device=x.device)], axis=1)


class MLPGenerator(nn.Module):
    """``g_theta(z[, y])``: ``layers`` hidden ReLU layers of ``hidden`` units, a linear
    output in the data's standardized coordinates (the model undoes the
    standardization). ReLU makes g piecewise linear: it can fold the Gaussian noise
    into separate modes only with steep creases between them, which is where a GAN's
    off-mode samples come from."""

    def __init__(self, latent_dim, out_dim, hidden=128, layers=3, num_classes=None,
                 cond_dim=None, rng=None):
        super().__init__()
        self.cond = Condition(num_classes, cond_dim)
        self.latent_dim, self.out_dim = int(latent_dim), int(out_dim)
        dims = [self.latent_dim + self.cond.width] + [int(hidden)] * int(layers)
        self.hidden = nn.ModuleList([nn.Linear(a, b, rng=rng) for a, b in zip(dims, dims[1:])])
        self.out = nn.Linear(dims[-1], self.out_dim, rng=rng)

    def forward(self, z, y=None):
        h = _concat(z, self.cond.vector(y, z.shape[0]))
        for layer in self.hidden:
            h = layer(h).relu()
        return self.out(h)


class _Packing:
    """Shared by both discriminators: how many packs a batch of n samples makes."""

    def packs(self, n):
        if n % self.pack:
            raise UserError(f"a batch of {n} samples does not split into packs of {self.pack}")
        return n // self.pack


class MLPDiscriminator(nn.Module, _Packing):
    """``d_phi(x[, y])`` as a logit: ``layers`` hidden leaky-ReLU layers, one output.

    With ``pack=m`` the first layer reads m samples (each with its y) side by side."""

    def __init__(self, in_dim, hidden=128, layers=2, pack=1, num_classes=None, cond_dim=None,
                 spectral=False, rng=None):
        super().__init__()
        self.cond = Condition(num_classes, cond_dim)
        self.in_dim, self.pack = int(in_dim), int(pack)
        if self.pack < 1:
            raise UserError(f"pack must be an integer >= 1, got {pack!r}")
        dims = [self.pack * (self.in_dim + self.cond.width)] + [int(hidden)] * int(layers)
        self.hidden = nn.ModuleList([nn.Linear(a, b, rng=rng) for a, b in zip(dims, dims[1:])])
        self.out = nn.Linear(dims[-1], 1, rng=rng)
        if spectral:
            for layer in list(self.hidden) + [self.out]:
                nn.spectral_norm(layer, rng=rng)

    def forward(self, x, y=None):
        n = x.shape[0]
        h = _concat(x.reshape(n, -1), self.cond.vector(y, n))
        h = h.reshape(self.packs(n), -1)                       # PacGAN: m rows -> one input
        for layer in self.hidden:
            h = leaky_relu(layer(h))
        return self.out(h).reshape(-1)


def upsample2(x):
    """Nearest-neighbour 2x upsampling of (N, C, H, W): each pixel becomes a 2x2 block,
    by broadcasting against ones (so the gradient sums each block back, for free).
    Upsample-then-convolve avoids the checkerboard artefacts of strided transposed
    convolutions (Odena, Dumoulin & Olah 2016, "Deconvolution and checkerboard
    artifacts")."""
    n, c, h, w = x.shape
    ones = Tensor(np.ones((1, 1, 1, 2, 1, 2), dtype=x.dtype), device=x.device)
    return (x.reshape(n, c, h, 1, w, 1) * ones).reshape(n, c, 2 * h, 2 * w)


class ConvGenerator(nn.Module):
    """``g(z[, y])`` for small images (H and W divisible by 4): a linear layer to a
    (2C, H/4, W/4) map, upsample 2x and a 3x3 convolution to C channels with ReLU, then
    upsample 2x and a 3x3 convolution straight to the image channels. The output is
    linear, in the model's pixel coordinates (2 x - 1, so [0, 1] becomes [-1, 1]): a
    sigmoid or tanh output saturates where glyphs are, mostly, black background, and a
    generator that drifts there early (the easiest way to look like 86% of the pixels)
    gets almost no gradient back out. Kept to two convolutions, the last one cheap,
    because a full-resolution C -> C convolution would cost most of a training step on
    a CPU."""

    def __init__(self, latent_dim, shape, channels=32, num_classes=None, cond_dim=None,
                 rng=None):
        super().__init__()
        self.cond = Condition(num_classes, cond_dim)
        self.latent_dim = int(latent_dim)
        self.shape = tuple(int(s) for s in shape)
        cin, h, w = _image_shape(self.shape)
        if h % 4 or w % 4:
            raise UserError(f"the convolutional GAN needs image sides divisible by 4, got {h}x{w}")
        c = int(channels)
        self.base = (2 * c, h // 4, w // 4)
        self.fc = nn.Linear(self.latent_dim + self.cond.width, int(np.prod(self.base)), rng=rng)
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1, rng=rng)
        self.to_image = nn.Conv2d(c, cin, 3, padding=1, rng=rng)

    def forward(self, z, y=None):
        n = z.shape[0]
        h = self.fc(_concat(z, self.cond.vector(y, n))).relu().reshape(n, *self.base)
        h = self.conv(upsample2(h)).relu()
        return self.to_image(upsample2(h)).reshape((n,) + self.shape)


class ConvDiscriminator(nn.Module, _Packing):
    """``d(x[, y])`` for small images: two stride-2 3x3 convolutions with leaky ReLU
    (H -> H/4) give the features ``phi(x)``, flattened; a linear layer ``psi`` reads
    them to one logit. With ``pack=m`` the m images of a pack are stacked as channels
    (and their m conditions side by side).

    Conditioning is by projection (Miyato & Koyama 2018, "cGANs with projection
    discriminator", eq. 3): ``logit = psi(phi(x)) + <V y, phi(x)>``, V a linear
    embedding of y (a row per class for labels, a matrix for vectors). Why this form:
    the optimal conditional d has logit ``log p(x|y) - log q(x|y)``, a function of x
    *and* y jointly. Appending y to the features before the last layer, as this class
    once did, adds ``w . y`` to the logit: a term in y alone, which cannot tell a real
    pair from a fake pair with the same y (and fakes are drawn with the real y's, so it
    cancels between them): d could not weigh y against x at all. The inner product
    makes every feature's vote depend on y, a bilinear form that matches Miyato &
    Koyama's derivation for categorical y (and for a Gaussian-like p(y|x) with vector
    y), at the cost of one (packs*width, F) matrix. Injecting y at the input as extra
    constant channels would also work, but makes every convolution carry y's channels
    through every pixel (a broadcast image per condition number: 128 channels for the
    lower half of a glyph), where the projection costs one matrix product."""

    def __init__(self, shape, channels=32, pack=1, num_classes=None, cond_dim=None,
                 spectral=False, rng=None):
        super().__init__()
        self.cond = Condition(num_classes, cond_dim)
        self.shape = tuple(int(s) for s in shape)
        self.pack = int(pack)
        if self.pack < 1:
            raise UserError(f"pack must be an integer >= 1, got {pack!r}")
        cin, h, w = _image_shape(self.shape)
        c = int(channels)
        self.conv1 = nn.Conv2d(cin * self.pack, c, 3, stride=2, padding=1, rng=rng)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, rng=rng)
        feat = 2 * c * ((h + 3) // 4) * ((w + 3) // 4)
        self.out = nn.Linear(feat, 1, rng=rng)
        layers = [self.conv1, self.conv2, self.out]
        if self.cond.width:
            self.embed = nn.Linear(self.pack * self.cond.width, feat, bias=False, rng=rng)
            layers.append(self.embed)
        if spectral:
            for layer in layers:
                nn.spectral_norm(layer, rng=rng)

    def features(self, x):
        """``phi(x)``: (packs, F) features of the packed images."""
        cin, h, w = _image_shape(self.shape)
        hmap = x.reshape(self.packs(x.shape[0]), self.pack * cin, h, w)
        hmap = leaky_relu(self.conv1(hmap))
        hmap = leaky_relu(self.conv2(hmap))
        return hmap.reshape(hmap.shape[0], -1)

    def forward(self, x, y=None):
        n = x.shape[0]
        c = self.cond.vector(y, n)
        feat = self.features(x)
        logit = self.out(feat).reshape(-1)
        if c is None:
            return logit
        v = self.embed(Tensor(c.reshape(feat.shape[0], -1).astype(feat.dtype),
                              device=feat.device))
        return logit + (v * feat).sum(axis=1)


def _image_shape(shape):
    """(C, H, W) from an image's shape: (H, W) is one channel."""
    if len(shape) == 2:
        return (1,) + tuple(shape)
    if len(shape) == 3:
        return tuple(shape)
    raise UserError(f"image shape {shape}: expected (H, W) or (C, H, W)")
