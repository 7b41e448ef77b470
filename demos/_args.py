"""The options every demo takes, in one place: --out, --tiny, --seed and --device.

    from _args import demo_args
    args = demo_args(__doc__.splitlines()[0], "06_diffusion", tiny="toy sizes, seconds")

``--device cuda`` makes the GPU the place where new tensors, parameters and buffers live
(``autograd.backend.use_device``, what ``scratch-gen train --device cuda`` does), so a
model built afterwards trains there. Asked for without a GPU, or without the ``cuda``
extra, the demo stops with one line on stderr and exit status 2, not a traceback.

(The demos run as scripts, so this folder is ``sys.path[0]`` and ``import _args`` finds
this file; the leading underscore keeps it out of the numbered list of demos.)
"""
import argparse
import os
import sys


def demo_parser(description, name, tiny="toy sizes, seconds", seed=True, **parser_options):
    """An ArgumentParser with the common options; ``name`` gives ``--out``'s default,
    out/demos/NAME. ``seed=False`` for a demo whose body has no seed to take."""
    p = argparse.ArgumentParser(description=description, **parser_options)
    p.add_argument("--out", default=os.path.join("out", "demos", name),
                   help="folder for the figures (default: %(default)s)")
    p.add_argument("--tiny", action="store_true", help=tiny)
    if seed:
        p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where tensors live: cpu (default) or cuda (an NVIDIA GPU and the "
                   "cuda extra: pip install -e '.[cuda]')")
    return p


def select_device(name, prog=None):
    """Make ``name`` the default device of new tensors; on failure print one line and
    exit with status 2."""
    if name == "cpu":
        return
    import autograd.backend as backend
    try:
        backend.use_device(name)
    except (ImportError, RuntimeError, ValueError) as e:
        prog = prog or os.path.basename(sys.argv[0] or "demo")
        msg = " ".join(str(e).split())
        sys.stderr.write(f"{prog}: error: --device {name}: the CUDA target is not available "
                         f"({msg}); use --device cpu\n")
        raise SystemExit(2) from None


def demo_args(description, name, argv=None, tiny="toy sizes, seconds", seed=True,
              **parser_options):
    """Parse the command line (``argv``: None for sys.argv) and select the device."""
    parser = demo_parser(description, name, tiny=tiny, seed=seed, **parser_options)
    args = parser.parse_args(argv)
    select_device(args.device, parser.prog)
    return args
