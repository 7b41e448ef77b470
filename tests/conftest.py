"""Test-wide settings: a non-interactive matplotlib backend (tests write PNGs only), and
Numba's CUDA simulator when there is no GPU.

The simulator (NUMBA_ENABLE_CUDASIM=1) runs CUDA kernels as Python threads, so
tests/cuda checks every kernel without a GPU. Numba reads the variable once, when it is
first imported, so it is set here, before any test module imports numba. It changes
numba.cuda only: the CPU kernels (@njit) compile and run as before. A GPU is detected
cheaply (a /dev/nvidia* device or nvidia-smi on the PATH) rather than by importing
numba.cuda; NUMBA_ENABLE_CUDASIM set by the user (0 or 1) is left as it is.
"""
import glob
import os
import shutil
import sys

os.environ.setdefault("MPLBACKEND", "Agg")


def _gpu_present():
    return bool(glob.glob("/dev/nvidia[0-9]*")) or shutil.which("nvidia-smi") is not None


if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _gpu_present():
    if "numba" in sys.modules:       # too late for this process: say so instead of lying
        sys.stderr.write("tests/conftest.py: numba was imported before conftest; the CUDA "
                         "simulator is not enabled\n")
    else:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
