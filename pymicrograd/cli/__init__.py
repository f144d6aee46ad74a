"""``python -m pymicrograd``: train small networks from the command line.

Commands (``python -m pymicrograd COMMAND --help`` for each one's options):

- no command, or ``seed``: the seed notebook's example. ``MLP(3, [4, 4, 1])`` learns
  the four samples ``xs``/``ys`` with an SSE loss and plain SGD; a progress bar shows
  the loss, then the predictions are printed beside the targets.
- ``moons``: karpathy's micrograd demo. 100 two-moons points, ``MLP(2, [16, 16, 1])``
  (ReLU, linear score), SVM max-margin loss + 1e-4 L2, SGD with lr 1.0 - 0.9k/100 for
  100 steps (1.0 - 0.9k/N for N steps); prints the accuracy as it goes and saves a
  decision-boundary plot.
- ``spirals`` and ``yinyang``: three-class problems trained with a softmax
  cross-entropy loss and Adam.
- ``digits``: scikit-learn's handwritten digits (``pip install "pymicrograd[digits]"``),
  ``MLP(64, [32, 10])`` with softmax cross-entropy and Adam on a fixed train/test split;
  prints the test accuracy and saves test digits with their predictions and the
  confusion matrix.
- ``neuron``: one neuron, o = tanh(x1*w1 + x2*w2 + b): every node of its graph with
  its value and gradient.
- ``verify``: the installed C core against PyTorch and central differences, with the
  project's own property-based checks (needs hypothesis: ``pip install
  "pymicrograd[verify]"``; exit status 0 passed, 1 a mismatch, 2 no hypothesis).

Every training command takes ``--save PATH`` (write the trained parameters as a JSON
state dict) and ``--load PATH`` (start from saved parameters; with ``--steps 0`` it only
evaluates). Plots need matplotlib: ``pip install "pymicrograd[plot]"``.

Bad arguments, and output paths that cannot be written, are usage errors (exit status
2) before any training. Output cut short by a closed pipe (``| head``) ends the run
quietly with exit status 141, as a program killed by SIGPIPE reports.

The package: `parsing` (the arguments), `recipes` (what each training command trains),
`training` (the one training loop and the run around it), `plotting` (decision
regions, test digits), `neuron` (the neuron command), `verify` (the verify command), `errors`
(`CommandError`). This module
dispatches to them and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from . import training
from .errors import CommandError
from .neuron import run_neuron
from .parsing import build_parser, check_arguments
from .recipes import RECIPES
from .verify import run_verify

__all__ = ["COMMANDS", "EXIT_BROKEN_PIPE", "main"]

EXIT_BROKEN_PIPE = 128 + 13
"""The exit status when stdout's reader goes away: a shell's status for SIGPIPE (13)."""


def _train(args: argparse.Namespace) -> int:
    return training.run(RECIPES[args.command or "seed"](args), args)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: _train,  # no command: the seed's example
    **{name: _train for name in RECIPES},
    "neuron": run_neuron,
    "verify": run_verify,
}
"""What runs each command (None: no command given), returning the exit status."""


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that exiting does not flush into the pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a StringIO): nothing to flush
        pass


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    try:
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            check_arguments(parser, args)
            return COMMANDS[args.command](args)
        finally:
            # A closed pipe shows at the latest here (also after --help's SystemExit),
            # rather than at exit, where Python would report it in a message of its own.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader (| head) has what it wanted: end quietly, like a program killed
        # by SIGPIPE, with its exit status, since the run did not finish.
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except CommandError as e:
        print(f"python -m pymicrograd: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
