"""scratch_gen: the lectures' generative models, built only on autograd's public API."""

__version__ = "0.1.0"
