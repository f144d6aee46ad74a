"""Conversions between Python values and the C arrays that mg_nn.h functions take.

nn, losses and optim all hand whole lists to one C call; this module is where a list
of Tensors becomes an ``mg_node *[]``, a list of numbers a ``double[]``, and an array
of new C references a list of Tensors. Each conversion is one pass over the list,
once per C call; nothing here runs per scalar op of a graph.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Callable

from ._core import as_float, ffi, lib, node_address, owned
from .engine import Tensor

__all__ = [
    "as_float",
    "as_floats",
    "as_tensors",
    "input_nodes",
    "make_tensor",
    "node_array",
    "plain_inputs",
    "tensors",
]

_new = object.__new__
_TENSOR_ONLY = frozenset({Tensor})  # type sets of the common cases, checked in C speed
_FLOAT_ONLY = frozenset({float})


def make_tensor(fn: Callable[..., Any], *args: Any, what: str) -> Tensor:
    """A Tensor holding the node that the C constructor ``fn(*args)`` makes.

    NULL (memory ran out) raises MemoryError naming `what`.
    """
    out = _new(Tensor)
    out._node = owned(fn, *args, what=what)
    return out


def tensors(nodes: Iterable[Any]) -> list[Tensor]:
    """Tensors for nodes already owned by Python (`_core.owned`, `_core.call_filling`)."""
    out = []
    for node in nodes:
        t = _new(Tensor)
        t._node = node
        out.append(t)
    return out


def _check_ordered(xs: object, what: str) -> None:
    """TypeError for a dict or a set: no order pairs their items with anything.

    (Iterating a dict would also give its keys, not its values.)
    """
    if isinstance(xs, (Mapping, AbstractSet)):
        raise TypeError(f"{what} must be a list in order, not a {type(xs).__name__}")


def as_tensors(xs: Tensor | Iterable[Tensor], what: str) -> list[Tensor]:
    """`xs` as a non-empty list of Tensors; a single Tensor is a list of one.

    Raises TypeError naming `what` and the index of an element that is not a Tensor,
    and ValueError when there is no element.
    """
    if isinstance(xs, Tensor):
        return [xs]
    _check_ordered(xs, what)
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable):
        raise TypeError(f"{what} must be a Tensor or a list of Tensors, "
                        f"not {type(xs).__name__}")
    out = list(xs)
    if not out:
        raise ValueError(f"{what} must not be empty")
    if _TENSOR_ONLY.issuperset(map(type, out)):
        return out
    for i, x in enumerate(out):
        if not isinstance(x, Tensor):
            raise TypeError(f"{what}[{i}] must be a Tensor, not {type(x).__name__}")
    return out


def node_array(xs: Sequence[Tensor]) -> Any:
    """An ``mg_node *[]`` of the nodes of `xs` (borrowed: valid while `xs` lives)."""
    return _address_array([x._address for x in xs])


def _address_array(addresses: list[int]) -> Any:
    """An ``mg_node *[]`` holding the nodes at these addresses.

    Filled as integers, so that no cffi pointer object is made per node.
    """
    out = ffi.new("mg_node *[]", len(addresses))
    ffi.cast("uintptr_t *", out)[0:len(addresses)] = addresses
    return out


def as_floats(xs: object, what: str, *, finite: bool = False) -> list[float]:
    """`xs` (a number or an iterable of numbers, e.g. a numpy array) as a list of floats.

    Raises TypeError naming `what` and the index of an element that is not a real
    number (a Tensor is not: it would silently become a constant), and ValueError for
    a non-finite element when `finite` is set.
    """
    _check_ordered(xs, what)
    if isinstance(xs, numbers.Real):
        items: list[object] = [xs]
    elif isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable):
        raise TypeError(f"{what} must be a list of numbers, not {type(xs).__name__}")
    elif getattr(xs, "ndim", None) == 1 and getattr(xs, "dtype", None) is not None \
            and xs.dtype.kind in "biuf":  # type: ignore[attr-defined]
        items = xs.tolist()  # type: ignore[attr-defined]  # numpy vector: fast to floats
    else:
        items = list(xs)
    if not finite and _FLOAT_ONLY.issuperset(map(type, items)):
        return items  # type: ignore[return-value]
    out = []
    for i, x in enumerate(items):
        v = as_float(x, f"{what}[{i}]")
        if finite and not math.isfinite(v):
            raise ValueError(f"{what}[{i}] must be finite, got {v!r}")
        out.append(v)
    return out


def _input_list(x: object, nin: int) -> list[object]:
    """The inputs of a forward pass as a list of length `nin` (ValueError otherwise).

    A single Tensor or number stands for one input, so that a layer with one output
    can feed a layer with one input directly.
    """
    _check_ordered(x, "inputs")
    if isinstance(x, (Tensor, numbers.Real)):
        items: list[object] = [x]
    elif isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"inputs must be a list of Tensors or numbers, "
                        f"not {type(x).__name__}")
    else:
        items = list(x)
    if len(items) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(items)}")
    return items


def plain_inputs(x: object, nin: int) -> tuple[list[object], Any]:
    """Check the inputs of a forward pass; if all are plain numbers, also a ``double[]``.

    Returns ``(items, values)``: `items` is the list of `nin` inputs; `values` is a
    ``double[]`` of them when every one is an int or float (a forward pass can then
    make its input leaves in C), else None. Raises ValueError on a wrong length and
    TypeError on an input that is neither a Tensor nor a real number.
    """
    items = _input_list(x, nin)
    simple = True
    for i, v in enumerate(items):
        t = type(v)
        if t is float or t is int:
            continue
        if isinstance(v, Tensor):
            return items, None
        as_float(v, f"input {i}")
        simple = False
    if simple:
        try:
            return items, ffi.new("double[]", items)
        except OverflowError:   # an int beyond a double: as_float below names it
            pass
    return items, ffi.new("double[]", [as_float(v, f"input {i}") for i, v in enumerate(items)])


def input_nodes(items: list[object]) -> tuple[Any, list[Any]]:
    """An ``mg_node *[]`` for checked inputs: Tensors as they are, numbers as new leaves.

    Returns ``(array, keep)``: `keep` owns the new leaves; hold it until the C call
    that reads the array has returned (its nodes then hold their own references).
    """
    addresses: list[int] = []
    keep: list[Any] = []
    for i, v in enumerate(items):
        if isinstance(v, Tensor):
            addresses.append(v._address)
        else:
            leaf = owned(lib.mg_leaf, as_float(v, f"input {i}"), what="forward")
            keep.append(leaf)
            addresses.append(node_address(leaf))
    return _address_array(addresses), keep
