"""Test-wide settings: a non-interactive matplotlib backend (tests write PNGs only)."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
