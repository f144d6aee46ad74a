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
- ``neuron``: one neuron, o = tanh(x1*w1 + x2*w2 + b): every node of its graph with
  its value and gradient.

Every training command takes ``--save PATH`` (write the trained parameters as a JSON
state dict) and ``--load PATH`` (start from saved parameters; with ``--steps 0`` it only
evaluates). Plots need matplotlib: ``pip install "pymicrograd[plot]"``.

Bad arguments, and output paths that cannot be written, are usage errors (exit status
2) before any training. Output cut short by a closed pipe (``| head``) ends the run
quietly with exit status 141, as a program killed by SIGPIPE reports.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Callable

from . import datasets
from ._progress import Progress
from .engine import Tensor
from .losses import cross_entropy_loss, hinge_loss, l2_penalty, sse_loss
from .nn import MLP
from .optim import SGD, Adam
from .viz import walk

__all__ = ["SEED_XS", "SEED_YS", "main", "walk"]

SEED_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
"""The seed notebook's four inputs."""
SEED_YS = [1.0, -1.0, -1.0, 1.0]
"""The seed notebook's desired targets."""

PLOT_HINT = 'pip install "pymicrograd[plot]"'

EXIT_BROKEN_PIPE = 128 + 13
"""The exit status when stdout's reader goes away: a shell's status for SIGPIPE (13)."""


class CommandError(Exception):
    """A problem with the user's input (a file that does not load, ...): exit status 2."""


# ---- shared helpers ---------------------------------------------------------------------


def _load_or_save(model: MLP, path: str | None, *, save: bool) -> None:
    """Load parameters from, or save them to, `path` (nothing if it is None)."""
    if path is None:
        return
    try:
        if save:
            model.save(path)
        else:
            model.load(path)
    except (OSError, ValueError) as e:
        verb = "save parameters to" if save else "load parameters from"
        raise CommandError(f"cannot {verb} {path}: {e}") from e
    print(f"{'saved' if save else 'loaded'} parameters {'to' if save else 'from'} {path}")


def _pyplot() -> Any:
    """matplotlib.pyplot with the file-only Agg backend, or None if not installed."""
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None


def _no_matplotlib(path: str) -> None:
    print(f"no plot saved: {path} needs matplotlib, which is not installed. "
          f"To get plots: {PLOT_HINT}", file=sys.stderr)


def _grid(X: Sequence[Sequence[float]], n: int = 120) -> tuple[list[float], list[float]]:
    """n x n grid points covering the data with a margin (x coordinates, y coordinates)."""
    lo = [min(row[i] for row in X) for i in (0, 1)]
    hi = [max(row[i] for row in X) for i in (0, 1)]
    pad = [0.25 * (hi[i] - lo[i]) + 1e-9 for i in (0, 1)]
    axes = [[lo[i] - pad[i] + (hi[i] - lo[i] + 2 * pad[i]) * j / (n - 1) for j in range(n)]
            for i in (0, 1)]
    return axes[0], axes[1]


def _plot_regions(path: str, X: Sequence[Sequence[float]], labels: Sequence[float],
                  predict: Callable[[list[list[float]]], list[float]], title: str,
                  n_classes: int) -> bool:
    """Save the decision regions of `predict` with the data points on top as a PNG.

    `predict` maps a batch of points to a class per point (any numbers: the colour
    levels). Returns False (after a message naming the extra) without matplotlib.
    """
    plt = _pyplot()
    if plt is None:
        _no_matplotlib(path)
        return False
    gx, gy = _grid(X)
    zs = predict([[x, y] for y in gy for x in gx])
    Z = [zs[i * len(gx):(i + 1) * len(gx)] for i in range(len(gy))]
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    levels = [c - 0.5 for c in range(n_classes + 1)]
    cmap = plt.get_cmap("Spectral", n_classes)
    ax.contourf(gx, gy, Z, levels=levels, cmap=cmap, alpha=0.8)
    ax.scatter([r[0] for r in X], [r[1] for r in X], c=list(labels), s=30, cmap=cmap,
               vmin=-0.5, vmax=n_classes - 0.5, edgecolors="k", linewidths=0.5)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    try:
        # the format is the extension, checked before training (see _plot_path)
        fig.savefig(path, format=os.path.splitext(path)[1][1:].lower())
    except (OSError, RuntimeError) as e:  # RuntimeError: pgf without LaTeX, for one
        raise CommandError(f"cannot save the plot to {path}: {e}") from e
    finally:
        plt.close(fig)
    print(f"decision boundary saved to {path}")
    return True


def _report_time(steps: int, seconds: float) -> None:
    if steps:
        total = f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.1f} ms"
        print(f"{steps} steps in {total} ({seconds / steps * 1e3:.2f} ms per step)")


# ---- seed -----------------------------------------------------------------------------


def run_seed(args: argparse.Namespace) -> int:
    """Train the seed's MLP(3, [4, 4, 1]) on its four samples and print predictions."""
    model = MLP(3, [4, 4, 1], seed=args.seed)
    _load_or_save(model, args.load, save=False)
    opt = SGD(model.parameters(), lr=args.lr)
    print(f"Training MLP(3, [4, 4, 1]) (tanh) on the seed's {len(SEED_XS)} samples: "
          f"SSE loss, SGD lr {args.lr:g}, {args.steps} steps, seed {args.seed}")
    bar = Progress(args.steps)
    t0 = time.perf_counter()
    for k in range(args.steps):
        preds = _scores(model, SEED_XS)
        loss = sse_loss(preds, SEED_YS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.update(k + 1, f"loss {loss.value:.6f}")
    bar.close()
    _report_time(args.steps, time.perf_counter() - t0)
    final = [p.value for p in _scores(model, SEED_XS)]
    loss_value = sum((p - t) ** 2 for p, t in zip(final, SEED_YS))
    print(f"final loss {loss_value:.6f}\n")
    print(f"{'input':<20} {'target':>7} {'prediction':>11}")
    for x, t, p in zip(SEED_XS, SEED_YS, final):
        print(f"{x!s:<20} {t:>7.1f} {p:>11.4f}")
    _load_or_save(model, args.save, save=True)
    return 0


# ---- moons ----------------------------------------------------------------------------


def run_moons(args: argparse.Namespace) -> int:
    """micrograd's demo: two moons, MLP(2, [16, 16, 1]), SVM loss + L2, SGD."""
    X, y = datasets.make_moons(args.samples, noise=args.noise, seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear",
                seed=args.seed)
    _load_or_save(model, args.load, save=False)
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    print(f"Training MLP(2, [16, 16, 1]) (relu, linear score) on {len(X)} two-moons points "
          f"(noise {args.noise:g}, seed {args.seed}): SVM max-margin loss + "
          f"{args.alpha:g} L2, SGD lr 1.0 - 0.9k/{args.steps}, {args.steps} steps")
    bar = Progress(args.steps)
    t0 = time.perf_counter()
    for k in range(args.steps):
        scores = _scores(model, X)
        loss = hinge_loss(scores, y) + l2_penalty(model, args.alpha)
        opt.zero_grad()
        loss.backward()
        # the demo's decay from 1.0 towards 0.1 (1.0 - 0.9k/100 over its 100 steps),
        # stretched over the whole run so that it stays positive for any --steps
        opt.lr = 1.0 - 0.9 * k / args.steps
        opt.step()
        acc = _sign_accuracy([s.value for s in scores], y)
        bar.update(k + 1, f"loss {loss.value:.4f}, accuracy {acc:.0%}")
    bar.close()
    _report_time(args.steps, time.perf_counter() - t0)
    final = [s.value for s in _scores(model, X)]
    acc = _sign_accuracy(final, y)
    print(f"final accuracy {acc:.0%} ({round(acc * len(y))}/{len(y)} points)")
    _load_or_save(model, args.save, save=True)
    if args.plot:
        _plot_regions(args.plot, X, [(v + 1) / 2 for v in y],
                      lambda pts: [float(s.value > 0) for s in _scores(model, pts)],
                      f"micrograd's moons demo: MLP(2, [16, 16, 1]), accuracy {acc:.0%}", 2)
    return 0


def _sign_accuracy(scores: Sequence[float], y: Sequence[float]) -> float:
    return sum((s > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)


# ---- spirals / yinyang --------------------------------------------------------------


def _scores(model: MLP, X: Sequence[Sequence[float]]) -> list[Tensor]:
    """The model's single output on every row of X (the model has one output)."""
    out = model.forward_batch(X)
    return [t for t in out if isinstance(t, Tensor)]


def _argmax(row: Sequence[Tensor]) -> int:
    values = [t.value for t in row]
    return max(range(len(values)), key=values.__getitem__)


def _class_rows(model: MLP, X: Sequence[Sequence[float]]) -> list[list[Tensor]]:
    """The model's logits on every row of X, as lists (the model has >= 2 outputs)."""
    out = model.forward_batch(X)
    return [row for row in out if isinstance(row, list)]


def run_multiclass(args: argparse.Namespace) -> int:
    """Three classes (spirals or yin-yang): softmax cross-entropy and Adam."""
    if args.command == "spirals":
        X, labels = datasets.make_spirals(args.per_class, 3, noise=args.noise, seed=args.seed)
        what = f"{len(X)} spiral points, 3 arms"
    else:
        X, labels = datasets.make_yinyang(3 * args.per_class, seed=args.seed)
        what = f"{len(X)} yin-yang points, 3 classes"
    hidden = args.hidden
    model = MLP(2, [hidden, hidden, 3], activation="relu", final_activation="linear",
                seed=args.seed)
    _load_or_save(model, args.load, save=False)
    params = model.parameters()
    opt = Adam(params, lr=args.lr)
    penalty = f" + {args.alpha:g} L2" if args.alpha else ""
    print(f"Training MLP(2, [{hidden}, {hidden}, 3]) (relu, linear logits) on {what} "
          f"(seed {args.seed}): softmax cross-entropy{penalty}, Adam lr {args.lr:g}, "
          f"{args.steps} steps")
    bar = Progress(args.steps)
    t0 = time.perf_counter()
    for k in range(args.steps):
        logits = _class_rows(model, X)
        loss = cross_entropy_loss(logits, labels)
        if args.alpha:
            loss = loss + l2_penalty(model, args.alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (k + 1) % max(1, args.steps // 20) == 0 or k + 1 == args.steps:
            acc = sum(_argmax(r) == c for r, c in zip(logits, labels)) / len(labels)
            bar.update(k + 1, f"loss {loss.value:.4f}, accuracy {acc:.0%}")
        else:
            bar.update(k + 1, f"loss {loss.value:.4f}")
    bar.close()
    _report_time(args.steps, time.perf_counter() - t0)
    predicted = [_argmax(r) for r in _class_rows(model, X)]
    acc = sum(p == c for p, c in zip(predicted, labels)) / len(labels)
    print(f"final accuracy {acc:.1%} ({sum(p == c for p, c in zip(predicted, labels))}/"
          f"{len(labels)} points)")
    _load_or_save(model, args.save, save=True)
    if args.plot:
        _plot_regions(args.plot, X, labels,
                      lambda pts: [float(_argmax(r)) for r in _class_rows(model, pts)],
                      f"{args.command}: MLP(2, [{hidden}, {hidden}, 3]), accuracy {acc:.0%}",
                      3)
    return 0


# ---- neuron ---------------------------------------------------------------------------


def run_neuron(args: argparse.Namespace) -> int:
    """Build o = tanh(x1*w1 + x2*w2 + b), backpropagate, print every node."""
    x1, x2 = Tensor(2.0), Tensor(0.0)
    w1, w2 = Tensor(-3.0), Tensor(1.0)
    b = Tensor(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.backward()
    names = {x1: "x1", x2: "x2", w1: "w1", w2: "w2", b: "b", x1w1: "x1*w1",
             x2w2: "x2*w2", s: "x1*w1 + x2*w2", n: "n = ... + b", o: "o = tanh(n)"}
    print("One neuron: o = tanh(x1*w1 + x2*w2 + b), after o.backward()\n")
    print(f"{'node':<15} {'op':<5} {'value':>8} {'gradient do/dnode':>18}")
    for node in walk(o):
        print(f"{names[node]:<15} {node.op:<5} {node.value:>8.4f} {node.gradient:>18.4f}")
    print(f"\no = {o!r}")
    print("Check one by hand with the chain rule: do/dw1 = (1 - o**2) * x1 "
          f"= {1 - o.value**2:.4f} * {x1.value:.1f} = {(1 - o.value**2) * x1.value:.4f}")
    return 0


# ---- command line -----------------------------------------------------------------------


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
    them without a word; the note lets `main` make that a usage error instead.
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


def _parser() -> argparse.ArgumentParser:
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

    sub.add_parser(
        "neuron", help="one neuron's graph with every value and gradient",
        description="Build o = tanh(x1*w1 + x2*w2 + b), backpropagate, and print the "
        "value and gradient of every node.")
    for command_parser in sub.choices.values():  # for usage errors found after parsing
        command_parser.set_defaults(command_parser=command_parser)
    return top


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: run_seed,
    "seed": run_seed,
    "moons": run_moons,
    "spirals": run_multiclass,
    "yinyang": run_multiclass,
    "neuron": run_neuron,
}


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
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
        plot = _plot_path(command_parser, args.plot)
        if plot != args.plot:  # an extension was added: another file
            _check_writable(command_parser, "plot", plot)
        args.plot = plot


def _check_writable(parser: argparse.ArgumentParser, option: str, path: str | None) -> None:
    """A usage error if `path` (given to --`option`) cannot be written."""
    problem = path and _unwritable(path)
    if problem:
        parser.error(f"argument --{option}: cannot write {path}: {problem}")


def _plot_path(parser: argparse.ArgumentParser, path: str) -> str:
    """`path` with a format matplotlib can write (its default one if none is given).

    Without matplotlib the path is returned as it is: the command then trains, and says
    how to get plots instead of saving one.
    """
    try:
        matplotlib = importlib.import_module("matplotlib")
        backend_bases = importlib.import_module("matplotlib.backend_bases")
    except ImportError:
        return path
    ext = os.path.splitext(path)[1][1:].lower()
    if not ext:  # what savefig itself would do, made visible in the path
        return f"{path.rstrip('.')}.{matplotlib.rcParams['savefig.format']}"
    supported = sorted(backend_bases.FigureCanvasBase.get_supported_filetypes())
    if ext not in supported:
        parser.error(f"argument --plot: matplotlib cannot save a plot as .{ext}; it "
                     f"supports {', '.join(supported)}")
    return path


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
            parser = _parser()
            args = parser.parse_args(argv)
            _check_arguments(parser, args)
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


if __name__ == "__main__":
    raise SystemExit(main())
