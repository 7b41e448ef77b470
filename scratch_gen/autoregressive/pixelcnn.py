"""PixelCNN: pixels one at a time, with masked convolutions (van den Oord et al. 2016).

Isola L14, "Autoregressive model of pixels": ``x_1..x_{n-1} -> f_theta -> x_n``, trained
with "elementwise scores x_n (.) log x^_n" (the cross-entropy against the one-hot true
value), sampled pixel by pixel in raster order.

A convolution sees a window around each pixel; PixelCNN ("Pixel Recurrent Neural
Networks", van den Oord, Kalchbrenner & Kavukcuoglu 2016, section 3.5) zeroes the
weights that would look at the current pixel or after it in raster order:

- mask A (first layer): rows above, and the current row left of the centre: the output
  at (r, c) never reads x_{r,c} itself;
- mask B (later layers): also the centre, because there the centre holds features that
  were themselves computed from pixels before (r, c) only.

So the stack computes all ``p(x_{rc} | x_<rc)`` in one forward pass for training and for
log_prob, while sampling needs one pass per pixel. Each pixel is a categorical over K
levels (K read from the data: 2 for binary images), the paper's 256-way softmax in
small. Stacked masked 3x3 convolutions see a cone above each pixel with a blind spot
above-right (van den Oord et al. 2016b fix it with gated vertical/horizontal stacks);
here a wide first layer, dilated B layers and a cheap "row context" (every earlier row
summarized into one vector per row) widen what each pixel's conditional can read, and a
learned position embedding says where the pixel is.

The scan order is designed too (He L1: "this dependency graph is designed"). The chain
rule holds in any order, and ``scan="columns"`` runs the same masked convolutions on
the transposed image: column by column, each top to bottom. Why it matters, on the
lecture's river (``scratch_gen.data.images.River``): its 1,280 pixels carry only
10 ln 2 nats, because the picture is a one-to-one function of 10 coin flips, the
turtle's turns, taken left to right. Every pixel is certain once the flips are known,
so the model's whole job is to find out each flip where it first shows and to be
certain everywhere else. Scanned column by column (the turtle's own order), what is
left to predict in column c is fixed by the last few columns (where the line is and
its slope) plus at most the one new flip: local, the cone of a few masked layers and
the row context (here: "column context", one vector per finished column) see it.
Scanned row by row, the river is met at its top-most bend first and each flip's
evidence is scattered over rows far apart. Measured (``benchmarks/ar_quality.py``,
5,000 training images, channels 24, dilations [1, 2, 1, 2], batch 16, 1,000 steps):
9.68 nats per image by rows, 8.53 by columns, against the truth's 6.93; by columns
with 2,500 steps, 7.59 at lr 3e-3 and 7.51 at lr 6e-3 (~370 CPU s); with 4,000 steps
at lr 6e-3, 7.21 (4.0% above the truth, 566 CPU s on one core). What is left is mostly
certainty: 1,280 pixels that should each get p = 1 pay sum(1 - p) nats, and that tail
shrinks about in proportion to the steps.
"""
import numpy as np

from autograd import Tensor
import autograd.functional as F
from autograd.nn import Linear, Module, ModuleList, Parameter

from ..common.errors import UserError
from ..registry import register
from .chain import TokenModel
from .layers import CausalConv1d, MaskedConv2d, pixelcnn_taps


def pixelcnn_mask(kind, k):
    """The ``(k, k)`` 0/1 mask of type "A" or "B": 1 at the taps a masked convolution
    reads (for ``nn.Conv2d(mask=...)``; :class:`MaskedConv2d` uses the taps directly)."""
    m = np.zeros((k, k))
    for dy, dx in pixelcnn_taps(kind, k):
        m[dy + k // 2, dx + k // 2] = 1.0
    return m


class PixelCNNNet(Module):
    """Channels-last: pixels ``(N, H, W)`` -> logits ``(N, H, W, K)``.

    ``position``: a learned vector per pixel position added after the first layer (the
    Transformer's position embedding, in 2D). Position is not data, so reading it breaks
    no causality; without it a convolution cannot tell row 3 of an empty region from
    row 30, and "where does the first ink appear" is mostly a question of where.

    ``row_context`` R > 0: every row above, summarized. Each row is mapped to R numbers,
    shifted down by one row (row r reads rows < r only), passed through a WaveNet-like
    stack of causal convolutions over rows (dilations 1, 2, 4, 8, 16: 32 rows back), and
    added to every pixel of the row. Masked convolutions see a cone of ``reach`` rows
    with a blind spot above-right; this sees all of every earlier row, the job of the
    vertical stack in van den Oord et al. 2016b ("Conditional Image Generation with
    PixelCNN Decoders"), done cheaply with one vector per row. It reads only position
    (the row) and finished rows, so it keeps the mask's promise: the causality tests
    perturb every pixel and see no later one move.

    ``shape`` is the frame the masks scan in raster order: the image, or its transpose
    for ``scan="columns"`` (then a "row" here is a column of the image)."""

    def __init__(self, K, shape, channels, dilations, first_kernel, kernel, position,
                 row_context, rng):
        super().__init__()
        self.K = K
        H, W = shape
        self.first = MaskedConv2d(1, channels, first_kernel, "A", rng=rng)
        self.body = ModuleList([MaskedConv2d(channels, channels, kernel, "B", d, rng=rng)
                                for d in dilations])
        self.head1 = Linear(channels, channels, rng=rng)
        self.head2 = Linear(channels, K, rng=rng)
        self.pos = Parameter(np.zeros(tuple(shape) + (channels,))) if position else None
        self.row_context = row_context
        if row_context:
            self.row_in = Linear(W, row_context, rng=rng)
            self.row_convs = ModuleList([CausalConv1d(row_context, row_context, 2, d, rng=rng)
                                         for d in (1, 2, 4, 8, 16)])
            self.row_out = Linear(row_context, channels, rng=rng)
        # how far up and sideways the masked convolutions read (half-width of their field)
        self.reach = self.first.reach + sum(conv.reach for conv in self.body)

    def values(self, img):
        """Pixels as numbers in [-1, 1], the network's input."""
        return Tensor(img.astype(self.head2.weight.dtype) / (self.K - 1) * 2.0 - 1.0)

    def row_features(self, img):
        """``(N, H, channels)``: for row r, a function of rows 0..r-1 only."""
        v = self.values(img)                                       # (N, H, W)
        above = F.pad(v, (0, 0, 1, 0))[:, :-1]                     # row r holds row r - 1
        e = self.row_in(above).tanh()
        for conv in self.row_convs:
            e = e + conv(e).tanh()                                 # causal over rows
        return self.row_out(e)

    def forward(self, img, rows=None, cols=None, row_feats=None):
        """``rows``, ``cols``: where a crop sits in the full image; ``row_feats``: the
        crop's rows of :meth:`row_features` of the full image (default: computed here,
        for a full image)."""
        h = self.first(self.values(img)[..., None])
        if self.pos is not None:
            h = h + (self.pos if rows is None else self.pos[rows, cols])
        if self.row_context:
            feats = self.row_features(img) if row_feats is None else row_feats
            h = h + feats.reshape(feats.shape[0], feats.shape[1], 1, feats.shape[2])
        h = h.relu()
        for conv in self.body:
            h = h + conv(h).relu()                                 # residual, mask B
        return self.head2(self.head1(h).relu())


@register("autoregressive", "pixelcnn")
class PixelCNN(TokenModel):
    description = "masked conv2d (type A, then B) over binary or K-level pixels"
    slide = "Isola L14, 'Autoregressive model of pixels'; van den Oord et al. 2016 (PixelCNN)"
    data_kinds = ("image",)
    default_steps = 2000
    default_batch_size = 16
    default_config = {"channels": 32, "dilations": [1, 1, 2, 1, 2], "first_kernel": 7,
                      "kernel": 3, "position": True, "row_context": 32, "scan": "rows",
                      "lr": 2e-3, "decay_steps": 0}
    prefix_ok = False

    def build(self, rng):
        c = self.config
        if len(self.spec.shape) != 2:
            raise UserError(f"pixelcnn needs single-channel images of shape (H, W); got "
                            f"shape {self.spec.shape}")
        if c["first_kernel"] < 3 or c["first_kernel"] % 2 == 0 or c["kernel"] < 1 \
                or c["kernel"] % 2 == 0:
            raise UserError(f"first_kernel={c['first_kernel']}, kernel={c['kernel']}: expected "
                            "odd sizes, the first >= 3 (a 1x1 mask A reads nothing)")
        if not c["dilations"] or min(c["dilations"]) < 1:
            raise UserError(f"dilations={c['dilations']}: expected a non-empty list of "
                            "integers >= 1 (one per masked layer of type B)")
        if c["scan"] not in ("rows", "columns"):
            raise UserError(f"scan={c['scan']!r}: expected 'rows' (raster order, row by row) "
                            "or 'columns' (column by column, each top to bottom)")
        H, W = self.seq.shape
        self.columns = c["scan"] == "columns"
        # the frame the masked convolutions scan in raster order: the image, or its transpose
        self.frame = (W, H) if self.columns else (H, W)
        if self.columns:
            # p(x) = prod over pixels in column-major order: x_i follows every pixel of
            # the columns to its left and those above it in its own column
            self.order = np.arange(H * W).reshape(H, W).T.ravel()
        self.net = PixelCNNNet(self.seq.V, self.frame, c["channels"], c["dilations"],
                               c["first_kernel"], c["kernel"], c["position"],
                               c["row_context"], rng)

    def to_frame(self, x):
        """``(N, L)`` tokens -> ``(N, *frame)`` pixels in the scan's frame."""
        img = x.reshape((len(x),) + self.seq.shape)
        return img.transpose(0, 2, 1) if self.columns else img

    def logits(self, x):
        n = len(x)
        z = self.net(self.to_frame(x))                             # (n, *frame, K)
        if self.columns:
            z = z.transpose(0, 2, 1, 3)
        return z.reshape(n, self.seq.length, self.seq.V)

    def stepper(self, n, cached=True):
        """Pixel i's masked convolutions read only a window of ``reach`` rows above and
        ``reach`` columns either side, so the fast sampler runs them on that crop, with
        the row context (one vector per row, from the finished rows above) computed once
        per row (the rest of the image cannot change the answer: the tests compare with
        the full pass)."""
        if not cached:
            return super().stepper(n, cached)
        H, W = self.frame
        R = self.net.reach

        rows_done = {}

        def step(x, i):
            r, c = divmod(i, self.seq.shape[1])
            if self.columns:
                r, c = c, r
            r0, c0, c1 = max(0, r - R), max(0, c - R), min(W, c + R + 1)
            img = self.to_frame(x)
            feats = None
            if self.net.row_context:
                if r not in rows_done:                  # rows < r are final from here on
                    rows_done.clear()
                    rows_done[r] = self.net.row_features(img).data
                feats = Tensor(rows_done[r][:, r0:r + 1])
            crop = img[:, r0:r + 1, c0:c1]
            where = (slice(r0, r + 1), slice(c0, c1))
            return self.net(crop, *where, row_feats=feats).data[:, r - r0, c - c0]
        return step
