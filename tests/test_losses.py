"""pymicrograd.losses: extreme logits, the seed's formula, how losses are built, bad input.

Every loss's value and gradients against torch.nn.functional in float64, and against
central differences, over predictions that repeat and also feed other nodes, are
checks of the suite (pymicrograd.testing._suite, area "losses"), run by
tests/test_checks.py.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

import numpy as np
import pytest
from c_calls import CountingLib
from lazy_torch import F, assert_close, close, torch

from pymicrograd import Tensor, live_nodes, losses
from pymicrograd.losses import (
    bce_with_logits_loss,
    cross_entropy_loss,
    hinge_loss,
    l2_penalty,
    mse_loss,
    sse_loss,
)


@pytest.mark.needs_torch
def test_extreme_logits_stay_finite() -> None:
    for v in (1e3, -1e3, 1e300, -1e300):
        for t in (0.0, 1.0, 0.5):
            x = Tensor(v)
            loss = bce_with_logits_loss([x], [t])
            loss.backward()
            expected = F.binary_cross_entropy_with_logits(
                torch.tensor([v], dtype=torch.float64), torch.tensor([t], dtype=torch.float64))
            assert_close(torch.tensor(loss.value, dtype=torch.float64), expected)
            assert np.isfinite(x.gradient)
    row = [Tensor(1e3), Tensor(-1e3), Tensor(0.0)]
    loss = cross_entropy_loss([row], [1])
    loss.backward()
    assert loss.value == 2e3
    assert [t.gradient for t in row] == [1.0, -1.0, 0.0]


def test_losses_of_a_model_match_the_seed_formula() -> None:
    """The seed's loss, sum((yout - ygt)**2), built op by op and in C, agree."""
    preds = [Tensor(v) for v in (0.8, -0.3, 0.1, 0.9)]
    targets = [1.0, -1.0, -1.0, 1.0]
    by_ops = sum(((p - t) ** 2 for p, t in zip(preds, targets)), Tensor(0.0))
    by_ops.backward()
    op_grads = [p.gradient for p in preds]
    for p in preds:
        p.gradient = 0.0
    loss = sse_loss(preds, targets)
    loss.backward()
    assert loss.value == close(by_ops.value)
    assert [p.gradient for p in preds] == close(op_grads)


# ---- how the losses are built -------------------------------------------------------------


def test_each_loss_is_one_c_call(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingLib(losses.lib)
    monkeypatch.setattr(losses, "lib", counting)
    xs = [Tensor(float(i)) for i in range(100)]
    for loss in (lambda: sse_loss(xs, [0.0] * 100), lambda: mse_loss(xs, [0.0] * 100),
                 lambda: hinge_loss(xs, [1.0] * 100),
                 lambda: bce_with_logits_loss(xs, [1.0] * 100),
                 lambda: cross_entropy_loss([xs[:4]] * 25, [0] * 25),
                 lambda: l2_penalty(xs, 0.1)):
        counting.calls.clear()
        loss()
        assert len(counting.calls) == 1, counting.calls


def test_losses_are_graph_nodes_that_free_themselves() -> None:
    xs = [Tensor(float(i)) for i in range(10)]
    gc.collect()
    base = live_nodes()
    loss = sse_loss(xs, list(range(10)))
    assert loss.op == "sum_squares"
    assert len(loss.children) == 10
    assert live_nodes() - base <= 2 * 10 + 2  # a few nodes per term, not one per op
    assert l2_penalty(xs, 0.5).op == "mul_const"
    del loss
    assert live_nodes() == base


def test_single_tensor_and_numpy_inputs() -> None:
    assert sse_loss(Tensor(3.0), 1.0).value == 4.0
    assert mse_loss(Tensor(3.0), [1.0]).value == 4.0
    assert hinge_loss(Tensor(0.5), 1).value == 0.5
    assert l2_penalty(Tensor(2.0), 0.25).value == 1.0
    assert cross_entropy_loss([Tensor(0.0), Tensor(0.0)], 1).value == pytest.approx(np.log(2))
    xs = [Tensor(1.0), Tensor(2.0)]
    assert sse_loss(xs, np.array([0.0, 0.0])).value == 5.0
    assert sse_loss((x for x in xs), (t for t in (0, 0))).value == 5.0
    assert cross_entropy_loss([xs, xs], np.array([0, 1])).value == \
        pytest.approx(cross_entropy_loss([xs, xs], [0, 1]).value)


# ---- bad input --------------------------------------------------------------------------------


def two() -> list[Tensor]:  # made per test: no C node outlives a test
    return [Tensor(1.0), Tensor(2.0)]


@pytest.mark.parametrize("call, error, message", [
    (lambda: sse_loss([], []), ValueError, "predictions must not be empty"),
    (lambda: mse_loss(two(), [1.0]), ValueError, "2 predictions but 1 targets"),
    (lambda: hinge_loss(two(), [1.0, 0.0]), ValueError, r"-1 or \+1, labels\[1\] is 0.0"),
    (lambda: hinge_loss(two(), [1.0, 1.0, 1.0]), ValueError, "2 scores but 3 labels"),
    (lambda: bce_with_logits_loss(two(), [0.0, 1.5]), ValueError,
     r"in \[0, 1\], targets\[1\] is 1.5"),
    (lambda: bce_with_logits_loss(two(), [float("nan"), 1.0]), ValueError, r"targets\[0\]"),
    (lambda: cross_entropy_loss([], []), ValueError, "logits must not be empty"),
    (lambda: cross_entropy_loss([two(), two()], [0, 2]), ValueError,
     r"labels\[1\] is 2, not a class in range\(2\)"),
    (lambda: cross_entropy_loss([two()], [-1]), ValueError, r"labels\[0\] is -1"),
    (lambda: cross_entropy_loss([two(), two()[:1]], [0, 0]), ValueError, "same length"),
    (lambda: cross_entropy_loss([two(), two()], [0]), ValueError, "2 rows of logits but 1 labels"),
    (lambda: cross_entropy_loss([two()], [0.0]), TypeError, r"labels\[0\] must be an int"),
    (lambda: cross_entropy_loss([two()], [True]), TypeError, r"labels\[0\] must be an int"),
    (lambda: cross_entropy_loss([[]], [0]), ValueError, "must not be empty"),
    (lambda: l2_penalty([], 0.1), ValueError, "params must not be empty"),
    (lambda: l2_penalty(two(), float("inf")), ValueError, "alpha must be finite"),
    (lambda: l2_penalty(two(), "0.1"), TypeError, "alpha must be an int or float"),
    (lambda: sse_loss([1.0, 2.0], [1.0, 2.0]), TypeError,
     r"predictions\[0\] must be a Tensor, not float"),
    (lambda: sse_loss(two(), [Tensor(1.0), 2.0]), TypeError,
     r"targets\[0\] must be an int or float, not Tensor"),
    (lambda: sse_loss(two(), "ab"), TypeError, "targets must be a list of numbers"),
    (lambda: sse_loss("ab", [1.0]), TypeError, "must be a Tensor or a list of Tensors"),
])
def test_bad_input(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_l2_penalty_of_a_model_equals_that_of_its_parameters() -> None:
    """A model stands for its parameters (and keeps their array between calls)."""
    from pymicrograd.nn import MLP, Module

    model = MLP(2, [3, 1], seed=4)
    for _ in range(2):  # the second call uses the kept array
        by_model = l2_penalty(model, 0.25)
        by_list = l2_penalty(model.parameters(), 0.25)
        assert by_model.value == by_list.value
        model.zero_grad()
        by_model.backward()
        grads = [p.gradient for p in model.parameters()]
        model.zero_grad()
        by_list.backward()
        assert grads == [p.gradient for p in model.parameters()]
    with pytest.raises(ValueError, match="must not be empty"):
        l2_penalty(Module(), 0.1)
