"""The classification commands' plots, and what matplotlib can write.

Decision regions (moons, spirals, yinyang); test digits with their predicted labels
and the confusion matrix (digits).

matplotlib is optional (``pip install "pymicrograd[plot]"``): without it a command
still trains, and says how to get plots instead of saving one.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from .errors import CommandError

__all__ = ["PLOT_HINT", "DigitPredictions", "Regions", "plot_digits", "plot_file",
           "plot_regions", "save_plot"]

PLOT_HINT = 'pip install "pymicrograd[plot]"'
"""How to install matplotlib for the plots."""

SampleInputs = Sequence[Sequence[float]]
"""A dataset's inputs (its X), one sequence of numbers per sample: a point (x, y) in the
decision regions, a digit's 64 pixels, the seed notebook's three inputs."""


@dataclass(frozen=True)
class Regions:
    """What a decision-region plot shows: the classes a model gives every point.

    `predict` maps a batch of points to a class per point (any numbers: the colour
    levels); `labels` are the data points' own classes on the same scale.
    """

    X: SampleInputs
    labels: Sequence[float]
    classes: int
    predict: Callable[[list[list[float]]], list[float]]
    title: str


@dataclass(frozen=True)
class DigitPredictions:
    """What the digits plot shows: test images, their labels and the predicted ones.

    `images` are rows of 64 pixel values in [0, 1] (8x8, row by row).
    """

    images: SampleInputs
    labels: Sequence[int]
    predicted: Sequence[int]
    title: str


def _matplotlib(module: str = "matplotlib") -> Any:
    """A matplotlib module, or None if matplotlib is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def plot_file(path: str) -> str:
    """The file a plot saved as `path` goes to, checked before any training.

    A path without an extension gets matplotlib's default format (what ``savefig``
    would add without saying so), so that the path reported is the file written.
    ValueError names the supported formats when matplotlib cannot write the
    extension. Without matplotlib, `path` as it is (no plot will be saved).
    """
    matplotlib = _matplotlib()
    backend_bases = _matplotlib("matplotlib.backend_bases")
    if matplotlib is None or backend_bases is None:
        return path
    ext = os.path.splitext(path)[1][1:].lower()
    if not ext:
        return f"{path.rstrip('.')}.{matplotlib.rcParams['savefig.format']}"
    supported = sorted(backend_bases.FigureCanvasBase.get_supported_filetypes())
    if ext not in supported:
        raise ValueError(f"matplotlib cannot save a plot as .{ext}; it supports "
                         f"{', '.join(supported)}")
    return path


def _pyplot() -> Any:
    """matplotlib.pyplot with the file-only Agg backend, or None if not installed."""
    matplotlib = _matplotlib()
    if matplotlib is None:
        return None
    matplotlib.use("Agg")
    return _matplotlib("matplotlib.pyplot")


def _grid(X: SampleInputs, n: int = 120) -> tuple[list[float], list[float]]:
    """n x n grid points covering the data with a margin (x coordinates, y coordinates)."""
    lo = [min(row[i] for row in X) for i in (0, 1)]
    hi = [max(row[i] for row in X) for i in (0, 1)]
    pad = [0.25 * (hi[i] - lo[i]) + 1e-9 for i in (0, 1)]
    axes = [[lo[i] - pad[i] + (hi[i] - lo[i] + 2 * pad[i]) * j / (n - 1) for j in range(n)]
            for i in (0, 1)]
    return axes[0], axes[1]


def plot_regions(path: str, regions: Regions) -> bool:
    """Save the decision regions with the data points on top to `path` (a `plot_file`).

    Returns False, after a message naming the extra to install, without matplotlib.
    CommandError when the file cannot be written.
    """
    plt = _pyplot()
    if plt is None:
        return _no_matplotlib(path)
    X, n_classes = regions.X, regions.classes
    gx, gy = _grid(X)
    zs = regions.predict([[x, y] for y in gy for x in gx])
    Z = [zs[i * len(gx):(i + 1) * len(gx)] for i in range(len(gy))]
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    levels = [c - 0.5 for c in range(n_classes + 1)]
    cmap = plt.get_cmap("Spectral", n_classes)
    ax.contourf(gx, gy, Z, levels=levels, cmap=cmap, alpha=0.8)
    ax.scatter([r[0] for r in X], [r[1] for r in X], c=list(regions.labels), s=30,
               cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5, edgecolors="k", linewidths=0.5)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_title(regions.title, fontsize=10)
    return _save(plt, fig, path, "decision boundary")


def plot_digits(path: str, digits: DigitPredictions, shown: int = 24) -> bool:
    """Save test digits with their predictions beside the confusion matrix to `path`.

    The first `shown` test digits, each titled with its predicted label (in red, with
    the true label, when wrong); `path` is a `plot_file`. Returns False, after a
    message naming the extra to install, without matplotlib. CommandError when the
    file cannot be written.
    """
    plt = _pyplot()
    if plt is None:
        return _no_matplotlib(path)
    fig = plt.figure(figsize=(11, 5), dpi=100)
    grid = fig.add_gridspec(4, 11)
    cols = 6
    for k, (image, label, guess) in enumerate(
            zip(digits.images[:shown], digits.labels, digits.predicted)):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        ax.imshow([list(image[r * 8:(r + 1) * 8]) for r in range(8)], cmap="gray_r",
                  vmin=0.0, vmax=1.0)
        wrong = guess != label
        ax.set_title(f"{guess} (is {label})" if wrong else f"{guess}", fontsize=9,
                     color="red" if wrong else "black")
        ax.axis("off")
    classes = 1 + max(max(digits.labels), max(digits.predicted))
    counts = [[0] * classes for _ in range(classes)]
    for label, guess in zip(digits.labels, digits.predicted):
        counts[label][guess] += 1
    ax = fig.add_subplot(grid[:, cols + 1:])
    ax.imshow(counts, cmap="Blues")
    top = max(max(row) for row in counts)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                        color="white" if n > top / 2 else "black")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (test digits)", fontsize=10)
    fig.suptitle(digits.title, fontsize=11)
    return _save(plt, fig, path, "test digits and confusion matrix")


def save_plot(path: str, plot: Regions | DigitPredictions) -> bool:
    """Save `plot` to `path` with the function that draws its kind (see each)."""
    if isinstance(plot, DigitPredictions):
        return plot_digits(path, plot)
    return plot_regions(path, plot)


def _no_matplotlib(path: str) -> bool:
    print(f"no plot saved: {path} needs matplotlib, which is not installed. "
          f"To get plots: {PLOT_HINT}", file=sys.stderr)
    return False


def _save(plt: Any, fig: Any, path: str, what: str) -> bool:
    """Save and close the figure; say where `what` went. CommandError if it cannot."""
    fig.tight_layout()
    try:
        # the format is the extension that plot_file checked
        fig.savefig(path, format=os.path.splitext(path)[1][1:].lower())
    except (OSError, RuntimeError) as e:  # RuntimeError: pgf without LaTeX, for one
        raise CommandError(f"cannot save the plot to {path}: {e}") from e
    finally:
        plt.close(fig)
    print(f"{what} saved to {path}")
    return True
