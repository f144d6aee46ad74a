"""The engine: a scalar `Tensor` whose graph lives in the C core.

Each Tensor wraps one C node (csrc/mg.h) through an ``ffi.gc`` pointer that owns one
reference to it (_core.py says why, and how a result is taken without a window for
Ctrl-C). Arithmetic builds new nodes in C; `backward()` runs reverse-mode
differentiation in C. Besides that pointer, a Tensor keeps only what Python adds on
top: the children it has handed out and any attribute you set (a label). Those refer
down the graph, never up, so wrappers form no reference cycles.
"""

from __future__ import annotations

import copy
import weakref
from itertools import starmap
from typing import Any, Callable, TypeVar, Union

from ._core import (
    as_float,
    check_status,
    ffi,
    float_or_none,
    lib,
    node_address,
    out_of_memory,
    owned,
    too_large,
)

__all__ = ["Number", "Tensor", "Value"]

Number = Union[int, float]
"""A plain number operand: an int or float (any ``numbers.Real``: _core.as_float's rule)."""

_T = TypeVar("_T", bound="Tensor")

# Looked up once: every op below is on the hot path of graph building.
_new = object.__new__
_map = map
_starmap = starmap
_gc = ffi.gc
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


# Tensors by node, for `children` to hand out again: those given a label (so that a
# picture shows the names) and those `children` made (so that a node reached from two
# parents is one object, as micrograd's draw_dot needs). Weak: an entry goes with its
# Tensor, and only then can its node, and so its address, go.
_named: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


class Tensor:
    """A scalar value in a computation graph, with the gradient backward() gives it.

    ``Tensor(2.0)`` makes a leaf. Arithmetic with other Tensors or plain numbers
    (``+ - * / **`` and unary ``-``, on either side) and the methods ``tanh``,
    ``relu``, ``exp``, ``log`` and ``sigmoid`` make new Tensors that remember how they
    were made. ``backward()`` then fills in ``.gradient`` on every Tensor that
    contributed to the result.

    Tensors compare and hash by node identity, like micrograd's ``Value``: two
    Tensor objects are equal when they wrap the same graph node. A Tensor takes any
    attribute you set (``t.label = "a"``, as in karpathy's lecture); `label` is ''
    until then. A numpy array combines with a Tensor elementwise into an array of
    Tensors (dtype object), as with micrograd's Value.
    """

    # _sources: the Tensors this one's children are taken from (see `children`); a
    # __dict__ (made on the first attribute set) for labels and the user's attributes.
    __slots__ = ("__dict__", "__weakref__", "_node", "_sources")

    @property
    def label(self) -> str:
        """A name for pictures (`viz.draw_dot`); '' unless set.

        The node keeps it: a Tensor that `children` hands out for this node later is
        this very object, as long as it lives.
        """
        return getattr(self, "__dict__", {}).get("_label", "")  # type: ignore[no-any-return]

    @label.setter
    def label(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"label must be a str, not {type(text).__name__}")
        self.__dict__["_label"] = text
        _named[node_address(self._node)] = self

    def __init__(self, value: Number, label: str = "") -> None:
        """Make a leaf holding ``value`` (an int or float); its gradient starts at 0."""
        if type(value) is not float:
            value = as_float(value, f"{type(self).__name__}(value)")
        if hasattr(self, "_node"):   # a Tensor hashes by its node: it never changes
            raise RuntimeError(f"this {type(self).__name__} is already initialized")
        self._node = owned(_leaf, value, what=type(self).__name__)
        if label:
            self.label = label

    @classmethod
    def _leaf_with(cls: type[_T], value: float, gradient: float) -> _T:
        """A new leaf of this class holding `value` and `gradient` (copies and pickles)."""
        out = _new(cls)
        out._node = owned(_leaf, value, what=cls.__name__)
        _set_grad(out._node, gradient)
        return out

    # ---- copies and pickles, with PyTorch's meanings ---------------------------------

    def __copy__(self: _T) -> _T:
        """Another Python object for the same node (it shares the node's ownership)."""
        out = _new(type(self))
        out._node = self._node
        return out

    def __deepcopy__(self: _T, memo: dict[int, Any]) -> _T:
        """An independent leaf with this leaf's value and gradient.

        Raises RuntimeError for a Tensor computed from others, as PyTorch does: a
        copy of one node of a graph has no meaning on its own.
        """
        self._check_leaf("deepcopy")
        out = self._leaf_with(self.value, self.gradient)
        if getattr(self, "__dict__", None):
            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle a leaf as its value, gradient and attributes.

        Raises RuntimeError for a computed Tensor, as `__deepcopy__` does.
        """
        self._check_leaf("pickle")
        return (_unpickle_leaf, (type(self), self.value, self.gradient),
                getattr(self, "__dict__", None) or None)

    def _check_leaf(self, action: str) -> None:
        if lib.mg_op_of(self._node) != lib.MG_OP_LEAF:
            raise RuntimeError(
                f"cannot {action} a {type(self).__name__} computed by {self.op!r}: only "
                "leaves (Tensors made with Tensor(value), parameters) can be copied or "
                "pickled on their own; copy or pickle the model, or the leaves, instead")

    # ---- value and gradient ----------------------------------------------------------

    @property
    def value(self) -> float:
        """The forward value. Writable: ``p.value -= lr * p.gradient`` updates a leaf."""
        return _value(self._node)  # type: ignore[no-any-return]

    @value.setter
    def value(self, v: Number) -> None:
        _set_value(self._node, v if type(v) is float else as_float(v, "value"))

    @property
    def gradient(self) -> float:
        """d(root)/d(self) summed over every backward() call so far; writable (reset to 0)."""
        return _grad(self._node)  # type: ignore[no-any-return]

    @gradient.setter
    def gradient(self, g: Number) -> None:
        _set_grad(self._node, g if type(g) is float else as_float(g, "gradient"))

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

        A plain number operand is not a child: see `constant`. Asked twice, it gives
        the same objects; where this Tensor's op recorded its operands (compat's
        `Value` does), they are the very objects the op was given.
        """
        node = self._node
        known = {node_address(t._node): t for t in getattr(self, "_sources", ())
                 if isinstance(t, Tensor)}
        out = []
        for i in range(lib.mg_child_count(node)):
            address = node_address(lib.mg_child(node, i))
            child = known.get(address) or _named.get(address)
            if child is None:
                child = _new(self.__class__)
                child._node = owned(lib.mg_retain, lib.mg_child(node, i), what="children")
                known[address] = _named[address] = child   # one object for all parents
            out.append(child)
        self._sources = tuple(out)   # the same objects next time
        return self._sources

    @property
    def constant(self) -> float | None:
        """The plain number folded into this node (the 2 in ``t * 2``), else None."""
        if lib.mg_op_has_constant(lib.mg_op_of(self._node)):
            return lib.mg_constant(self._node)  # type: ignore[no-any-return]
        return None

    def backward(self) -> None:
        """Add d(self)/d(node) to the gradient of every node self depends on.

        The gradients add up: a second call adds the derivative once more (reset
        them to 0 in between to start over). Raises MemoryError if the C core cannot
        get the temporary memory it needs; no gradient has changed then.
        """
        check_status(lib.mg_backward(self._node), "backward")

    def backward_step(self) -> None:
        """One step of backpropagation by hand (micrograd's ``_backward()``).

        Adds ``self.gradient * d(self)/d(child)`` to the gradient of each child,
        once; a leaf has nothing to pass on. Set the root's gradient to 1 and the
        others' to 0, then call it on every node in reverse topological order (each
        node before the nodes it was computed from), and the gradients are those
        `backward()` gives.
        """
        check_status(lib.mg_backward_step(self._node), "backward_step")

    # ---- unary ops -------------------------------------------------------------------

    def tanh(self: _T) -> _T:
        """Hyperbolic tangent; tanh(400) is exactly 1.0 with gradient 0."""
        return _unary(self, lib.mg_tanh)

    def relu(self: _T) -> _T:
        """max(self, 0); the gradient at exactly 0 is 0, as in PyTorch."""
        return _unary(self, lib.mg_relu)

    def exp(self: _T) -> _T:
        """e raised to self."""
        return _unary(self, lib.mg_exp)

    def log(self: _T) -> _T:
        """Natural logarithm: -inf at 0 and nan below 0 (IEEE, as in PyTorch)."""
        return _unary(self, lib.mg_log)

    def sigmoid(self: _T) -> _T:
        """1 / (1 + e**-self), computed without overflow for any input."""
        return _unary(self, lib.mg_sigmoid)

    def __neg__(self: _T) -> _T:
        """-self."""
        return _unary(self, lib.mg_neg)

    def __pos__(self: _T) -> _T:
        """+self is self."""
        return self

    # ---- binary ops: a Tensor or a plain number on either side -------------------------
    # The fast path tests the exact types first; a number costs no node of its own.

    def __add__(self: _T, other: Tensor | Number) -> _T:
        """self + other."""
        # _binary inlined (the hot path): see _core.py for why the node is taken so.
        t = type(other)
        out = _new(self.__class__)
        if t is float or t is int:
            try:
                node, = _starmap(_add_c, ((self._node, other),))
            except OverflowError:   # an int beyond a double (a try costs nothing in 3.11)
                raise too_large(other, "an operand of +") from None
        elif t is Tensor or isinstance(other, Tensor):
            node, = _starmap(_add, ((self._node, other._node),))  # type: ignore[union-attr]
        else:
            c = float_or_none(other, "an operand of +")
            if c is None:
                return NotImplemented
            node, = _starmap(_add_c, ((self._node, c),))
        if not node:
            raise out_of_memory("add")
        out._node = _gc(node, _release)
        return out

    def __radd__(self: _T, other: Number) -> _T:
        """other + self, for a number other."""
        return self.__add__(other)

    def __sub__(self: _T, other: Tensor | Number) -> _T:
        """self - other."""
        t = type(other)
        if t is float or t is int:
            try:
                return _binary(self, _add_c, self._node, -other)
            except OverflowError:   # an int beyond a double (a try costs nothing in 3.11)
                raise too_large(other, "an operand of -") from None
        if t is Tensor or isinstance(other, Tensor):
            return _binary(self, _sub, self._node, other._node)  # type: ignore[union-attr]
        c = float_or_none(other, "an operand of -")
        if c is None:
            return NotImplemented
        return _binary(self, _add_c, self._node, -c)

    def __rsub__(self: _T, other: Tensor | Number) -> _T:
        """other - self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _binary(self, _sub, other._node, self._node)
        c = float_or_none(other, "an operand of -")
        if c is None:
            return NotImplemented
        return _binary(self, _rsub_c, c, self._node)

    def __mul__(self: _T, other: Tensor | Number) -> _T:
        """self * other."""
        # _binary inlined (the hot path): see _core.py for why the node is taken so.
        t = type(other)
        out = _new(self.__class__)
        if t is float or t is int:
            try:
                node, = _starmap(_mul_c, ((self._node, other),))
            except OverflowError:   # an int beyond a double (a try costs nothing in 3.11)
                raise too_large(other, "an operand of *") from None
        elif t is Tensor or isinstance(other, Tensor):
            node, = _starmap(_mul, ((self._node, other._node),))  # type: ignore[union-attr]
        else:
            c = float_or_none(other, "an operand of *")
            if c is None:
                return NotImplemented
            node, = _starmap(_mul_c, ((self._node, c),))
        if not node:
            raise out_of_memory("mul")
        out._node = _gc(node, _release)
        return out

    def __rmul__(self: _T, other: Number) -> _T:
        """other * self, for a number other."""
        return self.__mul__(other)

    def __truediv__(self: _T, other: Tensor | Number) -> _T:
        """self / other; x / 0 is inf or nan as in IEEE."""
        if isinstance(other, Tensor):
            return _binary(self, _div, self._node, other._node)
        c = float_or_none(other, "an operand of /")
        if c is None:
            return NotImplemented
        return _binary(self, _div_c, self._node, c)

    def __rtruediv__(self: _T, other: Tensor | Number) -> _T:
        """other / self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _binary(self, _div, other._node, self._node)
        c = float_or_none(other, "an operand of /")
        if c is None:
            return NotImplemented
        return _binary(self, _rdiv_c, c, self._node)

    def __pow__(self: _T, other: Tensor | Number) -> _T:
        """self ** other; with a Tensor exponent, d/d(other) is self**other * ln(self)."""
        if isinstance(other, Tensor):
            return _binary(self, _pow, self._node, other._node)
        c = float_or_none(other, "an operand of **")
        if c is None:
            return NotImplemented
        return _binary(self, _pow_c, self._node, c)

    def __rpow__(self: _T, other: Tensor | Number) -> _T:
        """other ** self, for a number other (or a Tensor, when self's class is a subclass)."""
        if isinstance(other, Tensor):  # Python asks a subclass's reflected op first
            return _binary(self, _pow, other._node, self._node)
        c = float_or_none(other, "an operand of **")
        if c is None:
            return NotImplemented
        return _binary(self, _rpow_c, c, self._node)

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


def _unary(x: _T, fn: Callable[[Any], Any]) -> _T:
    """A new Tensor of x's class holding the node ``fn(x)`` makes in C."""
    out = _new(x.__class__)
    node, = _map(fn, (x._node,))   # taken as _core.owned takes a result
    if not node:
        raise out_of_memory(fn.__name__.removeprefix("mg_"))   # the op
    out._node = _gc(node, _release)
    return out


def _binary(like: _T, fn: Callable[[Any, Any], Any], a: Any, b: Any) -> _T:
    """A new Tensor of like's class holding the node ``fn(a, b)`` makes in C."""
    out = _new(like.__class__)
    node, = _starmap(fn, ((a, b),))   # taken as _core.owned takes a result
    if not node:
        raise out_of_memory(fn.__name__.removeprefix("mg_"))   # the op
    out._node = _gc(node, _release)
    return out


def _unpickle_leaf(cls: type[_T], value: float, gradient: float) -> _T:
    """Rebuild a pickled leaf (module level, as pickle needs)."""
    return cls._leaf_with(value, gradient)


def _short(x: float) -> str:
    """x rounded to 4 decimals, or in 4 significant digits when that would hide it."""
    if x == 0.0 or x != x or 1e-4 <= abs(x) < 1e16:
        return repr(round(x, 4))
    return f"{x:.4g}"


Value = Tensor
"""micrograd's name for Tensor."""
