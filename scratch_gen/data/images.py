"""Images made by a known generator from known latent variables.

Isola L14, "noise is latent variables": a generator is a program that turns random
choices into data. ``river`` is the lecture's own program, and its image is a one-to-one
function of the coin flips, so ``log p(x) = -N ln 2`` exactly on the 2^N images it can
draw. ``glyphs`` renders the digits of the font matplotlib ships with random pose and
stroke width: the latents are known but the density of the pixels is not.
"""

import functools
import math
import os

import numpy as np

from ._kernels import polygon_sdf, render_glyphs, render_polylines
from .base import DataError, Dataset, as_array


def quantize(x, levels):
    """Intensities in [0, 1] to integers ``0..levels-1`` (``floor(x * levels)``, with 1.0
    in the top level): e.g. ``quantize(glyphs, 2)`` binarizes at 0.5, ``quantize(x, 256)``
    gives 8-bit pixels for a discrete model."""
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise DataError(f"levels={levels!r}: expected an integer >= 2")
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all() or a.size and (a.min() < 0 or a.max() > 1):
        raise DataError("quantize(x): expected finite values in [0, 1]")
    return np.minimum(np.floor(a * levels), levels - 1).astype(np.int64)


# ------------------------------------------------------------------------ river

class River(Dataset):
    """The lecture's river (Isola L14, the turtle program next to "noise is latent
    variables"):

        z ~ Bernoulli(0.5)^N
        for i = 1..N: extend the line 1 unit; turn 10 degrees right if z_i = 1, else left

    rendered as a binary image. Two choices make the picture a one-to-one function of z:

    - After the N-th turn we extend the line once more (N + 1 segments). On the slide the
      last turn happens after the last stroke, so z_N would change nothing on the page
      and every image would have two preimages.
    - The scale. Flipping a late bit moves the rest of the river sideways by
      2 sin(10 deg) = 0.35 units; at 2.5 pixels per unit, with pixels inked when their
      centre is within 0.7 px of the line, all 2^10 = 1,024 rivers give different
      40 x 32 images (smaller scales merge some: 1.6 px/unit gives 3,286 images for
      4,096 rivers of N = 12). ``_river_table`` renders all of them and checks it. The
      closest pairs (6 of them) differ in one pixel, and no pixel centre lies within
      1e-5 px of the inking threshold, far above rounding error, so no machine's
      arithmetic can merge two images.

    The river starts at the left, mid-height, heading right; the image is tall enough
    for the most curled river (all turns one way).
    """

    name = "river"
    kind = "image"
    levels = 2
    has_log_prob = True
    has_entropy = True
    n_turns = 10
    step = 2.5               # pixels per unit of the turtle
    radius = 0.7             # pixel centres this close to the line are ink
    turn = math.radians(10)
    start = (2.25, 20.0)     # (x, y) in pixels, y down
    shape = (40, 32)
    image_shape = (40, 32)
    default_sizes = (5_000, 1_000)
    summary = ("the lecture's turtle river: 10 coin flips turn an 11-step line 10 degrees "
               "left/right, drawn on 40x32 binary pixels; one image per flip sequence")

    def render(self, z):
        """Images (n, 40, 32) of flip sequences ``z`` (n, 10) of 0/1."""
        z = np.asarray(z)
        if z.ndim != 2 or z.shape[1] != self.n_turns or not np.isin(z, (0, 1)).all():
            raise DataError(f"river.render(z): expected 0/1 flips of shape (n, {self.n_turns}), "
                            f"got shape {z.shape}")
        px, py = self.vertices(z)
        return render_polylines(px, py, self.shape[0], self.shape[1], self.radius)

    def vertices(self, z):
        """The turtle's path: x and y (n, N + 2) of every vertex, in pixels."""
        n, big_n = z.shape
        heading = np.zeros((n, big_n + 1), dtype=np.int64)         # in units of 10 degrees
        heading[:, 1:] = np.cumsum(2 * z.astype(np.int64) - 1, axis=1)
        # one table of directions, so equal headings give bit-identical steps
        k = np.arange(-big_n, big_n + 1)
        cos, sin = np.cos(k * self.turn), np.sin(k * self.turn)
        px = np.empty((n, big_n + 2))
        py = np.empty((n, big_n + 2))
        px[:, 0], py[:, 0] = self.start
        px[:, 1:] = self.start[0] + self.step * np.cumsum(cos[heading + big_n], axis=1)
        py[:, 1:] = self.start[1] + self.step * np.cumsum(sin[heading + big_n], axis=1)
        return px, py

    def sample_latents(self, n, rng):
        """The flips alone: ``render(sample_latents(n, rng))`` equals ``sample(n, rng)``."""
        return rng.integers(0, 2, size=(n, self.n_turns))

    def _sample(self, n, rng):
        return self.render(self.sample_latents(n, rng))

    def decode(self, x):
        """The flips that drew each image, or a row of -1 for an image no river draws.
        Found in the table of all 2^N renderings and confirmed by drawing it again."""
        a = as_array(x, self.shape, "river.decode(x)", dtype=None)
        images, index = _river_table(type(self))
        z = np.full((len(a), self.n_turns), -1, dtype=np.int64)
        binary = np.flatnonzero(np.all((a == 0) | (a == 1), axis=(1, 2)))
        pixels = a[binary].astype(np.uint8).reshape(len(binary), math.prod(self.shape))
        packed = np.packbits(pixels, axis=1)
        hits = [(i, index.get(row.tobytes())) for i, row in zip(binary, packed)]
        hits = [(i, j) for i, j in hits if j is not None]
        if hits:
            rows, codes = map(np.array, zip(*hits))
            z_hit = (codes[:, None] >> np.arange(self.n_turns)) & 1
            same = np.all(self.render(z_hit) == a[rows], axis=(1, 2))
            z[rows[same]] = z_hit[same]
        return z

    def _log_prob(self, x):
        z = self.decode(x)
        return np.where(z[:, 0] >= 0, -self.n_turns * math.log(2), -np.inf)

    def _entropy(self):
        return self.n_turns * math.log(2), 0.0

    def support(self):
        """All 2^N images (row i drawn by the bits of i, least significant first) and
        their probabilities 2^-N."""
        images, _ = _river_table(type(self))
        return images.copy(), np.full(len(images), 2.0 ** -self.n_turns)


@functools.cache
def _river_table(cls):
    """Every image the river can draw, and a dict from its packed pixels to the integer
    whose bits are the flips. Building it is the injectivity proof: 2^N distinct keys."""
    river = cls()
    codes = np.arange(1 << river.n_turns)
    z = (codes[:, None] >> np.arange(river.n_turns)) & 1
    images = river.render(z)
    packed = np.packbits(images.astype(np.uint8).reshape(len(z), -1), axis=1)
    index = {row.tobytes(): int(c) for c, row in zip(codes, packed)}
    if len(index) != len(codes):
        raise RuntimeError(f"river: only {len(index)} distinct images for {len(codes)} flip "
                           "sequences; log p(x) = -N ln 2 would be wrong")
    return images, index


# ------------------------------------------------------------------------ glyphs

def _font_file():
    import matplotlib
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    if not os.path.isfile(path):
        raise DataError(f"dataset 'glyphs' needs matplotlib's DejaVuSans.ttf, not found at {path}")
    return path


def glyph_segments(char):
    """Outline of ``char`` in DejaVu Sans (em units, y up) as line segments
    ``(x0, y0, x1, y1)``: the font's quadratic and cubic Bezier pieces are each cut into
    8 chords (each chord within 3e-4 em of its curve, under 0.01 pixel here)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), char, size=1, prop=FontProperties(fname=_font_file()))
    contours, current = [], []
    ts = np.linspace(0, 1, 9)[1:]
    for bez, code in path.iter_bezier():
        if code == Path.MOVETO:
            if len(current) > 1:
                contours.append(current)
            current = [bez.control_points[0]]
        else:
            current.extend(bez(ts) if bez.degree > 1 else bez.control_points[-1:])
    if len(current) > 1:
        contours.append(current)
    segs = []
    for c in contours:
        c = np.asarray(c)
        closed = np.concatenate([c, c[:1]])
        s = np.concatenate([closed[:-1], closed[1:]], axis=1)
        segs.append(s[np.hypot(s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]) > 1e-12])
    return np.ascontiguousarray(np.concatenate(segs))


class Glyphs(Dataset):
    """The digits 0-9 of DejaVu Sans (the font inside matplotlib), drawn at 16x16 with
    random pose and stroke width: a world model whose latents we choose (He L1, "latent
    factors rendered by a world model"), with the label as the class.

    Latents, drawn independently: digit ~ U{0..9}; rotation ~ U(-15, 15) degrees; size
    ~ U(0.85, 1.15) x 10.5 px for the height of a digit; shift ~ U(-1, 1) px in x and y;
    stroke width change ~ U(-0.3, 0.6) px per side (negative thins, positive thickens).
    Pixels are the ink's area coverage in [0, 1] (background 0): each pixel is split
    into 4x4 sub-cells, each sub-cell covered by the outline's signed distance through
    a linear edge ramp. The signed distance of each digit is computed once on a 128 x 128
    grid (exact distance to the outline, even-odd inside test), then interpolated.

    No density: the pixels are a many-to-one, non-linear function of the latents.
    """

    name = "glyphs"
    kind = "image"
    shape = (16, 16)
    num_classes = 10
    max_rotation = math.radians(15)
    size_range = (0.85, 1.15)
    height_px = 10.5
    max_shift = 1.0
    width_range = (-0.3, 0.6)
    supersample = 4
    summary = ("digits 0-9 from matplotlib's DejaVu Sans at 16x16 grayscale, random "
               "rotation, size, shift and stroke width; labels = digit")

    def render(self, digits, angle, scale, shift, width):
        """Draw digits with the given latents (arrays of length n; ``angle`` in radians,
        counter-clockwise; ``scale`` relative to the nominal size; ``shift`` (n, 2) in
        pixels, x right and y down; ``width`` in pixels per side)."""
        sdf, lo, step, center, digit_height = _glyph_fields()
        digits = np.asarray(digits, dtype=np.int64)
        if digits.ndim != 1 or digits.size and (digits.min() < 0 or digits.max() > 9):
            raise DataError("glyphs.render: digits must be a 1-D array of 0..9")
        n = len(digits)
        f = lambda a: np.ascontiguousarray(np.broadcast_to(np.asarray(a, np.float64), (n,)))
        ppe = f(scale) * self.height_px / digit_height                 # pixels per em
        return render_glyphs(sdf, lo, step, center, digits, f(angle), ppe,
                             np.ascontiguousarray(np.broadcast_to(shift, (n, 2)), np.float64),
                             f(width), self.shape[0], self.supersample)

    def sample_latents(self, n, rng):
        """``dict`` of the latents of ``n`` draws (the keys are ``render``'s arguments)."""
        return {"digits": rng.integers(0, 10, size=n),
                "angle": rng.uniform(-self.max_rotation, self.max_rotation, size=n),
                "scale": rng.uniform(*self.size_range, size=n),
                "shift": rng.uniform(-self.max_shift, self.max_shift, size=(n, 2)),
                "width": rng.uniform(*self.width_range, size=n)}

    def _sample_labelled(self, n, rng):
        z = self.sample_latents(n, rng)
        return self.render(**z), z["digits"]


@functools.cache
def _glyph_fields():
    """Signed distance fields (10, 128, 128) of the digits in em units, positive inside,
    on a square grid around the digits' common centre; and that grid's corner, spacing,
    the centre and the digits' height."""
    segs = [glyph_segments(str(d)) for d in range(10)]
    allpts = np.concatenate([s[:, :2] for s in segs])
    lo_box, hi_box = allpts.min(axis=0), allpts.max(axis=0)
    center = (lo_box + hi_box) / 2
    half = 0.5 * (hi_box - lo_box).max() + 0.12          # room for rotation and thickening
    g = 128
    lo = center - half
    step = 2 * half / (g - 1)
    axis = np.arange(g) * step
    pts = np.stack(np.meshgrid(lo[0] + axis, lo[1] + axis), -1).reshape(-1, 2)
    sdf = np.stack([polygon_sdf(np.ascontiguousarray(pts), s).reshape(g, g) for s in segs])
    return sdf, lo, float(step), center, float(hi_box[1] - lo_box[1])


DATASETS_IMAGES = {c.name: c for c in (River, Glyphs)}
