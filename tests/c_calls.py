"""A stand-in for the cffi ``lib`` that counts C calls, to pin "one C call per ..." claims.

Usage: ``counting = CountingLib(module.lib); monkeypatch.setattr(module, "lib", counting)``;
then ``counting.calls`` lists the names of the C functions that module called.
"""

from __future__ import annotations

from typing import Any


class CountingLib:
    """Forwards every attribute to the real lib, recording each function call's name."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._lib, name)
        if not callable(target):
            return target

        def call(*args: Any) -> Any:
            self.calls.append(name)
            return target(*args)
        return call
