"""torch for the test modules, imported at its first use in a test, not at import.

A test module takes ``from lazy_torch import F, assert_close, torch`` instead of
importing torch, so that it imports without torch, and its tests that never touch
torch run on a CPython with no CPU build of torch at hand (``pytest --without-torch``,
.ci/wheels). A test that does touch torch, here or through pymicrograd (the checks of
pymicrograd.testing, pymicrograd.interop), is marked ``@pytest.mark.needs_torch``:
--without-torch skips it, visibly. conftest.py holds the rest of the mechanism and
fails a test that reaches torch unmarked (see its docstring) from what is kept here:
`reached`, and the finder that makes torch unimportable under --without-torch.

A test that compares two numbers of pymicrograd (or one with micrograd) needs no torch
for it: `close` is pytest.approx with assert_close's float64 tolerances.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any

import pytest

in_test = False
"""True while a test runs (conftest sets it): torch is not for import or collection time."""

reached: list[str] = []
"""Where the running test reached torch (the first place only; conftest clears it)."""


def note(what: str) -> None:
    """Record, if it is the first time in this test, where `what` was reached from.

    The place is the innermost caller outside the import machinery and this file.
    """
    if reached:
        return
    frame = sys._getframe(1)
    while frame.f_back is not None and (frame.f_code.co_filename == __file__ or
                                        "importlib" in frame.f_code.co_filename):
        frame = frame.f_back
    reached.append(f"{what} at {frame.f_code.co_filename}:{frame.f_lineno}")


class _LazyModule:
    """Stands for a module of torch: each attribute read imports it (once) and reads it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):   # introspection (pytest's collection, inspect): no torch
            raise AttributeError(attr)
        if not in_test:
            raise RuntimeError(f"{self._name}.{attr} read outside a test (at import or "
                               f"collection): torch is only for the tests that need it")
        note(f"{self._name}.{attr}")
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<torch module {self._name}, imported at first use>"


torch: Any = _LazyModule("torch")
F: Any = _LazyModule("torch.nn.functional")


def assert_close(*args: Any, **kwargs: Any) -> None:
    """torch.testing.assert_close."""
    torch.testing.assert_close(*args, **kwargs)


def close(expected: Any) -> Any:
    """pytest.approx with assert_close's float64 tolerances (rtol = atol = 1e-7): for a
    comparison of numbers that needs no torch (``assert ours == close(theirs)``)."""
    return pytest.approx(expected, rel=1e-7, abs=1e-7)


class _NoTorch(importlib.abc.MetaPathFinder):
    """torch and its submodules do not import, as where torch is not installed; each try
    is noted."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] != "torch":
            return None
        note(f"import {name}")
        raise ModuleNotFoundError(f"No module named {name!r}: this run is --without-torch",
                                  name=name)


def make_torch_unimportable() -> None:
    """From now on, in this process, importing torch raises ModuleNotFoundError."""
    sys.meta_path.insert(0, _NoTorch())
