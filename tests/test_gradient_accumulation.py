"""Gradients add up: over every parent of a node, over samples, over backward() calls.

Each test here pins one place in the C core where a gradient is added to (``+=``)
rather than set, found by mutation testing (tools/mutate.py, chapter 9): with ``=``
there, the test fails. One more, found the same way, pins that what an n-ary node
adds is scaled by the gradient it receives (one that is only ever a root receives 1).
The values are small enough to work out by hand; where a parent's order in the graph
decides which contribution an ``=`` would lose (the backward pass takes the last-built
parent first), both orders are tested.
"""

from __future__ import annotations

import math
from typing import Callable

import pytest
from lazy_torch import torch

from pymicrograd import Tensor
from pymicrograd._core import lib
from pymicrograd._nodes import make_tensor, node_array
from pymicrograd.interop import to_torch
from pymicrograd.losses import bce_with_logits_loss, l2_penalty, sse_loss
from pymicrograd.nn import MLP
from pymicrograd.optim import SGD


def c_sum(*xs: Tensor) -> Tensor:
    """mg_sum, the C API's n-ary sum node (the losses use it over fresh terms only)."""
    return make_tensor(lib.mg_sum, node_array(xs), len(xs), what="sum")


def children_of(t: Tensor, nin: int) -> list[Tensor]:
    """The nodes of the level below a neuron node: children[nin:2 nin]."""
    return list(t.children[nin:2 * nin])


@pytest.mark.parametrize("other_first", [False, True])
def test_sum_node_adds_to_an_operand_that_has_another_parent(other_first: bool) -> None:
    """d/dx of sum(x, y, x) + 3x is 2 + 3: the sum's two uses and the other parent."""
    x, y = Tensor(1.5), Tensor(-2.0)
    s, other = c_sum(x, y, x), x * 3.0
    root = other + s if other_first else s + other
    root.backward()
    assert (root.value, x.gradient, y.gradient) == (-2.0 + 3.0 + 4.5, 5.0, 1.0)


@pytest.mark.parametrize("other_first", [False, True])
def test_sum_of_squares_adds_to_a_parameter_that_the_data_loss_also_reaches(
        other_first: bool) -> None:
    """l2_penalty(p, 0.5) + 2p: d/dp = 0.5 * 2p + 2 (an L2 term beside a data loss)."""
    p = Tensor(3.0)
    penalty, data = l2_penalty([p], 0.5), p * 2.0
    root = data + penalty if other_first else penalty + data
    root.backward()
    assert p.gradient == 0.5 * 2 * 3.0 + 2.0


def test_sum_of_squares_over_one_tensor_twice() -> None:
    """l2_penalty([p, p], 1): p**2 + p**2, d/dp = 4p."""
    p = Tensor(-1.25)
    l2_penalty([p, p], 1.0).backward()
    assert p.gradient == 4 * -1.25


@pytest.mark.parametrize("other_first", [False, True])
def test_bce_logit_that_also_feeds_another_node(other_first: bool) -> None:
    """bce(x, 1) + 2x: d/dx = (sigmoid(x) - 1) + 2."""
    x = Tensor(0.3)
    loss, other = bce_with_logits_loss([x], [1.0]), x * 2.0
    root = other + loss if other_first else loss + other
    root.backward()
    assert x.gradient == pytest.approx(1.0 / (1.0 + math.exp(-0.3)) - 1.0 + 2.0, rel=1e-15)


def test_bce_over_one_logit_twice() -> None:
    """mean(bce(x, 1), bce(x, 0)): d/dx = ((s - 1) + (s - 0)) / 2 with s = sigmoid(x)."""
    x = Tensor(-0.8)
    bce_with_logits_loss([x, x], [1.0, 0.0]).backward()
    s = 1.0 / (1.0 + math.exp(0.8))
    assert x.gradient == pytest.approx(((s - 1.0) + s) / 2, rel=1e-15)


def c_nary(fn: str) -> Callable[..., Tensor]:
    """The C API's n-ary node `fn` (mg_sum, mg_sum_squares, mg_logsumexp) over Tensors."""
    return lambda *xs: make_tensor(getattr(lib, fn), node_array(xs), len(xs), what=fn)


@pytest.mark.parametrize("fn, args, grads", [
    ("mg_sum", (1.5, -2.0), (3.0, 3.0)),                  # 3 * 1 each
    ("mg_sum_squares", (1.5, -2.0), (9.0, -12.0)),        # 3 * 2x
    ("mg_logsumexp", (0.25, 0.25), (1.5, 1.5)),           # 3 * softmax = 3 * 1/2
])
def test_nary_node_below_the_root_scales_its_derivatives_by_the_gradient_it_gets(
        fn: str, args: tuple[float, ...], grads: tuple[float, ...]) -> None:
    """d/dx_i of 3 * node(x) is 3 * d node/dx_i, not d node/dx_i.

    The suite's n-ary checks add the node to the rest of the graph, so it receives 1,
    and no loss builds a logsumexp node any more (cross-entropy has its own): g could
    be dropped from logsumexp's backward unseen (a survivor of mutation testing).
    """
    xs = [Tensor(a) for a in args]
    (c_nary(fn)(*xs) * 3.0).backward()
    assert [x.gradient for x in xs] == [pytest.approx(g, rel=1e-15) for g in grads]


def batch_nodes(model: MLP, outs: list[Tensor]) -> list[Tensor]:
    """Every node below the outputs of a forward_batch (inputs and hidden nodes)."""
    nodes = []
    for out in outs:
        level = [out]
        for layer in reversed(model.layers):
            level = children_of(level[0], layer.nin)
            nodes.extend(level)
    return nodes


def test_backward_twice_over_a_batch_doubles_every_batch_nodes_gradient() -> None:
    model = MLP(2, [3, 2, 1], seed=5)
    outs = model.forward_batch([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]])
    root = sse_loss(outs, [1.0, -1.0, 0.5])
    root.backward()
    nodes = batch_nodes(model, outs)  # type: ignore[arg-type]
    first = [n.gradient for n in nodes]
    assert any(g != 0.0 for g in first)
    root.backward()
    assert [n.gradient for n in nodes] == [2.0 * g for g in first]


def test_a_batch_node_keeps_the_gradient_it_had_before_backward() -> None:
    """A gradient set on an input and a hidden node of a batch is added to, not replaced."""
    model = MLP(2, [3, 1], seed=6)
    outs = model.forward_batch([[0.5, -1.0], [2.0, 0.25]])
    root = sse_loss(outs, [1.0, -1.0])
    root.backward()
    nodes = batch_nodes(model, outs)  # type: ignore[arg-type]
    once = [n.gradient for n in nodes]
    for n in nodes:
        n.gradient = 10.0
    root.backward()
    assert [n.gradient for n in nodes] == [10.0 + g for g in once]


def test_backward_leaves_the_parameters_it_does_not_reach_bit_for_bit() -> None:
    """From a hidden node of a batch, backward reaches one neuron's parameters; every
    other parameter keeps its gradient to the bit, even -0.0 (-0.0 + 0.0 would be +0.0:
    the batch adds to a neuron's parameters only when it reached the neuron)."""
    model = MLP(1, [2, 8], seed=0)
    outs = model.forward_batch([[0.7]])[0]
    hidden = outs[0].children[2:4]  # type: ignore[index]
    params = model.parameters()
    for p in params:
        p.gradient = -0.0
    (hidden[0] * 1.0).backward()
    assert all(p.gradient != 0.0 for p in params[:2])  # hidden neuron 0: weight, bias
    assert all(math.copysign(1.0, p.gradient) == -1.0 for p in params[2:])


@pytest.mark.needs_torch
def test_neuron_weights_sum_their_gradients_over_samples_fed_one_by_one() -> None:
    """A loss over several model(x) calls on Tensors (neuron nodes sharing weights)."""
    model = MLP(2, [3, 1], seed=7)
    xs = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]]
    ys = [1.0, -1.0, 0.5]
    sse_loss([model([Tensor(v) for v in x]) for x in xs], ys).backward()  # type: ignore[misc]
    twin = to_torch(model)
    out = twin(torch.tensor(xs, dtype=torch.float64)).squeeze(1)
    ((out - torch.tensor(ys, dtype=torch.float64)) ** 2).sum().backward()
    expected = [g for lin in (twin[0], twin[2])
                for g in torch.cat([lin.weight.grad, lin.bias.grad[:, None]], 1).flatten()]
    torch.testing.assert_close(torch.tensor([p.gradient for p in model.parameters()],
                                            dtype=torch.float64), torch.stack(expected))


@pytest.mark.needs_torch
def test_sgd_with_momentum_exactly_one_matches_torch() -> None:
    """momentum=1.0 keeps the whole buffer: steps of lr * (g1), (g1 + g2), ..."""
    p, t = Tensor(1.0), torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt, t_opt = SGD([p], 0.1, momentum=1.0), torch.optim.SGD([t], lr=0.1, momentum=1.0)
    values = []
    for g in (1.0, 1.0, -0.5):
        p.gradient = g
        t.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        t_opt.step()
        values.append(p.value)
        assert p.value == pytest.approx(float(t.detach()), rel=1e-15)
    assert values == pytest.approx([0.9, 0.7, 0.55], rel=1e-15)
