"""The lecture's landscape: a few latents with simple distributions, one picture each.

Isola L14, the slide after the turtle::

    z_1 ~ Bernoulli(0.5)       (river turns)
    z_2 ~ Normal(mu_1, Sigma_1) (grass color)
    z_3 ~ Unif(0, 10)          (number trees)
    ...

"Concept #1: noise is latent variables." He L1, "Probabilistic modeling", says the same
from the other side: "latent factors z (pose, lighting, scale, ...); z has simple
distributions; observations x are rendered by a 'world model' that's a function on z;
observations x have complex distributions." Here the world model is :func:`render`,
written with matplotlib: grass everywhere, the turtle's river on it (the same program
as the ``river`` dataset, :mod:`.turtle`), trees on top.

Each latent drives one factor of the picture and nothing else, which the tests check
pixel by pixel: changing the grass colour repaints exactly the grass pixels, one more
tree adds pixels only inside that tree's box, and changing the river's turns leaves the
trees and the grass colour alone. To make that exact, everything is drawn without
anti-aliasing, so every pixel has exactly one of the scene's colours.

The slide's "..." is honoured with one more latent: where the trees stand,
``Unif(box)`` for each of the ten possible trees (``z_3`` says how many of them are
drawn). The count is ``Unif{0, 1, ..., 10}``, the slide's ``Unif(0, 10)`` read as a
whole number of trees.
"""
import numpy as np

from ..common.errors import UserError
from . import turtle

WIDTH, HEIGHT = 160, 120                 # pixels
MAX_TREES = 10
GRASS_MEAN = np.array([0.36, 0.62, 0.24])
GRASS_COV = np.array([[0.0036, 0.0024, 0.0006],       # std 0.06, 0.06, 0.04; green and
                      [0.0024, 0.0036, 0.0006],       # red move together (lighter /
                      [0.0006, 0.0006, 0.0016]])      # darker grass), as in a meadow
# colours are whole multiples of 1/255, so the 8-bit picture holds them exactly
RIVER_RGB = (51 / 255, 115 / 255, 217 / 255)
CROWN_RGB = (20 / 255, 77 / 255, 26 / 255)
TRUNK_RGB = (102 / 255, 66 / 255, 33 / 255)
SCALE = 5.0                              # landscape pixels per river-image pixel
TREE_HALF_WIDTH, TREE_HEIGHT = 6.0, 18.0


def sample_z(rng):
    """One draw of every latent, as a dict (the keys are :func:`render`'s)."""
    n_turns = turtle.river().n_turns
    return {"turns": rng.integers(0, 2, size=n_turns),
            "grass": rng.multivariate_normal(GRASS_MEAN, GRASS_COV),
            "n_trees": int(rng.integers(0, MAX_TREES + 1)),
            "tree_xy": rng.uniform((0.04 * WIDTH, 0.2 * HEIGHT), (0.96 * WIDTH, 0.98 * HEIGHT),
                                   size=(MAX_TREES, 2))}


def river_path(turns):
    """The turtle's path (the ``river`` dataset's own program) mapped onto the
    landscape: scaled by ``SCALE`` and centred vertically."""
    px, py = turtle.path(np.asarray(turns)[None])
    start_y = turtle.river().start[1]
    return px[0] * SCALE, (py[0] - start_y) * SCALE + HEIGHT / 2


def tree_box(xy):
    """The pixel box ``(x0, y0, x1, y1)`` a tree standing at ``xy`` (its base) may paint."""
    x, y = xy
    return (x - TREE_HALF_WIDTH - 1, y - TREE_HEIGHT - 1, x + TREE_HALF_WIDTH + 1, y + 1)


def _check(z):
    missing = {"turns", "grass", "n_trees", "tree_xy"} - set(z)
    if missing:
        raise UserError(f"landscape latents lack {sorted(missing)}; expected turns, grass, "
                        "n_trees, tree_xy (see sample_z)")
    if not 0 <= int(z["n_trees"]) <= MAX_TREES:
        raise UserError(f"n_trees={z['n_trees']}: expected 0..{MAX_TREES}")


def render(z):
    """The world model ``x = G(z)``: an RGB image (HEIGHT, WIDTH, 3) of uint8.

    Grass is the figure's background (the colour ``z_2``, clipped to [0, 1] and rounded
    to 8 bits); the river
    a thick line along the turtle's path (``z_1``); then the first ``z_3`` trees, each a
    trunk and a triangular crown standing at its position."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon, Rectangle

    _check(z)
    grass = tuple(colour_uint8(z["grass"]) / 255)        # what an 8-bit picture can show
    dpi = 100
    fig = Figure(figsize=(WIDTH / dpi, HEIGHT / dpi), dpi=dpi, facecolor=grass)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(HEIGHT, 0)                    # y down, as in the river image
    xs, ys = river_path(z["turns"])
    ax.plot(xs, ys, color=RIVER_RGB, lw=7, solid_capstyle="butt", solid_joinstyle="round",
            antialiased=False, zorder=1)      # matplotlib draws lines over patches unless told
    for x, y in np.asarray(z["tree_xy"], dtype=np.float64)[:int(z["n_trees"])]:
        ax.add_patch(Rectangle((x - 1.5, y - 5), 3, 5, color=TRUNK_RGB, antialiased=False,
                               zorder=2))
        ax.add_patch(Polygon([(x - TREE_HALF_WIDTH, y - 4), (x + TREE_HALF_WIDTH, y - 4),
                              (x, y - TREE_HEIGHT)], color=CROWN_RGB, antialiased=False,
                             zorder=2))
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def colour_uint8(rgb):
    """A colour in [0, 1] as the rendered uint8 image holds it."""
    return np.floor(np.clip(np.asarray(rgb, dtype=np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)
