"""scratch_gen: the lectures' generative models, built only on autograd's public API."""

import os

# Idle OpenMP and OpenBLAS workers sleep instead of spinning (why, measured:
# autograd/__init__.py).
# Set here too because scratch_gen.data, which does not import the engine, launches
# parallel Numba kernels of its own, and the policy must be set before the first launch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "12")     # (autograd/__init__.py)

__version__ = "0.1.0"
