"""pymicrograd.losses against torch.nn.functional in float64: values and gradients.

Hinge scores are shifted away from the kink (margin exactly 1); the stable losses
(binary cross-entropy with logits, softmax cross-entropy) also get extreme logits
(+-50, +-500). Comparisons use ``torch.testing.assert_close`` defaults.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import strategies as S
import torch
import torch.nn.functional as F
from c_calls import CountingLib
from hypothesis import given
from hypothesis import strategies as st
from torch.testing import assert_close

from pymicrograd import Tensor, live_nodes, losses
from pymicrograd.losses import (
    bce_with_logits_loss,
    cross_entropy_loss,
    hinge_loss,
    l2_penalty,
    mse_loss,
    sse_loss,
)

F64 = torch.float64


def check(ours: Tensor, leaves: list[Tensor], theirs: torch.Tensor, t_leaf: torch.Tensor) -> None:
    """Compare a loss value and the gradient of every prediction with torch's."""
    ours.backward()
    theirs.backward()
    assert_close(torch.tensor(ours.value, dtype=F64), theirs.detach())
    assert t_leaf.grad is not None
    assert_close(torch.tensor([t.gradient for t in leaves], dtype=F64), t_leaf.grad.flatten())


def leaves_of(xs: list[float]) -> tuple[list[Tensor], torch.Tensor]:
    return [Tensor(v) for v in xs], torch.tensor(xs, dtype=F64, requires_grad=True)


moderate = S.reals(-10.0, 10.0)


@st.composite
def pairs(draw: Any, pred: st.SearchStrategy[float] = moderate,
          target: st.SearchStrategy[float] = moderate,
          max_size: int = 8) -> tuple[list[float], list[float]]:
    n = draw(st.integers(1, max_size))
    return (draw(st.lists(pred, min_size=n, max_size=n)),
            draw(st.lists(target, min_size=n, max_size=n)))


extreme = st.sampled_from([50.0, -50.0, 500.0, -500.0])
logits = st.one_of(S.reals(-50.0, 50.0), extreme)
probabilities = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), S.reals(0.0, 1.0))


@given(pairs())
def test_sse_matches_torch(case: tuple[list[float], list[float]]) -> None:
    preds, targets = case
    xs, tx = leaves_of(preds)
    check(sse_loss(xs, targets), xs,
          F.mse_loss(tx, torch.tensor(targets, dtype=F64), reduction="sum"), tx)


@given(pairs())
def test_mse_matches_torch(case: tuple[list[float], list[float]]) -> None:
    preds, targets = case
    xs, tx = leaves_of(preds)
    check(mse_loss(xs, targets), xs, F.mse_loss(tx, torch.tensor(targets, dtype=F64)), tx)


@given(pairs(pred=S.away_from(1.0, 1e-3, -5.0, 5.0), target=st.sampled_from([-1.0, 1.0])))
def test_hinge_matches_torch(case: tuple[list[float], list[float]]) -> None:
    margins, labels = case
    scores = [y * m for y, m in zip(labels, margins)]  # label * score = margin, never 1
    xs, tx = leaves_of(scores)
    ty = torch.tensor(labels, dtype=F64)
    check(hinge_loss(xs, labels), xs, torch.relu(1 - ty * tx).mean(), tx)


@given(pairs(pred=logits, target=probabilities))
def test_bce_with_logits_matches_torch(case: tuple[list[float], list[float]]) -> None:
    preds, targets = case
    xs, tx = leaves_of(preds)
    check(bce_with_logits_loss(xs, targets), xs,
          F.binary_cross_entropy_with_logits(tx, torch.tensor(targets, dtype=F64)), tx)


@st.composite
def classification(draw: Any) -> tuple[list[list[float]], list[int]]:
    n, k = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(logits, min_size=k, max_size=k), min_size=n, max_size=n))
    return rows, draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))


@given(classification())
def test_cross_entropy_matches_torch(case: tuple[list[list[float]], list[int]]) -> None:
    rows, labels = case
    xs = [[Tensor(v) for v in row] for row in rows]
    tx = torch.tensor(rows, dtype=F64, requires_grad=True)
    loss = cross_entropy_loss(xs, labels)
    check(loss, [t for row in xs for t in row],
          F.cross_entropy(tx, torch.tensor(labels, dtype=torch.long)), tx)
    assert np.isfinite(loss.value)


@given(st.lists(S.reals(-10.0, 10.0), min_size=1, max_size=10), S.reals(0.0, 1.0))
def test_l2_penalty_matches_torch(params: list[float], alpha: float) -> None:
    xs, tx = leaves_of(params)
    check(l2_penalty(xs, alpha), xs, alpha * (tx * tx).sum(), tx)


def test_extreme_logits_stay_finite() -> None:
    for v in (1e3, -1e3, 1e300, -1e300):
        for t in (0.0, 1.0, 0.5):
            x = Tensor(v)
            loss = bce_with_logits_loss([x], [t])
            loss.backward()
            expected = F.binary_cross_entropy_with_logits(
                torch.tensor([v], dtype=F64), torch.tensor([t], dtype=F64))
            assert_close(torch.tensor(loss.value, dtype=F64), expected)
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
    assert_close(loss.value, by_ops.value)
    assert_close([p.gradient for p in preds], op_grads)


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
