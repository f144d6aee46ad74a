"""Pictures of a computation graph: `to_dot` (DOT text) and `draw_dot` (graphviz).

Each Tensor of the graph is a box with its value and gradient; the op that made it is
a small oval feeding the box, with the plain-number operand of a constant op shown in
the oval (``* 2``). Walking the graph uses an explicit stack, so a graph of any depth
(a 100,000-node chain) draws without recursion.

>>> from pymicrograd import Tensor
>>> a = Tensor(2.0)
>>> print(to_dot(a * 3))  # doctest: +ELLIPSIS
digraph {
...
}
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Mapping
from typing import Any

from ._core import ffi, lib
from .engine import Tensor

__all__ = ["OP_SYMBOLS", "draw_dot", "to_dot", "walk"]

def _c_text(text: Any) -> str:
    return ffi.string(text).decode()  # type: ignore[no-any-return]


OP_SYMBOLS: dict[str, str] = {
    _c_text(lib.mg_op_name(op)): _c_text(lib.mg_op_symbol(op))
    for op in range(lib.mg_op_count())
    if _c_text(lib.mg_op_symbol(op)) not in ("", _c_text(lib.mg_op_name(op)))
}
"""How an op is written in a picture ("mul": "*"), from the C core's table of ops; other
ops show their name (tanh, neuron_relu)."""

_LEFT_CONSTANT = {_c_text(lib.mg_op_name(op)) for op in range(lib.mg_op_count())
                  if lib.mg_op_has_constant(op) == lib.MG_CONST_LEFT}  # c - x, c / x, c ** x


def walk(root: Tensor) -> list[Tensor]:
    """Every Tensor `root` depends on, root first, each once (no recursion)."""
    order, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for child in node.children:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return order


def _op_label(t: Tensor) -> str:
    symbol = OP_SYMBOLS.get(t.op, t.op)
    c = t.constant
    if c is None:
        return symbol
    return f"{c:g} {symbol}" if t.op in _LEFT_CONSTANT else f"{symbol} {c:g}"


def _record_text(name: str) -> str:
    """`name` escaped for a field of a Graphviz record label."""
    return "".join("\\" + ch if ch in '{}|<>"\\' else ch for ch in name)


def to_dot(root: Tensor, rankdir: str = "LR",
           labels: Mapping[Tensor, str] | None = None) -> str:
    """The graph below `root` as Graphviz DOT source (no graphviz package needed).

    A node shows its name in front of its value and gradient, as in the lecture's
    pictures: its `label` (``a = Tensor(2.0, label="a")``), or its name in `labels`
    (``{a: "a", L: "L"}``), which wins.
    """
    nodes = walk(root)
    ids = {t: f"n{i}" for i, t in enumerate(nodes)}
    names = labels or {}
    lines = ["digraph {", f"  rankdir={rankdir};", "  node [fontname=Helvetica];"]
    for t in nodes:
        tid = ids[t]
        text = names.get(t, t.label)
        name = f"{_record_text(text)} | " if text else ""
        lines.append(f'  {tid} [shape=record, label="{{ {name}value {t.value:.4f} | '
                     f'grad {t.gradient:.4f} }}"];')
        if t.op != "leaf":
            lines.append(f'  {tid}_op [shape=oval, label="{_op_label(t)}"];')
            lines.append(f"  {tid}_op -> {tid};")
            for child in t.children:
                lines.append(f"  {ids[child]} -> {tid}_op;")
    lines.append("}")
    return "\n".join(lines)


def draw_dot(root: Tensor, rankdir: str = "LR", format: str = "svg",
             labels: Mapping[Tensor, str] | None = None) -> Any:
    """The graph below `root` as a ``graphviz.Digraph`` (render it, or show it in Jupyter).

    Needs the graphviz Python package (``pip install "pymicrograd[viz]"``): without it,
    ImportError says so, and `to_dot` still gives the DOT source. Rendering also needs
    Graphviz's ``dot`` program; when it is missing, a warning says how to get it and the
    returned Digraph's ``.source`` is still the DOT text. Nodes show their `label`, or
    their name in `labels`, as in `to_dot`.
    """
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("draw_dot needs the graphviz package: pip install "
                          '"pymicrograd[viz]" (pymicrograd.viz.to_dot(root) gives the DOT '
                          "source without it)") from e
    if shutil.which("dot") is None:
        warnings.warn("Graphviz's dot program was not found, so the picture cannot be "
                      "rendered (install Graphviz, e.g. apt install graphviz); the "
                      "Digraph's .source holds the DOT text", RuntimeWarning, stacklevel=2)
    body = to_dot(root, rankdir, labels).splitlines()[1:-1]
    graph = graphviz.Digraph(format=format)
    graph.body.extend(line + "\n" for line in body)
    return graph
