"""Run these tests on one thread too, by the rule and the fixture of
tests/density/conftest.py (why: many small calls, where worker threads only wait on
the shared 2-core machine). Loaded from that file so the rule is written once."""
import importlib.util
import pathlib

_path = pathlib.Path(__file__).resolve().parents[1] / "density" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_foundations_one_thread", _path)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

one_thread = _module.one_thread
