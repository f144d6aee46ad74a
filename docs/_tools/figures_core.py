"""Figures of the C-core chapters: 5 (inside the core), 10 (embedding), 11 (performance)."""

from __future__ import annotations

import shutil
from pathlib import Path

from figures import REPO, figure, save_graph, save_svg

# One palette for the three chapters: Python blue, C nodes orange, leaves green.
PY_FILL, NODE_FILL, LEAF_FILL, SCRATCH_FILL, MALLOC_FILL = (
    "#dbe9f6", "#fde5c8", "#d9f0d3", "#ece2f0", "#e0e0e0")


def _g(x: float) -> str:
    """A number as the pages print it: no trailing zeros."""
    return f"{x:.4g}"


@figure("tensor-to-node.svg")
def tensor_to_node(path: Path) -> None:
    """Python Tensors point at C nodes; each node's reference count is its in-degree."""
    from pymicrograd import Tensor
    from pymicrograd.viz import walk

    a, b = Tensor(2.0), Tensor(-3.0)
    c = (a * b + 1.0).tanh()
    held = {"a": a, "b": b, "c": c}          # what Python still holds after the line
    nodes = walk(c)
    ids = {t: f"n{i}" for i, t in enumerate(nodes)}
    refs = {t: 0 for t in nodes}
    edges = []
    for t in nodes:
        for child in t.children:
            refs[child] += 1
            edges.append((ids[t], ids[child]))
    for t in held.values():
        refs[t] += 1

    lines = ["digraph {", "  rankdir=TB; nodesep=0.3; ranksep=0.45;",
             '  node [fontname=Helvetica, fontsize=11]; edge [fontname=Helvetica, fontsize=9];',
             '  subgraph cluster_py { label="Python: Tensor objects (one pointer each)";'
             ' style=rounded; color="#7aa6d6"; fontname=Helvetica; fontsize=11;']
    for name in held:
        lines.append(f'    py_{name} [shape=box, style="rounded,filled", fillcolor="{PY_FILL}",'
                     f' label="{name}"];')
    lines.append("  }")
    lines.append('  subgraph cluster_c { label="C core: mg_node structs"; style=rounded;'
                 ' color="#d99a4e"; fontname=Helvetica; fontsize=11;')
    for t in nodes:
        what = t.op if t.constant is None else f"{t.op} ({_g(t.constant)})"
        fill = LEAF_FILL if t.op == "leaf" else NODE_FILL
        lines.append(f'    {ids[t]} [shape=record, style=filled, fillcolor="{fill}", '
                     f'label="{what} | value {_g(t.value)} | refs {refs[t]}"];')
    lines.append("  }")
    for name, t in held.items():
        lines.append(f'  py_{name} -> {ids[t]} [style=dashed, color="#3b6ea5"];')
    for parent, child in edges:
        lines.append(f'  {parent} -> {child} [label="edge"];')
    lines.append("}")
    save_graph("\n".join(lines), path)


@figure("node-layout.svg")
def node_layout(path: Path) -> None:
    """The bytes of a binary op's node (mul), with malloc's size word before it."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # (first byte, size, label, fill): offsets of struct mg_node in csrc/mg_internal.h
    fields = [
        (-8, 8, "malloc's\nsize word", MALLOC_FILL),
        (0, 8, "value\ndouble", NODE_FILL),
        (8, 8, "grad\ndouble", NODE_FILL),
        (16, 8, "u: constant,\nnext_dead\nor batch", NODE_FILL),
        (24, 4, "refs", NODE_FILL),
        (28, 4, "pend-\ning", SCRATCH_FILL),
        (32, 4, "index", SCRATCH_FILL),
        (36, 4, "op |\nnchild", NODE_FILL),
        (40, 8, "child[0]\n→ a", LEAF_FILL),
        (48, 8, "child[1]\n→ b", LEAF_FILL),
    ]
    fig, ax = plt.subplots(figsize=(10, 2.4))
    for start, size, label, fill in fields:
        ax.add_patch(plt.Rectangle((start, 0), size, 1, facecolor=fill, edgecolor="#444"))
        ax.text(start + size / 2, 0.5, label, ha="center", va="center", fontsize=8.5)
    for x in range(-8, 57, 8):
        ax.text(x, -0.12, str(x), ha="center", va="top", fontsize=8, color="#444")
    ax.annotate("", xy=(0, 1.25), xytext=(40, 1.25),
                arrowprops={"arrowstyle": "<->", "color": "#444"})
    ax.text(20, 1.32, "40-byte header", ha="center", va="bottom", fontsize=9)
    ax.annotate("", xy=(40, 1.25), xytext=(56, 1.25),
                arrowprops={"arrowstyle": "<->", "color": "#444"})
    ax.text(48, 1.32, "children inline", ha="center", va="bottom", fontsize=9)
    ax.text(24, -0.5, "byte offset from the node's address: mg_mul's node is 56 bytes, "
            "64 with malloc's word", ha="center", va="top", fontsize=9)
    ax.legend(handles=[Patch(facecolor=NODE_FILL, edgecolor="#444", label="the node's own data"),
                       Patch(facecolor=SCRATCH_FILL, edgecolor="#444", label="backward() scratch"),
                       Patch(facecolor=LEAF_FILL, edgecolor="#444", label="operand pointers"),
                       Patch(facecolor=MALLOC_FILL, edgecolor="#444", label="the allocator's")],
              loc="upper center", bbox_to_anchor=(0.5, 0.12), ncol=4, frameon=False,
              fontsize=8.5)
    ax.set_xlim(-9, 57)
    ax.set_ylim(-1.0, 1.6)
    ax.axis("off")
    save_svg(fig, path)


@figure("backward-order.svg")
def backward_order(path: Path) -> None:
    """Kahn's algorithm on L = d*e, d = e + c, e = a*b: pending counts and the order."""
    from pymicrograd import Tensor
    from pymicrograd.viz import walk

    a, b, c = Tensor(2.0), Tensor(-3.0), Tensor(10.0)
    e = a * b
    d = e + c
    L = d * e
    L.backward()
    names = {a: "a", b: "b", c: "c", e: "e = a·b", d: "d = e + c", L: "L = d·e"}

    # Step 1: pending = edges from parents in this graph, for inner nodes only.
    nodes = walk(L)
    pending = {t: 0 for t in nodes}
    for t in nodes:
        for child in t.children:
            pending[child] += 1
    # Step 2: a stack of ready nodes, as csrc/backward.c keeps it.
    left = {t: n for t, n in pending.items()}
    order, ready = [], [L]
    while ready:
        t = ready.pop()
        order.append(t)
        for child in t.children:
            if child.op != "leaf":
                left[child] -= 1
                if left[child] == 0:
                    ready.append(child)
    turn = {t: i + 1 for i, t in enumerate(order)}

    ids = {t: f"n{i}" for i, t in enumerate(nodes)}
    lines = ["digraph {", "  rankdir=TB; nodesep=0.3; ranksep=0.45;",
             "  node [fontname=Helvetica, fontsize=11]; edge [fontname=Helvetica, fontsize=9];"]
    for t in nodes:
        if t.op == "leaf":
            label = (f"{names[t]} = {_g(t.value)} | grad {_g(t.gradient)} | "
                     f"leaf: finished last")
            fill = LEAF_FILL
        else:
            label = (f"{names[t]} = {_g(t.value)} | grad {_g(t.gradient)} | "
                     f"pending {pending[t]}: runs {_ordinal(turn[t])}")
            fill = NODE_FILL
        lines.append(f'  {ids[t]} [shape=record, style=filled, fillcolor="{fill}", '
                     f'label="{label}"];')
    for t in nodes:
        for child in t.children:
            lines.append(f"  {ids[t]} -> {ids[child]};")
    lines.append("}")
    save_graph("\n".join(lines), path)


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


@figure("neuron-graph.svg")
def neuron_graph(path: Path) -> None:
    """Draw the graph that neuron.c (chapter 10) builds, with its C variable names.

    Drawn from the same expression in Python: the values and gradients are the ones the
    program prints.
    """
    from pymicrograd import Tensor
    from pymicrograd.viz import walk

    x1, x2 = Tensor(2.0), Tensor(0.0)
    w1, w2 = Tensor(-3.0), Tensor(1.0)
    b = Tensor(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.backward()
    names = {x1: "x1", x2: "x2", w1: "w1", w2: "w2", b: "b", x1w1: "x1w1", x2w2: "x2w2",
             s: "sum", n: "n", o: "o"}
    nodes = walk(o)
    ids = {t: f"n{i}" for i, t in enumerate(nodes)}
    lines = ["digraph {", "  rankdir=TB; nodesep=0.2; ranksep=0.25;",
             "  node [fontname=Helvetica, fontsize=12];"]
    for t in nodes:
        fill = LEAF_FILL if t.op == "leaf" else NODE_FILL
        lines.append(f'  {ids[t]} [shape=record, style=filled, fillcolor="{fill}", label="'
                     f'{names[t]} | {_g(t.value)} | grad {_g(t.gradient)}"];')
        if t.op != "leaf":
            lines.append(f'  {ids[t]}_op [shape=oval, label="mg_{t.op}"];')
            lines.append(f"  {ids[t]}_op -> {ids[t]};")
            for child in t.children:
                lines.append(f"  {ids[child]} -> {ids[t]}_op;")
    lines.append("}")
    save_graph("\n".join(lines), path)


@figure("moons-bench.png")
def moons_bench(path: Path) -> None:
    """The chart benchmarks/moons_bench.py draws (--chart), as the README shows it."""
    shutil.copyfile(REPO / "benchmarks" / "moons_bench.png", path)


def _engine_table() -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Read the engine table of chapter 11, the one copy of its numbers.

    Returns the engine names, and per build/backward workload the N = 1e5 value of each
    engine in ns.
    """
    page = (REPO / "docs" / "tutorial" / "11-performance.md").read_text()
    section = page.split("### The scalar engine", 1)[1].split("\n### ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[2:]
    engines = header[1:5]
    out = []
    for row in body:
        if "ns per" not in row[0]:        # the build and backward rows
            continue
        values = [float(cell.replace("*", "").split("/")[-1].replace(",", "")) for cell in row[1:5]]
        out.append((row[0].split(",")[0], values))
    return engines, out


@figure("engine-bench.svg")
def engine_bench(path: Path) -> None:
    """Chapter 11's engine table as bars (ns, log scale), read from the page itself."""
    import matplotlib.pyplot as plt

    engines, workloads = _engine_table()
    colors = ["#c44e52", "#dd8452", "#8172b3", "#4c72b0"]
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    width = 0.2
    for e, engine in enumerate(engines):
        xs = [w + (e - 1.5) * width for w in range(len(workloads))]
        ys = [values[e] for _, values in workloads]
        ax.bar(xs, ys, width, label=engine, color=colors[e])
        for x, y in zip(xs, ys):
            ax.text(x, y * 1.1, f"{y:,.0f}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(top=max(v for _, vs in workloads for v in vs) * 12)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([name for name, _ in workloads], fontsize=9)
    ax.set_ylabel("ns per op or node (N = 1e5), log scale")
    ax.legend(fontsize=8, ncol=4, loc="upper center", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    save_svg(fig, path)
