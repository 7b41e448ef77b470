"""A user's own files: what each format becomes, and one line for every bad file."""

import os

import numpy as np
import pytest

from scratch_gen import data


def write_png(path, image):
    import matplotlib.image
    os.makedirs(os.path.dirname(path), exist_ok=True)
    matplotlib.image.imsave(path, image, cmap="gray", vmin=0, vmax=1)


# ------------------------------------------------------------------ good files

def test_float_npy_is_continuous_and_split_90_10(tmp_path):
    x = np.random.default_rng(0).normal(size=(100, 3))
    np.save(tmp_path / "a.npy", x)
    train, test = data.load_path(str(tmp_path / "a.npy"), seed=1)
    assert (len(train), len(test)) == (90, 10)
    assert train.kind == "continuous" and train.shape == (3,) and train.levels is None
    assert train.x.dtype == np.float64 and train.y is None
    both = np.concatenate([train.x, test.x])
    assert sorted(map(tuple, both)) == sorted(map(tuple, x))             # a partition
    again, _ = data.load_path(str(tmp_path / "a.npy"), seed=1)
    np.testing.assert_array_equal(again.x, train.x)
    other, _ = data.load_path(str(tmp_path / "a.npy"), seed=2)
    assert not np.array_equal(other.x, train.x)


def test_integer_arrays_are_discrete_with_levels_from_both_files(tmp_path):
    np.save(tmp_path / "tr.npy", np.array([[0, 1], [2, 1], [1, 0]]))
    np.save(tmp_path / "te.npy", np.array([[4, 0]]))
    train, test = data.load_path(str(tmp_path / "tr.npy"), str(tmp_path / "te.npy"))
    assert train.kind == test.kind == "discrete"
    assert train.levels == test.levels == 5 and train.x.dtype == np.int64
    assert len(train) == 3 and len(test) == 1


def test_images_and_labels_from_npz(tmp_path):
    x = np.random.default_rng(0).random((20, 5, 6))
    y = np.arange(20) % 4
    np.savez(tmp_path / "im.npz", x=x, y=y)
    train, test = data.load_path(str(tmp_path / "im.npz"))
    assert train.kind == "image" and train.shape == (5, 6) and train.x.dtype == np.float32
    assert train.num_classes == test.num_classes == 4 and train.y.dtype == np.int64
    assert len(train.y) == len(train.x) == 18
    np.savez(tmp_path / "bin.npz", x=(x > 0.5))
    tr, _ = data.load_path(str(tmp_path / "bin.npz"))
    assert tr.kind == "image" and tr.levels == 2 and tr.x.dtype == np.int64


def test_csv_with_header_and_label_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a, b, label\n# a comment\n1.5, 2, 0\n\n3, 4.25, 1\n-1, 0, 1\n")
    train, test = data.load_path(str(p), str(p))
    np.testing.assert_array_equal(train.x, [[1.5, 2], [3, 4.25], [-1, 0]])
    np.testing.assert_array_equal(train.y, [0, 1, 1])
    assert train.kind == "continuous" and train.num_classes == 2
    q = tmp_path / "ints.csv"
    q.write_text("1,2\n3,4\n")
    tr, te = data.load_path(str(q))
    assert tr.kind == "discrete" and tr.levels == 5 and len(tr) + len(te) == 2


def test_txt_is_one_sequence_per_line(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world\n\nsecond line\nthird\n", encoding="utf-8")
    train, test = data.load_path(str(p), str(p))
    assert train.kind == "text" and train.x == ["hello world", "second line", "third"]
    assert train.shape == () and train.levels is None
    ids, lengths = train.vocab.encode(train.x)
    assert train.vocab.decode(ids) == train.x and lengths[0] == 12


def test_png_folder_and_class_folders(tmp_path):
    r = np.random.default_rng(0)
    for i in range(6):
        write_png(str(tmp_path / "flat" / f"{i}.png"), r.random((7, 9)))
    train, test = data.load_path(str(tmp_path / "flat"))
    assert train.kind == "image" and train.shape == (7, 9) and len(train) + len(test) == 6
    assert train.x.dtype == np.float32 and train.levels is None and train.y is None
    for c in ("cat", "dog"):
        for i in range(3):
            write_png(str(tmp_path / "cls" / c / f"{i}.png"), r.random((4, 4)) > 0.5)
    train, test = data.load_path(str(tmp_path / "cls"), str(tmp_path / "cls"))
    assert train.levels == 2 and train.x.dtype == np.int64               # binary images
    assert train.classes == ["cat", "dog"] and list(train.y) == [0, 0, 0, 1, 1, 1]


# ------------------------------------------------------------------ bad files

def bad(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(p, content)
    elif isinstance(content, dict):
        np.savez(p, **content)
    elif isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return str(p)


CASES = [
    ("nan.npy", np.array([[0.0, np.nan]]), "NaN"),
    ("inf.csv", "1,2\n3,inf\n", "NaN or Inf"),
    ("empty.npy", np.zeros((0, 3)), "empty"),
    ("empty.csv", "a,b\n", "empty"),
    ("empty.txt", "\n\n", "empty"),
    ("ragged.csv", "1,2\n3,4\n5\n", "line 3 has 1 values, expected 2"),
    ("word.csv", "1,2\n3,x\n", "line 2: 'x' is not a number"),
    ("labels.npz", {"x": np.zeros((5, 2)), "y": np.zeros(4, dtype=int)}, "4"),
    ("nolabel.npz", {"data": np.zeros((5, 2))}, "no array named 'x'"),
    ("flat.npy", np.zeros(5), "expected 2 dimensions"),
    ("deep.npy", np.zeros((2, 3, 4, 5)), "expected 2 dimensions"),
    ("neg.npy", np.array([[0, -1]]), "negative"),
    ("obj.npy", np.array([{"a": 1}], dtype=object), "cannot read"),
    ("junk.npz", b"not a zip", "cannot read"),
    ("one.npy", np.zeros((1, 2)), "at least 2"),
    ("what.json", "{}", "unsupported file type"),
    ("latin.txt", b"caf\xe9\n", "not UTF-8"),
]


@pytest.mark.parametrize("name, content, message", CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_one_line_naming_the_file(tmp_path, name, content, message):
    path = bad(tmp_path, name, content)
    with pytest.raises(data.DataError) as e:
        data.load_path(path)
    text = str(e.value)
    assert path in text and message in text and "\n" not in text


def test_unreadable_png_names_the_image(tmp_path):
    write_png(str(tmp_path / "imgs" / "a.png"), np.zeros((4, 4)))
    (tmp_path / "imgs" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(data.DataError, match="b.png: unreadable PNG") as e:
        data.load_path(str(tmp_path / "imgs"))
    assert "\n" not in str(e.value)


def test_png_of_another_size_names_the_image(tmp_path):
    write_png(str(tmp_path / "imgs" / "a.png"), np.zeros((4, 4)))
    write_png(str(tmp_path / "imgs" / "b.png"), np.zeros((5, 4)))
    with pytest.raises(data.DataError, match="b.png: size 5x4 differs"):
        data.load_path(str(tmp_path / "imgs"))


def test_empty_folder_and_missing_path(tmp_path):
    (tmp_path / "none").mkdir()
    with pytest.raises(data.DataError, match="no .png"):
        data.load_path(str(tmp_path / "none"))
    with pytest.raises(data.DataError, match="no such file"):
        data.load_path(str(tmp_path / "nothing.npy"))


def test_train_and_test_files_must_agree(tmp_path):
    a = bad(tmp_path, "a.npy", np.zeros((4, 2)))
    b = bad(tmp_path, "b.npy", np.zeros((4, 3)))
    c = bad(tmp_path, "c.npy", np.zeros((4, 2), dtype=int))
    d = bad(tmp_path, "d.npz", {"x": np.zeros((4, 2)), "y": np.arange(4)})
    with pytest.raises(data.DataError, match=f"{b}.*shape"):
        data.load_path(a, b)
    with pytest.raises(data.DataError, match=f"{c}: discrete"):
        data.load_path(a, c)
    with pytest.raises(data.DataError, match="labels"):
        data.load_path(a, d)
