"""The lecture's turtle: a hand-written generator whose noise is its latent variables.

Isola L14, the river slide (next to "Concept #1: noise is latent variables")::

    z ~ Bernoulli(0.5)
    for i = 1, ..., N do
        extend line 1 unit in current heading direction
        if z_i == 1 then rotate heading 10 degrees to the right
        else rotate heading 10 degrees to the left

The program is the ``river`` dataset's (scratch_gen/data/images.py, with its two
choices that make the picture a one-to-one function of z); this module does not draw
it again, it calls it. What this module adds is the lecture's reading of it: the
"direct approach" ``G: Z -> X`` (L14, "Learning data generators") is a function we can
call with a z we choose, and each coordinate of z is one decision of the program, so
flipping ``z_i`` changes the i-th turn and nothing before it.
"""
import numpy as np

from .. import data
from ..common.errors import UserError


def river():
    """The ``river`` dataset: its ``render``, ``vertices``, ``n_turns``."""
    return data.get("river")


def sample_z(n, rng):
    """``z ~ Bernoulli(0.5)^N``: the noise, which *is* the latent variable."""
    return river().sample_latents(n, rng)


def G(z):
    """The direct generator ``G: Z -> X``: binary images (n, 40, 32) of flips ``z``
    (n, N). Deterministic: all the randomness of a sample was in z."""
    return river().render(np.asarray(z))


def path(z):
    """The turtle's vertices (x, y) in pixels, (n, N + 2) each, for drawing the line."""
    return river().vertices(np.asarray(z))


def flip(z, i):
    """``z`` with bit ``i`` flipped (one latent changed, the rest kept)."""
    z = np.array(z, copy=True)
    if not 0 <= i < z.shape[-1]:
        raise UserError(f"bit {i}: expected 0..{z.shape[-1] - 1}")
    z[..., i] = 1 - z[..., i]
    return z


def headings(z):
    """Heading after each turn in degrees, (n, N): ``10 * cumsum(2 z - 1)`` (right turns
    positive, in the image's y-down frame). Flipping ``z_i`` changes the headings from
    turn i on by 20 degrees and leaves the earlier ones alone."""
    z = np.asarray(z).astype(np.int64)
    return 10 * np.cumsum(2 * z - 1, axis=-1)
