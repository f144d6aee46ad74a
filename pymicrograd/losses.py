"""Loss functions, each built in C as a few graph nodes over a whole list of predictions.

Every loss takes the model's outputs as Tensors (a list, or one Tensor) and the targets
as plain numbers, and returns one Tensor to call ``backward()`` on. The values and
gradients equal those of ``torch.nn.functional`` in float64, computed in torch's order
of operations, so also at any magnitude, at +-inf and nan; the ones that involve
``exp`` (`bce_with_logits_loss`, `cross_entropy_loss`) never overflow on the way.

>>> from pymicrograd import Tensor
>>> preds = [Tensor(0.5), Tensor(-1.0)]
>>> loss = sse_loss(preds, [1.0, -1.0])
>>> loss.value
0.25
>>> loss.backward()
>>> preds[0].gradient
-1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Callable

from . import _nodes
from ._core import ffi, lib
from .engine import Tensor
from .nn import Module

__all__ = [
    "bce_with_logits_loss",
    "cross_entropy_loss",
    "hinge_loss",
    "l2_penalty",
    "mse_loss",
    "sse_loss",
]


_SIGNS = frozenset({1.0, -1.0})


def _paired(name: str, preds: Tensor | Iterable[Tensor], targets: object,
            pred_name: str, target_name: str) -> tuple[list[Tensor], list[float]]:
    """Check a list of Tensors against a list of numbers of the same, non-zero length."""
    xs = _nodes.as_tensors(preds, f"{name}: {pred_name}")
    ts = _nodes.as_floats(targets, f"{name}: {target_name}")
    if len(ts) != len(xs):
        raise ValueError(f"{name}: {len(xs)} {pred_name} but {len(ts)} {target_name}")
    return xs, ts


def _check_count(name: str, n: int, what: str) -> None:
    """ValueError before any allocation when one C node would get too many operands."""
    if n > lib.MG_MAX_CHILDREN:
        raise ValueError(f"{name}: {n} {what}, above the limit of {lib.MG_MAX_CHILDREN} "
                         "(MG_MAX_CHILDREN, the most operands of one C node)")


def _call(name: str, fn: Callable[..., Any], xs: list[Tensor], ts: list[float]) -> Tensor:
    _check_count(name, len(xs), "terms")
    return _nodes.make_tensor(fn, _nodes.node_array(xs), ffi.new("double[]", ts), len(xs),
                              what=name)


def sse_loss(preds: Tensor | Iterable[Tensor], targets: object) -> Tensor:
    """Sum of squared errors, ``sum_i (preds[i] - targets[i])**2`` (the seed's loss)."""
    xs, ts = _paired("sse_loss", preds, targets, "predictions", "targets")
    return _call("sse_loss", lib.mg_sse_loss, xs, ts)


def mse_loss(preds: Tensor | Iterable[Tensor], targets: object) -> Tensor:
    """Mean squared error, ``mean_i (preds[i] - targets[i])**2``, as torch's mse_loss."""
    xs, ts = _paired("mse_loss", preds, targets, "predictions", "targets")
    return _call("mse_loss", lib.mg_mse_loss, xs, ts)


def hinge_loss(scores: Tensor | Iterable[Tensor], labels: object) -> Tensor:
    """SVM max-margin loss, ``mean_i relu(1 - labels[i] * scores[i])``; labels -1 or +1.

    micrograd's moons demo trains with it. Raises ValueError for another label.
    """
    xs, ys = _paired("hinge_loss", scores, labels, "scores", "labels")
    if not _SIGNS.issuperset(ys):
        for i, y in enumerate(ys):
            if y != 1.0 and y != -1.0:
                raise ValueError(f"hinge_loss: labels must be -1 or +1, labels[{i}] is {y!r}")
    return _call("hinge_loss", lib.mg_hinge_loss, xs, ys)


def bce_with_logits_loss(logits: Tensor | Iterable[Tensor], targets: object) -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], averaged.

    Computed from the logits without overflow (torch's
    ``binary_cross_entropy_with_logits``): any finite logit gives a finite loss and
    the gradient ``(sigmoid(logit) - target) / n``. Raises ValueError for a target
    outside [0, 1].
    """
    xs, ts = _paired("bce_with_logits_loss", logits, targets, "logits", "targets")
    for i, t in enumerate(ts):
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"bce_with_logits_loss: targets must be in [0, 1], "
                             f"targets[{i}] is {t!r}")
    return _call("bce_with_logits_loss", lib.mg_bce_with_logits_loss, xs, ts)


def cross_entropy_loss(logits: Sequence[Sequence[Tensor]] | Sequence[Tensor],
                       labels: Iterable[int] | int) -> Tensor:
    """Softmax cross-entropy over k classes, averaged over rows (torch's cross_entropy).

    `logits` is a list of rows, each a list of k Tensors (a model's outputs on one
    sample); `labels[i]` is the class of row i, an int in ``range(k)``. One row of
    Tensors with one int label is accepted too. Computed as torch does, for any logits:
    each row shifted by its largest logit (k nodes), a log-sum-exp node over them, and
    the shifted label logit subtracted. Raises ValueError for an empty input, rows of different
    lengths, a length mismatch or a label out of range; TypeError for a label that
    is not an int.
    """
    name = "cross_entropy_loss"
    if isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
        rows_in: list[Any] = [logits]
        label_list: list[object] = [labels]
    else:
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
            raise TypeError(f"{name}: labels must be a list of ints, "
                            f"not {type(labels).__name__}")
        rows_in = list(logits)
        label_list = list(labels)
    if not rows_in:
        raise ValueError(f"{name}: logits must not be empty")
    rows = [_nodes.as_tensors(row, f"{name}: logits[{i}]") for i, row in enumerate(rows_in)]
    k = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != k:
            raise ValueError(f"{name}: every row of logits must have the same length; "
                             f"logits[0] has {k}, logits[{i}] has {len(row)}")
    if len(label_list) != len(rows):
        raise ValueError(f"{name}: {len(rows)} rows of logits but {len(label_list)} labels")
    checked = []
    for i, y in enumerate(label_list):
        if isinstance(y, bool) or not isinstance(y, numbers.Integral):
            raise TypeError(f"{name}: labels[{i}] must be an int, not {type(y).__name__}")
        if not 0 <= int(y) < k:
            raise ValueError(f"{name}: labels[{i}] is {int(y)}, not a class in range({k})")
        checked.append(int(y))
    _check_count(name, len(rows), "rows")
    _check_count(name, k, "classes")
    flat = [t for row in rows for t in row]
    return _nodes.make_tensor(lib.mg_cross_entropy_loss, _nodes.node_array(flat),
                              ffi.new("size_t[]", checked), len(rows), k, what=name)


def l2_penalty(params: Module | Tensor | Iterable[Tensor], alpha: float) -> Tensor:
    """``alpha * sum_p p**2``: weight decay as a loss term (micrograd's demo uses 1e-4).

    `params` is a list of Tensors or a model (`nn.Module`): a built-in model keeps its
    parameter array, so ``l2_penalty(model, alpha)`` costs no Python loop per step.
    Raises ValueError for no parameters or a non-finite alpha.
    """
    a = _nodes.as_float(alpha, "l2_penalty: alpha")
    if not math.isfinite(a):
        raise ValueError(f"l2_penalty: alpha must be finite, got {a!r}")
    if isinstance(params, Module):
        nodes, xs = params._parameter_nodes()   # xs keeps the array's nodes alive
        if not xs:
            raise ValueError("l2_penalty: params must not be empty")
    else:
        xs = tuple(_nodes.as_tensors(params, "l2_penalty: params"))
        nodes = _nodes.node_array(xs)
    _check_count("l2_penalty", len(xs), "parameters")
    return _nodes.make_tensor(lib.mg_l2_penalty, nodes, len(xs), a, what="l2_penalty")
