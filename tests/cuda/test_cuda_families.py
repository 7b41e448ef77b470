"""One training step of one model per family gives the same loss, gradients and state on
'cuda' (the simulator without a GPU) as on the CPU.

The model is built after ``use_device(device)``, as ``scratch-gen train --device cuda``
does, so parameters and buffers are created on the device by the family's own code; the
batch comes in as NumPy, as train.fit hands it over. The state compared after the step
holds the parameters and the optimizer's first moments, and Adam's first moment after
one step is (1 - beta1) times the gradient: equal moments mean equal gradients.
Tiny sizes (a 4x4 image, two hidden units per layer...): the simulator runs every CUDA
thread as a Python thread.
"""
import numbers

import numpy as np
import pytest

import autograd.backend as backend
from autograd.backend import cuda as C
from scratch_gen import registry
from scratch_gen.registry import DataSpec


def _points(n, rng):
    return rng.standard_normal((n, 2)).astype(np.float32)


CASES = {
    "autoregressive/transformer": dict(
        spec=DataSpec("discrete", shape=(4,), levels=3),
        config={"d_model": 8, "heads": 2, "layers": 1},
        data=lambda rng: (rng.integers(0, 3, (6, 4)), None)),
    "diffusion/ddpm (U-Net)": dict(
        spec=DataSpec("image", (4, 4)),
        config={"T": 10, "beta_1": 0.1, "beta_T": 0.9, "channels": 2, "mults": [1, 2],
                "warmup": 1, "ema": 0.9},
        data=lambda rng: (rng.random((2, 4, 4)).astype(np.float32), None)),
    "gan/r1": dict(
        spec=DataSpec("continuous", (2,)),
        config={"hidden": 8, "g_layers": 2, "d_layers": 2, "ema": 0.9},
        data=lambda rng: (_points(6, rng), None)),
    "ebm/mlp": dict(
        spec=DataSpec("continuous", (2,)),
        config={"hidden": 8, "depth": 1, "k": 2, "buffer": 16},
        data=lambda rng: (_points(6, rng), None)),
    "conditional/regressor": dict(
        spec=DataSpec("continuous", (2,), num_classes=3),
        config={"hidden": 8, "layers": 1},
        data=lambda rng: (_points(6, rng), rng.integers(0, 3, 6))),
    "density/mixture (gradient)": dict(
        spec=DataSpec("continuous", (2,)),
        config={"components": 2, "method": "gradient", "iters": 2, "restarts": 1},
        data=lambda rng: (_points(12, rng), None)),
}


def _flatten(tree, prefix=""):
    """(key, value) pairs of a nested state dict."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flatten(v, f"{prefix}{k}.")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _flatten(v, f"{prefix}{i}.")
    else:
        yield prefix.rstrip("."), tree


def one_step(name, device):
    case = CASES[name]
    family, variant = name.split(" ")[0].split("/")
    backend.use_device(device)
    model = registry.build(family, variant, case["spec"], case["config"],
                           rng=np.random.default_rng(0))
    x, y = case["data"](np.random.default_rng(1))
    model.setup(x, y, np.random.default_rng(2))
    metrics = {}
    if type(model).default_steps:
        metrics = model.train_step(x, y, np.random.default_rng(3))
    state = dict(_flatten(model.state_dict()))
    return metrics, state


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_training_step_matches_the_cpu(name):
    before = C.host_copies
    cpu_metrics, cpu_state = one_step(name, "cpu")
    cuda_metrics, cuda_state = one_step(name, "cuda")
    assert cuda_metrics.keys() == cpu_metrics.keys()
    for k, v in cpu_metrics.items():
        if isinstance(v, numbers.Real):
            assert cuda_metrics[k] == pytest.approx(v, rel=1e-4, abs=1e-5), k
    assert cuda_state.keys() == cpu_state.keys()
    compared = 0
    on_device = []
    for k, v in cpu_state.items():
        got = cuda_state[k]
        if isinstance(got, C.DeviceArray):
            # A family that keeps results of device computations as its fitted state
            # (the mixture's fit): checkpoints still work (they copy), but state dicts
            # are meant to be host data. Reported, compared on the host.
            on_device.append(k)
            got = got.copy_to_host()
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            scale = max(1.0, float(np.abs(v).max(initial=0.0)))
            np.testing.assert_allclose(got, v, rtol=2e-4, atol=2e-5 * scale, err_msg=k)
            compared += 1
        elif isinstance(v, np.ndarray):
            np.testing.assert_array_equal(got, v, err_msg=k)
    assert compared > 0
    print(f"{name}: implicit host copies {C.host_copies - before}; state kept on the "
          f"device: {on_device or 'none'}")
