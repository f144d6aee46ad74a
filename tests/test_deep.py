"""Depth and width: nothing recurses, so 10 million nodes build, backprop and free.

micrograd's recursive topological sort dies at a 992-op chain; design.md asks for 10
million. Only one big graph is alive at a time, and no test keeps a Python list of more
than a few hundred thousand Tensors.
"""

from __future__ import annotations

import gc
import math

from pymicrograd import Tensor, live_nodes

TEN_MILLION = 10_000_000


def test_ten_million_node_chain_builds_backprops_and_frees():
    """x_{i+1} = x_i * c, 10M times from Python: value and gradient exact, all freed.

    With x_0 = 1 the forward value is ((1*c)*c)...*c and backward's gradient of x_0 is
    ((1*c)*c)...*c too (each mul_const node hands its child g * c, added to 0), so both
    equal the same left-to-right product `expected`, computed here bit for bit; and that
    product is within N rounding errors of the true c**N.
    """
    gc.collect()
    base = live_nodes()
    c = 1.0000001
    x0 = Tensor(1.0)
    x = x0
    expected = 1.0
    for _ in range(TEN_MILLION):
        x = x * c
        expected *= c
    assert live_nodes() == base + TEN_MILLION + 1
    assert x.value == expected
    # |product - c**N| <= ((1 + u)**N - 1) * c**N ~ N u, plus pow()'s own 1-ulp error
    u = 2.0**-53
    assert abs(expected / math.pow(c, TEN_MILLION) - 1.0) <= TEN_MILLION * u + 4 * u

    # reading a deep node touches only that node: no recursion through the chain
    assert repr(x) == f"Tensor(value={round(expected, 4)}, gradient=0.0)"
    (child,) = x.children
    assert child.op == "mul_const" and x.constant == c
    assert x == x and hash(x) == hash(x)
    del child

    x.backward()
    assert x.gradient == 1.0
    assert x0.gradient == expected
    assert live_nodes() == base + TEN_MILLION + 1  # backward allocates no nodes

    del x  # frees 10M nodes without recursion
    assert live_nodes() == base + 1
    assert x0.value == 1.0 and x0.gradient == expected
    del x0
    assert live_nodes() == base


def test_deep_chain_of_tanh_and_relu():
    """100,000 alternating tanh/relu ops: value and gradient equal a plain-Python
    recurrence of the same operations (same libm tanh, same order), exactly."""
    depth = 100_000
    gc.collect()
    base = live_nodes()
    x0 = Tensor(2.0)
    x = x0
    values = []  # 100k floats, not Tensors
    v = 2.0
    for i in range(depth):
        if i % 2 == 0:
            x = x.tanh()
            v = math.tanh(v)
        else:
            x = x.relu()
            v = max(v, 0.0)
        values.append(v)
    assert x.value == v
    assert x.op == "relu"
    x.backward()

    g = 1.0  # d(root)/d(node) walking down from the root, as backward does
    for i in range(depth - 1, -1, -1):
        if i % 2 == 0:
            g = g * (1.0 - values[i] * values[i])
        else:
            g = g if values[i] > 0.0 else 0.0
    assert g > 0.0  # the check below is not vacuous
    assert x0.gradient == g
    del x
    assert live_nodes() == base + 1


def test_walking_children_of_a_deep_chain_is_iterative():
    """Following .children from the root of a 100,000-node chain reaches the leaf, one
    wrapper at a time, with every op and constant as built."""
    depth = 100_000
    leaf = Tensor(0.0)
    x = leaf
    for i in range(depth):
        x = x + float(i % 3) if i % 2 else -x
    steps = 0
    node = x
    while node.children:
        i = depth - 1 - steps
        if i % 2:
            assert node.op == "add_const" and node.constant == float(i % 3)
        else:
            assert node.op == "neg" and node.constant is None
        (node,) = node.children
        steps += 1
    assert steps == depth
    assert node == leaf
    x.backward()
    assert leaf.gradient == 1.0  # depth/2 negations: an even number


def test_holding_a_middle_node_frees_only_the_part_above_it():
    """Dropping the root of a 1,000,000-node chain while holding node 500,000 frees the
    upper half only; the held half still backprops."""
    depth = 1_000_000
    gc.collect()
    base = live_nodes()
    leaf = Tensor(3.0)
    x = leaf
    mid = None
    for i in range(depth):
        x = x + 1.0
        if i == depth // 2 - 1:
            mid = x
    assert live_nodes() == base + depth + 1
    del x
    assert live_nodes() == base + depth // 2 + 1
    assert mid.value == 3.0 + depth // 2
    mid.backward()
    assert leaf.gradient == 1.0
    del mid
    assert live_nodes() == base + 1


def test_wide_fan_in_of_many_leaves():
    """A sum of 200,000 weighted leaves: every leaf gets exactly its weight."""
    n = 200_000
    gc.collect()
    base = live_nodes()
    leaves = [Tensor(float(i % 7)) for i in range(n)]
    total = leaves[0] * -2.0
    for i in range(1, n):
        total = total + leaves[i] * float(i % 5 - 2)
    assert total.value == float(sum((i % 7) * (i % 5 - 2) for i in range(n)))
    total.backward()
    assert all(leaf.gradient == float(i % 5 - 2) for i, leaf in enumerate(leaves))
    del total
    assert live_nodes() == base + n
    del leaves
    assert live_nodes() == base


def test_one_leaf_with_a_million_parents():
    """x used by 1,000,000 add nodes: its gradient counts every use exactly."""
    uses = 1_000_000
    gc.collect()
    base = live_nodes()
    x = Tensor(0.5)
    s = x
    for _ in range(uses):
        s = s + x
    assert s.value == 0.5 * (uses + 1)
    s.backward()
    assert x.gradient == float(uses + 1)
    s.backward()
    assert x.gradient == float(2 * (uses + 1))
    del s
    assert live_nodes() == base + 1


def test_ladder_with_exponentially_many_paths_is_linear():
    """y = y*0.5 + y*0.5, 100,000 times: 2**100000 root-to-leaf paths, but backward visits
    each node once and the gradient is exactly 1 (0.5 + 0.5 at every rung)."""
    rungs = 100_000
    gc.collect()
    base = live_nodes()
    x = Tensor(1.0)
    y = x
    for _ in range(rungs):
        y = y * 0.5 + y * 0.5
    assert y.value == 1.0
    assert live_nodes() == base + 1 + 3 * rungs
    y.backward()
    assert x.gradient == 1.0
    del y
    assert live_nodes() == base + 1
