"""The ``neuron`` command: one neuron's graph, every node's value and gradient."""

from __future__ import annotations

import argparse

from ..engine import Tensor
from ..viz import walk

__all__ = ["run_neuron"]


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
