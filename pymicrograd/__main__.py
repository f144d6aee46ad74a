"""``python -m pymicrograd``: build a small expression, backpropagate, print everything.

One neuron, as in "building micrograd": o = tanh(x1*w1 + x2*w2 + b). The demo prints
each node of the graph in the order backward() visits them, with its value, the op
that made it and the gradient d(o)/d(node).
"""

from __future__ import annotations

import argparse

from .engine import Tensor


def walk(root: Tensor) -> list[Tensor]:
    """Every node reachable from root, root first, parents before children."""
    order, seen, stack = [], {root}, [root]
    while stack:  # an explicit stack: no recursion, whatever the depth
        node = stack.pop()
        order.append(node)
        for child in node.children:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return order


def demo() -> None:
    """Run the neuron demo and print its graph with values and gradients."""
    x1, x2 = Tensor(2.0), Tensor(0.0)
    w1, w2 = Tensor(-3.0), Tensor(1.0)
    b = Tensor(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.backward()

    names = {
        x1: "x1",
        x2: "x2",
        w1: "w1",
        w2: "w2",
        b: "b",
        x1w1: "x1*w1",
        x2w2: "x2*w2",
        s: "x1*w1 + x2*w2",
        n: "n = ... + b",
        o: "o = tanh(n)",
    }
    print("One neuron: o = tanh(x1*w1 + x2*w2 + b), after o.backward()\n")
    print(f"{'node':<15} {'op':<5} {'value':>8} {'gradient do/dnode':>18}")
    for node in walk(o):
        print(f"{names[node]:<15} {node.op:<5} {node.value:>8.4f} {node.gradient:>18.4f}")
    print(f"\no = {o!r}")
    print(
        "Check one by hand with the chain rule: do/dw1 = (1 - o**2) * x1 "
        f"= {1 - o.value**2:.4f} * {x1.value:.1f} = {(1 - o.value**2) * x1.value:.4f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pymicrograd",
        description="Build o = tanh(x1*w1 + x2*w2 + b), backpropagate, and print the "
        "value and gradient of every node.",
    )
    parser.parse_args(argv)
    demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
