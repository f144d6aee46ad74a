"""Tensor's C half (pymicrograd/_tensor.c) and its type stub (pymicrograd/_C.pyi) say
the same: the API reference and type checkers read the stub, help() reads the C."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pymicrograd
from pymicrograd._core import TensorBase


def _stub_docstrings() -> dict[str, str]:
    stub = Path(pymicrograd.__file__).parent / "_C.pyi"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TensorBase"]
    out = {"": ast.get_docstring(cls) or ""}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node):
            out[node.name] = ast.get_docstring(node) or ""
    return out


def test_every_public_name_of_tensor_base_has_the_stubs_docstring():
    stub = _stub_docstrings()
    public = sorted(n for n in vars(TensorBase) if not n.startswith("_"))
    assert public == sorted(n for n in stub if n), "the stub lists other public names"
    assert inspect.getdoc(TensorBase) == stub[""]
    for name in public:
        assert inspect.getdoc(getattr(TensorBase, name)) == stub[name], name
