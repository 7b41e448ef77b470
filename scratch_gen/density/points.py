"""Checks every continuous density in this package runs on its input, written once.

A density p_theta: X -> [0, inf) (Isola L14, "Density models") is defined on the space
it was fitted to: points of the same shape, finite numbers. A wrong shape or a nan is a
user's mistake (DESIGN.md, "Conventions") and gets one line naming what was expected.
"""
import numpy as np

from ..common.errors import UserError


def as_points(x, shape, what="data"):
    """``x`` (n, *shape) as a float64 array (n, D), D = prod(shape)."""
    a = np.asarray(x, dtype=np.float64)
    if a.shape[1:] != tuple(shape):
        raise UserError(f"{what} of shape {a.shape[1:]} per example; expected shape {tuple(shape)}")
    if not np.isfinite(a).all():
        raise UserError(f"{what} holds nan or inf; expected finite numbers")
    return np.ascontiguousarray(a.reshape(len(a), -1))


def positive(value, name):
    """A positive finite float, or a UserError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise UserError(f"{name}={value!r}: expected a positive number")
    value = float(value)
    if not (value > 0 and np.isfinite(value)):
        raise UserError(f"{name}={value!r}: expected a positive finite number")
    return value
