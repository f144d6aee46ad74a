"""The engine: a scalar `Tensor` whose graph lives in the C core.

Each Tensor wraps one C node (csrc/mg.h) and holds one reference to it. Arithmetic
builds new nodes in C; `backward()` runs reverse-mode differentiation in C. The
Python object stores nothing but the node pointer, so wrappers never form reference
cycles and Python's cycle collector never has to look at a graph.
"""

from __future__ import annotations

import numbers
from typing import Any, Union

from ._core import check_status, ffi, lib, node_address

__all__ = ["Number", "Tensor", "Value"]

Number = Union[int, float]
"""A plain number operand: an int or float (numpy scalars are accepted too)."""

# Looked up once: every op below is on the hot path of graph building.
_new = object.__new__
_NULL = ffi.NULL
_release = lib.mg_release
_leaf = lib.mg_leaf
_add, _sub, _mul, _div, _pow = lib.mg_add, lib.mg_sub, lib.mg_mul, lib.mg_div, lib.mg_pow
_add_c, _mul_c, _div_c, _pow_c = (
    lib.mg_add_const,
    lib.mg_mul_const,
    lib.mg_div_const,
    lib.mg_pow_const,
)
_rsub_c, _rdiv_c, _rpow_c = lib.mg_rsub_const, lib.mg_rdiv_const, lib.mg_rpow_const
_value, _grad = lib.mg_value, lib.mg_grad
_set_value, _set_grad = lib.mg_set_value, lib.mg_set_grad


def _as_number(x: object) -> float | None:
    """Return x as a float if it is a real number (int, float, numpy scalar), else None."""
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _out_of_memory() -> MemoryError:
    return MemoryError("the C core could not allocate a graph node")


class Tensor:
    """A scalar value in a computation graph, with the gradient backward() gives it.

    ``Tensor(2.0)`` makes a leaf. Arithmetic with other Tensors or plain numbers
    (``+ - * / **`` and unary ``-``, on either side) and the methods ``tanh``,
    ``relu``, ``exp``, ``log`` and ``sigmoid`` make new Tensors that remember how they
    were made. ``backward()`` then fills in ``.gradient`` on every Tensor that
    contributed to the result.

    Tensors compare and hash by node identity, like micrograd's ``Value``: two
    Tensor objects are equal when they wrap the same graph node.
    """

    __slots__ = ("_node",)
    __array_ufunc__ = None  # numpy defers to our reflected operators (2.0 * t)

    def __init__(self, value: Number) -> None:
        """Make a leaf holding ``value`` (an int or float); its gradient starts at 0."""
        self._node = _NULL  # so that __del__ is safe if we raise below
        if type(value) is not float:
            number = _as_number(value)
            if number is None:
                raise TypeError(f"{type(self).__name__}() takes an int or float, "
                                f"not {type(value).__name__}")
            value = number
        node = _leaf(value)
        if not node:
            raise _out_of_memory()
        self._node = node

    def __del__(self, _release: Any = _release) -> None:
        # _release is bound as a default so it survives module teardown at exit
        _release(self._node)

    # ---- value and gradient ----------------------------------------------------------

    @property
    def value(self) -> float:
        """The forward value. Writable: ``p.value -= lr * p.gradient`` updates a leaf."""
        return _value(self._node)  # type: ignore[no-any-return]

    @value.setter
    def value(self, v: Number) -> None:
        _set_value(self._node, _checked_number(v, "value"))

    @property
    def gradient(self) -> float:
        """d(root)/d(self) summed over every backward() call so far; writable (reset to 0)."""
        return _grad(self._node)  # type: ignore[no-any-return]

    @gradient.setter
    def gradient(self, g: Number) -> None:
        _set_grad(self._node, _checked_number(g, "gradient"))

    data = value
    """Alias of `value`, as micrograd names it."""
    grad = gradient
    """Alias of `gradient`, as micrograd names it."""

    # ---- the graph, for teaching and pictures ----------------------------------------

    @property
    def op(self) -> str:
        """The name of the op that made this Tensor ("leaf" for a leaf), e.g. "mul"."""
        return ffi.string(lib.mg_op_name(lib.mg_op_of(self._node))).decode()  # type: ignore[no-any-return]

    @property
    def children(self) -> tuple[Tensor, ...]:
        """The Tensors this one was computed from, in operand order (empty for a leaf).

        A plain number operand is not a child: see `constant`.
        """
        node = self._node
        out = []
        for i in range(lib.mg_child_count(node)):
            child = _new(Tensor)
            child._node = lib.mg_retain(lib.mg_child(node, i))
            out.append(child)
        return tuple(out)

    @property
    def constant(self) -> float | None:
        """The plain number folded into this node (the 2 in ``t * 2``), else None."""
        if lib.mg_op_of(self._node) >= lib.MG_OP_ADD_CONST:
            return lib.mg_constant(self._node)  # type: ignore[no-any-return]
        return None

    def backward(self) -> None:
        """Add d(self)/d(node) to the gradient of every node self depends on.

        The gradients add up: a second call adds the derivative once more (reset
        them to 0 in between to start over). Raises MemoryError if the C core cannot
        get the temporary memory it needs; no gradient has changed then.
        """
        check_status(lib.mg_backward(self._node), "backward")

    # ---- unary ops -------------------------------------------------------------------

    def tanh(self) -> Tensor:
        """Hyperbolic tangent; tanh(400) is exactly 1.0 with gradient 0."""
        return _wrap(lib.mg_tanh(self._node))

    def relu(self) -> Tensor:
        """max(self, 0); the gradient at exactly 0 is 0, as in PyTorch."""
        return _wrap(lib.mg_relu(self._node))

    def exp(self) -> Tensor:
        """e raised to self."""
        return _wrap(lib.mg_exp(self._node))

    def log(self) -> Tensor:
        """Natural logarithm: -inf at 0 and nan below 0 (IEEE, as in PyTorch)."""
        return _wrap(lib.mg_log(self._node))

    def sigmoid(self) -> Tensor:
        """1 / (1 + e**-self), computed without overflow for any input."""
        return _wrap(lib.mg_sigmoid(self._node))

    def __neg__(self) -> Tensor:
        """-self."""
        return _wrap(lib.mg_neg(self._node))

    def __pos__(self) -> Tensor:
        """+self is self."""
        return self

    # ---- binary ops: a Tensor or a plain number on either side -------------------------
    # The fast path tests the exact types first; a number costs no node of its own.

    def __add__(self, other: Tensor | Number) -> Tensor:
        """self + other."""
        t = type(other)
        if t is float or t is int:
            node = _add_c(self._node, other)
        elif t is Tensor or isinstance(other, Tensor):
            node = _add(self._node, other._node)  # type: ignore[union-attr]
        else:
            c = _as_number(other)
            if c is None:
                return NotImplemented
            node = _add_c(self._node, c)
        if not node:
            raise _out_of_memory()
        out = _new(Tensor)
        out._node = node
        return out

    def __radd__(self, other: Number) -> Tensor:
        """other + self, for a number other."""
        return self.__add__(other)

    def __sub__(self, other: Tensor | Number) -> Tensor:
        """self - other."""
        t = type(other)
        if t is float or t is int:
            node = _add_c(self._node, -other)
        elif t is Tensor or isinstance(other, Tensor):
            node = _sub(self._node, other._node)  # type: ignore[union-attr]
        else:
            c = _as_number(other)
            if c is None:
                return NotImplemented
            node = _add_c(self._node, -c)
        return _wrap(node)

    def __rsub__(self, other: Tensor | Number) -> Tensor:
        """other - self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _wrap(_sub(other._node, self._node))
        c = _as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(_rsub_c(c, self._node))

    def __mul__(self, other: Tensor | Number) -> Tensor:
        """self * other."""
        t = type(other)
        if t is float or t is int:
            node = _mul_c(self._node, other)
        elif t is Tensor or isinstance(other, Tensor):
            node = _mul(self._node, other._node)  # type: ignore[union-attr]
        else:
            c = _as_number(other)
            if c is None:
                return NotImplemented
            node = _mul_c(self._node, c)
        if not node:
            raise _out_of_memory()
        out = _new(Tensor)
        out._node = node
        return out

    def __rmul__(self, other: Number) -> Tensor:
        """other * self, for a number other."""
        return self.__mul__(other)

    def __truediv__(self, other: Tensor | Number) -> Tensor:
        """self / other; x / 0 is inf or nan as in IEEE."""
        if isinstance(other, Tensor):
            return _wrap(_div(self._node, other._node))
        c = _as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(_div_c(self._node, c))

    def __rtruediv__(self, other: Tensor | Number) -> Tensor:
        """other / self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _wrap(_div(other._node, self._node))
        c = _as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(_rdiv_c(c, self._node))

    def __pow__(self, other: Tensor | Number) -> Tensor:
        """self ** other; with a Tensor exponent, d/d(other) is self**other * ln(self)."""
        if isinstance(other, Tensor):
            return _wrap(_pow(self._node, other._node))
        c = _as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(_pow_c(self._node, c))

    def __rpow__(self, other: Tensor | Number) -> Tensor:
        """other ** self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _wrap(_pow(other._node, self._node))
        c = _as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(_rpow_c(c, self._node))

    # ---- identity and printing -------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """True when other wraps the same graph node (identity, not value)."""
        if isinstance(other, Tensor):
            return bool(self._node == other._node)
        return NotImplemented

    def __hash__(self) -> int:
        """Hash of the graph node's identity."""
        return hash(node_address(self._node))

    def __float__(self) -> float:
        """The value as a plain float (no graph)."""
        return self.value

    def __repr__(self) -> str:
        """``Tensor(value=0.7071, gradient=1.0)``, rounded to 4 decimals for reading."""
        return f"Tensor(value={_short(self.value)}, gradient={_short(self.gradient)})"


def _wrap(node: Any) -> Tensor:
    """Wrap a node a C constructor just returned (NULL means out of memory)."""
    if not node:
        raise _out_of_memory()
    out = _new(Tensor)
    out._node = node
    return out


def _checked_number(x: object, what: str) -> float:
    if type(x) is float:
        return x
    number = _as_number(x)
    if number is None:
        raise TypeError(f"{what} must be an int or float, not {type(x).__name__}")
    return number


def _short(x: float) -> str:
    """x rounded to 4 decimals, or in 4 significant digits when that would hide it."""
    if x == 0.0 or x != x or 1e-4 <= abs(x) < 1e16:
        return repr(round(x, 4))
    return f"{x:.4g}"


Value = Tensor
"""micrograd's name for Tensor."""
