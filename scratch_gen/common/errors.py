"""The error a user can cause, as opposed to a bug.

DESIGN.md, "Conventions": an error a user can cause names the value and what was
expected, and the CLI prints it on one line and exits with status 2, never with a
traceback. A bug should still give a traceback, so the CLI catches only this class (and
the data package's ``DataError`` and missing files), never ``ValueError`` in general.
"""


class UserError(ValueError):
    """A mistake in what the user asked for: a flag, a config value, a file, a dataset.

    Subclasses ``ValueError`` so library callers who catch ``ValueError`` keep working.
    The message is one line and names the offending value and what was expected.
    """
