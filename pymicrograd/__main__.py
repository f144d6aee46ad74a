"""``python -m pymicrograd``: the command line, whose code is the `pymicrograd.cli` package.

The names below stay importable from here, as they were before the package existed.
"""

from __future__ import annotations

from .cli import main
from .cli.recipes import SEED_XS, SEED_YS
from .viz import walk

__all__ = ["SEED_XS", "SEED_YS", "main", "walk"]

if __name__ == "__main__":
    raise SystemExit(main())
