"""What backward() adds, and to whom: accumulation over calls, reuse, resets, leaves.

The contract (design.md, mg.h): each call adds d(root)/d(node) to every reachable
node's gradient, root included; the adjoint propagated inside one call is that call's
own, never an earlier call's. karpathy's micrograd re-propagates old intermediate
gradients on a second call; the tests here tell the two behaviours apart.
"""

from __future__ import annotations

import gc
import math

import pytest
from lazy_torch import torch

from pymicrograd import Tensor, live_nodes

X0, Y0 = 0.7, -1.3


def _build(x, y):
    """A graph with reuse, written once for both engines (same methods on torch tensors).

    x is used in x*x and again at the end; `a` feeds `c` directly and through `b`
    (a diamond); `c` feeds both the tanh branch and the division.
    """
    a = x * x
    b = a + y
    c = a * b
    d = c.tanh() + b.sigmoid() * x
    root = d * a - y / (c + 3.0)
    return {"a": a, "b": b, "c": c, "d": d}, root


def _ours():
    x, y = Tensor(X0), Tensor(Y0)
    inner, root = _build(x, y)
    return {"x": x, "y": y, **inner}, root


def _torch():
    x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(Y0, dtype=torch.float64, requires_grad=True)
    inner, root = _build(x, y)
    for t in inner.values():
        t.retain_grad()
    root.retain_grad()
    return {"x": x, "y": y, **inner}, root


def _assert_grads_match(ours, root, theirs, troot):
    for name, t in ours.items():
        torch.testing.assert_close(
            torch.tensor(t.gradient, dtype=torch.float64), theirs[name].grad, msg=name
        )
    torch.testing.assert_close(torch.tensor(root.gradient, dtype=torch.float64), troot.grad)


@pytest.mark.needs_torch
def test_single_backward_matches_torch_on_leaves_and_intermediates():
    """One call: every node's gradient equals torch's (leaves and retain_grad nodes)."""
    ours, root = _ours()
    theirs, troot = _torch()
    torch.testing.assert_close(torch.tensor(root.value, dtype=torch.float64), troot.detach())
    root.backward()
    troot.backward()
    _assert_grads_match(ours, root, theirs, troot)


@pytest.mark.needs_torch
@pytest.mark.parametrize("calls", [2, 3])
def test_repeated_backward_matches_torch_retain_graph(calls):
    """k calls equal torch's k calls with retain_graph=True, on leaves and intermediates."""
    ours, root = _ours()
    theirs, troot = _torch()
    for _ in range(calls):
        root.backward()
        troot.backward(retain_graph=True)
    _assert_grads_match(ours, root, theirs, troot)


def test_backward_twice_is_exactly_twice_once():
    """Second call adds exactly the first call's contribution to every node (bit for bit)."""
    ours, root = _ours()
    root.backward()
    once = {name: t.gradient for name, t in ours.items()}
    root.backward()
    for name, t in ours.items():
        assert t.gradient == 2.0 * once[name], name  # x + x == 2x exactly in IEEE
    assert root.gradient == 2.0


@pytest.mark.needs_torch
def test_second_call_does_not_repropagate_old_intermediate_gradients():
    """On x -> a = 3x -> root = 2a, two calls give dx = 12; micrograd's bug gives 18.

    micrograd resets the root to 1 but leaves a.grad = 2 from call one, so call two
    pushes a.grad = 4 (not 2) into x: 6 + 12 = 18.
    """
    x = Tensor(5.0)
    a = x * 3.0
    root = a * 2.0
    root.backward()
    assert (root.gradient, a.gradient, x.gradient) == (1.0, 2.0, 6.0)
    root.backward()
    assert (root.gradient, a.gradient, x.gradient) == (2.0, 4.0, 12.0)

    xt = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    at = xt * 3.0
    at.retain_grad()
    rt = at * 2.0
    rt.backward(retain_graph=True)
    rt.backward(retain_graph=True)
    assert (at.grad.item(), xt.grad.item()) == (4.0, 12.0)


def test_stale_gradients_on_intermediates_are_not_propagated():
    """Whatever an intermediate or the root holds before the call is kept, not pushed down."""
    x = Tensor(5.0)
    a = x * 3.0
    root = a * 2.0
    a.gradient = 100.0
    root.gradient = -7.0
    root.backward()
    assert x.gradient == 6.0
    assert a.gradient == 102.0
    assert root.gradient == -6.0


@pytest.mark.needs_torch
def test_reset_then_backward_gives_single_derivative():
    """Setting every gradient to 0 after two calls, then calling again, gives one call's."""
    ours, root = _ours()
    root.backward()
    once = {name: t.gradient for name, t in ours.items()}
    root.backward()
    root.backward()
    for t in ours.values():
        t.gradient = 0
    root.gradient = 0.0
    root.backward()
    for name, t in ours.items():
        assert t.gradient == once[name], name
    assert root.gradient == 1.0
    theirs, troot = _torch()
    troot.backward()
    _assert_grads_match(ours, root, theirs, troot)


def test_root_gradient_grows_by_one_per_call():
    """The root's own gradient is 1, 2, 3, ... after 1, 2, 3, ... calls."""
    x = Tensor(0.3)
    root = (x * x).tanh()
    for k in range(1, 6):
        root.backward()
        assert root.gradient == float(k)
    assert math.isclose(x.gradient, 5 * 2 * 0.3 * (1 - root.value**2), rel_tol=1e-14)


def test_backward_on_a_leaf():
    """A leaf's backward sets d(leaf)/d(leaf) = 1 per call and allocates no node."""
    gc.collect()
    before = live_nodes()
    t = Tensor(4.0)
    t.backward()
    assert t.gradient == 1.0
    t.backward()
    assert t.gradient == 2.0
    assert t.value == 4.0
    assert live_nodes() == before + 1


def test_same_leaf_added_many_times_sums_uses():
    """a + a + ... + a (n uses) gives d/da = n; a + a in one node gives 2."""
    a = Tensor(1.25)
    s = a
    for _ in range(999):
        s = s + a
    s.backward()
    assert a.gradient == 1000.0
    assert s.value == 1250.0

    b = Tensor(3.0)
    double = b + b
    assert double.children == (b, b)
    double.backward()
    assert b.gradient == 2.0

    c = Tensor(0.5)
    total = sum([c] * 7)  # starts from int 0: 0 + c is an add_const node
    total.backward()
    assert c.gradient == 7.0


@pytest.mark.needs_torch
def test_same_leaf_multiplied_many_times_sums_uses():
    """x*x*x*x*x: every use contributes, d/dx = 5 x**4 (checked against torch)."""
    x = Tensor(1.5)
    p = x
    for _ in range(4):
        p = p * x
    p.backward()
    xt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    pt = xt
    for _ in range(4):
        pt = pt * xt
    pt.backward()
    assert x.gradient == 5 * 1.5**4  # every partial product is exact in binary here
    torch.testing.assert_close(torch.tensor(x.gradient, dtype=torch.float64), xt.grad)


def test_backward_from_intermediate_only_touches_its_subgraph():
    """backward() on an inner node adds nothing to nodes above it or outside its subgraph."""
    x, y = Tensor(2.0), Tensor(3.0)
    a = x * y
    root = a + y
    a.backward()
    assert (x.gradient, y.gradient, a.gradient, root.gradient) == (3.0, 2.0, 1.0, 0.0)
