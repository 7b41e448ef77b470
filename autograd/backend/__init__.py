"""Where arrays live and where hot loops run.

Three modules define the same kernel names with the same signatures:
``reference`` (plain NumPy, the readable truth and the test oracle), ``cpu`` (Numba,
parallel, cached) and ``cuda`` (numba.cuda, imported only when asked for).

``SCRATCH_GEN_KERNELS=numpy`` selects the references; the default is ``numba``.
Primitives look the active module up at call time through :func:`kernels`, so a test
can switch with :func:`use_kernels` and compare both.

Arrays on a GPU are ``cuda.DeviceArray`` objects (subclasses of :class:`DeviceArrayBase`,
defined here so that the engine can recognise them without importing numba.cuda). A
primitive whose inputs live on the GPU runs there: NumPy hands ``np.add(a, b)``,
``np.sum(a)``, ``scipy.special.expit(a)`` ... to the device array's
``__array_ufunc__``/``__array_function__`` (NEP 13 and NEP 18), so ops.py keeps calling
NumPy's names and the CPU path pays nothing for the GPU's existence. The kernel
primitives (im2col, cross-entropy, softmax, Adam) pick their module with
:func:`kernels_for`, one ``isinstance`` per call.

:func:`use_device` ``("cuda")`` (the CLI's ``--device cuda``) also makes the GPU the
default place for new tensors: ``Tensor(numpy_array)``, parameters and buffers built
afterwards live there, as with ``torch.set_default_device``. That is what lets a model
family written against NumPy inputs train on the GPU unchanged.
"""
import importlib
import os

_NAMES = {"numpy": "reference", "reference": "reference", "numba": "cpu", "cpu": "cpu"}
_active = None
_cuda = None                 # backend.cuda once loaded
_default_device = "cpu"      # where Tensor(host data) is placed; set by use_device
DEVICES = ("cpu", "cuda")


class DeviceArrayBase:
    """Marker base class of arrays that live on an accelerator (see ``cuda.DeviceArray``).

    Defined here, with no dependency, so that ``isinstance(x, DeviceArrayBase)`` costs
    nothing on the CPU path and ``import autograd`` never imports numba.cuda."""
    __slots__ = ()


def use_kernels(name):
    """Select the CPU kernel set by name: 'numpy' (references) or 'numba' (compiled).
    Arrays on the GPU always use the cuda kernels, whatever is selected here."""
    global _active
    if name not in _NAMES:
        raise ValueError(f"unknown kernel set {name!r}; expected one of 'numpy', 'numba'")
    _active = importlib.import_module(f"{__name__}.{_NAMES[name]}")
    return _active


def kernels():
    """The active CPU kernel module (chosen by SCRATCH_GEN_KERNELS on first use)."""
    return _active if _active is not None else use_kernels(
        os.environ.get("SCRATCH_GEN_KERNELS", "numba"))


def kernels_for(x):
    """The kernel module for array ``x``: cuda's for a device array, else the active
    CPU set."""
    if isinstance(x, DeviceArrayBase):
        return _cuda
    return _active if _active is not None else kernels()


def cuda_module():
    """``autograd.backend.cuda``, imported on first use.

    Raises ImportError when numba-cuda is not installed and RuntimeError when there is
    no GPU. (Numba's CUDA simulator counts as a GPU only with NUMBA_ENABLE_CUDASIM=1 and
    SCRATCH_GEN_CUDASIM=1 both set: that is how tests/cuda runs without one; see
    ``cuda.check_available``.) Each message is one line naming what is missing."""
    global _cuda
    if _cuda is None:
        import importlib.util
        if importlib.util.find_spec("numba_cuda") is None:
            raise ImportError("numba-cuda is not installed (pip install 'scratch_gen[cuda]', "
                              "which installs numba-cuda[cu13])")
        _cuda = importlib.import_module(f"{__name__}.cuda")
    _cuda.check_available()
    return _cuda


def use_device(name):
    """Make ``name`` ('cpu' or 'cuda') the device of new tensors, parameters and buffers.

    ``use_device('cuda')`` checks that the GPU can be used first (see
    :func:`cuda_module`) and raises ImportError/RuntimeError with one clear line if
    not; the CLI prints that line. Returns the previous default device."""
    global _default_device
    name = _device_name(name)
    if name == "cuda":
        cuda_module()
    previous, _default_device = _default_device, name
    return previous


def default_device():
    """Where ``Tensor(host data)`` is placed: 'cpu' unless :func:`use_device` said 'cuda'."""
    return _default_device


def _device_name(name):
    name = str(name)
    if name.startswith("cuda:"):      # PyTorch's spelling of the first GPU
        if name != "cuda:0":
            raise ValueError(f"device {name!r}: only one GPU (cuda or cuda:0) is supported")
        name = "cuda"
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; expected 'cpu' or 'cuda'")
    return name


def device_of(a):
    """'cuda' for a device array, 'cpu' for anything else."""
    return "cuda" if isinstance(a, DeviceArrayBase) else "cpu"


def to_device(a, device):
    """``a`` (an array or array-like) on ``device``: the same object when it is already
    there, else a copy (the only place besides ``numpy()``/``item()`` where data moves)."""
    device = _device_name(device)
    if device == "cuda":
        return a if isinstance(a, DeviceArrayBase) else cuda_module().asarray(a)
    if isinstance(a, DeviceArrayBase):
        return a.copy_to_host()
    return a


def to_host(a):
    """A NumPy view or copy of ``a`` (device arrays are copied to the host)."""
    import numpy as np
    return a.copy_to_host() if isinstance(a, DeviceArrayBase) else np.asarray(a)
