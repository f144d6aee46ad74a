"""Every loss equals torch's in float64 at the extremes: +-1e308, huge ties, +-inf, nan.

For each loss a table of extreme inputs, and a hypothesis test over floats of every
magnitude up to +-1e308 (with +-inf and nan mixed in), compare the loss value and the
gradient of every input with torch's (torch.nn.functional, float64; for l2_penalty
``alpha * (p * p).sum()``, the reference of test_losses.py). Where torch gives nan we
must give nan, where it gives +-inf the same infinity, and elsewhere the same number:

- within 4 ulps of the *scale* of the computation (the sum of the magnitudes that the
  last step adds or subtracts), plus 2 units of the smallest subnormal. Not of the
  result, because torch evaluates exp, log and log1p with SLEEF's vectorised
  functions, which may differ from the C library's in the last bit, and one ulp of
  exp(x) ~ 1 reappears unchanged in softmax - 1 ~ 1e-5, many of its ulps. In
  subnormal arguments torch's log1p is off by about a unit (log1p(4.2e-322) is
  4.15e-322 there); that is the +2 units. The sums over samples also add in another
  order (torch's vectorised and cascaded sums).
- Most cases agree to the bit; the motivating ones are pinned exactly as well
  (cross-entropy of [1e16, 1e16] is log 2 with gradients [-0.5, 0.5], which the old
  logsumexp(row) - row[label] rounded to 0 and [0, 1]).

No input is shifted away from a kink: hinge's relu has one, but both sides take its
gradient at 0 from the same comparison, so they agree there too. Samples stay below 8
per call, where torch's elementwise kernels take one partial vector.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lazy_torch import F, torch

from pymicrograd import Tensor
from pymicrograd._core import lib
from pymicrograd._nodes import make_tensor, node_array
from pymicrograd.losses import (
    bce_with_logits_loss,
    cross_entropy_loss,
    hinge_loss,
    l2_penalty,
    mse_loss,
    sse_loss,
)

EPS = 2.0 ** -52
TINY = 2.0 ** -1074  # the smallest subnormal
INF, NAN = math.inf, math.nan
BIG = 1.7976931348623157e308  # the largest double


def same(ours: float, theirs: float, scale: float) -> bool:
    """Both nan, or equal (infinities, zeros of either sign), or close for the scale."""
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    if ours == theirs:
        return True
    if math.isinf(ours) or math.isinf(theirs) or not math.isfinite(scale):
        return False
    return abs(ours - theirs) <= 4 * EPS * scale + 2 * TINY


def compare(ours: Tensor, leaves: list[Tensor], theirs: torch.Tensor, t_leaves: torch.Tensor,
            value_scale: float, grad_scales: np.ndarray) -> None:
    """Backpropagate both losses; compare the value and every leaf's gradient."""
    ours.backward()
    theirs.backward()
    assert t_leaves.grad is not None
    assert same(ours.value, theirs.item(), value_scale), (ours.value, theirs.item())
    t_grads = t_leaves.grad.flatten().tolist()
    for i, (leaf, g, s) in enumerate(zip(leaves, t_grads, grad_scales)):
        assert same(leaf.gradient, g, float(s)), (i, leaf.gradient, g)


def _arrays(xs: list[float]) -> tuple[list[Tensor], torch.Tensor, np.ndarray]:
    return ([Tensor(v) for v in xs], torch.tensor(xs, dtype=torch.float64, requires_grad=True),
            np.array(xs, dtype=np.float64))


# ---- one checker per loss: our loss, torch's, and the scale of each number ----------------
# (numpy computes the scales, with inf and nan where they arise and no warnings; an
# infinite or nan scale leaves only exact equality.)


def check_squared(xs: list[float], ts: list[float], mean: bool) -> None:
    leaves, tx, x = _arrays(xs)
    t = np.array(ts)
    n = len(xs)
    with np.errstate(all="ignore"):
        e = x - t
        value_scale = float(np.sum(e * e) / (n if mean else 1))
        grad_scales = np.abs(e) * (2.0 / n if mean else 2.0)
    loss = (mse_loss if mean else sse_loss)(leaves, ts)
    ref = F.mse_loss(tx, torch.tensor(ts, dtype=torch.float64), reduction="mean" if mean else "sum")
    compare(loss, leaves, ref, tx, value_scale, grad_scales)


def check_hinge(xs: list[float], ys: list[float]) -> None:
    leaves, tx, x = _arrays(xs)
    n = len(xs)
    with np.errstate(all="ignore"):
        value_scale = float(np.sum(np.maximum(1.0 - np.array(ys) * x, 0.0)) / n)
    ref = torch.relu(1 - torch.tensor(ys, dtype=torch.float64) * tx).mean()
    compare(hinge_loss(leaves, ys), leaves, ref, tx, value_scale, np.full(n, 1.0 / n))


def check_bce(xs: list[float], ts: list[float]) -> None:
    leaves, tx, x = _arrays(xs)
    t = np.array(ts)
    n = len(xs)
    with np.errstate(all="ignore"):
        log_sigmoid = np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))
        value_scale = float(np.sum(np.abs((1.0 - t) * x) + np.abs(log_sigmoid)) / n)
        grad_scales = (1.0 / (1.0 + np.exp(-x)) + t) / n
    ref = F.binary_cross_entropy_with_logits(tx, torch.tensor(ts, dtype=torch.float64))
    compare(bce_with_logits_loss(leaves, ts), leaves, ref, tx, value_scale, grad_scales)


def check_cross_entropy(rows: list[list[float]], labels: list[int]) -> None:
    leaves = [[Tensor(v) for v in row] for row in rows]
    tx = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    n = len(rows)
    with np.errstate(all="ignore"):
        x = np.array(rows, dtype=np.float64)
        shifted = x - x.max(axis=1, keepdims=True)
        log_sum = np.log(np.sum(np.exp(shifted), axis=1))
        label_shifted = shifted[np.arange(n), labels]
        value_scale = float(np.sum(np.abs(log_sum) + np.abs(label_shifted)) / n)
    ref = F.cross_entropy(tx, torch.tensor(labels, dtype=torch.long))
    compare(cross_entropy_loss(leaves, labels), [t for row in leaves for t in row], ref, tx,
            value_scale, np.full(x.size, 1.0 / n))


def check_l2(ps: list[float], alpha: float) -> None:
    leaves, tx, p = _arrays(ps)
    with np.errstate(all="ignore"):
        value_scale = float(abs(alpha) * np.sum(p * p))
        grad_scales = np.abs(2.0 * alpha * p)
    compare(l2_penalty(leaves, alpha), leaves, alpha * (tx * tx).sum(), tx,
            value_scale, grad_scales)


# ---- the tables -------------------------------------------------------------------------------

EXTREMES = [BIG, -BIG, 1e308, -1e308, 1e16, -1e16, INF, -INF, NAN, 0.0, -0.0, TINY, 1e-310,
            709.9, -709.9, 740.0, -740.0, 37.0, -37.0, 30.0, -30.0, 1.0]


@pytest.mark.needs_torch
@pytest.mark.parametrize("mean", [False, True], ids=["sse", "mse"])
@pytest.mark.parametrize("x", EXTREMES)
def test_squared_errors_at_extremes(x: float, mean: bool) -> None:
    for t in (0.0, 1.0, 1e308, -1e308, INF):
        check_squared([x], [t], mean)
        check_squared([x, 2.0, -1e308], [t, 0.5, 1e308], mean)  # mixed with others


def test_mse_gradient_is_torchs_2_over_n_times_the_error() -> None:
    """(2/n) * e, finite for an error of 1e308 over 3 samples, where 2 * e overflows."""
    xs = [Tensor(1e308), Tensor(0.0), Tensor(0.0)]
    loss = mse_loss(xs, [0.0, 0.0, 0.0])
    loss.backward()
    assert xs[0].gradient == (2.0 / 3) * 1e308  # torch's mse_loss_backward, to the bit


@pytest.mark.needs_torch
@pytest.mark.parametrize("x", EXTREMES)
def test_hinge_at_extremes(x: float) -> None:
    for y in (1.0, -1.0):
        check_hinge([x], [y])
        check_hinge([x, -x, 0.5], [y, y, -y])


@pytest.mark.needs_torch
@pytest.mark.parametrize("x", EXTREMES)
def test_bce_with_logits_at_extremes(x: float) -> None:
    for t in (0.0, 0.25, 0.5, 1.0):
        check_bce([x], [t])
        check_bce([x, -x, 3.0], [t, 1.0 - t, 0.5])


@pytest.mark.parametrize("x, t, value, grad", [
    (INF, 0.5, INF, 0.5),  # max(x, 0) - x t + ... gave inf - inf = nan here
    (INF, 0.0, INF, 1.0),
    (INF, 1.0, NAN, 0.0),  # (1 - t) x = 0 * inf
    (-INF, 0.5, NAN, -0.5),
    (1e308, 0.5, 5e307, 0.5),
    (-740.0, 0.0, 0.0, 0.0),  # torch's sigmoid(-740) = 1 / (1 + inf) = 0
    (-30.0, 0.0, -30.0 - (-30.0 - math.log1p(math.exp(-30.0))), 1.0 / (1.0 + math.exp(30.0))),
])
def test_bce_with_logits_pinned(x: float, t: float, value: float, grad: float) -> None:
    """torch's exact numbers, even where its order of operations cancels (x = -30)."""
    leaf = Tensor(x)
    loss = bce_with_logits_loss([leaf], [t])
    loss.backward()
    assert same(loss.value, value, 0.0) and same(leaf.gradient, grad, 0.0)


CE_ROWS = [
    [1e16, 1e16], [1e15, 1e15], [1e308, 1e308], [-1e308, -1e308], [BIG, -BIG],
    [1e308, 0.0, -1e308], [1e16, 1e16, 1e16], [1e16, -1e16, 3.0],
    [INF, 0.0], [INF, INF], [-INF, 0.0], [-INF, -INF], [-INF, 1.0, 2.0], [INF, -INF],
    [NAN, 0.0], [NAN, -INF], [TINY, 0.0], [1e-310, -1e-310], [0.0], [1e308],
]


@pytest.mark.needs_torch
@pytest.mark.parametrize("row", CE_ROWS, ids=str)
def test_cross_entropy_at_extremes(row: list[float]) -> None:
    for label in range(len(row)):
        check_cross_entropy([row], [label])
        check_cross_entropy([row, [1.0] * len(row)], [label, 0])


def test_cross_entropy_of_a_huge_tie() -> None:
    """log 2 and [-0.5, 0.5] exactly: logsumexp(row) - row[label] gave 0 and [0, 1]."""
    for v in (1e15, 1e16, 1e308, -1e308):
        row = [Tensor(v), Tensor(v)]
        loss = cross_entropy_loss([row], [0])
        loss.backward()
        assert loss.value == math.log(2)
        assert [t.gradient for t in row] == [-0.5, 0.5]


@pytest.mark.needs_torch
@pytest.mark.parametrize("p", EXTREMES)
def test_l2_penalty_at_extremes(p: float) -> None:
    for alpha in (1e-4, 0.5, 1.0, 1e300, -2.0):
        check_l2([p], alpha)
        check_l2([p, -1e308, 3.0], alpha)


@pytest.mark.needs_torch
def test_l2_penalty_gradient_near_the_largest_double() -> None:
    """2 alpha p is finite, as torch's gradient of alpha * (p * p).sum(); the old
    alpha * (2 p) overflowed to inf."""
    p = Tensor(1e308)
    loss = l2_penalty([p], 1e-4)
    loss.backward()
    tp = torch.tensor([1e308], dtype=torch.float64, requires_grad=True)
    (1e-4 * (tp * tp).sum()).backward()
    assert tp.grad is not None and math.isfinite(tp.grad.item())
    assert loss.value == INF
    assert same(p.gradient, tp.grad.item(), 2e304)


def cross_entropy_of_k_plus_2_nodes(rows: list[list[Tensor]], labels: list[int]) -> Tensor:
    """cross_entropy_loss as it was built before its one node per row: per row, k shifted
    logits x + (-m) (add_const), logsumexp over them, minus the label's (sub); the mean
    of those terms as a sum over n."""
    terms = []
    for row, label in zip(rows, labels):
        m = max((t.value for t in row if not math.isnan(t.value)), default=-INF)
        shifted = [t + (-m) for t in row]
        lse = make_tensor(lib.mg_logsumexp, node_array(shifted), len(row), what="logsumexp")
        terms.append(lse - shifted[label])
    return make_tensor(lib.mg_sum, node_array(terms), len(terms), what="sum") / len(terms)


def bits(x: float) -> bytes:
    """x's 8 bytes: equal bits, not equal numbers (0.0 is not -0.0; nan is itself)."""
    return np.float64(x).tobytes()


def check_same_bits_as_k_plus_2_nodes(rows: list[list[float]], labels: list[int],
                                      scale: float) -> None:
    """The node per row gives the value and gradients of the graph it replaced, bit for
    bit (nan's payload aside), also under an upstream gradient `scale`."""
    results = []
    for build in (cross_entropy_loss, cross_entropy_of_k_plus_2_nodes):
        leaves = [[Tensor(v) for v in row] for row in rows]
        loss = build(leaves, labels)  # type: ignore[operator]
        (loss * scale).backward()
        numbers = [loss.value] + [t.gradient for row in leaves for t in row]
        results.append([NAN if math.isnan(v) else v for v in numbers])
    ours, before = results
    assert [bits(v) for v in ours] == [bits(v) for v in before], (ours, before)


@pytest.mark.parametrize("row", CE_ROWS, ids=str)
def test_cross_entropy_node_has_the_bits_of_the_k_plus_2_nodes_it_replaced(
        row: list[float]) -> None:
    for label in range(len(row)):
        for scale in (1.0, -3.0, 0.0):
            check_same_bits_as_k_plus_2_nodes([row, [1.0] * len(row)], [label, 0], scale)


# ---- wide-magnitude property tests ---------------------------------------------------------

wide = st.one_of(st.floats(-1e308, 1e308), st.sampled_from([INF, -INF, NAN]))
unit = st.floats(0.0, 1.0)
sizes = st.integers(1, 7)


def lists_of(strategy: st.SearchStrategy[Any], n: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, min_size=n, max_size=n)


@st.composite
def paired(draw: Any, target: st.SearchStrategy[float]) -> tuple[list[float], list[float]]:
    n = draw(sizes)
    return draw(lists_of(wide, n)), draw(lists_of(target, n))


@pytest.mark.needs_torch
@given(paired(st.floats(-1e308, 1e308)), st.booleans())
def test_squared_errors_match_torch_at_any_magnitude(case: Any, mean: bool) -> None:
    check_squared(*case, mean)


@pytest.mark.needs_torch
@given(paired(st.sampled_from([1.0, -1.0])))
def test_hinge_matches_torch_at_any_magnitude(case: Any) -> None:
    check_hinge(*case)


@pytest.mark.needs_torch
@given(paired(unit))
def test_bce_with_logits_matches_torch_at_any_magnitude(case: Any) -> None:
    check_bce(*case)


@st.composite
def classification(draw: Any) -> tuple[list[list[float]], list[int]]:
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rows = draw(lists_of(lists_of(wide, k), n))
    return rows, draw(lists_of(st.integers(0, k - 1), n))


@pytest.mark.needs_torch
@given(classification())
def test_cross_entropy_matches_torch_at_any_magnitude(case: Any) -> None:
    check_cross_entropy(*case)


@given(classification(), st.floats(-1e3, 1e3))
def test_cross_entropy_node_has_the_bits_of_the_k_plus_2_nodes_at_any_magnitude(
        case: Any, scale: float) -> None:
    check_same_bits_as_k_plus_2_nodes(*case, scale)


@pytest.mark.needs_torch
@given(st.integers(1, 7).flatmap(lambda n: lists_of(wide, n)), st.floats(-1e308, 1e308))
def test_l2_penalty_matches_torch_at_any_magnitude(ps: list[float], alpha: float) -> None:
    check_l2(ps, alpha)


def test_every_loss_has_a_table_and_a_property_test() -> None:
    """The six losses of pymicrograd.losses, each checked above by name."""
    from pymicrograd import losses

    checked: dict[str, Callable[..., Any]] = {
        "sse_loss": test_squared_errors_at_extremes, "mse_loss": test_squared_errors_at_extremes,
        "hinge_loss": test_hinge_at_extremes, "bce_with_logits_loss": check_bce,
        "cross_entropy_loss": check_cross_entropy, "l2_penalty": check_l2,
    }
    assert sorted(checked) == sorted(losses.__all__)
