"""Every public name has a docstring, so the generated API reference has no blank entry.

Public means: listed in a public module's ``__all__``, and for classes every method and
property not starting with an underscore. Module-level data (``ACTIVATIONS``,
``Number``) is documented by a string right after its assignment, as the reference
generator (griffe) reads it; the test reads the source the same way.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = ["pymicrograd", "pymicrograd.engine", "pymicrograd.nn", "pymicrograd.losses",
           "pymicrograd.batch",
           "pymicrograd.optim", "pymicrograd.viz", "pymicrograd.datasets",
           "pymicrograd.interop", "pymicrograd.compat.engine", "pymicrograd.compat.nn",
           "pymicrograd.cli", "pymicrograd.cli.parsing", "pymicrograd.cli.recipes",
           "pymicrograd.cli.training", "pymicrograd.cli.plotting", "pymicrograd.cli.neuron",
           "pymicrograd.cli.errors", "pymicrograd.cli.verify", "pymicrograd.testing",
           "pymicrograd.testing.strategies", "pymicrograd.testing.checks"]


def _attribute_docstrings(module: object) -> set[str]:
    """Names assigned at module level and followed by a string literal."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())  # type: ignore[arg-type]
    documented = set()
    for stmt, nxt in zip(tree.body, tree.body[1:]):
        targets = (stmt.targets if isinstance(stmt, ast.Assign)
                   else [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(
                nxt.value.value, str):
            documented |= {t.id for t in targets if isinstance(t, ast.Name)}
    return documented


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_of_the_module_has_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    missing = []
    data_docs = _attribute_docstrings(module)
    for public in getattr(module, "__all__", []):
        obj = getattr(module, public)
        if inspect.ismodule(obj) or public == "__version__":
            continue
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            if public not in data_docs and inspect.getmodule(obj) is not module:
                continue  # data re-exported from the module that documents it
            if public not in data_docs:
                missing.append(public)
            continue
        if not inspect.getdoc(obj):
            missing.append(public)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                doc = member.__doc__ if isinstance(member, property) else getattr(
                    member, "__doc__", None)
                if callable(member) or isinstance(member, (property, staticmethod,
                                                           classmethod)):
                    if not doc:
                        missing.append(f"{public}.{attr}")
    assert not missing, f"{name}: no docstring on {missing}"
