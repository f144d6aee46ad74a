"""The one module that owns the cffi handle to the C core.

Everything else in pymicrograd reaches C through the names exported here, so the
translation of C failures into Python exceptions, and the rule for owning C objects,
live in one place.

Ownership. Every C object that Python holds is owned by a Python object that gives
it back with the C function for that, when the last holder goes: no Python
``__del__``, which a KeyboardInterrupt could stop half-way (leaking the object and
swallowing the interrupt). A Tensor owns its node in its C half, `TensorBase`
(pymicrograd/_tensor.c, compiled into ``_C`` and installed below), which makes a
node and its owner in one C function. Everything else (a layer, an optimizer, an
array of nodes, a node on its way to a Tensor) is an ``ffi.gc`` pointer; whoever
holds that pointer object shares it.

Interrupts. Python runs signal handlers (Ctrl-C's KeyboardInterrupt) when a call
returns to Python code. A C constructor's raw result, caught there before
``ffi.gc`` holds it, would be lost and leak. So constructors are called through
``map``, unpacked into a name (``node, = map(fn, (a,), (b,))``): map calls the
function inside C, and unpacking and storing run no handler, so the result is
already in a local when the next handler can run; ``ffi.gc`` then takes it with
nothing between that could raise. The helpers below do this. (Per op that cost 1.5x
in graph building, and is why Tensor's ops are C.)

Failures. A C constructor returns NULL only when memory runs out (arguments are
checked before the call), and a C call that can fail returns a status: both become
the exceptions below, with one text per failure (`out_of_memory`, `check_status`).

Numbers. Every plain number that comes in (an operand, a leaf's value, an input, a
target, a learning rate) is converted by one rule, `as_float`: any ``numbers.Real``
becomes ``float(x)``. So a bool is 0.0 or 1.0, as in Python arithmetic
(``1.0 + True == 2.0``); numpy's scalars (float64, float32, int64, ...) are real
numbers and are taken at their value; ``Fraction`` too (numpy's ``bool_`` is not
registered as a number by numpy, so it is refused). Anything else is a
TypeError naming the argument, and an int too large for a double is an
OverflowError naming the argument. A count, a size, a seed or a class label is an
index, not a number: `is_index` takes an int (numpy's too) but not a bool, since
``MLP(True, ...)`` is a slip, not a size. (A state file's parameters are JSON, where
``true`` is not a number either: _state_file checks them.)
"""

from __future__ import annotations

import math
import numbers
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, SupportsIndex, TypeGuard

try:
    from ._C import ffi, lib
except ModuleNotFoundError as e:
    if e.name != f"{__package__}._C":
        raise
    # Typically a source checkout that shadows an installed copy: `python -m pymicrograd`
    # run from the checkout's top folder after a plain `pip install .`.
    raise ImportError(
        f"pymicrograd's C core (pymicrograd._C) is not built in {Path(__file__).parent}: "
        "run `pip install -e .` in the checkout to build it there, or run Python from "
        "another folder so that the installed pymicrograd is imported") from e

__all__ = [
    "TensorBase",
    "as_float",
    "call_filling",
    "call_filling_array",
    "check_status",
    "ffi",
    "float_or_none",
    "is_index",
    "lib",
    "live_nodes",
    "out_of_memory",
    "owned",
    "too_large",
]

_gc = ffi.gc
_map = map
_release = lib.mg_release
_release_array = lib.mg_release_array

_Real = numbers.Real


# ---- failures -----------------------------------------------------------------------


def out_of_memory(what: str) -> MemoryError:
    """The MemoryError for `what` when the C core could not allocate (NULL or MG_ENOMEM)."""
    return MemoryError(f"{what}: the C core could not allocate memory")


def check_status(status: int, what: str) -> None:
    """Raise the Python exception for a C status code; return quietly on MG_OK.

    MG_ENOMEM is `out_of_memory`, MG_EINVAL a ValueError, any other a RuntimeError.
    """
    if status == lib.MG_OK:
        return
    if status == lib.MG_ENOMEM:
        raise out_of_memory(what)
    if status == lib.MG_EINVAL:
        raise ValueError(f"{what}: invalid argument to the C core")
    raise RuntimeError(f"{what}: unknown status {status} from the C core")


# ---- numbers --------------------------------------------------------------------------


def too_large(x: object, what: str) -> OverflowError:
    """The OverflowError for a number `x` given as `what` that no double can hold."""
    if isinstance(x, int):
        size = f"an int of about {int(x.bit_length() * math.log10(2)) + 1} digits"
    else:
        size = f"a {type(x).__name__}"
    return OverflowError(f"{what} is {size}, too large for a double (the C core's float)")


def float_or_none(x: object, what: str) -> float | None:
    """`x` as a float by the one rule (module docstring), or None if it is not a number.

    For operators, which return NotImplemented for a non-number. Raises `too_large`
    for an int beyond a double.
    """
    if type(x) is float:
        return x
    if not isinstance(x, _Real):
        return None
    try:
        return float(x)
    except OverflowError:
        raise too_large(x, what) from None


def as_float(x: object, what: str) -> float:
    """`x` as a float by the one rule for plain numbers (see the module docstring).

    Raises TypeError naming `what` if `x` is not a real number, and `too_large`'s
    OverflowError for an int beyond a double.
    """
    number = float_or_none(x, what)
    if number is None:
        raise TypeError(f"{what} must be an int or float, not {type(x).__name__}")
    return number


def is_index(x: object) -> TypeGuard[SupportsIndex]:
    """True if `x` is an int (any ``numbers.Integral``, numpy's too) but not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


# ---- C objects --------------------------------------------------------------------------


def live_nodes() -> int:
    """Return how many C graph nodes are alive in this process.

    A node lives while a Tensor or another node refers to it; once nothing does, it
    is freed at once. Tests use this count to prove that nothing leaks.
    """
    return int(lib.mg_live_nodes())


def node_address(node: Any) -> int:
    """Return the address of a C node as an int (for identity and hashing)."""
    return int(ffi.cast("uintptr_t", node))


def owned(fn: Callable[..., Any], *args: Any, what: str,
          free: Callable[[Any], None] = _release) -> Any:
    """Call the C constructor ``fn(*args)``; return its result owned by Python.

    The result is an ``ffi.gc`` pointer that calls ``free`` (mg_release by default)
    when the last Python object holding it goes. NULL raises MemoryError naming
    `what` (the C core returns NULL on valid arguments only when memory runs out).
    """
    result, = _map(fn, *zip(args))   # no signal handler can run before it is stored
    if not result:
        raise out_of_memory(what)
    return _gc(result, free)


def call_filling(fn: Callable[..., int], *args: Any, what: str) -> list[Any]:
    """Call ``fn(*args)``, whose last argument is an ``mg_node *[]`` it fills.

    Returns the nodes it put there, owned by Python (see `owned`); raises the
    exception of a failed status after giving back whatever `fn` left in the array.
    """
    out = args[-1]
    taking = _map(_gc, out, repeat(_release, len(out)))   # made before the call, so
    status, = _map(fn, *zip(args))                         # that nothing runs between
    nodes = list(taking)                                   # it and taking its results
    check_status(status, what)
    return nodes


def call_filling_array(fn: Callable[..., int], *args: Any, n: int, what: str) -> Any:
    """Call ``fn(*args, nodes)``, which fills ``nodes``, an ``mg_node *[]`` of `n`.

    Returns that array owned by Python as one object: its nodes are given back in one
    C call (mg_release_array) when the last holder goes. The array has a NULL after
    its `n` nodes, where mg_release_array stops, and is owned before the call, so
    nothing can run between `fn` filling it and Python owning what it filled; `fn`
    must fill a prefix (the nodes it made, then NULLs). Raises the exception of a
    failed status after giving back whatever `fn` left there.
    """
    nodes = _gc(ffi.new("mg_node *[]", n + 1), _release_array)
    status, = _map(fn, *zip((*args, nodes)))
    check_status(status, what)
    return nodes


# ---- Tensor's C half ------------------------------------------------------------------

def _install_tensor_base() -> type:
    """TensorBase, from pymicrograd/_tensor.c (compiled into _C; the file says why C).

    The C code reads `float_or_none`, `as_float` and `out_of_memory` from this module,
    so that numbers and failures keep their one rule and their one text.
    """
    namespace = {"float_or_none": float_or_none, "as_float": as_float,
                 "out_of_memory": out_of_memory}
    # The C function takes the dict's address: id() is that address in CPython.
    if lib.mg__py_install(ffi.cast("void *", id(namespace))) != 0:
        raise ImportError("pymicrograd._C could not make its Tensor type (see above)")
    return namespace["TensorBase"]  # type: ignore[return-value]


if TYPE_CHECKING:
    from ._C import TensorBase
else:
    TensorBase = _install_tensor_base()
