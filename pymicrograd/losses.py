"""Loss functions, each built in C as a few graph nodes over a whole list of predictions.

Every loss takes the model's outputs as what `nn.MLP.forward_batch` returns (its C
array goes straight to C) or as Tensors (a list, or one Tensor), and the targets as
plain numbers, and returns one Tensor to call ``backward()`` on. The values and
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
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

from . import _nodes
from ._core import ffi, is_index, lib
from .batch import BatchOutputs
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
_INT_ONLY = frozenset({int})

Predictions = Union[BatchOutputs, Tensor, Iterable[Tensor]]
"""What a loss takes as predictions: forward_batch's outputs, Tensors or one Tensor."""


def _predictions(name: str, preds: Predictions, what: str) -> tuple[Any, int, object]:
    """Predictions as ``(mg_node *[], length, keep)``; hold `keep` until the C call.

    `keep` holds the array's nodes. A BatchOutputs (one output per sample) passes its
    C array straight through, with no work per output.
    """
    if isinstance(preds, BatchOutputs):
        if preds.nout != 1:
            raise TypeError(f"{name}: {what} must be one Tensor per sample, not rows of "
                            f"{preds.nout} outputs")
        if not len(preds):
            raise ValueError(f"{name}: {what} must not be empty")
        return preds._nodes, len(preds), preds
    xs = _nodes.as_tensors(preds, f"{name}: {what}")
    return _nodes.node_array(xs), len(xs), xs


def _paired(name: str, preds: Predictions, targets: object, pred_name: str,
            target_name: str) -> tuple[tuple[Any, int, object], list[float]]:
    """Check predictions against a list of numbers of the same, non-zero length."""
    xs = _predictions(name, preds, pred_name)
    ts = _nodes.as_floats(targets, f"{name}: {target_name}")
    if len(ts) != xs[1]:
        raise ValueError(f"{name}: {xs[1]} {pred_name} but {len(ts)} {target_name}")
    return xs, ts


def _check_count(name: str, n: int, what: str) -> None:
    """ValueError before any allocation when one C node would get too many operands."""
    if n > lib.MG_MAX_CHILDREN:
        raise ValueError(f"{name}: {n} {what}, above the limit of {lib.MG_MAX_CHILDREN} "
                         "(MG_MAX_CHILDREN, the most operands of one C node)")


def _call(name: str, fn: Callable[..., Any], xs: tuple[Any, int, object],
          ts: list[float]) -> Tensor:
    nodes, n, _keep = xs
    _check_count(name, n, "terms")
    return _nodes.make_tensor(fn, nodes, ffi.new("double[]", ts), n, what=name)


def sse_loss(preds: Predictions, targets: object) -> Tensor:
    """Sum of squared errors, ``sum_i (preds[i] - targets[i])**2`` (the seed's loss)."""
    xs, ts = _paired("sse_loss", preds, targets, "predictions", "targets")
    return _call("sse_loss", lib.mg_sse_loss, xs, ts)


def mse_loss(preds: Predictions, targets: object) -> Tensor:
    """Mean squared error, ``mean_i (preds[i] - targets[i])**2``, as torch's mse_loss."""
    xs, ts = _paired("mse_loss", preds, targets, "predictions", "targets")
    return _call("mse_loss", lib.mg_mse_loss, xs, ts)


def hinge_loss(scores: Predictions, labels: object) -> Tensor:
    """SVM max-margin loss, ``mean_i relu(1 - labels[i] * scores[i])``; labels -1 or +1.

    micrograd's moons demo trains with it. Raises ValueError for another label.
    """
    xs, ys = _paired("hinge_loss", scores, labels, "scores", "labels")
    if not _SIGNS.issuperset(ys):
        for i, y in enumerate(ys):
            if y != 1.0 and y != -1.0:
                raise ValueError(f"hinge_loss: labels must be -1 or +1, labels[{i}] is {y!r}")
    return _call("hinge_loss", lib.mg_hinge_loss, xs, ys)


def bce_with_logits_loss(logits: Predictions, targets: object) -> Tensor:
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


def cross_entropy_loss(
        logits: BatchOutputs | Sequence[Sequence[Tensor]] | Sequence[Tensor],
        labels: Iterable[int] | int) -> Tensor:
    """Softmax cross-entropy over k classes, averaged over rows (torch's cross_entropy).

    `logits` is a model's `forward_batch` outputs (k per sample) or a list of rows,
    each a list of k Tensors (a model's outputs on one sample); `labels[i]` is the
    class of row i, an int in ``range(k)``. One row of Tensors with one int label is
    accepted too. Computed as torch does, for any logits, one ``cross_entropy`` node
    per row: the row shifted by its largest logit, the log-sum-exp of that, minus the
    shifted label logit. Raises ValueError for an empty input, rows of
    different lengths, a length mismatch or a label out of range; TypeError for a label
    that is not an int.
    """
    name = "cross_entropy_loss"
    label_list: list[Any]
    batch: Any
    if is_index(labels):
        label_list, batch = [labels], [logits]
    elif isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise TypeError(f"{name}: labels must be a list of ints, not {type(labels).__name__}")
    else:
        tolist = getattr(labels, "tolist", None)   # a numpy array: ints at C speed
        label_list, batch = (tolist() if tolist else list(labels)), logits
    nodes, n, k, _keep = _logit_rows(name, batch)
    if len(label_list) != n:
        raise ValueError(f"{name}: {n} rows of logits but {len(label_list)} labels")
    if not (_INT_ONLY.issuperset(map(type, label_list))
            and 0 <= min(label_list) and max(label_list) < k):
        for i, y in enumerate(label_list):
            if not is_index(y):
                raise TypeError(f"{name}: labels[{i}] must be an int, not {type(y).__name__}")
            if not 0 <= int(y) < k:
                raise ValueError(f"{name}: labels[{i}] is {int(y)}, not a class in range({k})")
        label_list = [int(y) for y in label_list]
    _check_count(name, n, "rows")
    _check_count(name, k, "classes")
    return _nodes.make_tensor(lib.mg_cross_entropy_loss, nodes,
                              ffi.new("size_t[]", label_list), n, k, what=name)


def _logit_rows(name: str, logits: Any) -> tuple[Any, int, int, object]:
    """Rows of logits as ``(mg_node *[] row-major, rows, k, keep)`` (see `_predictions`).

    A BatchOutputs passes its C array straight through; rows of Tensors are checked.
    """
    if isinstance(logits, BatchOutputs):
        if not len(logits):
            raise ValueError(f"{name}: logits must not be empty")
        return logits._nodes, len(logits), logits.nout, logits
    rows_in = list(logits)
    if not rows_in:
        raise ValueError(f"{name}: logits must not be empty")
    rows = [_nodes.as_tensors(row, f"{name}: logits[{i}]") for i, row in enumerate(rows_in)]
    k = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != k:
            raise ValueError(f"{name}: every row of logits must have the same length; "
                             f"logits[0] has {k}, logits[{i}] has {len(row)}")
    flat = [t for row in rows for t in row]
    return _nodes.node_array(flat), len(rows), k, flat


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
