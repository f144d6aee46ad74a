"""``python -m pymicrograd verify``: the installed C core against PyTorch and central differences.

Runs the project's own property-based checks (`pymicrograd.testing._suite`, the ones
its tests run) on this installation: every op, random graphs with reused nodes, MLPs
sample by sample and batched, every loss, every optimizer's trajectory. Prints a line
per area (checks, examples, the worst error against each reference), the hypothesis
seed that draws the same examples again, and for a failure the smallest failing
example. Exit status 0 when every check passes, 1 when one fails, 2 when hypothesis is
missing (with the command that installs it). Without torch, only central differences
are compared, and the checks that need torch are skipped (the output says so).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from typing import Any

__all__ = ["DEFAULT_EXAMPLES", "THOROUGH_EXAMPLES", "add_verify_parser", "run_verify"]

DEFAULT_EXAMPLES = 50
"""Examples per check (a program check runs four times as many): about half a minute."""
THOROUGH_EXAMPLES = 1000
"""Examples per check with ``--thorough``: a long hunt, several minutes."""

INSTALL_HINT = 'python -m pymicrograd verify needs hypothesis: pip install "pymicrograd[verify]"'
"""The one line printed when hypothesis is missing."""


def add_verify_parser(sub: Any, examples_type: Any, seed_type: Any) -> None:
    """Add the ``verify`` command to the command-line parser's subparsers `sub`."""
    p = sub.add_parser(
        "verify", help="check this installation's C core against PyTorch and central "
                       "differences",
        description="Property-based cross-check of the installed C core: every op, random "
        "graphs with reused nodes, MLPs (sample by sample and batched), every loss and "
        "every optimizer's trajectory, against PyTorch in float64 (when torch is "
        "installed) and central differences. Exit status 0 when all pass, 1 on a "
        "mismatch, 2 without hypothesis.",
        epilog='Needs hypothesis: pip install "pymicrograd[verify]"; the comparison with '
               "PyTorch needs torch (pip install torch==2.13.0).")
    how_many = p.add_mutually_exclusive_group()
    how_many.add_argument("--examples", type=examples_type, default=None, metavar="N",
                          help=f"examples per check (default: {DEFAULT_EXAMPLES})")
    how_many.add_argument("--thorough", action="store_true",
                          help=f"{THOROUGH_EXAMPLES} examples per check")
    p.add_argument("--seed", type=seed_type, default=None,
                   help="hypothesis seed: the same seed draws the same examples "
                        "(default: a random one, printed)")


def run_verify(args: argparse.Namespace) -> int:
    """Run the checks as `args` say, print the report; the exit status."""
    if importlib.util.find_spec("hypothesis") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    import pymicrograd

    from .. import _C
    from ..testing import _suite
    from ..testing.checks import torch_module

    examples = THOROUGH_EXAMPLES if args.thorough else args.examples or DEFAULT_EXAMPLES
    seed = random.randrange(2**32) if args.seed is None else args.seed
    torch = torch_module(None)
    print(f"pymicrograd {pymicrograd.__version__}: checking the C core {_C.__file__}")
    if torch is not None:
        print(f"against torch {torch.__version__} in float64 and central differences")
    else:
        print("against central differences only: torch is not importable, so the checks "
              "that need it are skipped (pip install torch==2.13.0 for them)")
    again = f"python -m pymicrograd verify --seed {seed} --examples {examples}"
    print(f"hypothesis seed {seed} (to draw the same examples: {again})")
    print("error = |pymicrograd - reference| / (1 + |reference|); "
          "torch's float64 tolerance is 1e-7\n")
    results = _suite.run_suite(torch, examples, seed, on_area=_print_area)
    failed = [(r.area, check.name) for r in results for check, _ in r.failures]
    ran = sum(r.checks for r in results)
    print()
    if failed:
        names = ", ".join(f"{area}: {name}" for area, name in failed)
        print(f"FAILED: {len(failed)} of {ran} checks ({names}); rerun with {again}")
        return 1
    skipped = sum(r.skipped for r in results)
    print(f"passed: {ran} checks, {sum(r.examples for r in results)} examples"
          + (f" ({skipped} skipped without torch)" if skipped else ""))
    return 0


def _print_area(result: Any) -> None:
    """One line for an area, then each failure with its smallest failing example."""
    if not result.checks:
        print(f"{result.area:<7} skipped: its {result.skipped} checks need torch")
        sys.stdout.flush()
        return
    tally = result.tally
    worst = []
    if tally.torch_numbers:
        worst.append(f"torch {tally.torch_worst:.1e}")
    if tally.fd_numbers:
        worst.append(f"central differences {tally.fd_worst:.1e}")
    status = "FAILED" if result.failures else "ok"
    print(f"{result.area:<7} {result.checks:3} checks {result.examples:6} examples   "
          f"worst error: {', '.join(worst):<44} {status}")
    for check, outcome in result.failures:
        print(f"  {check.name}: smallest failing example:\n    {outcome.example}")
        message = f"{type(outcome.failure).__name__}: {outcome.failure}"
        print("    " + message.replace("\n", "\n    "))
    sys.stdout.flush()
