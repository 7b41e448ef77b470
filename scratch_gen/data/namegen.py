"""``names``: short made-up names, one per line, from a grammar whose truth is exact.

A ladder of autoregressive models (n-gram, MLP, WaveNet, Transformer) differs in how far
back each conditional p(x_i | x_<i) can look: n - 1 characters, a fixed window, a
receptive field, the whole prefix. To see each rung beat the one below, the data must
carry structure at every range, and to say how far each rung is from perfect, we must
know the truth. This grammar has both:

    name  = initial vowel  syllable{m}  tail
    m     ~ uniform{1, ..., 10}            (how many body syllables)
    initial ~ uniform over 6 clan letters "bdkmst"
    vowel ~ uniform over 6 vowels; its class is the name's harmony: front "eiy", back "aou"
    syllable = consonant ~ uniform "lnrvzghp"  +  vowel ~ uniform over the harmony class
    tail  = the clan's own letter ("wxjfcq" for "bdkmst") + "e" (front) or "a" (back) + "n"

e.g. "kalorunuwan", "beziyexen". What each range carries:

- short (1-2 characters): which letters follow which, vowel harmony (the last vowel is
  two characters back): a trigram gets it;
- medium (up to ~20): *when* the body stops: with m uniform, the chance of stopping
  after syllable j is 1/(11 - j), so a model must count syllables from the start;
- long: the tail's first letter is fixed by the name's first letter, 2 + 2m characters
  earlier (up to 22): a model that cannot see the initial pays log 6 nats there.

Every name parses one way (the letter sets are disjoint), so the log-probability is
exact: ``log p = -log 6 - log 6 - log 10 - m log(8 * 3)`` on the support, -inf off it, and
the entropy is ``2 log 6 + log 10 + E[m] log 24`` nats per name, E[m] = 5.5.
"""
import math

import numpy as np

from .base import DataError, Dataset
from .text import CharVocab

INITIALS = "bdkmst"
TAILS = "wxjfcq"                 # the tail letter of each clan, in INITIALS' order
FRONT, BACK = "eiy", "aou"
CONSONANTS = "lnrvzghp"
MAX_SYLLABLES = 10


class Names(Dataset):
    name = "names"
    kind = "text"
    shape = ()
    has_log_prob = True
    has_entropy = True
    default_sizes = (20_000, 2_000)
    summary = ("made-up names from a clan/harmony grammar (one per line); the tail agrees "
               "with the first letter up to 22 characters back")

    def _sample(self, n, rng):
        clan = rng.integers(len(INITIALS), size=n)
        vowel = rng.integers(6, size=n)
        m = rng.integers(1, MAX_SYLLABLES + 1, size=n)
        out = []
        for i in range(n):
            harmony = FRONT if vowel[i] < 3 else BACK
            parts = [INITIALS[clan[i]], (FRONT + BACK)[vowel[i]]]
            cons = rng.integers(len(CONSONANTS), size=m[i])
            vows = rng.integers(3, size=m[i])
            parts += [CONSONANTS[c] + harmony[v] for c, v in zip(cons, vows)]
            parts.append(TAILS[clan[i]] + harmony[0] + "n")
            out.append("".join(parts))
        return out

    @staticmethod
    def _syllables(s):
        """m when ``s`` is a name of the grammar, else None."""
        if len(s) < 7 or s[0] not in INITIALS or s[1] not in FRONT + BACK:
            return None
        harmony = FRONT if s[1] in FRONT else BACK
        body = s[2:-3]
        if len(body) % 2:
            return None
        m = len(body) // 2
        if not 1 <= m <= MAX_SYLLABLES:
            return None
        if any(body[2 * j] not in CONSONANTS or body[2 * j + 1] not in harmony for j in range(m)):
            return None
        if s[-3:] != TAILS[INITIALS.index(s[0])] + harmony[0] + "n":
            return None
        return m

    def _log_prob(self, x):
        if isinstance(x, str) or not all(isinstance(s, str) for s in x):
            raise DataError("names.log_prob(x): expected a list of str")
        out = np.full(len(x), -np.inf)
        head = -2 * math.log(6) - math.log(MAX_SYLLABLES)
        per_syllable = math.log(len(CONSONANTS) * 3)
        for i, s in enumerate(x):
            m = self._syllables(s)
            if m is not None:
                out[i] = head - m * per_syllable
        return out

    def vocab(self):
        """Every character a name can contain."""
        return CharVocab([INITIALS + TAILS + FRONT + BACK + CONSONANTS])

    def _entropy(self):
        mean_m = (MAX_SYLLABLES + 1) / 2
        return (2 * math.log(6) + math.log(MAX_SYLLABLES)
                + mean_m * math.log(len(CONSONANTS) * 3), 0.0)


def _register():
    """Add ``names`` to the catalogue (``scratch_gen.data`` imports this module first)."""
    from .catalog import DATASETS
    DATASETS.setdefault(Names.name, Names)


_register()
