"""Pieces every model family may share, kept below the families so that no family
imports another (DESIGN.md, "Arrows point down only").

- :mod:`scratch_gen.common.mixture`: the mixture-density head of the autoregressive and
  the conditional MDN.
- :mod:`scratch_gen.common.errors`: ``UserError``, the one exception type a family
  raises for a mistake a user can make (a bad config value, data of the wrong kind).
  The CLI prints it on one line and exits with status 2.
"""
from .errors import UserError

__all__ = ["UserError"]
