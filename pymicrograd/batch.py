"""`BatchOutputs`: what `nn.MLP.forward_batch` returns, its outputs kept in C.

A batch of 1,797 samples through a 10-output network has 17,970 output nodes. Making a
Python Tensor for each costs far more than the C call that made the nodes, so the
sequence holds them as one C array and makes a Tensor only when an item is read; the
losses take the array straight to C (no Python work per output), and dropping the
batch gives every node back in one C call.

It reads like the list it replaces: one item per sample, a Tensor when the network has
one output, else a list of its outputs (Tensors):

```python
>>> from pymicrograd import nn
>>> model = nn.MLP(2, [3, 2], seed=0)
>>> outs = model.forward_batch([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
>>> len(outs), outs.nout
(3, 2)
>>> outs[0][1] is outs[0][1]     # one Tensor per node, made once
True
>>> [len(row) for row in outs[1:]]
[2, 2]

```
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from typing import Any, overload

from ._core import ffi
from .engine import Tensor

__all__ = ["BatchOutputs"]

_new = object.__new__


class BatchOutputs(Sequence["Tensor | list[Tensor]"]):
    """The outputs of one forward pass over a batch, one item per sample.

    An item is a Tensor when the network has one output (``nout == 1``), else a new
    list of `nout` Tensors. Each Tensor is made on first reading and kept, so reading
    the same output twice gives the same Tensor; it holds its own reference to its
    node and outlives this sequence. The nodes themselves live in C as long as this
    sequence, a Tensor of it or a node built on one does. Slices give lists.

    Equality: to another BatchOutputs, a list or a tuple, item by item.
    """

    __slots__ = ("_addresses", "_len", "_made", "_nodes", "_nout", "_type")

    def __init__(self, nodes: Any, samples: int, nout: int,
                 tensor_type: type[Tensor] = Tensor) -> None:
        """Own `nodes`, an owning ``mg_node *[]`` of ``samples * nout`` nodes, row-major.

        (Made by `nn.MLP.forward_batch` with `_core.call_filling_array`; `tensor_type`
        is the class of the Tensors it makes, a Tensor subclass for compat.)
        """
        self._nodes = nodes
        self._addresses = ffi.cast("uintptr_t *", nodes)   # the nodes' addresses (borrows _nodes)
        self._len = samples
        self._nout = nout
        self._type = tensor_type
        self._made: dict[int, Tensor] = {}

    @property
    def nout(self) -> int:
        """The number of outputs per sample (the network's last layer's width)."""
        return self._nout

    def __len__(self) -> int:
        """The number of samples."""
        return self._len

    def _tensor(self, k: int) -> Tensor:
        """The Tensor of node k (sample k // nout, output k % nout), made once."""
        t = self._made.get(k)
        if t is None:
            t = _new(self._type)
            t._adopt(self._addresses[k])   # a reference of its own; the array holds one
            self._made[k] = t
        return t

    def _item(self, i: int) -> Tensor | list[Tensor]:
        nout = self._nout
        if nout == 1:
            return self._tensor(i)
        return [self._tensor(k) for k in range(i * nout, (i + 1) * nout)]

    @overload
    def __getitem__(self, i: int) -> Tensor | list[Tensor]: ...
    @overload
    def __getitem__(self, i: slice) -> list[Tensor | list[Tensor]]: ...

    def __getitem__(self, i: int | slice) -> Tensor | list[Tensor] | list[Tensor | list[Tensor]]:
        """Sample i's output(s); negative i counts from the end; a slice gives a list."""
        if isinstance(i, slice):
            return [self._item(j) for j in range(*i.indices(self._len))]
        j = operator.index(i)   # TypeError for a non-integer, as a list's
        if j < 0:
            j += self._len
        if not 0 <= j < self._len:
            raise IndexError(f"BatchOutputs index {i} out of range for {self._len} samples")
        return self._item(j)

    def __iter__(self) -> Iterator[Tensor | list[Tensor]]:
        """The samples' outputs in order."""
        for i in range(self._len):
            yield self._item(i)

    def __eq__(self, other: object) -> bool:
        """Item by item, to another BatchOutputs, a list or a tuple."""
        if isinstance(other, BatchOutputs):
            return self is other or list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return len(other) == self._len and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles: the list of its items (Tensors follow their own rules)."""
        return (list, (list(self),))

    def __repr__(self) -> str:
        """``BatchOutputs(100 samples x 3 outputs)``."""
        return f"BatchOutputs({self._len} samples x {self._nout} outputs)"
