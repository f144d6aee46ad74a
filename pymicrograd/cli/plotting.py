"""Decision-region plots of the classification commands, and what matplotlib can write.

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

__all__ = ["PLOT_HINT", "Regions", "plot_file", "plot_regions"]

PLOT_HINT = 'pip install "pymicrograd[plot]"'
"""How to install matplotlib for the plots."""

Rows = Sequence[Sequence[float]]
"""Samples' inputs, one row of numbers per sample (a dataset's X)."""


@dataclass(frozen=True)
class Regions:
    """What a decision-region plot shows: the classes a model gives every point.

    `predict` maps a batch of points to a class per point (any numbers: the colour
    levels); `labels` are the data points' own classes on the same scale.
    """

    X: Rows
    labels: Sequence[float]
    classes: int
    predict: Callable[[list[list[float]]], list[float]]
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


def _grid(X: Rows, n: int = 120) -> tuple[list[float], list[float]]:
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
        print(f"no plot saved: {path} needs matplotlib, which is not installed. "
              f"To get plots: {PLOT_HINT}", file=sys.stderr)
        return False
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
    fig.tight_layout()
    try:
        # the format is the extension that plot_file checked
        fig.savefig(path, format=os.path.splitext(path)[1][1:].lower())
    except (OSError, RuntimeError) as e:  # RuntimeError: pgf without LaTeX, for one
        raise CommandError(f"cannot save the plot to {path}: {e}") from e
    finally:
        plt.close(fig)
    print(f"decision boundary saved to {path}")
    return True
