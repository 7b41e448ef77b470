"""``python -m scratch_gen`` is the ``scratch-gen`` command (cli.py)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
