"""pymicrograd.viz: DOT text of a graph, a graphviz Digraph, and no recursion."""

from __future__ import annotations

import doctest
import re
import sys

import pytest

import pymicrograd.viz
from pymicrograd import Tensor
from pymicrograd.viz import draw_dot, to_dot, walk


def neuron() -> Tensor:
    x, w, b = Tensor(2.0), Tensor(-3.0), Tensor(1.0)
    o = (x * w + b).tanh() * 2
    o.backward()
    return o


def test_to_dot_shows_every_node_with_value_gradient_and_op() -> None:
    dot = to_dot(neuron())
    assert dot.startswith("digraph {") and dot.endswith("}")
    boxes = re.findall(r'\[shape=record, label="\{ value (\S+) \| grad (\S+) \}"\]', dot)
    assert len(boxes) == 7  # x, w, b, x*w, +b, tanh, *2
    assert ("-0.9999", "2.0000") in boxes  # tanh(-5) and d(o)/d(tanh) = 2
    ops = re.findall(r'_op \[shape=oval, label="([^"]+)"\]', dot)
    assert sorted(ops) == sorted(["*", "+", "tanh", "* 2"])
    assert len(re.findall(r" -> ", dot)) == 4 + 6  # op -> result, operand -> op


def test_constants_on_the_left_read_as_written() -> None:
    t = Tensor(3.0)
    assert 'label="1 -"' in to_dot(1 - t)
    assert 'label="2 **"' in to_dot(2 ** t)


def test_labels_name_nodes_in_front_of_value_and_gradient() -> None:
    a, b = Tensor(2.0), Tensor(-3.0)
    L = a * b
    dot = to_dot(L, labels={a: "a", L: "L"})
    assert 'label="{ a | value 2.0000 | grad 0.0000 }"' in dot
    assert 'label="{ L | value -6.0000 | grad 0.0000 }"' in dot
    assert 'label="{ value -3.0000 | grad 0.0000 }"' in dot  # b has no name
    # a name with record syntax in it stays one field
    assert r'label="{ x\|y \{1\} \<2\> \"q\" | value' in to_dot(a, labels={a: 'x|y {1} <2> "q"'})


def test_a_100k_node_chain_draws_without_recursion() -> None:
    x = Tensor(0.5)
    for _ in range(50_000):
        x = x * 1.0001 + 0.0001
    assert len(walk(x)) == 100_001
    assert to_dot(x).count("shape=record") == 100_001


def test_draw_dot_gives_a_digraph_whose_source_is_the_dot_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import graphviz

    monkeypatch.setattr(pymicrograd.viz.shutil, "which", lambda name: "/usr/bin/dot")
    o = neuron()
    g = draw_dot(o)
    assert isinstance(g, graphviz.Digraph)
    assert g.source.strip() == to_dot(o).strip()


def test_draw_dot_warns_when_graphviz_dot_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pymicrograd.viz.shutil, "which", lambda name: None)
    with pytest.warns(RuntimeWarning, match="dot program was not found"):
        g = draw_dot(neuron())
    assert "shape=record" in g.source


def test_draw_dot_without_the_graphviz_package_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r'pymicrograd\[viz\]'):
        draw_dot(neuron())


def test_docstring_example_runs() -> None:
    result = doctest.testmod(pymicrograd.viz)
    assert result.attempted > 0 and result.failed == 0
