"""Every demo runs on its own at a tiny size and writes its figures (issue 11, item 2)."""
import pathlib
import subprocess
import sys

import pytest

DEMOS = sorted((pathlib.Path(__file__).resolve().parents[2] / "demos").glob("[0-9][0-9]_*.py"))


def test_demos_are_numbered_in_lecture_order():
    numbers = [int(p.name[:2]) for p in DEMOS]
    assert numbers == sorted(set(numbers)), numbers


@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.stem)
def test_demo_runs_tiny_and_writes_pngs(demo, tmp_path, one_thread_env):
    proc = subprocess.run([sys.executable, str(demo), "--tiny", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env=one_thread_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, f"{demo.name} wrote no PNG into {tmp_path}"
    assert all(p.stat().st_size > 1000 for p in pngs), "an empty or broken PNG"


def test_every_demo_takes_the_shared_options():
    """--out, --tiny, --seed and --device come from demos/_args.py, not eight copies."""
    for demo in DEMOS:
        assert "demo_args(" in demo.read_text(), demo.name


def _cuda_usable():
    import autograd.backend as backend
    try:
        backend.cuda_module()
    except (ImportError, RuntimeError):
        return False
    return True


def test_demo_on_cuda_runs_or_says_why_in_one_line(tmp_path, one_thread_env):
    """With a GPU and the cuda extra the demo runs there; without, one line, exit 2."""
    proc = subprocess.run([sys.executable, str(DEMOS[0]), "--tiny", "--device", "cuda",
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=one_thread_env)
    if _cuda_usable():
        assert proc.returncode == 0, proc.stderr[-3000:]
    else:
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert "--device cuda: the CUDA target is not available" in proc.stderr
