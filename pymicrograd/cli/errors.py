"""The command line's one exception: a problem with the user's input, not a bug."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A problem with the user's input (a file that does not load, ...): exit status 2.

    `pymicrograd.cli.main` prints its message on one line, without a traceback.
    """
