"""The idioms of karpathy's "building micrograd" lecture work on pymicrograd, as typed.

Labels and attributes on nodes, node identity through `_prev` and `children` (what
micrograd's draw_dot relies on), backpropagation by hand with `_backward()`, numpy
arrays of Values, micrograd's reprs, and copies. Written for this project; the
lecture's own code is not copied here.
"""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest
from hypothesis import given

from pymicrograd import Tensor, nn
from pymicrograd.compat.engine import Value
from pymicrograd.testing.strategies import programs, run_program
from pymicrograd.viz import to_dot


def reverse_topological(root):
    """Every node below `root`, each after all the nodes that use it (no recursion)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return order[::-1]


def trace_by_id(root):
    """The nodes and edges micrograd's draw_dot collects, keyed by id() as it keys them."""
    nodes, edges, stack = {}, set(), [root]
    while stack:
        v = stack.pop()
        if id(v) in nodes:
            continue
        nodes[id(v)] = v
        for child in v._prev:
            edges.add((id(child), id(v)))
            stack.append(child)
    return nodes, edges


# ---- labels and attributes ----------------------------------------------------------------


@pytest.mark.parametrize("cls", [Tensor, Value])
def test_labels_in_the_constructor_and_afterwards_show_in_pictures(cls):
    a = cls(2.0, label="a")
    b = cls(-3.0, label="b")
    e = a * b
    e.label = "e"
    d = e + 10.0
    d.label = "d"
    assert (a.label, e.label, cls(1.0).label) == ("a", "e", "")
    dot = to_dot(d)
    for name in "abed":
        assert f"{{ {name} | value" in dot
    with pytest.raises(TypeError, match="label must be a str"):
        cls(1.0, label=3)


def test_a_value_takes_any_attribute_and_weak_references():
    v = Value(1.0)
    v.m, v.v, v._vis_color = 0.0, 0.0, "red"   # AdamW state, a picture's colour
    ref = weakref.ref(v)
    assert (v.m, v._vis_color, ref() is v) == (0.0, "red", True)
    del v
    assert ref() is None


# ---- identity -------------------------------------------------------------------------------


def test_prev_and_children_hand_back_the_objects_the_graph_was_built_from():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a   # a is used twice: a diamond
    assert {id(x) for x in d._prev} == {id(c), id(a)}
    assert {id(x) for x in c._prev} == {id(a), id(b)}
    assert d.children[0] is c and d.children[1] is a
    assert d.children is d.children or d.children == d.children
    t = Tensor(1.0)
    u = t * t
    assert u.children[0] is u.children[1]   # asked twice: the same object


def test_micrograds_draw_dot_algorithm_sees_each_node_once_and_no_dangling_edge():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    x = a * b + a
    L = (x * a).tanh() + (x + b).relu()
    nodes, edges = trace_by_id(L)
    assert len(nodes) == 9   # a, b, a*b, x, x*a, its tanh, x+b, its relu, and L
    for child, parent in edges:
        assert child in nodes and parent in nodes


def test_a_users_build_topo_with_a_visited_set_visits_every_node_once():
    a = Value(1.5)
    x = a
    for _ in range(5):
        x = x * a + a   # a is reached from every level
    order = reverse_topological(x)
    assert len(order) == len({id(v) for v in order}) == 11


# ---- backprop by hand -------------------------------------------------------------------------


def test_the_lectures_neuron_by_hand():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.grad = 1.0
    for node in reverse_topological(o):
        node._backward()
    assert (round(x1.grad, 12), round(w1.grad, 12)) == (-1.5, 1.0)
    assert (round(x2.grad, 12), w2.grad, round(b.grad, 12)) == (0.5, 0.0, 0.5)


@given(programs())
def test_backprop_by_hand_equals_backward_on_random_graphs(program):
    """_backward() on every node in reverse topological order, after setting the root's
    grad to 1, gives backward()'s gradients (the C core's own step, node by node). Two
    topological orders may add a node's contributions in another order, so the sums
    agree to rounding: within 1e-12 of the largest gradient.
    """
    by_backward = run_program(program, Value)
    by_backward[-1].backward()
    by_hand = run_program(program, Value)
    by_hand[-1].grad = 1.0
    for node in reverse_topological(by_hand[-1]):
        node._backward()
    expected = [n.grad for n in by_backward]
    got = [n.grad for n in by_hand]
    scale = max(abs(g) for g in expected)
    for e, g in zip(expected, got):
        assert abs(e - g) <= 1e-12 * scale, (e, g)


def test_backward_step_through_a_batched_network_equals_backward():
    """A node of forward_batch stores no edges; its step still reaches the weights, the
    inputs from the layer below and the bias."""
    m = nn.MLP(2, [3, 2], seed=0)
    out = m.forward_batch([[1.0, 2.0], [0.5, -1.0]])
    loss = out[0][0] * out[1][1] + out[0][1] + (out[1][0].tanh() * 2.0)
    loss.backward()
    expected = [p.gradient for p in m.parameters()]
    order = []
    seen, stack = set(), [(loss, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
        elif t not in seen:
            seen.add(t)
            stack.append((t, True))
            stack.extend((c, False) for c in t.children)
    for t in order:
        t.gradient = 0.0
    loss.gradient = 1.0
    for t in reversed(order):
        t.backward_step()
    assert [p.gradient for p in m.parameters()] == expected


# ---- ops written by hand, as the lecture writes them -----------------------------------------


def hand_tanh(v):
    """The lecture's tanh: a Value built with _children and its own _backward closure."""
    t = np.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward():
        v.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def hand_mul(a, b):
    out = Value(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    out._backward = _backward
    return out


@given(programs())
def test_backward_runs_ops_written_by_hand(program):
    """backward() through a node built by hand calls its _backward, as micrograd does:
    a random C-built graph, then a hand-written tanh and product on top of it, then C
    ops again, gives the gradients of the same graph built with C's tanh and *. The
    hand tanh rounds as numpy's tanh, the C one as C's, so equal within 1e-12 of the
    largest gradient."""
    def build(tanh, mul):
        nodes = run_program(program, Value)
        top = nodes[-1] * 0.25   # away from tanh's flat tails, where both underflow
        return nodes, (mul(tanh(top), nodes[0]) + 1.0) * 3.0

    nodes, root = build(hand_tanh, hand_mul)
    expected_nodes, expected_root = build(Value.tanh, Value.__mul__)
    root.backward()
    expected_root.backward()
    got, expected = [n.grad for n in nodes], [n.grad for n in expected_nodes]
    scale = max(1.0, *(abs(g) for g in expected))
    for e, g in zip(expected, got):
        assert abs(e - g) <= 1e-12 * scale, (e, g)


def test_backward_through_ops_by_hand_adds_as_the_c_backward_does():
    """A second backward() adds the same derivatives again, the root's 1 included, and
    leaves the grads of nodes outside the graph alone."""
    x, bystander = Value(0.5), Value(2.0)
    bystander.grad = 7.0
    y = hand_tanh(x) * 2.0
    y.backward()
    first = (x.grad, y.grad)
    y.backward()
    assert first == (2 * (1 - np.tanh(0.5) ** 2), 1.0)
    assert (x.grad, y.grad) == (2 * first[0], 2.0)
    assert bystander.grad == 7.0


def test_backward_through_a_deep_chain_built_by_hand_does_not_recurse():
    x = Value(0.1)
    y = x
    for _ in range(20_000):
        y = hand_mul(y, Value(1.0))
    y.backward()
    assert x.grad == 1.0
    del x, y
    gc.collect()   # the closures make each node a cycle: free them now, not in a later test


# ---- numpy, reprs, copies -----------------------------------------------------------------------


def test_numpy_arrays_combine_with_a_value_into_object_arrays():
    v = Value(3.0)
    for out in (np.array([1.0, 2.0]) * v, v * np.array([1.0, 2.0])):
        assert out.dtype == object and [type(x) for x in out] == [Value, Value]
        assert [x.data for x in out] == [3.0, 6.0]
    assert type(np.float64(2.0) * v) is Value and type(v - np.int64(1)) is Value


def test_reprs_are_micrograds():
    assert repr(Value(2.5)) == "Value(data=2.5, grad=0)"
    v = Value(2.5)
    (v * v).backward()
    assert repr(v) == "Value(data=2.5, grad=5.0)"


def test_a_value_keeps_its_label_and_attributes_through_deepcopy_and_pickle():
    v = Value(1.5, label="w")
    v.m = 0.25
    v.grad = 2.0
    for c in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert type(c) is Value and c is not v
        assert (c.data, c.grad, c.label, c.m) == (1.5, 2.0, "w", 0.25)


def test_rejected_constructor_calls_print_nothing(capfd):
    for args in [(), ("2",), (None,)]:
        with pytest.raises(TypeError):
            Value(*args)
    assert capfd.readouterr().err == ""


def test_micrograds_pictures_show_constants_as_nodes_and_build_minus_and_divide_as_it_does():
    x = Value(1.0)
    nodes, edges = trace_by_id((x * 2 + 1).relu())
    assert len(nodes) == 6 and len(edges) == 5   # x, 2, x*2, 1, x*2+1, relu
    a, b = Value(2.0), Value(7.0)
    assert (a / b).data == 2.0 * 7.0**-1   # rounded as micrograd rounds it
    assert sorted(v._op for v in reverse_topological(a - b)) == ["", "", "", "*", "+"]


def test_draw_dot_of_a_compat_network_has_no_dangling_edge():
    """A hidden neuron's node feeds every neuron of the next layer: each parent's
    `_prev` must hand out the same object for it."""
    import random

    from pymicrograd.compat.nn import MLP as CompatMLP

    random.seed(0)
    out = CompatMLP(2, [3, 3, 1])([Value(1.0), Value(-2.0)])
    nodes, edges = trace_by_id(out)
    for child, parent in edges:
        assert child in nodes and parent in nodes
    assert len(nodes) == 2 + 3 * 3 + 3 + 3 * 4 + 3 + 1 * 4 + 1   # inputs, params, neurons
