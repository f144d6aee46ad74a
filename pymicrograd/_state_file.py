"""State-dict files: strict JSON, written atomically (for `Module.save` and `Module.load`).

Strict JSON means no ``NaN`` or ``Infinity`` (Python's json module writes and reads them
by default, other JSON readers reject them) and no number a float cannot hold (``1e999``,
a 400-digit integer). A file that breaks a rule is a ValueError naming the key that
holds the bad value, such as ``parameters[3]``.

Atomically means that `write` never truncates the file it replaces: it writes a
temporary file in the same folder, syncs it to disk and renames it onto the target, so
a failed save (a full disk, a file size limit) leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import numbers
import os
import secrets
import stat
from collections.abc import Sequence
from typing import Any

__all__ = ["parameter_values", "read", "write"]

# A float holds integers of at most 309 decimal digits (it overflows near 1.8e308).
# Longer digit strings are rejected before int() sees them, which is also what keeps
# int()'s own limit on long digit strings (Python 3.11+) from raising an error of its own.
_MAX_FLOAT_DIGITS = 309


# ---- writing ------------------------------------------------------------------------


def write(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a state dict to `path` as strict JSON, replacing the file atomically.

    Raises ValueError, writing nothing, when a parameter is not finite (the message
    names it); OSError when the file cannot be written, leaving any previous file at
    `path` byte for byte as it was.
    """
    parameters = state.get("parameters", [])
    for i, value in enumerate(parameters):
        if not math.isfinite(value):
            raise ValueError(f"{_parameter_label(state, i)} is {value!r}: a state file holds "
                             "only finite numbers, so nothing was written")
    text = json.dumps(state, allow_nan=False) + "\n"
    _replace_atomically(path, text)


def _parameter_label(state: dict[str, Any], i: int) -> str:
    """``parameters()[i]``, and where that parameter sits in a built-in model.

    The built-in models list their parameters layer by layer, neuron by neuron, the
    weights then the bias (micrograd's order). That order is part of the file format,
    so the shape in the state dict is enough to name the parameter.
    """
    where = _parameter_path(state, i)
    return f"parameters()[{i}]" + (f" ({where})" if where else "")


def _parameter_path(state: dict[str, Any], i: int) -> str | None:
    """``layers[1].neurons[0].w[2]``-style path of parameter `i`, or None if unknown."""
    model_type = state.get("type")
    try:
        if model_type == "Neuron":
            layers = [("", int(state["nin"]), 1)]
        elif model_type == "Layer":
            layers = [("", int(state["nin"]), int(state["nout"]))]
        elif model_type == "MLP":
            sizes = [int(state["nin"]), *(int(n) for n in state["nouts"])]
            layers = [(f"layers[{k}].", sizes[k], sizes[k + 1]) for k in range(len(sizes) - 1)]
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    if sum((nin + 1) * nout for _, nin, nout in layers) != len(state.get("parameters", [])):
        return None  # a model that describes its shape differently: the index only
    for prefix, nin, nout in layers:
        if i < (nin + 1) * nout:
            neuron, k = divmod(i, nin + 1)
            where = "b" if k == nin else f"w[{k}]"
            return where if model_type == "Neuron" else f"{prefix}neurons[{neuron}].{where}"
        i -= (nin + 1) * nout
    return None


def _replace_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Put `text` (UTF-8) at `path` through a synced temporary file and a rename.

    The temporary file is made with the mode a plain ``open(path, "w")`` would give (or
    the mode of the file it replaces), and removed again on any failure. OSErrors name
    `path`, not the temporary file.
    """
    target = os.path.realpath(path)  # through a symbolic link: update the file it points to
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        old_mode = _writable_mode(target)
        # O_EXCL: never reuse someone else's file; 0o666 minus the umask, like open()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _naming(e, path) from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if old_mode is not None:
            os.chmod(temporary, old_mode)
        os.replace(temporary, target)
    except OSError as e:
        _remove(temporary)
        raise _naming(e, path) from e
    except BaseException:  # KeyboardInterrupt too: leave no temporary file behind
        _remove(temporary)
        raise
    _sync_folder(folder)


def _remove(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def _writable_mode(target: str) -> int | None:
    """The permission bits of an existing `target` (None if there is none).

    A rename would replace even a read-only file, which ``open(path, "w")`` refuses:
    refuse it too (PermissionError), since read-only is how people protect a file.
    """
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)
    return stat.S_IMODE(st.st_mode)


def _naming(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """`error` about `path` (the file the user named) rather than the temporary file."""
    if error.errno is None:
        return error
    return OSError(error.errno, error.strerror, os.fspath(path))


def _sync_folder(folder: str) -> None:
    """Sync the folder's entry list, so that the rename itself survives a crash (POSIX).

    Errors are ignored: the new file is complete and in place whatever happens here,
    and some file systems cannot sync a folder at all.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- reading ------------------------------------------------------------------------


class _Rejected:
    """Stands in for a number strict JSON cannot hold, until its key is known."""

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_constant(text: str) -> _Rejected:
    return _Rejected(f"{text}, which is not JSON (a state file holds finite numbers)")


def _parse_float(text: str) -> float | _Rejected:
    value = float(text)
    if not math.isfinite(value):
        return _Rejected(f"{text}, beyond the largest float")
    return value


def _parse_int(text: str) -> int | _Rejected:
    too_big = _Rejected(f"an integer of {len(text.lstrip('-'))} digits, beyond the largest "
                        "float")
    if len(text.lstrip("-")) > _MAX_FLOAT_DIGITS:
        return too_big
    value = int(text)
    try:
        float(value)
    except OverflowError:
        return too_big
    return value


def read(path: str | os.PathLike[str]) -> object:
    """The JSON value in the file at `path`, read as strict JSON.

    Raises ValueError when the file is not strict JSON (the message names the key of a
    bad value, such as ``parameters[3]``), OSError when it cannot be read.
    """
    where = repr(os.fspath(path))
    with open(path, encoding="utf-8") as f:
        try:
            text = f.read()
        except UnicodeDecodeError as e:
            raise ValueError(f"{where} is not a JSON state dict: not UTF-8 text ({e})") from e
    try:
        value = json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float,
                           parse_int=_parse_int)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not a JSON state dict: {e}") from e
    except RecursionError:
        # The json module recurses once per level; a state dict nests two levels deep.
        raise ValueError(f"{where} is not a JSON state dict: {_deep_key(text)} holds "
                         "lists or objects nested too deeply") from None
    rejected = _first_rejected(value)
    if rejected is not None:
        key, number = rejected
        raise ValueError(f"{where} is not a JSON state dict: {key} is {number.why}")
    return value


def _first_rejected(value: object) -> tuple[str, _Rejected] | None:
    """The first `_Rejected` in the parsed `value` and its key path (no recursion)."""
    todo: list[tuple[str, object]] = [("", value)]
    while todo:
        key, item = todo.pop()
        if isinstance(item, _Rejected):
            return key or "the file's value", item
        if isinstance(item, dict):
            todo.extend(reversed([(f"{key}.{k}" if key else k, v) for k, v in item.items()]))
        elif isinstance(item, list):
            todo.extend(reversed([(f"{key}[{i}]", v) for i, v in enumerate(item)]))
    return None


def _deep_key(text: str, shown: int = 4) -> str:
    """The key path of the first value nested deeper than `shown` levels, abridged.

    Scans brackets and strings without parsing, so it works where json recursed too
    deep. Only called on text that the json module found nested too deeply.
    """
    path: list[str] = []
    stack: list[list[Any]] = []  # per open container: [is_list, index or last key]
    i, last_string = 0, ""
    while i < len(text) and len(stack) <= shown:
        c = text[i]
        if c == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            with contextlib.suppress(ValueError):
                last_string = json.loads(text[i:end + 1])
            i = end
        elif c == ":":
            stack[-1][1] = last_string
        elif c == ",":
            if stack and stack[-1][0]:
                stack[-1][1] += 1
        elif c in "[{":
            if stack:
                top_is_list, top_key = stack[-1]
                path.append(f"[{top_key}]" if top_is_list else
                            (f".{top_key}" if path else str(top_key)))
            stack.append([c == "[", 0])
        elif c in "]}":
            stack.pop()
            if path:
                path.pop()
        i += 1
    return "".join(path) + "..." if path else "the file's value"


# ---- checking values ----------------------------------------------------------------


def parameter_values(values: Sequence[object]) -> list[float]:
    """A state dict's ``parameters`` as floats; ValueError naming the first bad one.

    Each value must be a real number (not a bool) that is a finite float.
    """
    checked = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"the state dict's parameters[{i}] is not a number: "
                             f"{_abridged(v)}")
        try:
            number = float(v)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError(f"the state dict's parameters[{i}] is not a finite float: "
                             f"{_abridged(v)}")
        checked.append(number)
    return checked


def _abridged(value: object, limit: int = 60) -> str:
    """repr(value), shortened (a huge int's repr is long, or even an error)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
