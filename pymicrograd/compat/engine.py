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
- More ops: ``-`` and ``/`` are single nodes (micrograd builds them from ``*`` and
  ``**-1``), and there are ``tanh``, ``exp``, ``log``, ``sigmoid`` and ``2 ** v``.
  ``v ** w`` also takes a Value exponent (micrograd asserts an int or float one):
  every program micrograd runs still runs unchanged.
- A plain number operand is folded into its node (``(v * 2)._prev == {v}``; the 2 is
  ``.constant``), where micrograd wraps it in a leaf Value of its own.

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
Value(data=3.0, grad=0.0)
"""

from __future__ import annotations

from typing import Any

from .._core import lib
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
}


def _as_value(out: Tensor) -> Value:
    """Turn a Tensor that a Tensor op just made into a Value (NotImplemented passes).

    Value adds no slots, so re-classing is safe; every op is Tensor's own, which keeps
    the engine in one place at the cost of one assignment per compat op.
    """
    if isinstance(out, Tensor):
        out.__class__ = Value
    return out  # type: ignore[return-value]


class Value(Tensor):
    """micrograd's scalar ``Value``: a `pymicrograd.Tensor` whose ops return Values.

    ``Value(data)`` makes a leaf with grad 0. ``+ - * / **`` (with Values or plain
    numbers, on either side), unary ``-``, ``relu()`` and the extra ``tanh()``,
    ``exp()``, ``log()`` and ``sigmoid()`` build the graph in C; ``backward()``
    fills in ``.grad``. Values compare and hash by identity, as in micrograd.
    """

    __slots__ = ()

    def __init__(self, data: Number, _children: Any = (), _op: str = "") -> None:
        """A leaf holding `data` (an int or float).

        `_children` and `_op` are accepted for code that passes them, as micrograd's
        own ops do, and ignored: in micrograd they only label the node, since a Value
        made this way has no backward function, so no gradient reaches the children
        either way. Here the node is a plain leaf (``_prev`` is empty, ``_op`` is '').
        """
        super().__init__(data)

    # ---- micrograd's graph attributes, read from the C graph ---------------------------

    @property
    def _prev(self) -> set[Value]:
        """The Values this one was computed from (empty for a leaf), as micrograd's set.

        A plain number operand is folded into the node (see `constant`), so it is not
        here, where micrograd would list a leaf Value made for it.
        """
        return set(self.children)

    @property
    def _op(self) -> str:
        """micrograd's label of the op that made this Value.

        '' for a leaf, '+', '*', '**2', 'ReLU'; for ops micrograd lacks, '-', '/',
        'neg', 'tanh', 'exp', 'log', 'sigmoid', '2**' (``2 ** v``), 'ReLU(w·x+b)' (a
        neuron of a compat.nn layer), ...
        """
        op = lib.mg_op_of(self._node)
        if op == lib.MG_OP_POW_CONST:
            return "**" + _number_text(lib.mg_constant(self._node))
        if op == lib.MG_OP_RPOW_CONST:
            return _number_text(lib.mg_constant(self._node)) + "**"
        return _LABELS.get(op, self.op)

    @property
    def children(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in operand order (empty for a leaf)."""
        return tuple(_as_value(c) for c in Tensor.children.fget(self))  # type: ignore[attr-defined]

    def backward(self) -> None:
        """Add d(self)/d(v) to the grad of every Value v that self depends on.

        Unlike micrograd, the root's own grad is added to (not set to 1) and a second
        call adds the same derivatives once more; set the grads to 0 in between
        (``model.zero_grad()``, ``v.grad = 0``) to start over. micrograd's usual loop,
        ``zero_grad()`` then ``backward()`` on a new loss, gives the same grads on both.
        """
        Tensor.backward(self)

    # ---- ops: Tensor's, returning Values ------------------------------------------------

    def relu(self) -> Value:
        """max(self, 0); the gradient at exactly 0 is 0, as in micrograd."""
        return _as_value(Tensor.relu(self))

    def tanh(self) -> Value:
        """Hyperbolic tangent (not in micrograd's package, as in karpathy's lecture)."""
        return _as_value(Tensor.tanh(self))

    def exp(self) -> Value:
        """e raised to self (not in micrograd)."""
        return _as_value(Tensor.exp(self))

    def log(self) -> Value:
        """Natural logarithm: -inf at 0 and nan below 0 (not in micrograd)."""
        return _as_value(Tensor.log(self))

    def sigmoid(self) -> Value:
        """1 / (1 + e**-self), without overflow (not in micrograd)."""
        return _as_value(Tensor.sigmoid(self))

    def __neg__(self) -> Value:
        """-self."""
        return _as_value(Tensor.__neg__(self))

    def __add__(self, other: Tensor | Number) -> Value:
        """self + other, with a Value, a Tensor or a plain number."""
        return _as_value(Tensor.__add__(self, other))

    def __radd__(self, other: Number) -> Value:
        """other + self."""
        return _as_value(Tensor.__radd__(self, other))

    def __mul__(self, other: Tensor | Number) -> Value:
        """self * other."""
        return _as_value(Tensor.__mul__(self, other))

    def __rmul__(self, other: Number) -> Value:
        """other * self."""
        return _as_value(Tensor.__rmul__(self, other))

    def __sub__(self, other: Tensor | Number) -> Value:
        """self - other."""
        return _as_value(Tensor.__sub__(self, other))

    def __rsub__(self, other: Tensor | Number) -> Value:
        """other - self."""
        return _as_value(Tensor.__rsub__(self, other))

    def __truediv__(self, other: Tensor | Number) -> Value:
        """self / other; x / 0 is inf or nan as in IEEE (micrograd raises for 0.0)."""
        return _as_value(Tensor.__truediv__(self, other))

    def __rtruediv__(self, other: Tensor | Number) -> Value:
        """other / self."""
        return _as_value(Tensor.__rtruediv__(self, other))

    def __pow__(self, other: Tensor | Number) -> Value:
        """self ** other: a number, as in micrograd, or (an extension) a Value."""
        return _as_value(Tensor.__pow__(self, other))

    def __rpow__(self, other: Tensor | Number) -> Value:
        """other ** self (not in micrograd)."""
        return _as_value(Tensor.__rpow__(self, other))

    # ---- printing --------------------------------------------------------------------

    def __repr__(self) -> str:
        """micrograd's ``Value(data=24.70408163265306, grad=0.0)``, unrounded."""
        return f"Value(data={self.data}, grad={self.grad})"
