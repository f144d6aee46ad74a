"""Node lifetime: nothing held is freed, nothing unreachable stays, no Python cycles.

live_nodes() counts C nodes in the whole process, so every test takes a baseline at its
start and asserts deltas (other tests' objects may still be alive).
"""

from __future__ import annotations

import gc
import math
import os

from pymicrograd import Tensor, live_nodes


def _graph(x, y):
    """Five nodes in all: x, y, x*y, tanh, + x (x used twice)."""
    return (x * y).tanh() + x


def test_build_backward_drop_returns_to_baseline():
    """Building, backprop and dropping leaves live_nodes exactly where it started."""
    gc.collect()
    base = live_nodes()
    x, y = Tensor(0.5), Tensor(-2.0)
    assert live_nodes() == base + 2
    root = _graph(x, y)
    assert live_nodes() == base + 5
    root.backward()
    assert live_nodes() == base + 5  # backward allocates no nodes
    del root
    assert live_nodes() == base + 2
    del x, y
    assert live_nodes() == base


def test_many_graphs_return_to_baseline():
    """Repeated build/backward/drop of larger graphs with reuse leaks no node."""
    gc.collect()
    base = live_nodes()
    for _ in range(20):
        params = [Tensor(0.1 * i) for i in range(10)]
        acc = params[0]
        for i in range(500):
            p = params[i % 10]
            acc = acc + (p * acc).tanh() * p - p / 3.0
        acc.backward()
        del acc, p, params
        assert live_nodes() == base


def test_held_root_keeps_every_intermediate_alive():
    """Only the root is held: intermediates still live, readable through .children."""
    gc.collect()
    base = live_nodes()
    x, y = Tensor(0.5), Tensor(-2.0)
    mul = x * y
    th = mul.tanh()
    root = th + x
    del x, y, mul, th
    assert live_nodes() == base + 5

    tanh_node, x_node = root.children
    assert tanh_node.op == "tanh"
    assert tanh_node.value == math.tanh(-1.0)
    mul_node = tanh_node.children[0]
    assert mul_node.op == "mul"
    assert mul_node.value == -1.0
    x_again, y_node = mul_node.children
    assert x_again == x_node  # the same node reached by two paths
    assert (x_node.value, y_node.value) == (0.5, -2.0)

    root.backward()
    local = 1.0 - math.tanh(-1.0) ** 2
    assert math.isclose(x_node.gradient, 1.0 + local * -2.0, rel_tol=1e-15)
    assert math.isclose(y_node.gradient, local * 0.5, rel_tol=1e-15)
    del tanh_node, x_node, mul_node, x_again, y_node
    assert live_nodes() == base + 5
    del root
    assert live_nodes() == base


def test_holding_a_leaf_after_dropping_root_frees_everything_else():
    """Leaves don't keep their parents alive: dropping the root frees all but the leaf."""
    gc.collect()
    base = live_nodes()
    x = Tensor(0.25)
    root = x
    for _ in range(1000):
        root = (root * x).sigmoid() + x
    assert live_nodes() == base + 1 + 3000
    root.backward()
    grad = x.gradient
    del root
    assert live_nodes() == base + 1
    assert x.value == 0.25
    assert x.gradient == grad  # the leaf's state survives its graph
    del x
    assert live_nodes() == base


def test_children_wrappers_keep_nodes_alive_after_parent_is_dropped():
    """A wrapper from .children holds its node (and its subgraph) after the parent dies."""
    gc.collect()
    base = live_nodes()
    a, b = Tensor(2.0), Tensor(3.0)
    c = (a * b).tanh()
    (mul,) = c.children
    del a, b, c
    assert live_nodes() == base + 3  # the tanh node is gone; mul, a and b remain
    assert mul.op == "mul"
    assert mul.value == 6.0
    a_node, b_node = mul.children
    assert (a_node.value, b_node.value) == (2.0, 3.0)
    mul.backward()
    assert (a_node.gradient, b_node.gradient) == (3.0, 2.0)
    del mul
    assert live_nodes() == base + 2
    del a_node
    assert live_nodes() == base + 1
    del b_node
    assert live_nodes() == base


def test_temporaries_in_an_expression_are_freed_with_it():
    """An expression whose result is discarded leaves no node behind."""
    gc.collect()
    base = live_nodes()
    x = Tensor(1.5)
    for _ in range(100):
        ((x * 2 + 1).exp() / (x - 3) ** 2).log().relu().backward()
    assert live_nodes() == base + 1
    del x
    assert live_nodes() == base


def _rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; peak RSS elsewhere on POSIX).

    The peak fallback still works for a flatness check: after a warm-up the peak must
    not grow either.
    """
    try:
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except FileNotFoundError:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _round_of_work():
    """One training-like round: ~15,000 nodes built from Python, backward, dropped."""
    params = [Tensor(0.01 * (i - 32)) for i in range(64)]
    acc = params[0]
    for i in range(5000):
        acc = acc + (params[i % 64] * params[(7 * i) % 64]).tanh()
    acc.backward()
    for p in params:
        p.value -= 0.01 * p.gradient


def test_rss_stays_flat_over_many_rounds():
    """150 build/backward/drop rounds after a warm-up grow RSS by at most 4 MiB.

    One round's whole working set is ~2 MB (15k nodes * 64 B, backward's ~24 B/node
    scratch, and the transient Tensor wrappers), so allocator trimming and
    fragmentation can move RSS by at most about that much; 4 MiB covers it. Any
    per-round leak is far larger over 150 rounds: leaked nodes ~144 MB, leaked
    backward scratch ~50 MB, leaked wrappers (~50 B per op) ~100 MB.
    """
    gc.collect()   # what earlier tests left to the collector is not this test's
    base = live_nodes()
    for _ in range(20):
        _round_of_work()
    gc.collect()
    before = _rss_bytes()
    for _ in range(150):
        _round_of_work()
    gc.collect()
    grown = _rss_bytes() - before
    assert grown <= 4 * 1024 * 1024, f"RSS grew by {grown} bytes"
    assert live_nodes() == base


def test_no_reference_cycles_with_gc_disabled():
    """Building, backprop, .children walks and dropping graphs leave no cyclic garbage.

    With the collector disabled, anything that only a cycle could keep alive would be
    found by the final gc.collect(); it must find nothing.
    """
    gc.collect()   # what earlier tests left to the collector is not this test's
    base = live_nodes()
    gc.disable()
    try:
        for _ in range(50):
            x, y = Tensor(0.5), Tensor(-1.5)
            root = _graph(x, y) * _graph(y, x) + 2.0
            root.backward()
            stack = [root]
            while stack:  # walk the whole graph through wrapper objects
                node = stack.pop()
                repr(node)
                stack.extend(node.children)
            _ = {root: 1, x: 2}
            del x, y, root, node, stack, _
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0
    assert live_nodes() == base


def test_tensor_refers_only_to_its_class_and_its_children():
    """A Tensor holds its node in C (TensorBase), so the only Python object it refers to
    is its class; once `children` has been asked, also the children (never a parent):
    so no cycle can pass through Tensors.
    """
    a = Tensor(1.0)
    b = a * 2.0
    for t in (a, b):
        assert gc.get_referents(t) == [Tensor]
    (child,) = b.children
    assert child == a and (child,) in gc.get_referents(b)
    assert not any(isinstance(r, tuple) for r in gc.get_referents(child))
