"""The engine: a scalar `Tensor` whose graph lives in the C core.

Each Tensor owns one reference to one C node (csrc/mg.h). Its C half, `TensorBase`
(pymicrograd/_tensor.c), holds that reference and implements what runs per op: the
operators ``+ - * / **`` and unary ``-``, the application of a named op (``tanh`` and
the other methods here call it), ``value`` and ``gradient``, equality and hashing.
Each op makes its node and the Tensor that owns it in one C call, so no Ctrl-C can
come between them, and a Tensor gives its node back when it goes. `backward()` runs
reverse-mode differentiation in C. This class adds what Python adds on top: the
children it has handed out and any attribute you set (a label). Those refer down the
graph, never up, so wrappers form no reference cycles.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any, TypeVar, Union

from ._core import TensorBase, as_float, check_status, ffi, lib, node_address

__all__ = ["Number", "Tensor", "Value"]

Number = Union[int, float]
"""A plain number operand: an int or float (any ``numbers.Real``: _core.as_float's rule)."""

_T = TypeVar("_T", bound="Tensor")

_new = object.__new__
_cast = ffi.cast


def _unary_op(name: str) -> tuple[int, str]:
    """What TensorBase._unary takes to apply mg.h's one-operand op ``mg_<name>``."""
    return int(_cast("uintptr_t", ffi.addressof(lib, f"mg_{name}"))), name


_TANH, _RELU, _EXP, _LOG, _SIGMOID = map(_unary_op, ("tanh", "relu", "exp", "log", "sigmoid"))


# Tensors by node, for `children` to hand out again: those given a label (so that a
# picture shows the names) and those `children` made (so that a node reached from two
# parents is one object, as micrograd's draw_dot needs). Weak: an entry goes with its
# Tensor, and only then can its node, and so its address, go.
_named: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


class Tensor(TensorBase):
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
    # The node itself is held by TensorBase.
    __slots__ = ("__dict__", "__weakref__", "_sources")

    @property
    def _node(self) -> Any:
        """The node as an ``mg_node *`` for cffi calls (borrowed: valid while self lives)."""
        return _cast("mg_node *", self._address)

    @_node.setter
    def _node(self, node: Any) -> None:
        # self takes a reference of its own: `node` (typically an ffi.gc pointer that
        # owns another) stays alive during the call, and gives its own back when it goes
        self._adopt(node_address(node))

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
        _named[self._address] = self

    def __init__(self, value: Number, label: str = "") -> None:
        """Make a leaf holding ``value`` (an int or float); its gradient starts at 0."""
        if type(value) is not float:
            value = as_float(value, f"{type(self).__name__}(value)")
        self._init_leaf(value)   # RuntimeError if already made: a Tensor's node never changes
        if label:
            self.label = label

    @classmethod
    def _leaf_with(cls: type[_T], value: float, gradient: float) -> _T:
        """A new leaf of this class holding `value` and `gradient` (copies and pickles)."""
        out = _new(cls)
        out._init_leaf(value)
        out.gradient = gradient
        return out

    # ---- copies and pickles, with PyTorch's meanings ---------------------------------

    def __copy__(self: _T) -> _T:
        """Another Python object for the same node (it shares the node's ownership)."""
        out = _new(type(self))
        out._adopt(self._address)
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

    # ---- value and gradient (TensorBase's, in C) ---------------------------------------

    data = TensorBase.value
    """Alias of `value`, as micrograd names it."""
    grad = TensorBase.gradient
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
        known = {t._address: t for t in getattr(self, "_sources", ()) if isinstance(t, Tensor)}
        out = []
        for i in range(lib.mg_child_count(node)):
            address = node_address(lib.mg_child(node, i))
            child = known.get(address) or _named.get(address)
            if child is None:
                child = _new(self.__class__)
                child._adopt(address)   # self's node keeps it alive meanwhile
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

    # ---- ops ----------------------------------------------------------------------------
    # The operators + - * / ** (a Tensor or a plain number on either side) and unary -
    # are TensorBase's (in C): each result is of its Tensor operand's class (of two, the
    # more derived one). A named op is a method here, which has C apply the op's mg.h
    # function (TensorBase._unary): a new op needs nothing in C beyond the core.

    def tanh(self: _T) -> _T:
        """Hyperbolic tangent; tanh(400) is exactly 1.0 with gradient 0."""
        return self._unary(_TANH)

    def relu(self: _T) -> _T:
        """max(self, 0); the gradient at exactly 0 is 0, as in PyTorch."""
        return self._unary(_RELU)

    def exp(self: _T) -> _T:
        """e raised to self."""
        return self._unary(_EXP)

    def log(self: _T) -> _T:
        """Natural logarithm: -inf at 0 and nan below 0 (IEEE, as in PyTorch)."""
        return self._unary(_LOG)

    def sigmoid(self: _T) -> _T:
        """1 / (1 + e**-self), computed without overflow for any input."""
        return self._unary(_SIGMOID)

    # ---- identity and printing -------------------------------------------------------

    def __float__(self) -> float:
        """The value as a plain float (no graph)."""
        return self.value

    def __repr__(self) -> str:
        """``Tensor(value=0.7071, gradient=1.0)``, rounded to 4 decimals for reading."""
        return f"Tensor(value={_short(self.value)}, gradient={_short(self.gradient)})"


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
