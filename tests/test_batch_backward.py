"""The backward pass over a forward_batch (csrc/batch.c), in the shapes that mutation
testing (tools/mutate.py, chapter 9) found untested.

A batch's backward runs level by level either as dense tiled products
(``backward_dense``: every reached slice of the level is reached whole, as by a loss
over whole outputs) or node by node (``backward_nodes``: a backward from some nodes of
a sample). Each test here drives one of them into a case that a mutant of batch.c
got wrong and the rest of the suite did not see: a loss over the later samples only
(the reached samples start after sample 0), a gradient that must stay exactly 0.0,
a -0.0 gradient that an unreached neuron must keep, and scratch left by an earlier
backward that must not be read as this one's.
"""

from __future__ import annotations

import math

import pytest
from lazy_torch import torch

from pymicrograd import Tensor
from pymicrograd.interop import to_torch
from pymicrograd.nn import MLP


def level_below(outs: list[Tensor], nin: int) -> list[Tensor]:
    """The nodes of the level below a sample's neuron nodes (children[nin:2 nin] of
    any of them)."""
    return list(outs[0].children[nin:2 * nin])


def inputs_of(model: MLP, outs: list[Tensor]) -> list[Tensor]:
    """A sample's input leaves in the batch, reached through its output nodes."""
    level = outs
    for layer in reversed(model.layers):
        level = level_below(level, layer.nin)
    return level


@pytest.mark.needs_torch
@pytest.mark.parametrize("nin, nouts, size, lo", [
    (1, [1], 4, 3),        # tiny levels: the scratch's work part is the smallest
    (9, [5, 3], 8, 7),     # one reached sample, at the end
    (17, [13], 9, 5),      # nin and nout over a tile (TILE_N = 8, TILE_M = 4), not multiples
    (3, [6, 2], 12, 9),
    (8, [4, 8], 7, 1),     # nin and nout whole tiles
])
def test_a_loss_over_the_later_samples_only(nin: int, nouts: list[int], size: int,
                                            lo: int) -> None:
    """A loss over whole outputs of samples lo..size-1 only (dense backward over the
    reached samples, which start at lo > 0): parameter and input gradients equal
    torch's in float64; the inputs of samples before lo get exactly 0.0. Pins the
    dense kernel's work layout, sized for the hi - lo reached samples (a mutant sized
    it for hi + lo: past the work array)."""
    model = MLP(nin, nouts, seed=11)
    X = [[math.sin(1.0 + s * nin + i) * 1.5 for i in range(nin)] for s in range(size)]
    weights = [[0.5 + 0.25 * ((s + j) % 3) for j in range(nouts[-1])] for s in range(size)]
    outs = model.forward_batch(X)
    loss = Tensor(0.0)
    for s in range(lo, size):
        for j, o in enumerate(outs[s] if nouts[-1] > 1 else [outs[s]]):  # type: ignore[list-item]
            loss = loss + o * weights[s][j]
    loss.backward()
    rows = [list(outs[s]) if nouts[-1] > 1 else [outs[s]]  # type: ignore[list-item, call-overload]
            for s in range(size)]
    input_grads = [[x.gradient for x in inputs_of(model, row)] for row in rows]

    twin = to_torch(model)
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(weights, dtype=torch.float64)
    (twin(tx)[lo:] * tw[lo:]).sum().backward()
    lins = [m for m in twin if isinstance(m, torch.nn.Linear)]
    expected = torch.cat([torch.cat([lin.weight.grad, lin.bias.grad[:, None]], 1).flatten()
                          for lin in lins])
    got = torch.tensor([p.gradient for p in model.parameters()], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(torch.tensor(input_grads, dtype=torch.float64), tx.grad,
                               rtol=1e-12, atol=1e-14)
    assert all(g == 0.0 for row in input_grads[:lo] for g in row)


@pytest.mark.parametrize("whole", [False, True])
def test_a_weight_whose_input_is_zero_gets_exactly_zero(whole: bool) -> None:
    """A weight whose input is 0.0 gets a gradient of exactly 0.0 (dz * 0), its
    neighbours dz * x; node by node (a backward from one output of a sample: whole is
    False) and dense (from all of them). Pins that the node-by-node pass starts its
    weight adjoints at 0 (a mutant filled them with bytes 0x01: 7.7e-304, which a
    tolerance would let through)."""
    model = MLP(3, [5], activation="linear", seed=3)
    outs = model.forward_batch([[0.0, 2.0, 0.0], [0.0, -1.0, 0.0]])
    picked = list(outs[0]) if whole else [outs[0][1]]  # type: ignore[call-overload, index]
    loss = Tensor(0.0)
    for o in picked:
        loss = loss + o * 3.0
    loss.backward()
    for j, neuron in enumerate(model.layers[0].neurons):
        w, b = neuron.w, neuron.b
        reached = whole or j == 1
        assert [p.gradient for p in w] == ([0.0, 6.0, 0.0] if reached else [0.0] * 3)
        assert b.gradient == (3.0 if reached else 0.0)
        assert all(math.copysign(1.0, p.gradient) == 1.0 for p in (*w, b))


def test_an_unreached_neuron_keeps_minus_zero_after_a_dense_backward() -> None:
    """A dense backward first leaves the batch's dz values in the backward's scratch
    (kept between calls); a backward from one output of the sample then goes node by
    node over the same scratch, where it marks which neurons it reached. The
    parameters of the two it did not reach keep their -0.0 gradients to the bit
    (-0.0 + 0.0 would be +0.0): pins that the whole "reached" mark array is cleared
    (a mutant cleared nout / 8 bytes of it and read the old dz values as marks)."""
    model = MLP(2, [3], seed=4)
    outs = model.forward_batch([[0.7, -0.4]])[0]
    loss = Tensor(0.0)
    for o in outs:  # type: ignore[union-attr]
        loss = loss + o * 2.0
    loss.backward()
    params = model.parameters()
    for p in params:
        p.gradient = -0.0
    (outs[0] * 1.0).backward()  # type: ignore[index]
    assert all(p.gradient != 0.0 for p in params[:3])  # neuron 0: 2 weights and bias
    assert all(math.copysign(1.0, p.gradient) == -1.0 for p in params[3:])


def test_a_hidden_node_after_a_backward_over_the_whole_batch() -> None:
    """After a backward over the whole batch (every slice full), a backward from one
    hidden node of sample 0 reaches only that neuron's parameters, with the same
    gradients as the same network called on the sample alone (scalar nodes, no batch
    scratch). Pins that the node-by-node pass stops at the last reached sample: the
    next sample's slice flags and adjoints are the earlier backward's (a mutant ran
    one sample further and added them in)."""
    X = [[0.7], [-1.3]]
    model, alone = MLP(1, [2, 2], seed=9), MLP(1, [2, 2], seed=9)
    outs = model.forward_batch(X)
    loss = Tensor(0.0)
    for row in outs:
        for o in row:  # type: ignore[union-attr]
            loss = loss + o
    loss.backward()
    model.zero_grad()
    hidden = level_below(list(outs[0]), 2)  # type: ignore[call-overload]
    (hidden[0] * 1.0).backward()

    hidden_alone = level_below(alone([Tensor(X[0][0])]), 2)  # type: ignore[arg-type]
    (hidden_alone[0] * 1.0).backward()
    assert [p.gradient for p in model.parameters()] == \
        [p.gradient for p in alone.parameters()]
    assert any(p.gradient != 0.0 for p in model.parameters())


def test_some_nodes_of_each_sample_node_by_node() -> None:
    """A loss over neurons 1 and 2 of sample 0 and neuron 0 of samples 1 and 2 (linear,
    so each reached node's dz is 1): node by node, each input's gradient is the sum of
    the weights of the neurons reached from it, each weight's the sum of its inputs
    over the samples that reached its neuron, all to the bit (one or two terms). Pins
    the node-by-node pass's sums, over a sample's neurons into its inputs and over
    samples into the weights (mutants set them with =), that each neuron uses its own
    weights (a mutant used neuron 1's), and that a sample's pass stops at its last
    neuron (a mutant went on to neuron nout: the next sample's neuron 0, reached, with
    the weights' adjoints as its weights, and added that to this sample's inputs)."""
    model = MLP(2, [3], activation="linear", seed=8)
    X = [[0.5, -1.25], [2.0, 0.75], [-1.5, 3.0]]
    outs = model.forward_batch(X)
    picked = [outs[0][1], outs[0][2], outs[1][0], outs[2][0]]  # type: ignore[index]
    loss = Tensor(0.0)
    for o in picked:
        loss = loss + o
    loss.backward()
    w = [[p.value for p in n.w] for n in model.layers[0].neurons]
    assert [[x.gradient for x in level_below([o], 2)] for o in picked[1:]] == \
        [[w[1][0] + w[2][0], w[1][1] + w[2][1]], w[0], w[0]]
    grads = [[p.gradient for p in n.parameters()] for n in model.layers[0].neurons]
    assert grads == [[X[1][0] + X[2][0], X[1][1] + X[2][1], 2.0],
                     [X[0][0], X[0][1], 1.0],
                     [X[0][0], X[0][1], 1.0]]
