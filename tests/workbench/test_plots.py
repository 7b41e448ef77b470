"""plots.py writes real PNGs with what they claim to show (colours read back)."""
import json

import numpy as np
from matplotlib import image

from scratch_gen import plots
from scratch_gen.registry import DataSpec


def pixels(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return image.imread(path)[..., :3]


def count_hue(img, color):
    """Pixels clearly of one hue: red (r well above g and b) or green (g above r and b).
    Points are drawn half-transparent, so exact RGB values would not match."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    if color == "red":
        return int(((r - g > 0.2) & (r - b > 0.2)).sum())
    return int(((g - r > 0.1) & (g - b > 0.1)).sum())


def test_scatter_is_green_data_and_red_samples(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 2))
    only_data = pixels(plots.scatter_2d(str(tmp_path / "a.png"), data=data))
    both = pixels(plots.scatter_2d(str(tmp_path / "b.png"), data=data, samples=data + 3))
    assert count_hue(only_data, 'green') > 200
    assert count_hue(only_data, 'red') < 5                     # the legend has no red
    assert count_hue(both, 'red') > 200


def test_heatmaps_training_curves_grids_text_and_trajectories(tmp_path):
    lo, hi = (-3, -3), (3, 3)
    logp = lambda p: -(p ** 2).sum(1) / 2
    a = pixels(plots.density_heatmap(str(tmp_path / "d.png"), logp, lo, hi, n=50))
    e = pixels(plots.density_heatmap(str(tmp_path / "e.png"), logp, lo, hi, n=50, energy=True))
    assert a.std() > 0.05 and e.std() > 0.05

    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1 / s, "time": s}) + "\n"
                           for s in range(1, 50)) + json.dumps({"step": 50, "loss": "nan"}) + "\n")
    assert plots.read_log(str(log))[-1]["loss"] != plots.read_log(str(log))[-1]["loss"]   # nan
    c = pixels(plots.training_curves(str(tmp_path / "c.png"), str(log)))
    assert c.shape[0] < 400                                          # one panel: loss only

    imgs = np.zeros((16, 8, 8))
    imgs[:, 2:6, 2:6] = 3
    g = pixels(plots.image_grid(str(tmp_path / "g.png"), imgs, levels=4))
    assert g.max() > 0.95 and g.min() < 0.05

    t = pixels(plots.text_samples(str(tmp_path / "t.png"), ["anna", "bob\n"]))
    assert t.min() < 0.5                                             # some ink

    paths = np.cumsum(np.random.default_rng(1).normal(size=(20, 10, 2)) * 0.1, 0)
    data = np.random.default_rng(3).normal(size=(300, 2)) * 0.5
    tr = pixels(plots.trajectories(str(tmp_path / "tr.png"), paths, data=data))
    assert count_hue(tr, 'red') > 10 and count_hue(tr, 'green') > 5


def test_samples_figure_picks_the_picture_for_the_kind(tmp_path):
    x = np.random.default_rng(2).normal(size=(100, 2))
    p = pixels(plots.samples_figure(str(tmp_path / "s.png"), DataSpec("continuous", (2,)), x, x))
    assert count_hue(p, 'red') > 50 and count_hue(p, 'green') > 50
    im = plots.samples_figure(str(tmp_path / "i.png"), DataSpec("image", (1, 4, 4), levels=2),
                              np.ones((9, 1, 4, 4)))
    assert pixels(im).max() > 0.95
