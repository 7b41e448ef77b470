"""Choosing the device: the CPU path never imports numba.cuda; asking for CUDA without a
GPU, or without the `cuda` extra, is one clear line (ImportError/RuntimeError from the
engine, exit status 2 from the CLI); with the simulator allowed, ``scratch-gen train
--device cuda`` trains on it end to end.
"""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd.backend as backend
from autograd import Tensor
from autograd.backend import cuda as C
from scratch_gen.cli import main

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def _child(code, **env):
    full = dict(os.environ, **env)
    full.pop("SCRATCH_GEN_CUDASIM", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=full, timeout=300)


def test_the_cpu_path_never_imports_numba_cuda():
    done = _child(
        "import sys, numpy as np\n"
        "import autograd, autograd.nn as nn, autograd.optim as optim\n"
        "import autograd.functional as F\n"
        "from autograd import Tensor\n"
        "m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))\n"
        "opt = optim.Adam(m.parameters())\n"
        "loss = F.cross_entropy(m(Tensor(np.ones((2, 1, 4, 4), np.float32))), np.array([0, 2]))\n"
        "loss.backward(); opt.step()\n"
        "print(sorted(k for k in sys.modules if k.startswith(('numba.cuda', 'numba_cuda'))))\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(not C.SIMULATOR, reason="a GPU is present: CUDA is available here, "
                    "and every other test in tests/cuda runs on it")
def test_no_gpu_is_one_runtime_error_line(monkeypatch):
    """Under the simulator without SCRATCH_GEN_CUDASIM=1: the user without a GPU."""
    monkeypatch.delenv("SCRATCH_GEN_CUDASIM")
    with pytest.raises(RuntimeError, match="no CUDA GPU") as e:
        backend.use_device("cuda")
    assert "\n" not in str(e.value)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        Tensor(np.ones(2), device="cuda")
    assert backend.default_device() == "cpu"


def test_missing_extra_is_one_import_error_line(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "numba_cuda" else real(name, *a))
    monkeypatch.setattr(backend, "_cuda", None)
    with pytest.raises(ImportError, match=r"numba-cuda is not installed .*\[cuda\]"):
        backend.use_device("cuda")


def test_unknown_device_names():
    for bad in ("gpu", "cuda:1", "tpu"):
        with pytest.raises(ValueError, match="device"):
            backend.use_device(bad)


@pytest.mark.skipif(not C.SIMULATOR, reason="a GPU is present: --device cuda works here "
                    "(test_cli_trains_on_cuda_end_to_end covers it)")
def test_cli_without_a_gpu_says_so_in_one_line(tmp_path):
    """A fresh process with the simulator off and no GPU: the real check
    (numba.cuda.is_available() is False) and the CLI's exit status 2."""
    done = _child("import sys\nfrom scratch_gen.cli import main\n"
                  f"sys.exit(main(['train', 'density', '--data', 'ring8', '--device', 'cuda', "
                  f"'--out', {str(tmp_path / 'r')!r}]))\n", NUMBA_ENABLE_CUDASIM="0")
    assert done.returncode == 2, done.stderr
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "CUDA target is not available" in err and "no CUDA GPU found" in err


def test_cli_trains_on_cuda_end_to_end(tmp_path, capsys):
    """``train --device cuda`` builds the model on the device (the family's own code,
    unchanged), trains, checkpoints host copies, and ``sample --device cuda`` reads them
    back onto the device. --device holds for one command: the default is put back."""
    out = tmp_path / "run"
    code = main(["train", "autoregressive", "--model", "mlp", "--data", "bars_stripes",
                 "--steps", "2", "--batch-size", "4", "--device", "cuda", "--quiet",
                 "--set", "hidden=8", "--set", "embed=4", "--set", "block=3",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert backend.default_device() == "cpu"
    record = json.loads((out / "checkpoint.json").read_text())
    assert record["step"] == 2
    code = main(["sample", str(out), "--n", "2", "--out", str(tmp_path / "s.npy"),
                 "--device", "cuda"])
    assert code == 0, capsys.readouterr().err
    assert np.load(tmp_path / "s.npy").shape[0] == 2
    assert backend.default_device() == "cpu"
