"""The one module that owns the cffi handle to the C core.

Everything else in pymicrograd reaches C through the names exported here, so the
translation of C failures into Python exceptions, and the rule for owning C objects,
live in one place.

Ownership. Every C object that Python holds (a node, a layer, an optimizer) is an
``ffi.gc`` pointer whose destructor is the C function that gives it back. Whoever
holds that pointer object shares it (a copy of a Tensor holds the same one), and
the C object is freed by C code when the last holder goes: no Python ``__del__``,
which a KeyboardInterrupt could stop half-way (leaking the node and swallowing the
interrupt).

Interrupts. Python runs signal handlers (Ctrl-C's KeyboardInterrupt) when a call
returns to Python code. A C constructor's raw result, caught there before
``ffi.gc`` holds it, would be lost and leak. So constructors are called through
``map``, unpacked into a name (``node, = map(fn, (a,), (b,))``): map calls the
function inside C, and unpacking and storing run no handler, so the result is
already in a local when the next handler can run; ``ffi.gc`` then takes it with
nothing between that could raise. The helpers below do this; engine.py inlines it
on the hot path of each op.
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import Any, Callable

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

__all__ = ["call_filling", "call_filling_array", "check_status", "ffi", "lib",
           "live_nodes", "owned"]

_gc = ffi.gc
_map = map
_release = lib.mg_release
_release_array = lib.mg_release_array

_STATUS_ERRORS: dict[int, tuple[type[Exception], str]] = {
    lib.MG_ENOMEM: (MemoryError, "the C core could not allocate memory"),
    lib.MG_EINVAL: (ValueError, "invalid argument to the C core"),
}


def check_status(status: int, what: str) -> None:
    """Raise the Python exception for a C status code; return quietly on MG_OK."""
    if status != lib.MG_OK:
        exc, message = _STATUS_ERRORS.get(status, (RuntimeError, "unknown C status"))
        raise exc(f"{what}: {message} (status {status})")


def live_nodes() -> int:
    """Return how many C graph nodes are alive in this process.

    A node lives while a Tensor or another node refers to it; once nothing does, it
    is freed at once. Tests use this count to prove that nothing leaks.
    """
    return int(lib.mg_live_nodes())


def node_address(node: Any) -> int:
    """Return the address of a C node as an int (for identity and hashing)."""
    return int(ffi.cast("uintptr_t", node))


def out_of_memory(what: str) -> MemoryError:
    """The MemoryError for a C constructor that returned NULL after valid arguments."""
    return MemoryError(f"{what}: the C core could not allocate memory")


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
