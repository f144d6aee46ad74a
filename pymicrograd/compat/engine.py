"""micrograd's ``Value``, on pymicrograd's C graph.

``from pymicrograd.compat.engine import Value`` replaces
``from micrograd.engine import Value``. A `Value` is a `pymicrograd.Tensor` (a
subclass with no extra state) whose ops return Values, with micrograd's constructor
``Value(data, _children=(), _op='')``, its ``.data`` / ``.grad``, its read-only graph
attributes ``_prev`` and ``_op``, and its repr ``Value(data=..., grad=...)``.

What differs from micrograd (docs/coming-from-micrograd.md has the whole list):

- ``backward()`` adds the derivative to every gradient, the root's included, as
  PyTorch does. micrograd overwrites the root's grad with 1 and, on a second call
  without resetting the grads in between, propagates the first call's leftover grads
  of the inner nodes once more. Used as micrograd's demo uses it (``zero_grad()``,
  then one ``backward()`` on a freshly built loss) both give the same gradients.
- ``data`` and ``grad`` are always floats (micrograd keeps ``Value(2).data == 2`` an
  int), and a Value holds a C double: ``Value(x)`` takes an int or a float (numpy
  scalars too), not arbitrary objects.
- More ops: ``tanh``, ``exp``, ``log``, ``sigmoid`` and ``2 ** v``; ``v ** w`` also
  takes a Value exponent (micrograd asserts an int or float one): every program
  micrograd runs still runs unchanged. The ops micrograd has are built as it builds
  them (a number operand of ``+`` and ``*`` is a leaf Value of its own, ``-a`` is
  ``a * -1``, ``a / b`` is ``a * b**-1``), so graphs, pictures and rounding agree.
- A node built by hand (``Value(t, (x,), 'tanh')`` with its own ``_backward``) is a
  leaf to the C core, so ``backward()`` over a graph holding one runs in Python.

>>> a, b = Value(-4.0), Value(2.0)
>>> c = a + b
>>> d = a * b + b**3
>>> d._op, c._prev == {a, b}
('+', True)
>>> (b**3)._op
'**3'
>>> d.backward()
>>> a.grad, b.grad
(2.0, 8.0)
>>> Value(3.0)
Value(data=3.0, grad=0)
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from typing import Any, Callable

from .._core import float_or_none, lib
from ..engine import Number, Tensor

__all__ = ["Value"]


def _number_text(c: float) -> str:
    """``2`` for 2.0 (as micrograd prints ``x**2``), else the float's repr."""
    if c == c and abs(c) < 1e16 and c == int(c):
        return str(int(c))
    return repr(c)


# micrograd's labels where micrograd has the op; for the rest, the op's usual name.
_LABELS: dict[int, str] = {
    lib.MG_OP_LEAF: "",
    lib.MG_OP_ADD: "+",
    lib.MG_OP_SUB: "-",
    lib.MG_OP_MUL: "*",
    lib.MG_OP_DIV: "/",
    lib.MG_OP_POW: "**",
    lib.MG_OP_NEG: "neg",
    lib.MG_OP_TANH: "tanh",
    lib.MG_OP_RELU: "ReLU",
    lib.MG_OP_EXP: "exp",
    lib.MG_OP_LOG: "log",
    lib.MG_OP_SIGMOID: "sigmoid",
    lib.MG_OP_NEURON_LINEAR: "w·x+b",
    lib.MG_OP_NEURON_TANH: "tanh(w·x+b)",
    lib.MG_OP_NEURON_RELU: "ReLU(w·x+b)",
    lib.MG_OP_NEURON_SIGMOID: "sigmoid(w·x+b)",
    lib.MG_OP_SUM: "sum",
    lib.MG_OP_SUM_SQUARES: "sum of squares",
    lib.MG_OP_LOGSUMEXP: "logsumexp",
    lib.MG_OP_ADD_CONST: "+",
    lib.MG_OP_MUL_CONST: "*",
    lib.MG_OP_DIV_CONST: "/",
    lib.MG_OP_RSUB_CONST: "-",
    lib.MG_OP_RDIV_CONST: "/",
    lib.MG_OP_BCE_LOGITS: "bce_logits",
    lib.MG_OP_CROSS_ENTROPY: "cross_entropy",
}


class Value(Tensor):
    """micrograd's scalar ``Value``: a `pymicrograd.Tensor` whose ops return Values.

    ``Value(data)`` makes a leaf with grad 0. ``+ - * / **`` (with Values or plain
    numbers, on either side), unary ``-``, ``relu()`` and the extra ``tanh()``,
    ``exp()``, ``log()`` and ``sigmoid()`` build the graph in C; ``backward()``
    fills in ``.grad``. Values compare and hash by identity, as in micrograd. Each op
    keeps the Values it was given, so ``_prev`` (and ``children``) hand back the very
    objects the graph was built from, and a Value takes any attribute you set.
    """

    __slots__ = ()

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "",
                 label: str = "") -> None:
        """A leaf holding `data` (an int or float), as ``micrograd.engine.Value``.

        `_children` and `_op` describe a node built by hand, as karpathy's lecture
        builds its own ops: `_prev` and `_op` show them, and the node's own
        `_backward` is whatever you assign to it (``out._backward = fn``), which
        `backward` calls, as micrograd's does.
        """
        super().__init__(data, label)
        children = tuple(_children)
        if children:
            self._sources = children
            _built_by_hand.add(self)
        if _op:
            self.__dict__["_op_text"] = _op

    # ---- micrograd's graph attributes ----------------------------------------------------

    @property
    def _prev(self) -> set[Value]:
        """The Values this one was computed from (empty for a leaf), as micrograd's set.

        The very objects the op was given. A plain number operand is folded into the
        node (see `constant`), so it is not here, where micrograd would list a leaf
        Value made for it.
        """
        if lib.mg_child_count(self._node) == 0:   # a leaf, or a node built by hand
            return {v for v in getattr(self, "_sources", ()) if isinstance(v, Value)}
        return set(self.children)  # type: ignore[arg-type]  # a Value's children are Values

    @property
    def _op(self) -> str:
        """micrograd's label of the op that made this Value.

        '' for a leaf, '+', '*', '**2', 'ReLU'; for ops micrograd lacks, '-', '/',
        'neg', 'tanh', 'exp', 'log', 'sigmoid', '2**' (``2 ** v``), 'ReLU(w·x+b)' (a
        neuron of a compat.nn layer), ...; for a node built by hand, its ``_op``.
        """
        text = self.__dict__.get("_op_text") if hasattr(self, "__dict__") else None
        if text is not None:
            return text  # type: ignore[no-any-return]
        op = lib.mg_op_of(self._node)
        if op == lib.MG_OP_POW_CONST:
            return "**" + _number_text(lib.mg_constant(self._node))
        if op == lib.MG_OP_RPOW_CONST:
            return _number_text(lib.mg_constant(self._node)) + "**"
        return _LABELS.get(op, self.op)

    def _backward(self) -> None:
        """Apply this node's local derivative once, as micrograd's ``_backward``.

        Adds ``self.grad * d(self)/d(child)`` to the grad of each child: calling it on
        every node in reverse topological order, after setting the root's grad to 1,
        gives what `backward()` gives. A leaf has nothing to pass on.
        """
        self.backward_step()

    def backward(self) -> None:
        """Add d(self)/d(v) to the grad of every Value v that self depends on.

        Unlike micrograd, the root's own grad is added to (not set to 1) and a second
        call adds the same derivatives once more; set the grads to 0 in between
        (``model.zero_grad()``, ``v.grad = 0``) to start over. micrograd's usual loop,
        ``zero_grad()`` then ``backward()`` on a new loss, gives the same grads on both.

        A node built by hand (``Value(t, (x,), 'tanh')`` with ``out._backward = fn``,
        as the lecture writes its own ops) is a leaf to the C graph, so a graph that
        contains one is backpropagated in Python instead, as micrograd does: every
        node's `_backward`, yours or C's, in reverse topological order.
        """
        if _built_by_hand:
            order = _topological_order(self)
            if any(v in _built_by_hand for v in order):
                _backward_in_python(self, order)
                return
        Tensor.backward(self)

    # ---- printing --------------------------------------------------------------------

    def __repr__(self) -> str:
        """micrograd's ``Value(data=24.70408163265306, grad=0)``, unrounded.

        A gradient of 0 prints as ``0``, as micrograd's fresh (int) grad does.
        """
        grad = self.grad
        return f"Value(data={self.data}, grad={0 if grad == 0 and grad.hex()[0] != '-' else grad})"


    # ---- ops: built as micrograd builds them, so graphs and numbers are micrograd's ----
    # A number operand of + and * becomes a leaf Value of its own; -x is x * -1, x - y is
    # x + (-y), x / y is x * y**-1. The other ops are Tensor's, remembering their operands.

    def __add__(self, other: Tensor | Number) -> Value:
        """self + other; a number becomes a leaf Value, as in micrograd."""
        other = _as_operand(other, "+")
        if other is NotImplemented:
            return NotImplemented
        return _remember(Tensor.__add__(self, other), self, other)

    def __mul__(self, other: Tensor | Number) -> Value:
        """self * other; a number becomes a leaf Value, as in micrograd."""
        other = _as_operand(other, "*")
        if other is NotImplemented:
            return NotImplemented
        return _remember(Tensor.__mul__(self, other), self, other)

    def __radd__(self, other: Tensor | Number) -> Value:
        """other + self, built as self + other (micrograd's operand order)."""
        return self + other

    def __rmul__(self, other: Tensor | Number) -> Value:
        """other * self, built as self * other (micrograd's operand order)."""
        return self * other

    def __neg__(self) -> Value:
        """-self, built as self * -1."""
        return self * -1

    def __sub__(self, other: Tensor | Number) -> Value:
        """self - other, built as self + (-other)."""
        if not isinstance(other, Tensor) and float_or_none(other, "an operand of -") is None:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other: Tensor | Number) -> Value:
        """other - self, built as other + (-self); a Tensor minus a Value is one node."""
        if isinstance(other, Tensor):   # Python asks a subclass's reflected op first
            return _remember(Tensor.__rsub__(self, other), other, self)
        return other + (-self)

    def __truediv__(self, other: Tensor | Number) -> Value:
        """self / other, built as self * other**-1 (so rounded as micrograd rounds it)."""
        if isinstance(other, Tensor):
            return self * other**-1
        number = float_or_none(other, "an operand of /")
        if number is None:
            return NotImplemented
        return self * _reciprocal(number)

    def __rtruediv__(self, other: Tensor | Number) -> Value:
        """other / self, built as other * self**-1; a Tensor over a Value is one node."""
        if isinstance(other, Tensor):
            return _remember(Tensor.__rtruediv__(self, other), other, self)
        return other * self**-1


# The live Values made with `_children` (nodes built by hand): while there is none,
# backward() is the C core's alone.
_built_by_hand: weakref.WeakSet[Value] = weakref.WeakSet()


def _operands(v: Tensor) -> tuple[Tensor, ...]:
    """What `v` was computed from: its `_children` if built by hand, else its C children."""
    if v in _built_by_hand:
        return tuple(c for c in v._sources if isinstance(c, Tensor))
    return v.children


def _topological_order(root: Tensor) -> list[Tensor]:
    """Every node `root` depends on, each after the nodes it was computed from.

    Iterative (a deep graph must not exhaust Python's stack), visiting each node once.
    """
    order: list[Tensor] = []
    seen = {root}
    stack = [(root, iter(_operands(root)))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(_operands(child))))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _backward_in_python(root: Value, order: list[Tensor]) -> None:
    """micrograd's backward over `order`, adding to the grads as `backward()` does.

    Each node's `_backward` reads its own grad as its adjoint, so the grads the nodes
    had are set aside, the pass runs from root.grad = 1, and the old grads are added
    back: the result is the old grad plus d(root)/d(node), for every node.
    """
    before = [v.grad for v in order]
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):   # a plain Tensor in the graph has no _backward
        getattr(v, "_backward", v.backward_step)()
    for v, old in zip(order, before):
        v.grad = old + v.grad


def _reciprocal(c: float) -> float:
    """c ** -1 as micrograd computes it, but IEEE's +-inf for +-0 (Python raises)."""
    return c**-1 if c != 0.0 else math.copysign(math.inf, c)


def _as_operand(x: object, symbol: str) -> Any:
    """A Value for a number, a Tensor as it is, NotImplemented for anything else."""
    if isinstance(x, Tensor):
        return x
    number = float_or_none(x, f"an operand of {symbol}")
    return NotImplemented if number is None else Value(number)


def _remember(out: Value, *operands: Any) -> Value:
    """`out`, remembering the objects it was made from (for `_prev` and identity)."""
    out._sources = operands
    return out


def _remembering(name: str) -> Callable[..., Any]:
    """Tensor's op `name`, also remembering its operands."""
    op = getattr(Tensor, name)

    def method(self: Value, *operands: Any) -> Any:
        out = op(self, *operands)
        return out if out is NotImplemented else _remember(out, self, *operands)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = op.__doc__
    return method


for _name in ("__pow__", "__rpow__", "relu", "tanh", "exp", "log", "sigmoid"):
    setattr(Value, _name, _remembering(_name))
