"""forward_batch's BatchOutputs: a sequence that keeps the outputs in C until read.

It reads like the list of Tensors (or rows of Tensors) that it replaces; a Tensor read
from it is made once and outlives it; the losses take it in one C call without making
any Tensor; and dropping it gives every node back in one C call.
"""

from __future__ import annotations

import copy
import gc
import pickle

import numpy as np
import pytest
from c_calls import CountingLib

from pymicrograd import Tensor, _core, live_nodes, losses
from pymicrograd.batch import BatchOutputs
from pymicrograd.compat.engine import Value
from pymicrograd.compat.nn import MLP as CompatMLP
from pymicrograd.nn import MLP

X = [[1.0, 2.0], [3.0, -4.0], [0.5, 0.25]]


def test_reads_like_a_list_of_tensors() -> None:
    model = MLP(2, [3, 1], seed=0)
    outs = model.forward_batch(X)
    assert isinstance(outs, BatchOutputs) and len(outs) == 3 and outs.nout == 1
    plain = [model(x) for x in X]
    assert [o.value for o in outs] == [p.value for p in plain]  # type: ignore[union-attr]
    assert outs[-1] is outs[2] and outs[0] is next(iter(outs))
    assert outs[1:] == [outs[1], outs[2]] and outs[::-1][0] is outs[2]
    assert outs == list(outs) and outs == tuple(outs) and outs != list(outs)[:2]
    assert outs != [1.0, 2.0, 3.0] and outs != "abc"
    assert outs.index(outs[1]) == 1 and outs[1] in outs
    assert repr(outs) == "BatchOutputs(3 samples x 1 outputs)"
    assert sum(o.value for o in outs) == sum(p.value for p in plain)  # type: ignore[union-attr]
    assert np.array([o.value for o in outs]).shape == (3,)  # type: ignore[union-attr]
    with pytest.raises(IndexError, match="out of range"):
        outs[3]
    with pytest.raises(IndexError, match="out of range"):
        outs[-4]
    with pytest.raises(TypeError):
        outs["a"]  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="unhashable"):
        hash(outs)
    # a copy is the list of the same Tensors; pickling refuses computed Tensors, as ever
    assert copy.copy(outs) == list(outs) and type(copy.copy(outs)) is list
    with pytest.raises(RuntimeError, match="cannot pickle a Tensor computed by"):
        pickle.dumps(outs)


def test_rows_of_several_outputs() -> None:
    model = MLP(2, [3, 4], seed=0)
    outs = model.forward_batch(X)
    assert outs.nout == 4 and len(outs) == 3
    row = outs[1]
    assert isinstance(row, list) and len(row) == 4
    assert row[2] is outs[1][2] is outs[-2][2]  # type: ignore[index]
    assert [t.value for t in row] == [t.value for t in model(X[1])]  # type: ignore[union-attr]
    assert [len(r) for r in outs] == [4, 4, 4]  # type: ignore[arg-type]


def test_a_read_tensor_outlives_the_sequence() -> None:
    gc.collect()
    model = MLP(2, [3, 1], seed=0)
    gc.collect()
    base = live_nodes()
    outs = model.forward_batch(X)
    nodes = 3 * (2 + 3 + 1)
    assert live_nodes() == base + nodes
    first = outs[0]
    value = first.value  # type: ignore[union-attr]
    del outs
    assert live_nodes() == base + nodes  # the Tensor holds the batch
    assert first.value == value  # type: ignore[union-attr]
    first.backward()  # type: ignore[union-attr]
    del first
    assert live_nodes() == base


def test_losses_take_it_in_one_c_call_and_drop_it_in_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No Tensor is made for an output, and the batch goes back in one call."""
    gc.collect()
    base = live_nodes()
    model = MLP(2, [3, 1], seed=0)
    classes = MLP(2, [3, 4], seed=0)
    counting = CountingLib(losses.lib)
    monkeypatch.setattr(losses, "lib", counting)
    monkeypatch.setattr(_core, "_release_array", counting.mg_release_array)
    counting.calls.clear()
    outs, rows = model.forward_batch(X), classes.forward_batch(X)
    loss = (losses.mse_loss(outs, [1.0, 0.0, -1.0]) + losses.hinge_loss(outs, [1, -1, 1])
            + losses.cross_entropy_loss(rows, [0, 3, 1]))
    assert not outs._made and not rows._made
    assert counting.calls == ["mg_mse_loss", "mg_hinge_loss", "mg_cross_entropy_loss"]
    loss.backward()
    counting.calls.clear()
    del outs, rows, loss
    assert counting.calls == ["mg_release_array"] * 2
    del model, classes
    assert live_nodes() == base


@pytest.mark.parametrize("nout", [1, 3])
def test_losses_on_it_equal_losses_on_lists(nout: int) -> None:
    model = MLP(2, [4, nout], seed=1)
    ys = [1.0, -1.0, 1.0]
    labels = [0, nout - 1, 0]
    fns = ([(losses.sse_loss, ys), (losses.mse_loss, ys), (losses.hinge_loss, ys),
            (losses.bce_with_logits_loss, [1.0, 0.0, 0.5])] if nout == 1 else [])
    fns.append((losses.cross_entropy_loss, labels))
    for fn, targets in fns:
        got = []
        for as_list in (False, True):
            model.zero_grad()
            outs = model.forward_batch(X)
            preds = list(outs) if as_list else outs
            loss = fn(preds, targets)  # type: ignore[operator]
            loss.backward()
            got.append((loss.value, [p.gradient for p in model.parameters()]))
        assert got[0] == got[1], fn


def test_losses_refuse_what_they_refused() -> None:
    outs = MLP(2, [3, 2], seed=0).forward_batch(X)
    with pytest.raises(TypeError, match="one Tensor per sample"):
        losses.mse_loss(outs, [1.0, 2.0, 3.0])
    empty = MLP(2, [3, 1], seed=0).forward_batch([])
    assert empty == [] and len(empty) == 0
    with pytest.raises(ValueError, match="must not be empty"):
        losses.sse_loss(empty, [])
    with pytest.raises(ValueError, match="must not be empty"):
        losses.cross_entropy_loss(empty, [])
    with pytest.raises(ValueError, match="3 rows of logits but 2 labels"):
        losses.cross_entropy_loss(outs, [0, 1])
    with pytest.raises(ValueError, match=r"labels\[1\] is 2, not a class in range\(2\)"):
        losses.cross_entropy_loss(outs, [0, 2, 1])
    with pytest.raises(TypeError, match=r"labels\[2\] must be an int, not float"):
        losses.cross_entropy_loss(outs, [0, 1, 1.0])
    # numpy labels as ever
    assert losses.cross_entropy_loss(outs, np.array([0, 1, 1])).value == \
        losses.cross_entropy_loss(outs, [0, 1, 1]).value


def test_compat_reads_values() -> None:
    outs = CompatMLP(2, [3, 1]).forward_batch(X)
    assert all(type(o) is Value for o in outs)
    assert isinstance(outs[0], Tensor)
