"""Text as character sequences: the vocabulary, a story grammar whose every sentence has an
exact probability, and real English prose with no known distribution.

DESIGN, "Conventions": text is modelled character by character with an end-of-sequence
token that counts in the per-token NLL. ``CharVocab`` is that convention in code. The
end token doubles as the start context, as in makemore (Karpathy), so an autoregressive
model reads ``[eos] s_1 ... s_L`` and predicts ``s_1 ... s_L [eos]``: L + 1 tokens.
"""

import bisect
import functools
import math
import re
import zlib

import numpy as np

from .base import DataError, Dataset, check_n, check_rng

# ------------------------------------------------------------------------ vocabulary


class CharVocab:
    """Characters of some strings, plus the end-of-sequence id ``eos = 0``.

    ``CharVocab(strings)`` takes every character that occurs; ids 1..size-1 are the
    characters in sorted order, so the same strings always give the same ids (and
    ``CharVocab([chars])`` rebuilds a vocabulary from its ``chars`` string).
    """

    eos = 0

    def __init__(self, strings):
        strings = _check_strings(strings, "CharVocab(strings)")
        self.chars = "".join(sorted(set("".join(strings))))
        self._ids = {c: i + 1 for i, c in enumerate(self.chars)}

    @property
    def size(self):
        return len(self.chars) + 1

    def encode(self, strings):
        """``(ids, lengths)``: int64 ``(n, L_max + 1)`` with each string's characters
        then ``eos``, padded with ``eos`` after that; ``lengths = len(s) + 1`` counts
        the end token, since it is predicted like any character."""
        strings = _check_strings(strings, "CharVocab.encode(strings)")
        lengths = np.array([len(s) + 1 for s in strings], dtype=np.int64)
        ids = np.full((len(strings), int(lengths.max(initial=1))), self.eos, dtype=np.int64)
        for i, s in enumerate(strings):
            try:
                ids[i, :len(s)] = [self._ids[c] for c in s]
            except KeyError as e:
                raise DataError(f"string {i} ({s[:30]!r}) has character {e.args[0]!r}, "
                                f"which is not in the vocabulary of {len(self.chars)} "
                                "characters") from None
        return ids, lengths

    def decode(self, ids):
        """Strings from id rows, each ending at its first ``eos`` (or the row's end)."""
        rows = np.asarray(ids)
        if rows.ndim == 1:
            rows = rows[None]
        if rows.ndim != 2 or (rows.size and rows.dtype.kind not in "iu"):
            raise DataError(f"ids of shape {rows.shape}, dtype {rows.dtype}: expected "
                            "integer ids of shape (n, L)")
        if rows.size and (rows.min() < 0 or rows.max() >= self.size):
            raise DataError(f"ids must lie in 0..{self.size - 1}, got "
                            f"{rows.min()}..{rows.max()}")
        out = []
        for row in rows:
            stop = np.flatnonzero(row == self.eos)
            row = row[:stop[0]] if len(stop) else row
            out.append("".join(self.chars[i - 1] for i in row))
        return out

    def __repr__(self):
        return f"CharVocab({self.size} ids: eos + {self.chars!r})"


def _check_strings(strings, where):
    if isinstance(strings, str) or not all(isinstance(s, str) for s in strings):
        raise DataError(f"{where}: expected a list of str")
    return list(strings)


# ------------------------------------------------------------------------ grammar

END = "$"        # end-of-input marker of the LL(1) analysis (never a word)


class FiniteGrammar:
    """A probabilistic context-free grammar that is finite and LL(1).

    ``rules`` maps each nonterminal (the keys) to ``[(prob, "sym sym ..."), ...]``;
    every other symbol is a terminal word; ``""`` is the empty expansion.

    Why these two restrictions: *finite* (no nonterminal reaches itself) makes every
    derivation terminate and the entropy a finite recursion; *LL(1)* (one look-ahead
    word always decides the rule) makes the grammar unambiguous, because a
    predictive parser that never has a choice finds at most one derivation of any
    string. So a string's probability is its one derivation's probability, the
    entropy of the strings equals the entropy of the derivations, and
    ``H(A) = sum_r p_r (-log p_r + sum_{B in r} H(B))`` is exact. Both properties are
    checked when the grammar is built.
    """

    def __init__(self, rules, start="S"):
        self.start = start
        self.rules = {a: [(float(p), tuple(rhs.split())) for p, rhs in alts]
                      for a, alts in rules.items()}
        for a, alts in self.rules.items():
            total = math.fsum(p for p, _ in alts)
            if abs(total - 1.0) > 1e-12 or any(p <= 0 for p, _ in alts):
                raise ValueError(f"rule probabilities of {a} must be positive and sum to 1, "
                                 f"got {total}")
        self.terminals = sorted({s for alts in self.rules.values() for _, rhs in alts
                                 for s in rhs if s not in self.rules})
        self._order = self._topological_order()
        self._build_ll1_table()
        # Sampling by inverse CDF needs each nonterminal's cumulative probabilities
        # (plain lists: bisect on a NumPy array would box every element it reads).
        self._cum = {a: np.cumsum([p for p, _ in alts]).tolist() for a, alts in self.rules.items()}
        self._logp = {a: [math.log(p) for p, _ in alts] for a, alts in self.rules.items()}
        self.max_expansions = self._fold(lambda p, rhs_vals: 1 + sum(rhs_vals), max)

    # ---- structure
    def _topological_order(self):
        """Nonterminals with every one after those it expands to; a cycle is an error."""
        order, state = [], {}

        def visit(a, path):
            if state.get(a) == "done":
                return
            if state.get(a) == "open":
                raise ValueError(f"grammar is not finite: {' -> '.join(path + [a])}")
            state[a] = "open"
            for _, rhs in self.rules[a]:
                for s in rhs:
                    if s in self.rules:
                        visit(s, path + [a])
            state[a] = "done"
            order.append(a)

        visit(self.start, [])
        return order

    def _fold(self, per_rule, combine):
        """A bottom-up recursion over the finite grammar: ``per_rule(p, values of the
        rule's nonterminals)`` per rule, then ``combine`` over a nonterminal's rules."""
        val = {}
        for a in self._order:
            val[a] = combine(per_rule(p, [val[s] for s in rhs if s in self.rules])
                             for p, rhs in self.rules[a])
        return val[self.start]

    def _build_ll1_table(self):
        nt = self.rules
        nullable = {a: False for a in nt}
        first = {a: set() for a in nt}
        follow = {a: set() for a in nt}
        follow[self.start].add(END)

        def first_of(seq):
            """FIRST of a symbol sequence, and whether all of it can vanish."""
            out = set()
            for s in seq:
                if s not in nt:
                    out.add(s)
                    return out, False
                out |= first[s]
                if not nullable[s]:
                    return out, False
            return out, True

        changed = True
        while changed:                       # the textbook fixed point (Aho et al., 4.4)
            changed = False
            for a, alts in nt.items():
                for _, rhs in alts:
                    f, null = first_of(rhs)
                    if not f <= first[a] or (null and not nullable[a]):
                        first[a] |= f
                        nullable[a] |= null
                        changed = True
                    for i, s in enumerate(rhs):
                        if s in nt:
                            f, null = first_of(rhs[i + 1:])
                            add = f | (follow[a] if null else set())
                            if not add <= follow[s]:
                                follow[s] |= add
                                changed = True

        self.table = {}
        for a, alts in nt.items():
            for r, (_, rhs) in enumerate(alts):
                f, null = first_of(rhs)
                for t in f | (follow[a] if null else set()):
                    if (a, t) in self.table:
                        raise ValueError(f"grammar is not LL(1): {a} has two rules for the "
                                         f"look-ahead {t!r}, so it may be ambiguous")
                    self.table[(a, t)] = r

    # ---- sampling, scoring, entropy
    def sample(self, n, rng):
        """``n`` derivations as ``(words, log_prob)``: each expansion consumes one of the
        ``max_expansions`` uniforms drawn per sentence, so the result is a function of
        ``rng`` alone."""
        u = rng.random((n, self.max_expansions)).tolist()
        rules, cum, logps = self.rules, self._cum, self._logp
        out = []
        for row in u:
            words, stack, k, logp = [], [self.start], 0, 0.0
            while stack:
                s = stack.pop()
                if s not in rules:
                    words.append(s)
                    continue
                c = cum[s]
                r = min(bisect.bisect_right(c, row[k] * c[-1]), len(c) - 1)
                k += 1
                logp += logps[s][r]
                stack.extend(reversed(rules[s][r][1]))
            out.append((words, logp))
        return out

    def log_prob(self, words):
        """Log probability of a word sequence: the LL(1) parse (the only derivation), or
        -inf when there is none."""
        stack, pos, logp = [END, self.start], 0, 0.0
        while stack:
            s = stack.pop()
            look = words[pos] if pos < len(words) else END
            if s == END:
                return logp if look == END else -math.inf
            if s not in self.rules:
                if look != s:
                    return -math.inf
                pos += 1
                continue
            r = self.table.get((s, look))
            if r is None:
                return -math.inf
            p, rhs = self.rules[s][r]
            logp += math.log(p)
            stack.extend(reversed(rhs))
        return -math.inf

    def entropy(self):
        """Exact entropy of the derivations (= of the strings, the grammar being
        unambiguous), in nats."""
        return self._fold(lambda p, hs: p * (-math.log(p) + sum(hs)), math.fsum)

    def expectation(self, word_value):
        """``E[sum over the words of word_value(word)]``, e.g. the mean word count."""
        vals = {}
        for a in self._order:
            vals[a] = math.fsum(p * sum(vals[s] if s in self.rules else word_value(s)
                                        for s in rhs) for p, rhs in self.rules[a])
        return vals[self.start]

    def count(self):
        """Number of distinct strings of the language (= derivations)."""
        return self._fold(lambda p, cs: math.prod(cs), sum)


def _uniform(words):
    ws = words.split()
    return [(1.0 / len(ws), w) for w in ws]


# "Once upon a time there was ...": children's-story sentences in the spirit of
# TinyStories (Eldan and Li, 2023), small enough that a small model can learn them
# completely. Every word after "a" starts with a consonant, so "a"/"an" never depends
# on the next word (a context-free grammar could not enforce it).
STORY_RULES = {
    "S": [(1.0, "INTRO HERO WHO ENDING .")],
    "INTRO": [(0.5, "once upon a time there was"), (0.3, "long ago there lived"),
              (0.2, "one day there was")],
    "HERO": [(1.0, "a ADJP ANIMAL")],
    "ADJP": [(0.5, "ADJ"), (0.5, "")],
    "ADJ": _uniform("little brave clever sleepy tiny happy curious grumpy"),
    "ANIMAL": _uniform("fox bear rabbit mouse dragon wolf cat duck frog turtle"),
    "WHO": [(1.0, "who DEED")],
    "DEED": [(0.4, "lived in a PLACE_ADJP PLACE"), (0.35, "loved to ACTIVITY"),
             (0.25, "was afraid of FEAR")],
    "PLACE_ADJP": [(0.5, "PLACE_ADJ"), (0.5, "")],
    "PLACE_ADJ": _uniform("dark quiet green small"),
    "PLACE": _uniform("forest castle cave village garden tower"),
    "ACTIVITY": _uniform("sing dance read swim bake climb"),
    "FEAR": [(0.4, "the THE_FEAR"), (0.2, "thunder"), (0.2, "spiders"), (0.2, "bees")],
    "THE_FEAR": _uniform("dark rain sea"),
    "ENDING": [(0.5, ""), (0.5, "and LATER")],
    "LATER": [(0.4, "every day it played with a ADJP ANIMAL"), (0.6, "one ONE_TIME")],
    "ONE_TIME": [(0.5, "day it met a ADJP ANIMAL"), (0.5, "night it found a TREASURE")],
    "TREASURE": [(1.0, "TREASURE_ADJ TREASURE_NOUN")],
    "TREASURE_ADJ": _uniform("shiny golden magic secret"),
    "TREASURE_NOUN": _uniform("stone key hat door map"),
}


class Stories(Dataset):
    """Story sentences from a small probabilistic grammar (``STORY_RULES``), e.g. "once
    upon a time there was a little fox who lived in a dark forest." Lower-case words
    joined by single spaces, the final period attached to the last word.

    Every sentence's probability is exact (``FiniteGrammar.log_prob``), and so is the
    entropy (a recursion over the grammar). ``expected_tokens()`` is the mean number of
    characters plus the end token, for reading the entropy per token:
    ``KL per token = (NLL per sentence - entropy) / expected_tokens()``.
    """

    name = "stories"
    kind = "text"
    shape = ()
    has_log_prob = True
    has_entropy = True
    summary = ("story sentences from a finite LL(1) probabilistic grammar "
               "('once upon a time there was a little fox who ...'), one per example")

    @property
    def grammar(self):
        return _story_grammar()

    def _sample(self, n, rng):
        return [_join(words) for words, _ in self.grammar.sample(n, rng)]

    def _log_prob(self, x):
        strings = _check_strings(x, f"{self.name}.log_prob(x)")
        return np.array([self.grammar.log_prob(_split(s)) for s in strings])

    def _entropy(self):
        return self.grammar.entropy(), 0.0

    def expected_tokens(self):
        """Mean characters per sentence + 1 (the end token), exact."""
        g = self.grammar
        # characters: every word's letters, a space after each word but the last
        # (the period is a word with no space before it)
        letters = g.expectation(lambda w: len(w) if w != "." else 1)
        spaces = g.expectation(lambda w: 1 if w != "." else 0) - 1
        return letters + spaces + 1

    def vocab(self):
        """Every character a sentence can contain."""
        return CharVocab(self.grammar.terminals + [" "])

    def words(self):
        """The word list (without the period)."""
        return [w for w in self.grammar.terminals if w != "."]


@functools.cache
def _story_grammar():
    return FiniteGrammar(STORY_RULES)


def _join(words):
    """Words to a sentence: single spaces, the final period attached."""
    return " ".join(words[:-1]) + words[-1]


def _split(sentence):
    """The inverse of ``_join`` for strings ending in a period; anything else becomes a
    word list the grammar rejects."""
    if not sentence.endswith("."):
        return [sentence]
    return sentence[:-1].split(" ") + ["."]


# ------------------------------------------------------------------------ real text

class Pydoc(Dataset):
    """Real English sentences from Python's own reference manual, as shipped in
    ``pydoc_data.topics`` (the text ``help("if")`` prints): prose paragraphs only (code
    and grammar blocks are indented there and left out), split into sentences, kept
    when 16-300 printable ASCII characters, each distinct sentence once. No known
    distribution. The content follows the running Python version.

    A fixed pool, so train and test must not share sentences: a sentence belongs to
    the test split when the CRC32 of its text is divisible by 10 (about 10%, and the
    same on every machine); ``sample(n, rng, split=...)`` draws with replacement from
    "train", "test" or (None) the whole pool.
    """

    name = "pydoc"
    kind = "text"
    shape = ()
    has_splits = True
    default_sizes = (5_000, 500)
    summary = ("English sentences from Python's reference manual (pydoc_data.topics), "
               "one per example")

    def sample(self, n, rng, split=None):
        n, rng = check_n(n), check_rng(rng)
        pool = self.pool(split)
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]

    def pool(self, split=None):
        """The sentences of a split (a new list)."""
        sentences = _pydoc_sentences()
        if split is None:
            return list(sentences)
        if split not in ("train", "test"):
            raise DataError(f"split={split!r}: expected 'train', 'test' or None")
        want = split == "test"
        return [s for s in sentences if (zlib.crc32(s.encode()) % 10 == 0) == want]

    def vocab(self):
        return CharVocab(_pydoc_sentences())


@functools.cache
def _pydoc_sentences():
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise DataError("dataset 'pydoc' needs the standard library's pydoc_data.topics, "
                        "which this Python does not ship") from None
    seen, out = set(), []
    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            lines = para.split("\n")
            if any(line.startswith(" ") for line in lines):
                continue                                     # code, grammar, tables
            if len(lines) >= 2 and set(lines[-1].strip()) <= set("*=-~^"):
                continue                                     # a heading and its rule
            flat = " ".join(line.strip() for line in lines)
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", flat):
                s = s.strip()
                if (16 <= len(s) <= 300 and s[0].isupper() and s[-1] in ".!?"
                        and s.isascii() and s.isprintable() and s not in seen):
                    seen.add(s)
                    out.append(s)
    return tuple(out)


DATASETS_TEXT = {c.name: c for c in (Stories, Pydoc)}
