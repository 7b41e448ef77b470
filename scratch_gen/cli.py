"""``scratch-gen``: train, sample and score every family from the shell.

    scratch-gen datasets
    scratch-gen train FAMILY [--model VARIANT] --data NAME|PATH [--test-data PATH]
                     [--condition label|PATH] [--pack M]
                     [--steps N] [--batch-size B] [--lr LR] [--seed S] [--device cpu|cuda]
                     --out DIR [--resume]
    scratch-gen sample DIR --n N --out FILE [--seed S] [--label Y | --condition-file FILE]
                       [--device cpu|cuda]
    scratch-gen eval DIR [--data NAME|PATH] [--test-data PATH] [--device cpu|cuda]

Conditional models p(x|y) (He L1, "generative models are about p(x|y)"): ``train
--condition label`` trains on the data's labels (a family's conditional variant, or its
``conditional`` setting); ``--condition PATH`` reads one condition vector per example of
the ``--data`` file (same rows, same seeded split) for models that take vectors
(``cond_dim``). ``sample --label Y`` / ``--condition-file FILE`` draw p(x|y); ``eval``
of a conditional model adds the conditional NLL (and KL to the truth where the data
knows H(X|Y)), mode landing and coverage per label, and the Bayes-rule accuracy
(scratch_gen/conditional/evaluation.py: the chapter on p(x|y) scores every family's
conditional models, so this file imports it by name).

Families register themselves (registry.py); this file names none of them. A user
mistake (unknown family, model or dataset, a missing file, a bad flag value) exits with
status 2 and one line on stderr, never a traceback (DESIGN.md, "Conventions"); a bug
still shows its traceback. A diverged run exits 1, an interrupted one 130, after saying
where its checkpoint is.

``eval`` prints one JSON object. JSON has no Infinity, so non-finite numbers are the
strings "inf", "-inf", "nan": the filing cabinet's test NLL is "inf" (Isola L14, "Is
the filing cabinet a good generative model?"), never a large finite number.
"""
import argparse
import json
import os
import sys
import textwrap

import numpy as np

from . import checkpoint, registry
from .common.errors import UserError
from .common.jsonio import atomic_write, jsonable

PROG = "scratch-gen"


class UsageError(UserError):
    """A command line argparse rejected."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises instead of printing usage + exiting,
    so main() prints it on one line like every other user error."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


# ------------------------------------------------------------------ argument types

def _count(minimum):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {v}")
        return v
    parse.__name__ = f"integer >= {minimum}"
    return parse


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    if not (v > 0 and np.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return v


def _setting(text):
    """KEY=VALUE with VALUE parsed as JSON when it is JSON (numbers, true, lists), else
    kept as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(value)
    except json.JSONDecodeError:
        pass
    return key, value


# ------------------------------------------------------------------------- helpers

def _data():
    from . import data
    return data


def _dataset_names():
    try:
        return list(_data().names())
    except ImportError:
        return []


def _variants_text():
    lines = []
    for fam in registry.families():
        for name, cls in registry.variants(fam).items():
            default = " (default)" if cls is registry.get(fam) else ""
            lines.append(f"  {fam} --model {name}{default}: {cls.description}")
            if cls.slide:
                lines.append(f"      {cls.slide}")
    return "\n".join(lines) or "  (no families registered)"


def _datasets_text():
    names = _dataset_names()
    if not names:
        return "  (no built-in datasets)"
    return textwrap.fill(", ".join(names), 88, initial_indent="  ", subsequent_indent="  ")


_DEVICE_HELP = ("where tensors live: cpu (default) or cuda (an NVIDIA GPU and the cuda "
                "extra: pip install -e '.[cuda]')")


def _select_device(name):
    """--device cuda makes the GPU the default device of new tensors (the model built
    next lives there); without a GPU or the cuda extra it is one clear line, not a
    traceback. :func:`main` puts the previous default back when the command ends."""
    if name == "cpu":
        return
    import autograd.backend as backend
    use = getattr(backend, "use_device", None)
    if use is None:
        raise UserError("--device cuda: the CUDA target is not available (the engine has no "
                        "CUDA backend yet); use --device cpu")
    try:
        use(name)
    except (ImportError, RuntimeError, ValueError) as e:
        msg = " ".join(str(e).split())
        raise UserError(f"--device cuda: the CUDA target is not available ({msg}); "
                        "use --device cpu") from None


def _load_data(source, test_path, seed):
    """(train, test, dataset_or_None) from a built-in name or a file path."""
    if source is None:
        raise UserError("no data given: pass --data NAME|PATH")
    return _data().load(source, test_path=test_path, seed=seed)


def _split_summary(split):
    return f"{len(split.x)} examples"


def _write_samples(path, samples, spec, data=None):
    ext = os.path.splitext(path)[1].lower()
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"--out {path}: folder {folder!r} does not exist")
    if ext == ".png":
        from . import plots
        plots.samples_figure(path, spec, samples, data)
        return
    if isinstance(samples, list):
        if ext != ".txt":
            raise UserError(f"--out {path}: text samples are written as .txt (one per line) "
                            "or .png")
        bad = [s for s in samples if "\n" in s]
        if bad:
            raise UserError(f"a text sample holds a newline ({bad[0]!r}); .txt files have one "
                            "sample per line")
        atomic_write(path, lambda f: f.write("".join(s + "\n" for s in samples).encode()))
        return
    if ext != ".npy":
        raise UserError(f"--out {path}: array samples are written as .npy (or .png)")
    atomic_write(path, lambda f: np.save(f, np.asarray(samples), allow_pickle=False))


def _draw(model, n, rng, conditions=None):
    """``n`` samples for the run's figure: a conditional model draws the same number
    for each label (or for each of the first training conditions), so every y shows."""
    if conditions is not None:
        k = min(len(conditions), 8)
        per = max(1, n // k)
        return np.concatenate([model.sample(per, rng, condition=conditions[i])
                               for i in range(k)])
    k = model.spec.num_classes if getattr(model, "conditional", False) else None
    if not k:
        return model.sample(n, rng)
    per = max(1, n // k)
    return np.concatenate([model.sample(per, rng, label=c) for c in range(k)])


def _figures(out, model, train_x, history_log, conditions=None):
    """The pictures a run leaves next to its checkpoint; returns their paths."""
    from . import plots
    paths = []
    rng = np.random.default_rng(0)
    spec = model.spec
    if spec.kind in ("continuous", "image", "text"):
        n = 64 if spec.kind == "image" else (30 if spec.kind == "text" else 2000)
        data = train_x[:n] if spec.kind == "text" else np.asarray(train_x)[:2000]
        paths.append(plots.samples_figure(os.path.join(out, "samples.png"), spec,
                                          _draw(model, n, rng, conditions),
                                          data if spec.kind == "continuous" else None,
                                          title=f"{model.name()}: data (green), samples (red)"
                                          if spec.kind == "continuous" else model.name()))
    if spec.kind == "continuous" and spec.n_dims == 2 and model.has("log_prob") \
            and conditions is None:
        x = np.asarray(train_x, float).reshape(len(train_x), 2)
        lo, hi = plots._limits(x)
        paths.append(plots.density_heatmap(os.path.join(out, "density.png"), model.log_prob,
                                           lo, hi, data=x, title=f"{model.name()}: log p(x)"))
    if os.path.isfile(history_log) and os.path.getsize(history_log):
        paths.append(plots.training_curves(os.path.join(out, "curves.png"), history_log,
                                           title=model.name()))
    return paths


def _can_condition(cls):
    """A variant conditions on labels if it is conditional or has the switch."""
    return cls.conditional or "conditional" in cls.default_config


def _vector_models():
    return [c.name() for f in registry.families() for c in registry.variants(f).values()
            if "cond_dim" in c.default_config]


def _conditional_class(family, variant, condition):
    """The class ``train`` builds: the named variant, or with ``--condition`` and no
    ``--model`` the family's first variant that can condition that way (diffusion's
    ddpm-cond, gan's default with conditional=true, ...)."""
    if condition is None or variant is not None:
        cls = registry.get(family, variant)
        if condition == "label" and not _can_condition(cls):
            raise UserError(f"--condition label: {cls.name()} is unconditional; conditional "
                            f"models: {', '.join(_label_models()) or 'none'}")
        return cls
    vector = condition != "label"
    fits = [c for c in [registry.get(family)] + list(registry.variants(family).values())
            if ("cond_dim" in c.default_config if vector else _can_condition(c))]
    if not fits:
        how = "condition vectors" if vector else "labels"
        others = _vector_models() if vector else _label_models()
        raise UserError(f"--condition {condition}: the {family} family has no model that "
                        f"conditions on {how}; models that do: {', '.join(others) or 'none'}")
    return fits[0]


def _label_models():
    return [c.name() for f in registry.families() for c in registry.variants(f).values()
            if _can_condition(c)]


def _load_conditions(path, data_source, test_path, train, test, seed):
    """``(train_conditions, test_conditions)`` from a file with one row per example of
    the ``--data`` file: loaded with the same seed, the same number of rows gets the same
    90/10 permutation (scratch_gen.data.load_path), so the rows stay paired."""
    if data_source in _dataset_names():
        raise UserError(f"--condition {path}: pairs rows with a --data file; {data_source!r} "
                        "is a built-in dataset (use --condition label for its labels)")
    if test_path is not None:
        raise UserError(f"--condition {path} with --test-data: put train and test in one "
                        "--data file, so both splits are paired with the conditions")
    ctrain, ctest, _ = _load_data(path, None, seed)
    if (len(ctrain.x), len(ctest.x)) != (len(train.x), len(test.x)) or ctrain.kind == "text":
        raise UserError(f"--condition {path}: {len(ctrain.x) + len(ctest.x)} rows; expected "
                        f"one numeric row per example of {data_source} "
                        f"({len(train.x) + len(test.x)})")
    return np.asarray(ctrain.x, np.float64), np.asarray(ctest.x, np.float64)


def _read_condition_file(path, width):
    """Condition vectors from an .npy file (one per row, any shape per row)."""
    if not str(path).lower().endswith(".npy"):
        raise UserError(f"--condition-file {path}: expected an .npy file of condition rows")
    try:
        c = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"--condition-file {path}: cannot read as .npy ({_one_line(e)})") from None
    if c.dtype.kind not in "biuf" or c.ndim < 1:
        raise UserError(f"--condition-file {path}: expected numbers, got dtype {c.dtype}")
    c = c.reshape(1, -1) if c.size == width else c.reshape(len(c), -1)
    if c.shape[1] != width:
        raise UserError(f"--condition-file {path}: rows of {c.shape[1]} numbers; the model "
                        f"takes {width}")
    return c


# ------------------------------------------------------------------------ commands

def cmd_datasets(args):
    data = _data()
    rows = [("name", "kind", "shape", "levels", "classes", "truth")]
    for name in data.names():
        ds = data.get(name)
        truth = ["sample"]
        if ds.has_log_prob:
            truth.append("log_prob")
        if ds.has_entropy:
            err = ds.entropy_error()
            truth.append("entropy" + (f" (+-{err:.1g})" if err else " (exact)"))
        rows.append((name, ds.kind, "x".join(map(str, ds.shape)) or "-",
                     str(ds.levels or "-"), str(ds.num_classes or "-"), ", ".join(truth)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print("\n" + "\n".join(f"{name}: {data.get(name).describe()}" for name in data.names()))
    return 0


def cmd_train(args):
    from .train import fit
    _select_device(args.device)
    config = dict(args.set or [])
    meta = {"data": args.data, "test_data": args.test_data, "data_seed": args.data_seed,
            "condition": args.condition}
    if not args.resume and checkpoint.exists(args.out):
        raise UserError(f"{args.out} already holds a checkpoint; pass --resume to continue "
                        "it or choose another --out")
    if args.resume:
        record = checkpoint.read_record(args.out)
        if args.batch_size is not None and args.batch_size != record["batch_size"]:
            raise UserError(f"{args.out} was trained with batch_size={record['batch_size']}; "
                            f"resuming with batch_size={args.batch_size} would not continue "
                            "the same run")
        if args.steps is not None and args.steps < record["step"]:
            raise UserError(f"the checkpoint in {args.out} is at step {record['step']}, "
                            f"past --steps {args.steps}")
        if record["family"] != args.family:
            raise UserError(f"{args.out} holds a {record['family']} checkpoint, not {args.family}")
        if args.model is not None and args.model != record["variant"]:
            raise UserError(f"{args.out} holds model {record['variant']!r}, not {args.model!r}")
        cls = registry.get(args.family, record["variant"])
        was = record.get("meta", {})
        for key in ("data", "test_data", "data_seed", "condition"):
            if was.get(key) != meta[key]:
                raise UserError(f"{args.out} was trained with --{key.replace('_', '-')} "
                                f"{was.get(key)}, not {meta[key]}; resume with the same data")
        config = {**record["config"], **config}
    else:
        cls = _conditional_class(args.family, args.model, args.condition)
    if args.condition is not None and "conditional" in cls.default_config:
        if config.get("conditional", True) is not True:
            raise UserError(f"--condition {args.condition} with --set conditional="
                            f"{json.dumps(config['conditional'])}: a model given y must read "
                            "it; leave the setting out (--condition turns it on)")
        config["conditional"] = True
    if args.pack is not None:
        if "pack" not in cls.default_config:
            raise UserError(f"--pack {args.pack}: {cls.name()} has no PacGAN packing; "
                            "--pack is for the gan models")
        config["pack"] = args.pack
    if args.lr is not None:
        if "lr" not in cls.default_config:
            why = "it is fitted in closed form" if not cls.trainable() else "it takes no --lr"
            raise UserError(f"--lr {args.lr}: {cls.name()} has no learning rate ({why})")
        config["lr"] = args.lr
    config = cls.resolve_config(config)
    if args.resume and config != cls.resolve_config(record["config"]):
        raise UserError(f"{args.out} was trained with settings {record['config']}; "
                        f"resume cannot change them to {config}")
    if args.steps is not None and args.steps > 0 and not cls.trainable():
        raise UserError(f"--steps {args.steps}: {cls.name()} is fitted in closed form and "
                        "takes no training steps (use --steps 0 or leave it out)")

    train, test, dataset = _load_data(args.data, args.test_data, args.data_seed)
    pairs, conditions = train, None
    if args.condition == "label" and train.y is None:
        raise UserError(f"--condition label: {args.data} has no labels; expected labelled "
                        "data (a built-in labelled dataset, an .npz with y, class folders)")
    if args.condition not in (None, "label"):
        if "cond_dim" not in cls.default_config:
            raise UserError(f"--condition {args.condition}: {cls.name()} conditions on labels "
                            "only; models that take condition vectors: "
                            f"{', '.join(_vector_models()) or 'none'}")
        conditions = _load_conditions(args.condition, args.data, args.test_data, train, test,
                                      args.data_seed)[0]
        config["cond_dim"] = int(np.prod(np.shape(conditions)[1:]))
        config = cls.resolve_config(config)
        pairs = (train.x, conditions)
    spec = registry.DataSpec.from_data(train, name=args.data)
    if args.resume and spec.to_dict() != record["data"]:
        raise UserError(f"the data no longer matches {args.out}'s checkpoint "
                        f"({record['data']['kind']} {record['data']['shape']})")
    init_rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(1,)))
    model = cls(spec, config, init_rng)
    if not args.quiet:
        print(f"{cls.name()} on {args.data} ({spec.kind}, shape {list(spec.shape)}, "
              f"{_split_summary(train)} train, {len(test.x)} test)", file=sys.stderr)
    result = fit(model, pairs, steps=args.steps, batch_size=args.batch_size,
                 seed=None if args.resume else args.seed, out=args.out, resume=args.resume,
                 quiet=args.quiet, ckpt_every=args.ckpt_every, log_every=args.log_every,
                 meta=meta)
    figures = _figures(args.out, model, train.x, os.path.join(args.out, "log.jsonl"),
                       conditions)
    print(f"trained {cls.name()} to step {result.step} in {result.seconds:.1f}s; "
          f"checkpoint {result.checkpoint}")
    for path in figures:
        print(f"figure {path}")
    return 0


def cmd_sample(args):
    _select_device(args.device)       # before the model is built: its tensors go there
    model, record = checkpoint.load_model(args.dir)
    rng = np.random.default_rng(args.seed)
    if args.condition_file is not None:
        if args.label is not None:
            raise UserError("give --label or --condition-file, not both")
        width = model.config.get("cond_dim", 0) if hasattr(model, "config") else 0
        if not width:
            raise UserError(f"--condition-file: {model.name()} does not condition on vectors"
                            + (" (use --label)" if model.conditional else ""))
        conditions = _read_condition_file(args.condition_file, width)
        # n samples for each condition row, in blocks: rows i*n .. i*n+n-1 for row i
        samples = np.concatenate([model.sample(args.n, rng, condition=c) for c in conditions])
        if args.out.lower().endswith(".png") and model.spec.kind == "image":
            from . import plots
            plots.image_grid(args.out, samples, levels=model.spec.levels, ncols=args.n,
                             title=f"{model.name()}: one row per condition")
        else:
            _write_samples(args.out, samples, model.spec)
        print(f"wrote {len(samples)} samples of {model.name()} ({args.n} for each of "
              f"{len(conditions)} conditions) to {args.out}")
        return 0
    label = model.check_label(args.label)
    samples = model.sample(args.n, rng, label=label)
    data = None
    if args.out.lower().endswith(".png") and model.spec.kind == "continuous":
        meta = record.get("meta", {})
        if meta.get("data"):
            data = _load_data(meta["data"], meta.get("test_data"), meta.get("data_seed", 0))[0].x
    _write_samples(args.out, samples, model.spec, data)
    print(f"wrote {args.n} samples of {model.name()} to {args.out}")
    return 0


def cmd_eval(args):
    _select_device(args.device)
    model, record = checkpoint.load_model(args.dir)
    meta = record.get("meta", {})
    same = args.data is None or (args.data == meta.get("data") and args.test_data in
                                 (None, meta.get("test_data")))
    source = meta.get("data") if args.data is None else args.data
    test_path = args.test_data if args.test_data is not None else (
        meta.get("test_data") if args.data is None else None)
    train, test, dataset = _load_data(source, test_path, meta.get("data_seed", 0))
    spec = registry.DataSpec.from_data(test)
    if (spec.kind, spec.shape) != (model.spec.kind, model.spec.shape):
        raise UserError(f"{source} holds {spec.kind} data of shape {list(spec.shape)}; the "
                        f"model in {args.dir} was trained on {model.spec.kind} data of shape "
                        f"{list(model.spec.shape)}")
    from . import metrics
    if getattr(model, "conditional", False):
        from .conditional import evaluation
        test_conditions = None
        if meta.get("condition") not in (None, "label"):
            if not same:
                raise UserError(f"{args.dir} was trained on condition vectors paired with "
                                f"{meta.get('data')}; evaluate it on that data")
            test_conditions = _load_conditions(meta["condition"], source, test_path, train,
                                               test, meta.get("data_seed", 0))[1]
        result = evaluation.evaluate(model, test, dataset, train=train if same else None,
                                     seed=args.seed, n_samples=args.n_samples,
                                     test_conditions=test_conditions)
    else:
        result = metrics.evaluate(model, test, dataset, train=train if same else None,
                                  seed=args.seed, n_samples=args.n_samples)
    result = {"data": source, "step": record["step"], **result}
    print(json.dumps(jsonable(result)))
    return 0


# ---------------------------------------------------------------------------- main

def build_parser():
    registry.load_families()
    fmt = argparse.RawDescriptionHelpFormatter
    variants, datasets = _variants_text(), _datasets_text()
    p = Parser(prog=PROG, formatter_class=fmt,
               description="Deep generative models from scratch: train, sample, evaluate.",
               epilog=f"families and models:\n{variants}\n\ndatasets:\n{datasets}\n\n"
               "'scratch-gen COMMAND --help' for each command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    listing = f"families and models:\n{variants}\n\ndatasets (or a file path):\n{datasets}"
    d = sub.add_parser("datasets", help="the built-in datasets and the truth each knows",
                       formatter_class=fmt, epilog=listing,
                       description="A table of the built-in datasets and the truth each knows.")
    d.set_defaults(func=cmd_datasets)

    t = sub.add_parser("train", help="train a model and write a run folder",
                       formatter_class=fmt, description="Train FAMILY/VARIANT on a dataset; "
                       "writes DIR/checkpoint.json, the arrays, log.jsonl and figures.",
                       epilog=listing)
    t.add_argument("family", help="model family: " + ", ".join(registry.families()))
    t.add_argument("--model", help="variant of the family (default: the family's default)")
    t.add_argument("--data", required=True, help="built-in dataset name or a file path")
    t.add_argument("--test-data", help="test file (default: split from --data)")
    t.add_argument("--steps", type=_count(0), help="optimisation steps in total "
                   "(default: the model's own)")
    t.add_argument("--batch-size", type=_count(1), help="minibatch size (default: the model's)")
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: the model's)")
    t.add_argument("--set", type=_setting, action="append", metavar="KEY=VALUE",
                   help="another model setting (repeatable)")
    t.add_argument("--condition", metavar="label|PATH",
                   help="train p(x|y): 'label' on the data's labels, or PATH, one condition "
                   "vector per example of the --data file")
    t.add_argument("--pack", type=_count(1), metavar="M",
                   help="PacGAN: the discriminator judges M samples at once (gan models)")
    t.add_argument("--seed", type=_count(0), default=0, help="seed for weights and training")
    t.add_argument("--data-seed", type=_count(0), default=0,
                   help="seed for drawing/splitting the data (default 0)")
    t.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help=_DEVICE_HELP)
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    t.add_argument("--ckpt-every", type=_count(1), help="checkpoint every K steps")
    t.add_argument("--log-every", type=_count(1), help="log and print every K steps")
    t.add_argument("--quiet", action="store_true", help="no progress line")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained model",
                       formatter_class=fmt, epilog=listing,
                       description="Draw samples; .npy for arrays, .txt (one per line) for "
                       "text, .png for a picture.")
    s.add_argument("dir", help="run folder written by train")
    s.add_argument("--n", type=_count(1), required=True, help="number of samples")
    s.add_argument("--out", required=True, help="FILE.npy | FILE.txt | FILE.png")
    s.add_argument("--seed", type=_count(0), default=0)
    s.add_argument("--label", type=_count(0), help="class label (conditional models)")
    s.add_argument("--condition-file", metavar="FILE",
                   help="an .npy of condition vectors (input-conditional models): N samples "
                   "for each row, in blocks")
    s.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help=_DEVICE_HELP)
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("eval", help="score a trained model; prints one JSON object",
                       formatter_class=fmt,
                       description="Score a trained model on test data; prints one JSON "
                       "object (non-finite numbers as the strings 'inf', '-inf', 'nan').",
                       epilog=listing)
    e.add_argument("dir", help="run folder written by train")
    e.add_argument("--data", help="dataset name or path (default: the training data)")
    e.add_argument("--test-data", help="test file")
    e.add_argument("--seed", type=_count(0), default=0, help="seed for sample-based metrics")
    e.add_argument("--n-samples", type=_count(2), default=2500,
                   help="samples for the sample-based metrics (PacGAN uses 2500)")
    e.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help=_DEVICE_HELP)
    e.set_defaults(func=cmd_eval)

    r = sub.add_parser("tour", help="train every family on built-in data; write a gallery",
                       formatter_class=fmt,
                       description="The main job: train every model family of the lectures "
                       "on its default built-in data, measure each against the known truth, "
                       "and write DIR/index.html, DIR/summary.md and DIR/summary.json.")
    r.add_argument("--quick", action="store_true", help="tiny budgets (about a minute)")
    r.add_argument("--out", default="tour", help="output folder (default: ./tour)")
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help=_DEVICE_HELP)
    r.add_argument("--seed", type=_count(0), default=0)
    r.add_argument("--family", action="append", metavar="FAMILY",
                   help="only this family (repeatable; default: all)")
    r.set_defaults(func=cmd_tour)
    return p


def cmd_tour(args):
    from . import tour
    _select_device(args.device)
    known = [f for f, _ in tour.TOUR_MODULES]
    for f in args.family or ():
        if f not in known:
            raise UserError(f"--family {f!r}: expected one of {', '.join(known)}")
    tour.run(args.out, quick=args.quick, seed=args.seed, families=args.family)
    return 0


def _user_errors():
    errors = [UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
              PermissionError]
    try:
        errors.append(_data().DataError)
    except (ImportError, AttributeError):
        pass
    return tuple(errors)


def _one_line(e):
    return " ".join(str(e).split())


def main(argv=None):
    """Entry point of ``scratch-gen`` and ``python -m scratch_gen``; returns the exit
    status."""
    from .train import TrainingDiverged, TrainingInterrupted
    user_errors = _user_errors()
    import autograd.backend as backend
    device = backend.default_device()     # --device changes it for this command only
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except user_errors as e:
        msg = _one_line(e)
        if isinstance(e, OSError) and e.filename is not None:
            msg = f"{e.strerror}: {e.filename}"
        if not msg.startswith(PROG):
            msg = f"{PROG}: error: {msg}"
        print(msg, file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"{PROG}: training stopped: {_one_line(e)}", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:
        print(f"{PROG}: {_one_line(e)}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if backend.default_device() != device:
            backend.use_device(device)
