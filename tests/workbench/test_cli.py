"""The CLI end to end in a temporary folder: every command, and every bad input giving
exit status 2 and one line on stderr, never a traceback."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from scratch_gen import checkpoint, registry
from scratch_gen.cli import main

from .toy import NoisyMean

BIN = os.path.join(os.path.dirname(sys.executable), "scratch-gen")
P_3STD = 1 - math.exp(-9 / 2)          # a 2D Gaussian sample lands within 3 std


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, code, out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("scratch-gen") and "Traceback" not in err
    return err.strip()


def cuda_usable():
    """Whether --device cuda can run here: a GPU and the cuda extra. (Numba's simulator,
    which tests/conftest.py turns on when there is no GPU, counts only inside tests/cuda.)"""
    import autograd.backend as backend
    try:
        backend.cuda_module()
    except (ImportError, RuntimeError):
        return False
    return True


def no_cuda_cases(g, tmp_path, out):
    """Without a usable GPU, --device cuda on train, sample and eval is one line."""
    if cuda_usable():
        return []
    why = "CUDA target is not available"
    return [(["train", "density", "--data", "ring8", "--device", "cuda", *out], why),
            (["sample", g, "--n", "3", "--out", tmp_path / "s.npy", "--device", "cuda"], why),
            (["eval", g, "--device", "cuda"], why)]


@pytest.mark.skipif(not cuda_usable(), reason="needs an NVIDIA GPU and the cuda extra "
                    "(without one, test_bad_inputs_exit_2_with_one_line checks the message)")
def test_train_sample_eval_on_the_gpu(tmp_path, capsys):
    import autograd.backend as backend
    run_dir = tmp_path / "g"
    assert run(capsys, "train", "density", "--data", "ring8", "--device", "cuda", "--out",
               run_dir, "--quiet")[0] == 0
    assert backend.default_device() == "cpu"        # --device holds for one command only
    code, out, err = run(capsys, "sample", run_dir, "--n", 7, "--out", tmp_path / "s.npy",
                         "--device", "cuda")
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").shape == (7, 2)
    code, out, err = run(capsys, "eval", run_dir, "--device", "cuda", "--n-samples", 50)
    assert code == 0, err
    assert json.loads(out)["data"] == "ring8"
    assert backend.default_device() == "cpu"


@pytest.fixture
def toy_family():
    registry.load_families()
    registry.register("_test", "noisy-mean")(NoisyMean)
    yield
    registry._REGISTRY.pop("_test", None)


def test_datasets_table(capsys):
    code, out, err = run(capsys, "datasets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "kind", "shape", "levels", "classes", "truth"]
    ring = next(ln for ln in lines if ln.startswith("ring8 "))
    assert ring.split()[:5] == ["ring8", "continuous", "2", "-", "8"]
    assert "log_prob" in ring and "entropy" in ring


def test_train_sample_eval_gaussian_on_ring8(tmp_path, capsys):
    run_dir = tmp_path / "g"
    code, out, err = run(capsys, "train", "density", "--data", "ring8", "--out", run_dir)
    assert code == 0 and "trained density/gaussian to step 0" in out
    assert "density/gaussian on ring8 (continuous, shape [2], 10000 examples train" in err
    assert {"checkpoint.json", "samples.png", "density.png"} <= set(os.listdir(run_dir))

    code, out, _ = run(capsys, "sample", run_dir, "--n", 7, "--out", tmp_path / "s.npy",
                       "--seed", 3)
    assert code == 0
    s = np.load(tmp_path / "s.npy", allow_pickle=False)
    model, _ = checkpoint.load_model(str(run_dir))
    np.testing.assert_array_equal(s, model.sample(7, np.random.default_rng(3)))

    code, out, _ = run(capsys, "eval", run_dir, "--n-samples", 500)
    assert code == 0 and out.count("\n") == 1
    r = json.loads(out)
    for key in ("nll", "nll_per_dim", "bits_per_dim", "n_test", "kl_to_truth", "modes",
                "high_quality", "reverse_kl", "mmd2", "mmd2_baseline", "copy_rate"):
        assert key in r, key
    assert r["n_test"] == 2000 and r["nll_per_dim"] == pytest.approx(r["nll"] / 2, rel=1e-12)
    assert r["bits_per_dim"] == pytest.approx(r["nll_per_dim"] / math.log(2), rel=1e-12)
    assert r["kl_to_truth"] == pytest.approx(r["nll"] - r["entropy"], rel=1e-12)
    assert r["kl_to_truth"] > 5                   # one Gaussian is far from eight tight ones
    assert r["high_quality"] < 0.05 and r["copy_rate"] == 0.0


def test_filing_cabinet_reports_infinite_nll_and_perfect_samples(tmp_path, capsys):
    run_dir = tmp_path / "fc"
    assert run(capsys, "train", "density", "--model", "filing-cabinet", "--data", "ring8",
               "--out", run_dir, "--quiet")[0] == 0
    code, out, _ = run(capsys, "eval", run_dir)
    r = json.loads(out)
    assert r["nll"] == "inf" and r["kl_to_truth"] == "inf" and r["bits_per_dim"] == "inf"
    assert r["nll_se"] == "nan" and "Infinity" not in out
    # its samples are training points, i.e. true ring8 samples: PacGAN's perfect sampler
    assert r["modes"] == 8 and r["copy_rate"] == 1.0 and r["nn_distance"] == 0.0
    assert abs(r["high_quality"] - P_3STD) < 4 * math.sqrt(P_3STD * (1 - P_3STD) / 2500)


def test_text_round_trip(tmp_path, capsys):
    run_dir = tmp_path / "st"
    assert run(capsys, "train", "density", "--model", "filing-cabinet", "--data", "stories",
               "--out", run_dir, "--quiet")[0] == 0
    assert run(capsys, "sample", run_dir, "--n", 5, "--out", tmp_path / "s.txt")[0] == 0
    lines = (tmp_path / "s.txt").read_text().splitlines()
    model, _ = checkpoint.load_model(str(run_dir))
    assert len(lines) == 5 and set(lines) <= set(model.cabinet)
    r = json.loads(run(capsys, "eval", run_dir, "--n-samples", 50)[1])
    assert r["copy_rate"] == 1.0 and r["nll"] == "inf"


def test_user_file_without_truth(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(300, 3))
    np.save(tmp_path / "mine.npy", x)
    run_dir = tmp_path / "g"
    assert run(capsys, "train", "density", "--data", tmp_path / "mine.npy", "--out", run_dir,
               "--quiet")[0] == 0
    r = json.loads(run(capsys, "eval", run_dir, "--n-samples", 100)[1])
    assert r["n_test"] == 30 and "kl_to_truth" not in r and "modes" not in r
    assert r["nll_per_dim"] == pytest.approx(r["nll"] / 3, rel=1e-12)


def test_resume_nan_and_ctrl_c_through_the_cli(tmp_path, capsys, toy_family):
    common = ["--data", "ring8", "--log-every", 1, "--quiet", "--batch-size", 8]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run(capsys, "train", "_test", *common, "--steps", 20, "--out", full)[0] == 0
    assert run(capsys, "train", "_test", *common, "--steps", 8, "--out", part)[0] == 0
    assert run(capsys, "train", "_test", *common, "--steps", 20, "--out", part, "--resume")[0] == 0
    losses = lambda d: [json.loads(ln)["loss"] for ln in open(d / "log.jsonl")]
    assert losses(part) == losses(full) and len(losses(full)) == 20

    err = one_line_error(capsys, "train", "_test", *common, "--steps", 20, "--out", part)
    assert "already holds a checkpoint" in err
    err = one_line_error(capsys, "train", "_test", *common[:-2], "--batch-size", 4,
                         "--steps", 30, "--out", part, "--resume")
    assert "batch_size=8" in err
    err = one_line_error(capsys, "train", "_test", "--data", "grid25", "--steps", 30,
                         "--out", part, "--resume")
    assert "resume with the same data" in err

    nan_dir = tmp_path / "nan"
    code, _, err = run(capsys, "train", "_test", *common, "--steps", 20, "--ckpt-every", 4,
                       "--set", "nan_at=11", "--out", nan_dir)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "nan at step 11" in err and "last good checkpoint (step 8)" in err
    assert checkpoint.read_record(str(nan_dir))["step"] == 8

    int_dir = tmp_path / "int"
    code, _, err = run(capsys, "train", "_test", *common, "--steps", 20, "--ckpt-every", 50,
                       "--set", "sigint_at=6", "--out", int_dir)
    assert code == 130 and "interrupted at step 6" in err and "--resume" in err
    assert checkpoint.read_record(str(int_dir))["step"] == 6


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    g = tmp_path / "g"
    assert run(capsys, "train", "density", "--data", "ring8", "--out", g, "--quiet")[0] == 0
    out = ["--out", tmp_path / "new"]
    cases = [
        (["train", "nope", "--data", "ring8", *out], "unknown family 'nope'"),
        (["train", "density", "--model", "nope", "--data", "ring8", *out], "unknown model 'nope'"),
        (["train", "density", "--data", "no_such_set", *out], "no_such_set"),
        (["train", "density", "--data", tmp_path / "missing.npy", *out], "missing.npy"),
        (["train", "density", "--data", "ring8", "--steps", "-3", *out], "--steps"),
        (["train", "density", "--data", "ring8", "--batch-size", "0", *out], "--batch-size"),
        (["train", "density", "--data", "ring8", "--lr", "abc", *out], "--lr"),
        (["train", "density", "--data", "ring8", "--lr", "0.1", *out], "no learning rate"),
        (["train", "density", "--data", "ring8", "--steps", "5", *out], "closed form"),
        (["train", "density", "--data", "ring8", "--seed", "x", *out], "--seed"),
        (["train", "density", "--data", "ring8", "--set", "width=3", *out], "no setting 'width'"),
        (["train", "density", "--data", "ring8", "--device", "tpu", *out], "--device"),
        *no_cuda_cases(g, tmp_path, out),
        (["train", "density", "--data", "river", *out], "models continuous data"),
        (["train", "density", "--data", "ring8"], "--out"),
        (["train", "density", "--data", "ring8", "--bogus", *out], "--bogus"),
        (["train", "density", "--data", "ring8", "--out", g], "already holds a checkpoint"),
        (["train", "density", "--data", "ring8", "--resume", *out], "does not exist"),
        (["frobnicate"], "frobnicate"),
        ([], "required"),
        (["sample", tmp_path / "nowhere", "--n", "3", "--out", tmp_path / "s.npy"], "nowhere"),
        (["sample", g, "--n", "0", "--out", tmp_path / "s.npy"], "--n"),
        (["sample", g, "--n", "3", "--out", tmp_path / "s.txt"], ".npy"),
        (["sample", g, "--n", "3", "--out", tmp_path / "no" / "dir" / "s.npy"], "does not exist"),
        (["sample", g, "--n", "3", "--out", tmp_path / "s.npy", "--label", "1"], "unconditional"),
        (["sample", g, "--n", "3", "--out", tmp_path / "s.npy", "--label", "-1"], "--label"),
        (["eval", tmp_path / "nowhere"], "nowhere"),
        (["eval", tmp_path], "checkpoint.json is missing"),
        (["eval", g, "--data", "stories"], "trained on continuous data"),
        (["eval", g, "--data", "nope_data"], "nope_data"),
    ]
    for argv, expected in cases:
        err = one_line_error(capsys, *argv)
        assert expected in err, (argv, err)
    assert not (tmp_path / "new").exists() or not checkpoint.exists(str(tmp_path / "new"))


@pytest.mark.parametrize("command", ["train", "sample", "eval", "datasets"])
def test_help_lists_variants_and_datasets(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "density --model gaussian (default)" in out and "density --model filing-cabinet" in out
    assert "ring8" in out and "stories" in out


def test_console_script_and_python_m_in_fresh_processes(tmp_path):
    done = subprocess.run([BIN, "eval", str(tmp_path / "nowhere")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "nowhere" in done.stderr and "Traceback" not in done.stderr
    bad = subprocess.run([sys.executable, "-m", "scratch_gen", "train", "density", "--model",
                          "nope", "--data", "ring8", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "unknown model 'nope'" in bad.stderr
