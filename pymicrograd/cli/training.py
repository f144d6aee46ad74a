"""The one training loop, and the run around it that every training command shares.

A command describes its run as a `Recipe` (see `pymicrograd.cli.recipes`); `run` then
loads parameters if asked, trains with `train`, reports, saves and plots.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from .._progress import Progress
from ..engine import Tensor
from ..nn import MLP
from ..optim import Optimizer
from .errors import CommandError
from .plotting import DigitPredictions, Regions, save_plot

__all__ = ["Recipe", "load_parameters", "run", "save_parameters", "train"]

Outputs = TypeVar("Outputs")  # a model's outputs on the training data: scores, logits


@dataclass(frozen=True)
class Recipe(Generic[Outputs]):
    """Everything one training command varies; `run` does the rest.

    `forward` gives the model's outputs on the training data, `loss` the loss to
    minimise on them, and `status` the progress text after step k (1-based) from the
    loss and the outputs the step started from. `lr_at` (if not None) sets the
    optimizer's learning rate before step k (0-based). `report` prints the results
    after training and returns what to plot (decision regions, or test digits), if the
    command plots.
    """

    model: MLP
    header: str
    optimizer: Callable[[list[Tensor]], Optimizer]
    forward: Callable[[], Outputs]
    loss: Callable[[Outputs], Tensor]
    status: Callable[[int, Tensor, Outputs], str]
    report: Callable[[], Regions | DigitPredictions | None]
    lr_at: Callable[[int], float] | None = None


def train(recipe: Recipe[Outputs], optimizer: Optimizer, steps: int) -> None:
    """Take `steps` optimizer steps on the recipe's loss, with a progress bar, and time them.

    Each step: the forward pass, the loss, zero_grad, backward, the learning rate (if
    the recipe schedules it) and the update.
    """
    bar = Progress(steps)
    start = time.perf_counter()
    for k in range(steps):
        outputs = recipe.forward()
        loss = recipe.loss(outputs)
        optimizer.zero_grad()
        loss.backward()
        if recipe.lr_at is not None:
            optimizer.lr = recipe.lr_at(k)
        optimizer.step()
        bar.update(k + 1, recipe.status(k + 1, loss, outputs))
    bar.close()
    _report_time(steps, time.perf_counter() - start)


def _report_time(steps: int, seconds: float) -> None:
    if steps:
        total = f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.1f} ms"
        print(f"{steps} steps in {total} ({seconds / steps * 1e3:.2f} ms per step)")


def run(recipe: Recipe[Any], args: argparse.Namespace) -> int:
    """Load (``--load``), train (``--steps``), report, save (``--save``), plot (``--plot``)."""
    model = recipe.model
    load_parameters(model, args.load)
    optimizer = recipe.optimizer(model.parameters())
    print(recipe.header)
    train(recipe, optimizer, args.steps)
    shown = recipe.report()
    save_parameters(model, args.save)
    plot = getattr(args, "plot", None)
    if shown is not None and plot:
        save_plot(plot, shown)
    return 0


def load_parameters(model: MLP, path: str | None) -> None:
    """Load the model's parameters from `path` (nothing if None); CommandError if not."""
    if path is None:
        return
    try:
        model.load(path)
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot load parameters from {path}: {e}") from e
    print(f"loaded parameters from {path}")


def save_parameters(model: MLP, path: str | None) -> None:
    """Save the model's parameters to `path` (nothing if None); CommandError if not."""
    if path is None:
        return
    try:
        model.save(path)
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot save parameters to {path}: {e}") from e
    print(f"saved parameters to {path}")
