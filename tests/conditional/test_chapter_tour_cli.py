"""The chapter on the tour and on the command line (issue 12, item 5): the tour's rows
keep the contract and carry figures; ``train --condition label|PATH``, ``--pack``,
``sample --label / --condition-file`` and ``eval``'s conditional metrics work, and every
user mistake is one line with exit status 2."""
import json
import os

import numpy as np
import pytest

from scratch_gen import checkpoint, cli, data
from scratch_gen.conditional import tour

CONTRACT = {"family", "model", "dataset", "test_nll", "entropy", "kl", "modes", "seconds",
            "figures", "slide"}


def test_tour_quick_rows_and_figures(tmp_path):
    rows = tour.run(str(tmp_path), quick=True, seed=0)
    assert rows and all(CONTRACT <= set(r) and r["family"] == "conditional" for r in rows)
    for r in rows:
        for f in r["figures"]:
            path = tmp_path / f
            assert path.is_file() and path.stat().st_size > 1000, f
    by = {(r["dataset"], r["model"].split(":")[0]): r for r in rows}
    reg = by[("obstacle", "regressor")]
    assert reg["landing"] == 0.0 and reg["modes"] == "0/10" and reg["regressor_distance"] > 0.5
    ar = by[("obstacle", "autoregressive")]
    assert ar["landing"] > 0.8 and ar["modes"] == "10/10" and ar["kl"] < 0.5
    assert by[("obstacle", "gan")]["test_nll"] is None
    h = data.get("obstacle").conditional_entropy()
    assert abs(by[("obstacle", "truth")]["entropy"] - h) < 1e-12


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_label_conditional_train_sample_eval(tmp_path, capsys):
    d = str(tmp_path / "ar")
    code, out, err = run(["train", "conditional", "--model", "ar-mdn", "--data", "obstacle",
                          "--condition", "label", "--steps", "40", "--quiet", "--out", d], capsys)
    assert code == 0, err
    code, out, err = run(["sample", d, "--n", "7", "--label", "2", "--out",
                          str(tmp_path / "s.npy")], capsys)
    assert code == 0 and np.load(tmp_path / "s.npy").shape == (7, 2)
    code, out, err = run(["eval", d, "--n-samples", "500"], capsys)
    assert code == 0, err
    r = json.loads(out)
    ds = data.get("obstacle")
    assert abs(r["conditional_entropy"] - ds.conditional_entropy()) < 1e-12
    assert abs(r["conditional_kl"] - (r["conditional_nll"] - ds.conditional_entropy())) < 1e-9
    assert "kl_to_truth" not in r                     # H(X) is not a conditional NLL's floor
    assert 0 <= r["landing"] <= 1 and 0 <= r["coverage"] <= 1 and len(r["per_label"]) == 5
    assert 0 <= r["accuracy"] <= 1


def test_cli_conditional_gan_with_pack(tmp_path, capsys):
    d = str(tmp_path / "gan")
    code, out, err = run(["train", "gan", "--data", "obstacle", "--condition", "label",
                          "--pack", "2", "--steps", "20", "--quiet", "--out", d], capsys)
    assert code == 0, err
    record = checkpoint.read_record(d)
    assert record["config"]["pack"] == 2 and record["config"]["conditional"] is True
    code, out, err = run(["eval", d, "--n-samples", "250"], capsys)
    r = json.loads(out)
    assert code == 0 and r["conditional_nll"] is None and "landing" in r and "coverage" in r


def test_cli_input_conditional_from_files(tmp_path, capsys):
    x, _ = data.get("glyphs").sample_labelled(300, np.random.default_rng(0))
    np.save(tmp_path / "upper.npy", x[:, :8])
    np.save(tmp_path / "lower.npy", x[:, 8:])
    np.save(tmp_path / "two.npy", x[:2, 8:])
    d = str(tmp_path / "reg")
    code, out, err = run(["train", "conditional", "--model", "regressor", "--data",
                          str(tmp_path / "upper.npy"), "--condition", str(tmp_path / "lower.npy"),
                          "--steps", "20", "--quiet", "--out", d], capsys)
    assert code == 0, err
    assert checkpoint.read_record(d)["config"]["cond_dim"] == 128
    code, out, err = run(["sample", d, "--n", "3", "--condition-file", str(tmp_path / "two.npy"),
                          "--out", str(tmp_path / "c.npy")], capsys)
    assert code == 0, err
    s = np.load(tmp_path / "c.npy")
    assert s.shape == (6, 8, 16)
    # the regressor gives one answer per input: the same 3 times within each block
    assert np.all(s[0] == s[2]) and not np.all(s[0] == s[3])
    code, out, err = run(["eval", d], capsys)
    assert code == 0 and json.loads(out)["conditional_nll"] is not None


@pytest.mark.parametrize("argv,word", [
    (["train", "diffusion", "--model", "ddpm", "--data", "obstacle", "--pack", "2"], "--pack 2"),
    (["train", "autoregressive", "--data", "obstacle", "--condition", "label"], "no model"),
    (["train", "diffusion", "--model", "ddpm", "--data", "obstacle", "--condition", "label"],
     "unconditional"),
    (["train", "conditional", "--model", "ar-mdn", "--data", "obstacle", "--condition",
      "nothing.npy"], "built-in"),
    (["train", "gan", "--data", "UPPER", "--condition", "label"], "no labels"),
    (["train", "gan", "--data", "UPPER", "--condition", "LOWER", "--set", "conditional=false"],
     "conditional=false"),
])
def test_cli_user_errors_are_one_line(tmp_path, capsys, argv, word):
    x = np.random.default_rng(0).random((30, 4, 4)).astype(np.float32)
    np.save(tmp_path / "upper.npy", x)
    np.save(tmp_path / "lower.npy", x[:, :2])
    argv = [a.replace("UPPER", str(tmp_path / "upper.npy")).replace(
        "LOWER", str(tmp_path / "lower.npy")) for a in argv]
    code, out, err = run(argv + ["--steps", "1", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and word in err and err.count("\n") == 1, err
    assert not os.path.exists(tmp_path / "run" / "checkpoint.json")


def test_cli_gan_conditions_on_vectors_from_a_file(tmp_path, capsys):
    """``--condition PATH`` turns the GAN's ``conditional`` switch on, as ``label`` does."""
    x = np.random.default_rng(0).random((40, 4, 4)).astype(np.float32)
    np.save(tmp_path / "upper.npy", x)
    np.save(tmp_path / "lower.npy", x[:, :2])
    np.save(tmp_path / "two.npy", x[:2, :2])
    d = str(tmp_path / "gan")
    code, out, err = run(["train", "gan", "--model", "r1", "--data", str(tmp_path / "upper.npy"),
                          "--condition", str(tmp_path / "lower.npy"), "--steps", "3", "--quiet",
                          "--out", d], capsys)
    assert code == 0, err
    config = checkpoint.read_record(d)["config"]
    assert config["conditional"] is True and config["cond_dim"] == 8
    code, out, err = run(["sample", d, "--n", "3", "--condition-file", str(tmp_path / "two.npy"),
                          "--out", str(tmp_path / "s.npy")], capsys)
    assert code == 0, err
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (6, 4, 4) and np.isfinite(s).all()
    code, out, err = run(["eval", d], capsys)
    assert code == 0 and json.loads(out)["conditional_nll"] is None     # g(z, y): no density


def test_cli_sample_flag_errors(tmp_path, capsys):
    d = str(tmp_path / "ar")
    assert run(["train", "conditional", "--model", "ar-mdn", "--data", "obstacle", "--condition",
                "label", "--steps", "2", "--quiet", "--out", d], capsys)[0] == 0
    np.save(tmp_path / "c.npy", np.zeros((2, 3)))
    for extra, word in ((["--condition-file", str(tmp_path / "c.npy")], "vectors"),
                        (["--label", "9"], "out of range")):
        code, out, err = run(["sample", d, "--n", "2", "--out", str(tmp_path / "s.npy")] + extra,
                             capsys)
        assert code == 2 and word in err and err.count("\n") == 1, err
