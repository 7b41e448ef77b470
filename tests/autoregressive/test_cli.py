"""``scratch-gen train autoregressive --model M`` on a user's .txt (characters, with an
end token that counts) and a user's integer .npy images; ``eval`` reports nll per
example and nll_per_dim per token or pixel."""
import json

import numpy as np
import pytest

from scratch_gen import checkpoint
from scratch_gen.cli import main
from scratch_gen.data import load_path


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    words = ["anna", "bob", "carla", "dave", "eve", "gina"]
    lines = [words[i] + ["", "s", "y"][j] for i, j in
             zip(rng.integers(0, 6, 300), rng.integers(0, 3, 300))]
    (tmp_path / "words.txt").write_text("\n".join(lines) + "\n")
    imgs = np.zeros((200, 5, 6), dtype=np.int64)
    col = rng.integers(0, 6, 200)
    imgs[np.arange(200), :, col] = rng.integers(1, 3, 200)[:, None]   # 3 levels
    np.save(tmp_path / "imgs.npy", imgs)
    return tmp_path


def lines_of(files):
    return (files / "words.txt").read_text().split()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("model,steps", [("ngram", 0), ("transformer", 15), ("wavenet", 15)])
def test_train_and_eval_on_a_text_file(files, capsys, model, steps):
    out = files / model
    code, _, err = run(capsys, "train", "autoregressive", "--model", model, "--data",
                       files / "words.txt", "--steps", steps, "--out", out, "--quiet")
    assert code == 0, err
    code, text, err = run(capsys, "eval", out, "--n-samples", 20)
    assert code == 0, err
    result = json.loads(text)
    # per token = per example * examples / (characters + one end token each)
    _, test = load_path(str(files / "words.txt"), seed=0)
    tokens = sum(len(s) + 1 for s in test.x)
    assert result["nll"] > 0
    assert result["nll_per_dim"] == pytest.approx(result["nll"] * len(test.x) / tokens)
    model_obj, _ = checkpoint.load_model(str(out))
    assert model_obj.seq.vocab == "".join(sorted(set("".join(lines_of(files)))))
    code, _, err = run(capsys, "sample", out, "--n", 5, "--out", files / f"{model}.txt")
    assert code == 0, err
    assert len((files / f"{model}.txt").read_text().splitlines()) == 5


@pytest.mark.parametrize("model", ["pixelcnn", "made", "ngram"])
def test_train_and_eval_on_integer_images(files, capsys, model):
    out = files / f"img_{model}"
    steps = 0 if model == "ngram" else 10
    code, _, err = run(capsys, "train", "autoregressive", "--model", model, "--data",
                       files / "imgs.npy", "--steps", steps, "--out", out, "--quiet")
    assert code == 0, err
    model_obj, _ = checkpoint.load_model(str(out))
    assert model_obj.seq.V == 3 and model_obj.seq.shape == (5, 6)      # K read from the data
    code, text, err = run(capsys, "eval", out, "--n-samples", 8)
    assert code == 0, err
    result = json.loads(text)
    assert result["nll_per_dim"] == pytest.approx(result["nll"] / 30)


def test_user_mistakes_are_one_line_errors(files, capsys):
    code, _, err = run(capsys, "train", "autoregressive", "--model", "pixelcnn", "--data",
                       files / "words.txt", "--out", files / "bad")
    assert code == 2 and "image" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "train", "autoregressive", "--model", "mlp", "--data",
                       files / "words.txt", "--set", "max_len=3", "--steps", "1",
                       "--out", files / "bad2", "--quiet")
    assert code == 2 and "max_len" in err and "Traceback" not in err


@pytest.mark.parametrize("model,steps", [("mlp", 5), ("ngram", 0)])
def test_train_and_eval_on_built_in_data(tmp_path, capsys, model, steps):
    """Built-in data by name: heartbeat's 20 bits, whose entropy (ln 5) eval compares with."""
    out = tmp_path / model
    code, _, err = run(capsys, "train", "autoregressive", "--model", model, "--data",
                       "heartbeat", "--steps", steps, "--out", out, "--quiet")
    assert code == 0, err
    code, text, err = run(capsys, "eval", out, "--n-samples", 4)
    assert code == 0, err
    result = json.loads(text)
    assert result["nll_per_dim"] == pytest.approx(result["nll"] / 20)
    assert result["entropy"] == pytest.approx(np.log(5))
    assert result["kl_to_truth"] == pytest.approx(result["nll"] - np.log(5))
