"""The pictures of the docs, drawn by code when the site builds.

A figure is a function that writes one file. Register it with ``@figure("name.svg")``
in a ``figures_*.py`` module next to this one; pages show it as
``![what it shows](../figures/name.svg)`` (from a page one folder deep). The mkdocs
hook (hooks.py) calls every registered function into a temporary folder and serves the
files under ``figures/``; a figure that raises fails the build.

    python docs/_tools/figures.py OUTDIR [NAME ...]    draws them by hand
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

Drawer = Callable[[Path], None]
REGISTRY: dict[str, Drawer] = {}


def figure(filename: str) -> Callable[[Drawer], Drawer]:
    """Registers `fn(path)` as the function that draws docs/figures/<filename>."""

    def register(fn: Drawer) -> Drawer:
        if filename in REGISTRY:
            raise ValueError(f"two figures are named {filename}")
        REGISTRY[filename] = fn
        return fn

    return register


def load_all() -> dict[str, Drawer]:
    """Imports every figures_*.py module next to this file; returns the registry."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    for module in sorted(HERE.glob("figures_*.py")):
        importlib.import_module(module.stem)
    return REGISTRY


def draw(outdir: Path, names: list[str] | None = None) -> list[Path]:
    """Draws the named figures (all when None) into outdir; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: the build runs headless
    registry = load_all()
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or sorted(registry):
        path = outdir / name
        registry[name](path)
        if not path.is_file() or path.stat().st_size == 0:
            raise RuntimeError(f"figure {name}: its function wrote no file")
        paths.append(path)
    return paths


def save_svg(fig: object, path: Path) -> None:
    """Saves a matplotlib figure as an SVG with reproducible bytes (no date, fixed ids)."""
    import matplotlib.pyplot as plt

    fig.savefig(path, format="svg", bbox_inches="tight",  # type: ignore[attr-defined]
                metadata={"Date": None})
    plt.close(fig)  # type: ignore[arg-type]


def save_graph(dot_source: str, path: Path) -> None:
    """Renders DOT source to path (format from its suffix) with Graphviz's dot program."""
    import subprocess

    fmt = path.suffix.lstrip(".")
    out = subprocess.run(["dot", f"-T{fmt}"], input=dot_source.encode(),
                         capture_output=True, check=True).stdout
    path.write_bytes(out)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    # the figures_*.py modules register with the module `figures`, not with __main__
    import figures as _figures

    for p in _figures.draw(Path(sys.argv[1]), sys.argv[2:] or None):
        print(p)
