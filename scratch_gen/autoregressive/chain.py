"""The chain rule, written once; every model of the family plugs into it.

Isola L14, "Autoregressive probability model":

    p(x) = prod_i p(x_i | x_1, ..., x_{i-1}),   so   log p(x) = sum_i log p(x_i | x_<i).

"How to model p(time | Once, upon, a)? Just treat it as a next word classifier!" A model
of this family therefore only has to say one thing: for every position i, a
distribution over x_i computed from x_<i alone. Everything else is here, once:

- :class:`Sequence`: the formulation. Which x_i there are and over which alphabet: the
  characters of a string followed by an end token that counts (DESIGN.md, "text as
  characters with an end token"), or the pixels / coordinates of a fixed-shape array in
  raster order. He (MIT 6.S978, L1, "Case study: Autoregressive model"): "this
  dependency graph is designed (not learned)".
- :func:`chain_rule`: the sum of log-conditionals, the only place log p(x) is formed.
- :class:`Autoregressive`: ``log_prob`` (exact, by the chain rule), ``train_step``
  (maximum likelihood: minus the same sum, per token) and ``sample`` (ancestral
  sampling, x_1 first, then x_2 given x_1, ...: L14, "Sampling").
- :func:`draw`: one categorical draw with temperature and top-k.
- :class:`TokenModel`: the discrete case, where a conditional is a softmax over logits
  ``logits[:, i]`` computed from ``x[:, :i]`` (the "learned mapping" of He L1), and
  its log-probability is minus a cross-entropy with ``ignore_index`` for the padding
  after the end token.
- :func:`continuation_log_prob`: the same chain rule over part of a string, which is
  how a character model answers "p(time | Once, upon, a)".
"""
import math

import numpy as np

from autograd import Tensor, no_grad
import autograd.functional as F
from autograd.optim import Adam, CosineWarmup, clip_grad_norm_

from ..common.errors import UserError
from ..data.text import CharVocab
from ..registry import Model

PAD = -1            # target of positions after the end token: ignored by cross_entropy
EVAL_BATCH = 256    # examples per forward pass in log_prob


def chain_rule(log_conditionals):
    """``log p(x) = sum_i log p(x_i | x_<i)``: sum the per-position terms.

    ``log_conditionals`` is ``(N, D)`` (a Tensor or an array), entry ``[n, i]`` the
    log-probability (or log-density) of ``x_i`` given ``x_<i`` for example ``n``, and 0
    at padding after a string's end. Isola L14, "Autoregressive probability model".
    """
    return log_conditionals.sum(axis=-1)


def draw(logits, rng, temperature=1.0, top_k=None):
    """One categorical draw per row of ``logits`` (n, V), by the inverse CDF.

    ``temperature`` T divides the logits, so p_T(v) is proportional to p(v)^(1/T): T < 1
    sharpens, T > 1 flattens. ``top_k`` keeps the k most likely values (ties at the k-th
    value are all kept) and renormalizes. Both change what is sampled, not log_prob.
    """
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    if top_k is not None and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    cdf = np.cumsum(p, axis=1)
    u = rng.random(len(z))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), z.shape[1] - 1).astype(np.int64)


def check_sampling_options(temperature, top_k, n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise UserError(f"number of samples n={n!r}: expected an integer >= 0")
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
            and temperature > 0):
        raise UserError(f"temperature={temperature!r}: expected a positive number")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                              or top_k < 1):
        raise UserError(f"top_k={top_k!r}: expected None or an integer >= 1")


class Sequence:
    """The formulation: a datum as tokens ``x_0..x_{L-1}`` over ``V`` output symbols.

    Text follows the data package's :class:`~scratch_gen.data.CharVocab`: id 0 is the
    end-of-sequence token and ids 1..V-1 the sorted characters of the training set. The
    end token counts in the NLL (a model must say when a word stops) and doubles as the
    start context (makemore's convention). Strings are capped at ``max_len - 1``
    characters: at position ``max_len - 1`` the end is certain, which keeps the
    distribution normalized over a finite set. Positions after the end hold :data:`PAD`.

    Fixed-shape data (discrete vectors, images): ``V = levels``, ``L = prod(shape)``
    in raster order, no end token; the start context is an extra input-only symbol
    ``bos = V``.

    ``n_inputs`` is the size of the alphabet a network reads (``V``, plus ``bos`` for
    fixed-shape data).
    """

    def __init__(self, spec, max_len=None):
        self.text = spec.kind == "text"
        if self.text:
            if not spec.vocab:
                raise UserError("text data with an empty vocabulary; expected at least one "
                                "character in the training strings")
            if max_len is None or max_len < 2:
                raise UserError(f"max_len={max_len!r}: expected an integer >= 2 "
                                "(the longest string plus its end token)")
            self.chars = CharVocab([spec.vocab])
            self.vocab = self.chars.chars
            self._charset = frozenset(self.vocab)
            self.V = self.chars.size
            self.end = self.bos = CharVocab.eos
            self.n_inputs = self.V
            self.length = int(max_len)
            self.shape = ()
        else:
            if spec.levels is None or spec.levels < 2:
                raise UserError(f"{spec.kind} data with levels={spec.levels!r}; an "
                                "autoregressive model needs integer values 0..K-1 with K >= 2")
            self.V = int(spec.levels)
            self.end = None
            self.bos = self.V
            self.n_inputs = self.V + 1
            self.shape = tuple(spec.shape)
            self.length = int(np.prod(self.shape)) if self.shape else 1

    def supports(self, s):
        """A string the model gives positive probability: known characters, short enough."""
        return len(s) < self.length and self._charset.issuperset(s)

    # -- data -> tokens ---------------------------------------------------------------
    def encode(self, x, strict=False):
        """``(tokens (N, L) int64 with PAD after the end, ok (N,) bool)``.

        ``ok`` is False for examples outside the model's support (an unseen character, a
        string of ``max_len`` characters or more, a value outside 0..K-1): their
        log-probability is -inf. With ``strict`` (training data) they are a UserError.
        """
        if self.text:
            return self._encode_text(x, strict)
        a = np.asarray(x)
        if a.dtype.kind == "f":
            if not np.isfinite(a).all() or not np.all(a == np.round(a)):
                raise UserError(f"{self.V}-level data must hold integers 0..{self.V - 1}; "
                                f"got non-integer values of dtype {a.dtype}")
        elif a.dtype.kind not in "iub":
            raise UserError(f"expected integer data 0..{self.V - 1}, got dtype {a.dtype}")
        if a.shape[1:] != self.shape:
            raise UserError(f"data of shape {a.shape[1:]} per example; this model was built "
                            f"for shape {self.shape}")
        t = a.reshape(len(a), self.length).astype(np.int64)
        ok = ((t >= 0) & (t < self.V)).all(axis=1)
        if strict and not ok.all():
            raise UserError(f"data values must lie in 0..{self.V - 1}; got "
                            f"[{t.min()}, {t.max()}]")
        return np.where(ok[:, None], t, 0), ok

    def _encode_text(self, x, strict):
        if isinstance(x, str) or not all(isinstance(s, str) for s in x):
            raise UserError("text data must be a list of str (one example per string)")
        ok = np.array([self.supports(s) for s in x], dtype=bool)
        if strict and not ok.all():
            s = x[int(np.argmax(~ok))]
            if len(s) >= self.length:
                longest = max(len(t) for t in x)
                raise UserError(f"a training string has {len(s)} characters; max_len="
                                f"{self.length} allows at most {self.length - 1} (pass --set "
                                f"max_len={longest + 1})")
            c = next(c for c in s if c not in self.vocab)
            raise UserError(f"character {c!r} is not in the model's vocabulary {self.vocab!r}")
        kept = [s if good else "" for s, good in zip(x, ok)]    # stand-ins, scored -inf
        ids, lengths = self.chars.encode(kept) if kept else (np.zeros((0, 1), np.int64),
                                                             np.zeros(0, np.int64))
        ids = ids[:, :self.length]
        tokens = np.where(np.arange(ids.shape[1])[None, :] < lengths[:, None], ids, PAD)
        return tokens, ok

    # -- tokens -> data ---------------------------------------------------------------
    def decode(self, tokens):
        """Samples back to the data's form: a list of str (up to the first end token),
        or an int64 array of shape ``(n, *shape)``."""
        tokens = np.asarray(tokens)
        if not self.text:
            return tokens.reshape((len(tokens),) + self.shape).astype(np.int64)
        return self.chars.decode(tokens)


def shift_right(x, bos):
    """Inputs for position-aligned models: ``s_0 = bos``, ``s_i = x_{i-1}``.

    A network whose output at i may look at inputs <= i (a causal convolution, causal
    attention) then sees exactly x_<i: the "next word classifier" of L14 reads the
    words before the one it predicts."""
    s = np.empty_like(x)
    s[:, 0] = bos
    s[:, 1:] = x[:, :-1]
    return s


def context_windows(x, bos, width):
    """``(N, L, width)``: for each position i the tokens ``x_{i-width}..x_{i-1}``, with
    ``bos`` where i - j < 0. The fixed context of an n-gram or of Bengio et al.'s MLP."""
    n, L = x.shape
    padded = np.concatenate([np.full((n, width), bos, dtype=x.dtype), x], axis=1)
    idx = np.arange(L)[:, None] + np.arange(width)[None, :]
    return padded[:, idx]


class Autoregressive(Model):
    """A model given by its conditionals ``p(x_i | x_<i)``; the chain rule does the rest.

    Subclasses define :meth:`log_conditionals` (and the sampling hooks of
    :class:`TokenModel` or their own :meth:`sample`). Trainable ones keep their network
    in ``self.net`` and an optimizer in ``self.opt``.
    """

    grad_clip = 1.0

    # -- what a subclass provides ----------------------------------------------------
    def encode(self, x, strict=False):
        """``(batch, ok)``: the model's form of a data batch and which rows it supports."""
        raise NotImplementedError

    def log_conditionals(self, batch):
        """``(N, D)`` Tensor of ``log p(x_i | x_<i)`` (0 at padding)."""
        raise NotImplementedError

    def count(self, batch):
        """Number of terms the loss averages over (tokens, pixels, coordinates)."""
        raise NotImplementedError

    # -- inference: the density ------------------------------------------------------
    def eval_batch(self):
        """Examples per forward pass in :meth:`log_prob` (a model whose memory grows
        faster than the batch, like attention, asks for fewer)."""
        return EVAL_BATCH

    def log_prob(self, x, y=None):
        """Exact ``log p(x)`` in nats per example by :func:`chain_rule`; -inf outside
        the model's support (an unseen character, a too-long string)."""
        n = len(x)
        out = np.full(n, -np.inf)
        self.net.eval()
        step = self.eval_batch()
        with no_grad():
            for a in range(0, n, step):
                batch, ok = self.encode(x[a:a + step])
                lp = chain_rule(self.log_conditionals(batch)).data.astype(np.float64)
                out[a:a + step] = np.where(ok, lp, -np.inf)
        self.net.train()
        return out

    # -- objective and optimization --------------------------------------------------
    def train_step(self, batch_x, batch_y, rng):
        """Maximum likelihood: minimize ``-1/T sum_n log p(x_n)``, the chain rule's sum
        over the batch divided by its T tokens (nats per token), with Adam."""
        batch, _ = self.encode(batch_x, strict=True)
        self.before_step(rng)
        loss = -chain_rule(self.log_conditionals(batch)).sum() / self.count(batch)
        self.opt.zero_grad()
        loss.backward()
        norm = clip_grad_norm_(self.net.parameters(), self.grad_clip)
        self.opt.step()
        if self.schedule is not None:
            self.schedule.step()
        return {"loss": loss.item(), "grad_norm": norm, "lr": self.opt.lr}

    def before_step(self, rng):
        """Hook: MADE draws the ordering of this step here."""

    def make_optimizer(self):
        """Adam at ``lr``; with ``decay_steps > 0`` a 100-step warm-up then a cosine
        decay to lr/20 over ``decay_steps`` (a low final rate is what lets the last
        fraction of a nat per example go; set it to the run's step count)."""
        self.opt = Adam(self.net.parameters(), lr=self.config["lr"])
        total = self.config.get("decay_steps", 0)
        self.schedule = None
        if total:
            self.schedule = CosineWarmup(self.opt, min(100, total), total,
                                         min_lr=self.config["lr"] / 20)

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self):
        state = {"net": dict(self.net.state_dict()), "opt": self.opt.state_dict()}
        if self.schedule is not None:
            state["schedule"] = self.schedule.state_dict()
        return state

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])


class TokenModel(Autoregressive):
    """Discrete x: each conditional is a softmax over ``V`` symbols.

    A subclass builds ``self.net`` in :meth:`build` and implements :meth:`logits`:
    ``(N, L)`` tokens -> ``(N, L, V)`` Tensor whose row i depends on ``x[:, :i]`` only
    (for MADE: on the x_j that come before x_i in its ordering). The tests check that
    contract by perturbation and by the autograd Jacobian.
    """

    data_kinds = ("text", "discrete", "image")
    markov_window = None   # n-gram, MLP: logits at i read only the last `window` tokens
    prefix_ok = True       # logits(x[:, :i+1]) is valid (False: MADE, PixelCNN need all of x)

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        self.seq = Sequence(spec, self.config.get("max_len"))
        self.order = np.arange(self.seq.length)
        self.build(self.rng)
        if self.trainable():
            self.make_optimizer()

    def build(self, rng):
        raise NotImplementedError

    def logits(self, x):
        raise NotImplementedError

    def encode(self, x, strict=False):
        return self.seq.encode(x, strict)

    def count(self, tokens):
        return max(int((tokens != PAD).sum()), 1)

    def log_conditionals(self, tokens):
        """``log p(x_i | x_<i) = -cross_entropy(logits_i, x_i)``; padding (PAD after the
        end token) gives 0, the end token itself counts. In text, the end at position
        ``max_len - 1`` is certain (log 1 = 0) and no network output is consulted."""
        n, L = tokens.shape
        x = np.where(tokens == PAD, 0, tokens)
        z = self.logits(x)
        V = z.shape[-1]
        terms = -F.cross_entropy(z.reshape(n * L, V), tokens.reshape(-1), reduction="none",
                                 ignore_index=PAD).reshape(n, L)
        if self.seq.text and L == self.seq.length:
            keep = np.ones((1, L), dtype=terms.dtype)
            keep[0, -1] = 0.0
            terms = terms * Tensor(keep)
        return terms

    # -- inference: ancestral sampling -----------------------------------------------------
    def sample(self, n, rng, label=None, temperature=1.0, top_k=None, cached=True):
        """``n`` samples by ancestral sampling: x_i ~ p(x_i | x_<i) in the model's order
        (Isola L14, "Sampling"). ``cached`` lets WaveNet and the Transformer reuse the
        activations of the prefix (:meth:`stepper`); ``cached=False`` recomputes the
        whole prefix at every step (the naive sampler, kept for the benchmark)."""
        self.check_label(label)
        check_sampling_options(temperature, top_k, n)
        self.net.eval()
        with no_grad():
            tokens = ancestral_sample(self, n, rng, temperature, top_k, cached)
        self.net.train()
        return self.seq.decode(tokens)

    def stepper(self, n, cached=True):
        """A function ``(x, i) -> logits (n, V)`` of position i given ``x[:, :i]``.

        Default: run :meth:`logits` on the prefix ``x[:, :i+1]`` (the whole prefix: the
        naive sampler), or only on the last ``markov_window`` tokens for models whose
        conditional reads no further back. Fixed-order models that need the whole
        array (MADE, PixelCNN) set ``prefix_ok = False``.
        """
        w = self.markov_window

        def step(x, i):
            if not self.prefix_ok:
                return self.logits(x).data[:, i]
            lo = 0 if w is None else max(0, i - w)
            return self.logits(x[:, lo:i + 1]).data[:, -1]
        return step


def ancestral_sample(model, n, rng, temperature=1.0, top_k=None, cached=True):
    """Tokens ``(n, L)``: for i in the model's order, x_i ~ p(x_i | x_<i).

    Not-yet-drawn positions hold 0; causality guarantees they are never read. Text stops
    once every row has drawn its end token; at ``max_len - 1`` the end is certain."""
    seq = model.seq
    x = np.zeros((n, seq.length), dtype=np.int64)
    if n == 0:
        return x
    step = model.stepper(n, cached)
    done = np.zeros(n, dtype=bool)
    for i in model.order:
        if seq.text and i == seq.length - 1:
            x[:, i] = seq.end
            break
        x[:, i] = draw(step(x, i), rng, temperature, top_k)
        if seq.text:
            done |= x[:, i] == seq.end
            if done.all():
                break
    return x


def continuation_log_prob(model, prefix, continuations):
    """``log p(continuation | prefix)`` for text models: the chain rule over the
    continuation's characters only, ``sum_{i >= len(prefix)} log p(x_i | x_<i)``, with no
    end token (the string may go on). This is how a character model answers Isola L14's
    "p(time | Once, upon, a)". -inf for a character outside the vocabulary or a string
    reaching ``max_len`` (where only the end is possible)."""
    seq = model.seq
    if not seq.text:
        raise UserError("continuation_log_prob is for text models")
    strings = [prefix + c for c in continuations]
    n, L = len(strings), max(len(s) for s in strings)
    ids = np.zeros((n, max(L, 1)), dtype=np.int64)
    ok = np.array([seq.supports(s) for s in strings], dtype=bool)
    for r, s in enumerate(strings):
        if ok[r] and s:
            ids[r, :len(s)] = seq.chars.encode([s])[0][0, :len(s)]
    model.net.eval()
    with no_grad():
        z = model.logits(ids).data.astype(np.float64)
    model.net.train()
    m = z.max(axis=2, keepdims=True)
    logp = z - (m + np.log(np.exp(z - m).sum(axis=2, keepdims=True)))
    picked = np.take_along_axis(logp, ids[:, :, None], axis=2)[:, :, 0]
    out = np.array([picked[r, len(prefix):len(s)].sum() for r, s in enumerate(strings)])
    return np.where(ok, out, -np.inf)
