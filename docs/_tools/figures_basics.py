"""Figures of tutorial chapters 1-4: derivatives, the chain rule, the Tensor, backprop.

Every graph picture is built with pymicrograd itself and drawn with viz.to_dot, so it
shows what the engine computed, with the names (a, b, x1*w1, ...) the pages call the
nodes by.
"""

from __future__ import annotations

from pathlib import Path

from figures import figure, save_graph, save_svg

from pymicrograd import Tensor
from pymicrograd.viz import to_dot


def f(x: float) -> float:
    """The example function of chapter 1."""
    return 3 * x**2 - 4 * x + 5


def _named(root: Tensor, names: dict[Tensor, str], rankdir: str = "BT") -> str:
    """to_dot(root) with each node's name as the first field of its box, spaced for a page.

    Drawn bottom to top (leaves at the bottom, the root on top): a page is narrow, and
    a left-to-right graph of ten nodes would be scaled down until it cannot be read.
    """
    dot = to_dot(root, rankdir, labels=names)
    dot = dot.replace(f"rankdir={rankdir};", f"rankdir={rankdir}; ranksep=0.3; nodesep=0.3;")
    return dot.replace("node [fontname=Helvetica];", "node [fontname=Helvetica, fontsize=12];")


# ---- chapter 1 ----------------------------------------------------------------------


@figure("derivative-secants.svg")
def derivative_secants(path: Path) -> None:
    """f(x) = 3x² - 4x + 5, its tangent at x = 3 and secants with a shrinking h."""
    import matplotlib.pyplot as plt

    x0 = 3.0
    xs = [i / 100 for i in range(-100, 501)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(xs, [f(x) for x in xs], color="black", lw=2, label="f(x) = 3x² − 4x + 5")
    for h, color in [(2.0, "#c6dbef"), (1.0, "#6baed6"), (0.5, "#2171b5")]:
        slope = (f(x0 + h) - f(x0)) / h
        line = [x0 - 1.2, x0 + h + 0.6]
        ax.plot(line, [f(x0) + slope * (x - x0) for x in line], color=color, lw=1.5,
                label=f"secant, h = {h:g}: slope {slope:g}")
        ax.plot([x0 + h], [f(x0 + h)], "o", color=color)
    tangent = [x0 - 1.2, x0 + 1.2]
    ax.plot(tangent, [f(x0) + 14 * (x - x0) for x in tangent], color="#d94801", lw=2.5,
            label="tangent at x = 3: slope f′(3) = 14")
    ax.plot([x0], [f(x0)], "o", color="#d94801", ms=8)
    ax.annotate("(3, 20)", (x0, f(x0)), textcoords="offset points", xytext=(-45, 8))
    ax.set_xlim(-1, 5.2)
    ax.set_ylim(-5, 65)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    save_svg(fig, path)


@figure("derivative-error.svg")
def derivative_error(path: Path) -> None:
    """How far (f(3 + h) - f(3)) / h is from 14, for h from 1 down to 1e-16."""
    import matplotlib.pyplot as plt

    hs = [10.0 ** (-k / 4) for k in range(0, 65)]
    forward = [abs((f(3 + h) - f(3)) / h - 14) for h in hs]
    central = [abs((f(3 + h) - f(3 - h)) / (2 * h) - 14) for h in hs]
    tiny = 1e-17  # log axes cannot show 0: an exact answer is drawn at the bottom
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.loglog(hs, [max(e, tiny) for e in forward], "o-", ms=3, color="#2171b5",
              label="(f(3+h) − f(3)) / h")
    ax.loglog(hs, [max(e, tiny) for e in central], "s-", ms=3, color="#6a51a3", alpha=0.6,
              label="(f(3+h) − f(3−h)) / 2h   (central difference)")
    ax.invert_xaxis()
    ax.set_xlabel("h (getting smaller to the right)")
    ax.set_ylabel("error: |numeric slope − 14|")
    ax.annotate("h too big: the curve bends\nwithin the step (error = 3h)", (0.5, 1e-6),
                fontsize=9)
    ax.annotate("h too small: the rounding\nerror of f, divided by h", (1e-9, 1e-12),
                fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower left", fontsize=9)
    save_svg(fig, path)


# ---- chapter 2 ----------------------------------------------------------------------


def chain_rule_expression() -> tuple[Tensor, dict[Tensor, str]]:
    """L = (a*b + c) * f with the numbers of chapter 2, after L.backward()."""
    a, b, c, f_ = Tensor(2.0), Tensor(-3.0), Tensor(10.0), Tensor(-2.0)
    e = a * b
    d = e + c
    L = d * f_
    L.backward()
    return L, {a: "a", b: "b", c: "c", f_: "f", e: "e", d: "d", L: "L"}


@figure("chain-rule-graph.svg")
def chain_rule_graph(path: Path) -> None:
    """The graph of L = (a*b + c) * f with every value and gradient."""
    L, names = chain_rule_expression()
    save_graph(_named(L, names), path)


# ---- chapters 3 and 4 ---------------------------------------------------------------


def neuron(backward: bool) -> tuple[Tensor, dict[Tensor, str]]:
    """o = tanh(x1*w1 + x2*w2 + b), the neuron of chapters 3 and 4."""
    x1, x2 = Tensor(2.0), Tensor(0.0)
    w1, w2 = Tensor(-3.0), Tensor(1.0)
    b = Tensor(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    if backward:
        o.backward()
    return o, {x1: "x1", x2: "x2", w1: "w1", w2: "w2", b: "b", x1w1: "x1*w1",
               x2w2: "x2*w2", s: "s", n: "n", o: "o"}


@figure("tensor-constant.svg")
def tensor_constant(path: Path) -> None:
    """y = (x * 2 + 1).tanh(): the numbers live in the op nodes, not in leaves."""
    x = Tensor(0.5)
    t = x * 2
    u = t + 1
    y = u.tanh()
    save_graph(_named(y, {x: "x", t: "t", u: "u", y: "y"}), path)


@figure("neuron-forward.svg")
def neuron_forward(path: Path) -> None:
    """The neuron after the forward pass: values, every gradient still 0."""
    o, names = neuron(backward=False)
    save_graph(_named(o, names), path)


@figure("neuron-backward.svg")
def neuron_backward(path: Path) -> None:
    """The neuron after o.backward(): every gradient do/dnode."""
    o, names = neuron(backward=True)
    save_graph(_named(o, names), path)


def topological_order(root: Tensor) -> list[Tensor]:
    """Children before parents, without recursion (the function of chapter 4)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
    return order


@figure("neuron-order.svg")
def neuron_order(path: Path) -> None:
    """The neuron's nodes numbered in the order backward visits them (1 = o)."""
    o, names = neuron(backward=True)
    backward_order = list(reversed(topological_order(o)))
    numbered = {t: f"{i}. {names[t]}" for i, t in enumerate(backward_order, 1)}
    save_graph(_named(o, numbered), path)
