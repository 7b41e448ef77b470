"""Autoregressive models (placeholder docstring, rewritten below)."""
from . import ngram, mlp, wavenet, made, pixelcnn, transformer, mdn  # noqa: F401
