"""The family registry: the contract every model family follows to plug into the
workbench (training loop, checkpoints, CLI, metrics, tour).

He (MIT 6.S978, lecture 1) splits every deep generative model into five parts:
formulation, representation, objective, optimization, inference. A *family* is a
package (``scratch_gen/density``, ``scratch_gen/gan``, ...) whose docstring names those
five parts; a *variant* is one concrete model in it (``density/gaussian``). This module
is the small interface between a variant and everything that trains, saves, samples
and scores it.

How to add a family
-------------------
1. Write the package; in its ``__init__.py`` import the modules that register variants.
2. Add its module name to :data:`FAMILY_MODULES` below (one line; the seven families of
   DESIGN.md are already listed, and a package that does not exist yet is skipped).

How to add a variant
--------------------
Subclass :class:`Model` and decorate it::

    @register("density", "gaussian")
    class Gaussian(Model):
        is_default = True                   # chosen when --model is left out
        description = "one Gaussian, closed-form maximum likelihood"   # one line, --help
        slide = "Isola L14, 'Density models' (max likelihood = min KL)"
        data_kinds = ("continuous",)        # which Dataset.kind values it accepts
        default_steps = 0                   # 0: fitted in setup(), no optimisation steps
        default_batch_size = 128
        default_config = {}                 # JSON-able hyperparameters, e.g. {"lr": 1e-3}

        def __init__(self, spec, config=None, rng=None):
            super().__init__(spec, config, rng)   # validates spec.kind and config keys
            ...                                    # build parameters, optimizers (from rng)

The methods, and what the workbench promises about when it calls them:

``__init__(spec, config=None, rng=None)``
    ``spec`` is a :class:`DataSpec` (kind, shape, levels, num_classes, vocab): everything
    about the data a model needs to build its layers. ``config`` overrides
    ``default_config`` (unknown keys and wrong types are a :class:`UserError`).
    ``rng`` draws the initial weights; ``None`` means "a checkpoint's state is loaded
    next" and the base class substitutes a fixed generator. Spec + config (both JSON)
    must rebuild the same architecture, so that a checkpoint restores it exactly.
``setup(train_x, train_y, rng)``
    Called once before the first step of a fresh run (never on resume). Closed-form
    fits happen here (the Gaussian's MLE; the filing cabinet's "train appends").
``train_step(batch_x, batch_y, rng) -> dict``
    One optimisation step on a minibatch; returns float metrics, ``"loss"`` required.
    The model owns its optimizers, so a GAN may alternate players and an EBM may run its
    MCMC chains here. All randomness comes from ``rng`` (the loop's generator, whose
    state is checkpointed), so a resumed run repeats an uninterrupted one exactly.
    Variants with ``default_steps = 0`` need not define it; asking them for steps is a
    user error.
``state_dict() -> dict`` / ``load_state_dict(state)``
    Everything that changes during training: parameters, optimizer moments and step
    counts, EMA copies, persistent chains, buffers. A nested dict/list of NumPy arrays
    and JSON scalars; checkpoint.py stores the arrays in .npz and the rest in .json
    (tuples come back as lists). No pickle.
``sample(n, rng, label=None, **options) -> np.ndarray | list[str]``
    ``n`` samples (shape ``(n, *spec.shape)``; a list of str for text). ``label`` only
    for variants with ``conditional = True``.
``log_prob(x, y=None) -> np.ndarray`` (optional)
    Exact log-density (log-mass for discrete data) in nats per example, float64. It may
    hold +inf and -inf (the filing cabinet's delta functions); metrics propagate them.
``evaluate(test, dataset) -> dict`` (optional)
    Family-specific metrics added to ``scratch-gen eval``'s JSON.
``predict(x) -> np.ndarray`` (optional)
    Class predictions, for ``accuracy`` (Bayes-rule classifiers).

Errors a user can cause (a config value, data of the wrong kind) raise
:class:`scratch_gen.common.UserError`; the CLI prints them on one line, exit status 2.
"""
import importlib
import math

import numpy as np

from .common.errors import UserError

# One line per family package. A name whose package does not exist yet is skipped,
# so a family appears in the CLI the moment its package lands.
FAMILY_MODULES = (
    "scratch_gen.density",
    "scratch_gen.latent",
    "scratch_gen.ebm",
    "scratch_gen.autoregressive",
    "scratch_gen.diffusion",
    "scratch_gen.gan",
    "scratch_gen.conditional",
)

_REGISTRY = {}          # family -> {variant: class}, in registration order
_loaded = False

DATA_KINDS = ("continuous", "discrete", "image", "text")


def register(family, variant):
    """Class decorator: make ``cls`` the variant ``family/variant``."""
    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"@register({family!r}, {variant!r}) needs a Model subclass, got {cls!r}")
        variants = _REGISTRY.setdefault(family, {})
        old = variants.get(variant)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise RuntimeError(f"{family}/{variant} registered twice: {old!r} and {cls!r}")
        cls.family, cls.variant = family, variant
        variants[variant] = cls
        return cls
    return deco


def load_families():
    """Import every family package in :data:`FAMILY_MODULES` (once). A package that
    does not exist yet is skipped; an import error *inside* a package is a bug and
    propagates with its traceback."""
    global _loaded
    if _loaded:
        return
    for name in FAMILY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    _loaded = True


def families():
    """Registered family names, sorted."""
    load_families()
    return sorted(f for f, v in _REGISTRY.items() if v)


def variants(family):
    """``{variant: class}`` of a family; unknown family -> UserError."""
    load_families()
    if not _REGISTRY.get(family):
        raise UserError(f"unknown family {family!r}; expected one of: {', '.join(families())}")
    return dict(_REGISTRY[family])


def get(family, variant=None):
    """The class of ``family/variant`` (``variant=None``: the family's default)."""
    vs = variants(family)
    if variant is None:
        marked = [c for c in vs.values() if c.is_default]
        return marked[0] if marked else next(iter(vs.values()))
    if variant not in vs:
        raise UserError(f"unknown model {variant!r} for family {family!r}; "
                        f"expected one of: {', '.join(vs)}")
    return vs[variant]


class DataSpec:
    """What a model must know about its data to build itself; JSON round-trips exactly.

    kind: "continuous" | "discrete" | "image" | "text"; shape: one example's shape (text:
    ``()``); levels: number of values per discrete coordinate/pixel (or None);
    num_classes: number of labels (or None); vocab: for text, the characters of the
    data's ``CharVocab`` (train and test together), sorted, as one string, so
    ``scratch_gen.data.CharVocab([spec.vocab])`` rebuilds the same ids; name: dataset
    name or file path (informative).
    """

    def __init__(self, kind, shape=(), levels=None, num_classes=None, vocab=None, name=None):
        if kind not in DATA_KINDS:
            raise UserError(f"data kind {kind!r} is not one of {', '.join(DATA_KINDS)}")
        self.kind = kind
        self.shape = tuple(int(s) for s in shape)
        self.levels = None if levels is None else int(levels)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.vocab = vocab
        self.name = name

    @classmethod
    def from_data(cls, data, name=None):
        """Build from anything with ``x, kind, shape`` and optionally ``y, levels,
        num_classes, name`` (the data package's FileData or a Dataset split)."""
        vocab = None
        if data.kind == "text":
            v = getattr(data, "vocab", None)
            vocab = v.chars if v is not None else "".join(sorted(set("".join(data.x))))
        return cls(data.kind, getattr(data, "shape", ()), getattr(data, "levels", None),
                   getattr(data, "num_classes", None), vocab,
                   name if name is not None else getattr(data, "name", None))

    @property
    def n_dims(self):
        """Numbers per example (NLL per dim divides by it); None for text, whose
        length varies (per-token NLL counts each string's characters + end token)."""
        return None if self.kind == "text" else int(math.prod(self.shape))

    def to_dict(self):
        return {"kind": self.kind, "shape": list(self.shape), "levels": self.levels,
                "num_classes": self.num_classes, "vocab": self.vocab, "name": self.name}

    @classmethod
    def from_dict(cls, d):
        return cls(d["kind"], d["shape"], d.get("levels"), d.get("num_classes"),
                   d.get("vocab"), d.get("name"))

    def __eq__(self, other):
        return isinstance(other, DataSpec) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"DataSpec({self.to_dict()})"


class Model:
    """Base class of every variant; see the module docstring for the contract."""

    family = None            # set by @register
    variant = None
    description = ""         # one line, for --help and the tour
    slide = ""               # the slide or paper it implements
    data_kinds = ("continuous",)
    default_steps = 1000
    default_batch_size = 128
    default_config = {}
    conditional = False      # sample(..., label=y) supported
    is_default = False       # the family's default variant (else the first registered)

    def __init__(self, spec, config=None, rng=None):
        if not isinstance(spec, DataSpec):
            raise TypeError(f"spec must be a DataSpec, got {type(spec).__name__}")
        if spec.kind not in self.data_kinds:
            raise UserError(f"{self.name()} models {' or '.join(self.data_kinds)} data; "
                            f"got {spec.kind} data{' ' + repr(spec.name) if spec.name else ''}")
        self.spec = spec
        self.config = self.resolve_config(config)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    @classmethod
    def name(cls):
        return f"{cls.family}/{cls.variant}"

    def check_x(self, x):
        """``x`` as an array, after the checks every variant makes of its data: the shape
        per example it was built for, and finite numbers (a UserError otherwise)."""
        x = np.asarray(x)
        if x.shape[1:] != self.spec.shape:
            raise UserError(f"data of shape {x.shape[1:]} per example; this model was built "
                            f"for shape {self.spec.shape}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise UserError("the data holds nan or inf; expected finite numbers")
        return x

    @classmethod
    def resolve_config(cls, config):
        """``default_config`` updated by ``config``; unknown keys and values of the
        wrong type are a UserError naming the key."""
        out = dict(cls.default_config)
        for key, value in (config or {}).items():
            if key not in cls.default_config:
                known = ", ".join(cls.default_config) or "none"
                raise UserError(f"{cls.name()} has no setting {key!r}; its settings: {known}")
            default = cls.default_config[key]
            if isinstance(default, bool) or default is None:
                ok = default is None or isinstance(value, bool)
            elif isinstance(default, (int, float)):
                ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                      and (isinstance(default, float) or float(value).is_integer()))
                if ok:
                    value = type(default)(value)
            else:
                ok = isinstance(value, type(default))
            if not ok:
                raise UserError(f"{cls.name()} setting {key}={value!r}: expected a value "
                                f"like the default {default!r}")
            out[key] = value
        return out

    @classmethod
    def trainable(cls):
        """True when the variant takes optimisation steps (defines train_step)."""
        return cls.train_step is not Model.train_step

    @classmethod
    def has(cls, method):
        """True when the variant defines the optional ``method`` (log_prob, evaluate,
        predict)."""
        return getattr(cls, method) is not getattr(Model, method)

    # ---- the protocol (defaults) ------------------------------------------------------
    def setup(self, train_x, train_y, rng):
        """Once before the first step of a fresh run; closed-form fits go here."""

    def train_step(self, batch_x, batch_y, rng):
        raise UserError(f"{self.name()} is fitted in closed form in setup(); "
                        "it takes no training steps (use --steps 0)")

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        if state:
            raise ValueError(f"{self.name()} has no state, got keys {sorted(state)}")

    def sample(self, n, rng, label=None, **options):
        raise NotImplementedError(f"{self.name()} does not define sample()")

    def log_prob(self, x, y=None):
        raise NotImplementedError(f"{self.name()} gives no density")

    def evaluate(self, test, dataset):
        return {}

    def predict(self, x):
        raise NotImplementedError(f"{self.name()} is not a classifier")

    def check_label(self, label):
        """The sample() label check every variant shares: UserError unless the variant
        is conditional and 0 <= label < num_classes."""
        if label is None:
            return None
        if not self.conditional:
            raise UserError(f"{self.name()} is unconditional; it cannot sample with label={label!r}")
        k = self.spec.num_classes
        if not (isinstance(label, (int, np.integer)) and k and 0 <= label < k):
            raise UserError(f"label {label!r} is out of range; expected an integer in 0..{(k or 1) - 1}")
        return int(label)


def build(family, variant, spec, config=None, rng=None):
    """Construct ``family/variant`` for data described by ``spec``."""
    return get(family, variant)(spec, config, rng)
