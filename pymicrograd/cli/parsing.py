"""The command line's arguments: the parser, and the checks argparse cannot make alone.

Every problem found here is a usage error (exit status 2) before any training starts:
a bad value, an option placed before the command, a plot format matplotlib cannot
write, an output path that cannot be written.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, Callable

from .plotting import PLOT_HINT, plot_file
from .recipes import DIGITS_HINT
from .verify import add_verify_parser

__all__ = ["build_parser", "check_arguments"]


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its error messages
    return parse


def _seed32(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def _non_negative(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


_steps = _int_at_least(0)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


# argparse names a type by its function's name in "invalid <name> value: 'x'"
_finite.__name__ = _non_negative.__name__ = "float"
_seed32.__name__ = "int"


class _BeforeCommand(argparse.Action):
    """Store the option, and note in ``given_before_command`` that it was given.

    The top-level options are the seed's, for when there is no command. Given before a
    command (``--steps 5 moons``), argparse would let the command's defaults replace
    them without a word; the note lets `check_arguments` make that a usage error.
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        given = getattr(namespace, "given_before_command", [])
        namespace.given_before_command = [*given, option_string]


def _add_io(p: argparse.ArgumentParser, action: Any = "store") -> None:
    p.add_argument("--save", metavar="PATH", action=action,
                   help="write the trained parameters to PATH (a JSON state dict)")
    p.add_argument("--load", metavar="PATH", action=action,
                   help="start from parameters saved with --save (with --steps 0: only "
                        "evaluate them)")


def _add_seed_options(p: argparse.ArgumentParser, action: Any = "store") -> None:
    p.add_argument("--seed", type=int, default=0, action=action,
                   help="seed of the initial weights (default: %(default)s)")
    p.add_argument("--steps", type=_steps, default=100, action=action,
                   help="number of SGD steps (default: %(default)s)")
    p.add_argument("--lr", type=_non_negative, default=0.1, action=action,
                   help="SGD learning rate (default: %(default)s)")
    _add_io(p, action)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m pymicrograd [COMMAND] [options]``.

    Each command's parser is in its namespace as ``command_parser``, so that errors
    found after parsing show that command's usage.
    """
    top = argparse.ArgumentParser(
        prog="python -m pymicrograd",
        description="Train small neural networks on pymicrograd. Without a command: the "
        "seed notebook's example, MLP(3, [4, 4, 1]) learning four samples with an SSE "
        "loss and SGD (its options are listed below).",
        epilog="Run 'python -m pymicrograd COMMAND --help' for a command's options. "
        f"Plots need matplotlib: {PLOT_HINT}",
    )
    _add_seed_options(top, _BeforeCommand)
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    seed = sub.add_parser(
        "seed", help="the seed's example (the default)",
        description="The seed notebook's example: MLP(3, [4, 4, 1]) (tanh) learns "
        "xs = [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]] -> ys = [1, -1, -1, 1] "
        "with an SSE loss and plain SGD; prints the predictions beside the targets.")
    _add_seed_options(seed)

    moons = sub.add_parser(
        "moons", help="karpathy's micrograd demo: two moons, SVM loss, decision boundary",
        description="micrograd's demo: two-moons points (sklearn's make_moons with "
        "np.random.seed(SEED), reproduced without numpy), MLP(2, [16, 16, 1]) with ReLU "
        "and a linear score, SVM max-margin loss + L2, SGD with lr 1.0 - 0.9k/STEPS "
        "(the demo's 1.0 - 0.9k/100). "
        "Saves a decision-boundary plot (needs matplotlib).",
        epilog=f"Plots need matplotlib: {PLOT_HINT}")
    moons.add_argument("--steps", type=_steps, default=100,
                       help="number of SGD steps (default: %(default)s)")
    moons.add_argument("--seed", type=_seed32, default=1337,
                       help="seed of the data and the initial weights (default: "
                            "%(default)s, the demo's)")
    moons.add_argument("--samples", type=_int_at_least(2), default=100,
                       help="number of points (default: %(default)s)")
    moons.add_argument("--noise", type=_non_negative, default=0.1,
                       help="standard deviation of the noise (default: %(default)s)")
    moons.add_argument("--alpha", type=_non_negative, default=1e-4,
                       help="L2 penalty weight (default: %(default)s)")
    moons.add_argument("--plot", metavar="PATH", default="moons.png",
                       help="save the decision boundary here (default: %(default)s)")
    moons.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                       help="do not plot")
    _add_io(moons)

    for name, what, default_lr, default_steps in (
            ("spirals", "three interleaved spiral arms", 0.02, 300),
            ("yinyang", "the yin-yang dataset (yang, yin, dots)", 0.02, 300)):
        p = sub.add_parser(
            name, help=f"three classes: {what}; softmax cross-entropy, Adam",
            description=f"A three-class problem, {what}: MLP(2, [H, H, 3]) with ReLU and "
            "linear logits, softmax cross-entropy (+ optional L2), Adam. Prints the "
            "accuracy and saves a plot of the class regions (needs matplotlib).",
            epilog=f"Plots need matplotlib: {PLOT_HINT}")
        p.add_argument("--steps", type=_steps, default=default_steps,
                       help="number of Adam steps (default: %(default)s)")
        p.add_argument("--lr", type=_non_negative, default=default_lr,
                       help="Adam learning rate (default: %(default)s)")
        p.add_argument("--seed", type=int, default=0,
                       help="seed of the data and the initial weights (default: %(default)s)")
        p.add_argument("--per-class", type=_int_at_least(2), default=100,
                       help="points per class (default: %(default)s)")
        p.add_argument("--hidden", type=_int_at_least(1), default=16,
                       help="width H of the two hidden layers (default: %(default)s)")
        if name == "spirals":
            p.add_argument("--noise", type=_non_negative, default=0.2,
                           help="noise on the spiral angle (default: %(default)s)")
        p.add_argument("--alpha", type=_non_negative, default=0.0,
                       help="L2 penalty weight (default: %(default)s)")
        p.add_argument("--plot", metavar="PATH", default=f"{name}.png",
                       help="save the class regions here (default: %(default)s)")
        p.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                       help="do not plot")
        _add_io(p)

    digits = sub.add_parser(
        "digits", help="handwritten digits (scikit-learn's): 10 classes, cross-entropy, Adam",
        description="scikit-learn's handwritten digits (load_digits: 1,797 8x8 images "
        "that ship inside scikit-learn, no download), pixels 0..16 divided by 16. One "
        "fixed split, the same for every --seed: 360 test digits drawn by "
        "random.Random(0).shuffle, the other 1,437 to train on. MLP(64, [H, 10]) with "
        "ReLU and linear logits, softmax cross-entropy (+ optional L2), Adam on the "
        "whole training set each step. Prints the test accuracy and the time taken, and "
        "saves a picture of test digits with their predicted labels and the confusion "
        "matrix (needs matplotlib).",
        epilog=f"Needs scikit-learn: {DIGITS_HINT}. Plots need matplotlib: {PLOT_HINT}")
    digits.add_argument("--steps", type=_steps, default=300,
                        help="number of Adam steps (default: %(default)s)")
    digits.add_argument("--lr", type=_non_negative, default=0.01,
                        help="Adam learning rate (default: %(default)s)")
    digits.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights (default: %(default)s)")
    digits.add_argument("--hidden", type=_int_at_least(1), default=32,
                        help="width H of the hidden layer (default: %(default)s)")
    digits.add_argument("--alpha", type=_non_negative, default=0.0,
                        help="L2 penalty weight (default: %(default)s)")
    digits.add_argument("--train", type=_int_at_least(1), metavar="N", default=None,
                        help="train on the first N training digits only (default: all "
                             "1,437)")
    digits.add_argument("--plot", metavar="PATH", default="digits.png",
                        help="save test digits and the confusion matrix here (default: "
                             "%(default)s)")
    digits.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                        help="do not plot")
    _add_io(digits)

    sub.add_parser(
        "neuron", help="one neuron's graph with every value and gradient",
        description="Build o = tanh(x1*w1 + x2*w2 + b), backpropagate, and print the "
        "value and gradient of every node.")
    add_verify_parser(sub, _int_at_least(1), _seed32)
    for command_parser in sub.choices.values():  # for usage errors found after parsing
        command_parser.set_defaults(command_parser=command_parser)
    return top


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors for what argparse cannot see alone, before any training starts.

    Options given before a command, a plot format matplotlib cannot write, and
    ``--save``/``--plot`` paths that cannot be written (found after training, they
    would cost the run). A ``--plot`` path without an extension gets matplotlib's
    default one, so that the path reported is the file written.
    """
    given = getattr(args, "given_before_command", [])
    if args.command is not None and given:
        parser.error(f"{', '.join(given)} given before the command {args.command!r}: "
                     f"options go after it (python -m pymicrograd {args.command} {given[0]} "
                     "...)")
    command_parser = getattr(args, "command_parser", parser)
    for option in ("save", "plot"):
        _check_writable(command_parser, option, getattr(args, option, None))
    if getattr(args, "plot", None):
        try:
            plot = plot_file(args.plot)
        except ValueError as e:
            command_parser.error(f"argument --plot: {e}")
        if plot != args.plot:  # an extension was added: another file
            _check_writable(command_parser, "plot", plot)
        args.plot = plot


def _check_writable(parser: argparse.ArgumentParser, option: str, path: str | None) -> None:
    """A usage error if `path` (given to --`option`) cannot be written."""
    problem = path and _unwritable(path)
    if problem:
        parser.error(f"argument --{option}: cannot write {path}: {problem}")


def _unwritable(path: str) -> str | None:
    """Why a file cannot be written at `path`, or None if it looks writable.

    Nothing is created: the folder must exist and be writable (a save writes a
    temporary file there), and an existing `path` must be a writable file.
    """
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        return "it is a folder"
    if not os.path.isdir(folder):
        return f"there is no folder {folder}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if os.path.exists(target) and not os.access(target, os.W_OK):
        return "the file is not writable"
    return None
