"""scratch_gen: the lectures' generative models, built only on autograd's public API."""

import autograd  # noqa: F401  (first: it sets how Numba's idle threads wait; see there)

__version__ = "0.1.0"
