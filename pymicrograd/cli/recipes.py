"""The training commands as recipes: data, a network, a loss, an optimizer, a report.

Each function builds the `Recipe` of one command from its parsed arguments; the
training itself (loading, the loop, saving, plotting) is `pymicrograd.cli.training`.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from typing import Any, Callable

from .. import datasets
from ..batch import BatchOutputs
from ..engine import Tensor
from ..losses import cross_entropy_loss, hinge_loss, l2_penalty, sse_loss
from ..nn import MLP
from ..optim import SGD, Adam
from .errors import CommandError
from .plotting import DigitPredictions, Regions, SampleInputs
from .training import Recipe

__all__ = ["DIGITS_HINT", "DIGITS_SPLIT_SEED", "DIGITS_TEST", "RECIPES", "SEED_XS",
           "SEED_YS", "digits", "digits_split", "moons", "multiclass", "seed"]

SEED_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
"""The seed notebook's four inputs."""
SEED_YS = [1.0, -1.0, -1.0, 1.0]
"""The seed notebook's desired targets."""

# ---- the model's outputs ------------------------------------------------------------


def _scores(model: MLP, X: SampleInputs) -> list[Tensor]:
    """The model's single output on every row of X (the model has one output)."""
    return [t for t in model.forward_batch(X) if isinstance(t, Tensor)]


def _class_rows(model: MLP, X: SampleInputs) -> list[list[Tensor]]:
    """The model's logits on every row of X, as lists (the model has >= 2 outputs)."""
    return [row for row in model.forward_batch(X) if isinstance(row, list)]


def _argmax(row: Sequence[Tensor]) -> int:
    values = [t.value for t in row]
    return max(range(len(values)), key=values.__getitem__)


def _predicted_classes(model: MLP, X: SampleInputs, labels: Sequence[int]
                       ) -> tuple[list[int], int, float]:
    """The class predicted for every row of X, how many are right, and that share."""
    predicted = [_argmax(r) for r in _class_rows(model, X)]
    right = sum(p == c for p, c in zip(predicted, labels))
    return predicted, right, right / len(labels)


def _sign_accuracy(scores: Sequence[float], y: Sequence[float]) -> float:
    return sum((s > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)


def _cross_entropy(model: MLP, labels: list[int], alpha: float) -> Callable[[Any], Tensor]:
    """Softmax cross-entropy against `labels` (+ alpha * the model's L2 if alpha != 0)."""

    def loss(logits: Any) -> Tensor:
        total = cross_entropy_loss(logits, labels)
        return total + l2_penalty(model, alpha) if alpha else total

    return loss


def _class_status(labels: list[int], steps: int,
                  what: str) -> Callable[[int, Tensor, Any], str]:
    """The progress text of a classification command: the loss after every step.

    About 20 times a run also the accuracy (named `what`) of the logits on `labels`:
    it costs a pass over the logits.
    """
    every = max(1, steps // 20)

    def status(k: int, loss: Tensor, logits: Any) -> str:
        if k % every == 0 or k == steps:
            acc = sum(_argmax(r) == c for r, c in zip(logits, labels)) / len(labels)
            return f"loss {loss.value:.4f}, {what} {acc:.0%}"
        return f"loss {loss.value:.4f}"

    return status


# ---- seed -----------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> Recipe[BatchOutputs]:
    """The seed's MLP(3, [4, 4, 1]) on its four samples: SSE loss, SGD; prints predictions."""
    model = MLP(3, [4, 4, 1], seed=args.seed)

    def report() -> None:
        final = [p.value for p in _scores(model, SEED_XS)]
        loss = sum((p - t) ** 2 for p, t in zip(final, SEED_YS))
        print(f"final loss {loss:.6f}\n")
        print(f"{'input':<20} {'target':>7} {'prediction':>11}")
        for x, t, p in zip(SEED_XS, SEED_YS, final):
            print(f"{x!s:<20} {t:>7.1f} {p:>11.4f}")

    return Recipe(
        model=model,
        header=f"Training MLP(3, [4, 4, 1]) (tanh) on the seed's {len(SEED_XS)} samples: "
               f"SSE loss, SGD lr {args.lr:g}, {args.steps} steps, seed {args.seed}",
        optimizer=lambda params: SGD(params, lr=args.lr),
        forward=lambda: model.forward_batch(SEED_XS),
        loss=lambda preds: sse_loss(preds, SEED_YS),
        status=lambda k, loss, preds: f"loss {loss.value:.6f}",
        report=report,
    )


# ---- moons ----------------------------------------------------------------------------


def moons(args: argparse.Namespace) -> Recipe[BatchOutputs]:
    """micrograd's demo: two moons, MLP(2, [16, 16, 1]), SVM loss + L2, SGD with decay."""
    X, y = datasets.make_moons(args.samples, noise=args.noise, seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear",
                seed=args.seed)

    def status(k: int, loss: Tensor, scores: BatchOutputs) -> str:
        acc = _sign_accuracy([s.value for s in scores if isinstance(s, Tensor)], y)
        return f"loss {loss.value:.4f}, accuracy {acc:.0%}"

    def report() -> Regions:
        acc = _sign_accuracy([s.value for s in _scores(model, X)], y)
        print(f"final accuracy {acc:.0%} ({round(acc * len(y))}/{len(y)} points)")
        return Regions(X, [(v + 1) / 2 for v in y], 2,
                       lambda pts: [float(s.value > 0) for s in _scores(model, pts)],
                       f"micrograd's moons demo: MLP(2, [16, 16, 1]), accuracy {acc:.0%}")

    return Recipe(
        model=model,
        header=f"Training MLP(2, [16, 16, 1]) (relu, linear score) on {len(X)} two-moons "
               f"points (noise {args.noise:g}, seed {args.seed}): SVM max-margin loss + "
               f"{args.alpha:g} L2, SGD lr 1.0 - 0.9k/{args.steps}, {args.steps} steps",
        optimizer=lambda params: SGD(params, lr=1.0),
        forward=lambda: model.forward_batch(X),
        loss=lambda scores: hinge_loss(scores, y) + l2_penalty(model, args.alpha),
        status=status,
        report=report,
        # the demo's decay from 1.0 towards 0.1 (1.0 - 0.9k/100 over its 100 steps),
        # stretched over the whole run so that it stays positive for any --steps
        lr_at=lambda k: 1.0 - 0.9 * k / args.steps,
    )


# ---- spirals / yinyang --------------------------------------------------------------


def _three_classes(args: argparse.Namespace) -> tuple[list[list[float]], list[int], str]:
    """The command's points, their classes, and what they are in words."""
    if args.command == "spirals":
        X, labels = datasets.make_spirals(args.per_class, 3, noise=args.noise, seed=args.seed)
        return X, labels, f"{len(X)} spiral points, 3 arms"
    X, labels = datasets.make_yinyang(3 * args.per_class, seed=args.seed)
    return X, labels, f"{len(X)} yin-yang points, 3 classes"


def multiclass(args: argparse.Namespace) -> Recipe[BatchOutputs]:
    """Three classes (spirals or yin-yang): softmax cross-entropy (+ L2) and Adam."""
    X, labels, what = _three_classes(args)
    hidden = args.hidden
    model = MLP(2, [hidden, hidden, 3], activation="relu", final_activation="linear",
                seed=args.seed)
    def report() -> Regions:
        _, right, acc = _predicted_classes(model, X, labels)
        print(f"final accuracy {acc:.1%} ({right}/{len(labels)} points)")
        return Regions(X, labels, 3,
                       lambda pts: [float(_argmax(r)) for r in _class_rows(model, pts)],
                       f"{args.command}: MLP(2, [{hidden}, {hidden}, 3]), accuracy {acc:.0%}")

    penalty = f" + {args.alpha:g} L2" if args.alpha else ""
    return Recipe(
        model=model,
        header=f"Training MLP(2, [{hidden}, {hidden}, 3]) (relu, linear logits) on {what} "
               f"(seed {args.seed}): softmax cross-entropy{penalty}, Adam lr {args.lr:g}, "
               f"{args.steps} steps",
        optimizer=lambda params: Adam(params, lr=args.lr),
        forward=lambda: model.forward_batch(X),
        loss=_cross_entropy(model, labels, args.alpha),
        status=_class_status(labels, args.steps, "accuracy"),
        report=report,
    )


# ---- digits ---------------------------------------------------------------------------

DIGITS_HINT = 'pip install "pymicrograd[digits]"'
"""How to install scikit-learn, whose `load_digits` the digits command trains on."""
DIGITS_TEST = 360
"""The number of digits held out for the test (20% of 1,797)."""
DIGITS_SPLIT_SEED = 0
"""The seed of the one train/test split (``random.Random(0).shuffle``), whatever --seed."""


def _load_digits() -> tuple[Any, list[int]]:
    """scikit-learn's 1,797 8x8 digits: pixels (0..16) divided by 16, and the labels.

    CommandError naming the extra when scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise CommandError(f"the digits command needs scikit-learn: {DIGITS_HINT}") from e
    data = load_digits()  # ships inside scikit-learn: no download
    return data.data / 16.0, [int(c) for c in data.target]


def digits_split(n: int, n_train: int | None = None) -> tuple[list[int], list[int]]:
    """The indices of the training and the test digits among `n`.

    The first `DIGITS_TEST` of a ``random.Random(DIGITS_SPLIT_SEED)`` shuffle are the
    test set, the rest (its first `n_train` if given) the training set.
    """
    order = list(range(n))
    random.Random(DIGITS_SPLIT_SEED).shuffle(order)
    train = order[DIGITS_TEST:]
    return train[:n_train] if n_train is not None else train, order[:DIGITS_TEST]


def digits(args: argparse.Namespace) -> Recipe[Any]:
    """Handwritten digits: MLP(64, [H, 10]), softmax cross-entropy (+ L2), Adam."""
    X, labels = _load_digits()
    train, test = digits_split(len(labels), args.train)
    X_train, y_train = X[train], [labels[i] for i in train]  # float64 rows, contiguous:
    X_test, y_test = X[test], [labels[i] for i in test]      # forward_batch copies nothing
    hidden = args.hidden
    net = f"MLP(64, [{hidden}, 10])"
    model = MLP(64, [hidden, 10], activation="relu", final_activation="linear",
                seed=args.seed)

    def report() -> DigitPredictions:
        predicted, right, acc = _predicted_classes(model, X_test, y_test)
        print(f"test accuracy {acc:.1%} ({right}/{len(y_test)} digits)")
        return DigitPredictions(X_test.tolist(), y_test, predicted,
                                f"digits: {net}, test accuracy {acc:.1%}")

    penalty = f" + {args.alpha:g} L2" if args.alpha else ""
    return Recipe(
        model=model,
        header=f"Training {net} (relu, linear logits) on {len(train)} of scikit-learn's "
               f"8x8 digits (pixels / 16), testing on {len(test)} others (split "
               f"random.Random({DIGITS_SPLIT_SEED}), weights seed {args.seed}): softmax "
               f"cross-entropy{penalty}, Adam lr {args.lr:g}, {args.steps} steps",
        optimizer=lambda params: Adam(params, lr=args.lr),
        forward=lambda: model.forward_batch(X_train),
        loss=_cross_entropy(model, y_train, args.alpha),
        status=_class_status(y_train, args.steps, "train accuracy"),
        report=report,
    )


RECIPES: dict[str, Callable[[argparse.Namespace], Recipe[Any]]] = {
    "seed": seed, "moons": moons, "spirals": multiclass, "yinyang": multiclass,
    "digits": digits}
"""The recipe of each training command, by name."""
