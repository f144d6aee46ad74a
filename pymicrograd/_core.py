"""The one module that owns the cffi handle to the C core.

Everything else in pymicrograd reaches C through the names exported here, so the
translation of C failures into Python exceptions lives in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

__all__ = ["check_status", "ffi", "lib", "live_nodes"]

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
