"""Shared pytest setup: hypothesis profiles, and tests/ on sys.path.

Profiles (pick one with HYPOTHESIS_PROFILE=<name>; the default is "ci" when the
environment variable CI is set, else "dev"):

- ci: few examples, derandomized, so that the whole suite runs in well under five
  minutes on two cores and every failure reproduces on the next run.
- dev: hypothesis's usual 100 examples, random, for everyday local runs.
- thorough: many examples, for a long hunt before a release.

A test that needs a different budget can still use ``@settings(...)``. Every profile
prints the reproduction blob of a failure and has no deadline (the first call into
torch or the C library can be slow, which is not a bug).

tests/ is put on sys.path so that helper modules there import by plain name
(``from docs_blocks import check_page``) whether or not tests/ is a package.

The suite runs in an empty temporary folder (a session fixture changes to it), so that
the programs tests start (``python -m pymicrograd``, ``python -c``) import the
pymicrograd that pytest imported, not the checkout's sources, which ``-m`` and ``-c``
would put first on sys.path. Run ``pytest`` rather than ``python -m pytest`` to test an
installed copy from a checkout: ``-m`` puts the checkout first for pytest itself. The
report header says which pymicrograd runs.

``--without-torch`` is for CPythons with no CPU build of torch 2.13.0 at hand
(.ci/wheels): a test module that imports torch is imported with a stand-in for it, so
its tests that never touch torch still run, and each test that does touch it is
skipped, visibly, at that point (a module that uses torch at import is skipped whole).
The stand-in is seen only by the test modules: pymicrograd itself still finds no torch.
Without the option a missing torch is an error, as it should be in every other run.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types
from pathlib import Path

import pytest
from hypothesis import settings

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True)

HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI") else "dev")
settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_addoption(parser):
    """--without-torch: see the module docstring."""
    parser.addoption("--without-torch", action="store_true",
                     help="run the tests that do not use torch; skip, visibly, those that do")


def pytest_report_header(config):
    """Show which hypothesis profile and which pymicrograd this run uses."""
    import pymicrograd

    return [f"hypothesis profile: {HYPOTHESIS_PROFILE}",
            f"pymicrograd {pymicrograd.__version__} from {Path(pymicrograd.__file__).parent}"]


@pytest.fixture(scope="session", autouse=True)
def _run_in_an_empty_folder(tmp_path_factory):
    """Every test runs in an empty folder (see the module docstring)."""
    old = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(old)


_IMPORTS_TORCH = re.compile(r"^(import|from) torch\b", re.M)
_TORCH_MODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.testing")


class _Missing:
    """A name of the torch stand-in: calling it (or anything read from it) skips."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, name):
        if name.startswith("__"):   # introspection (hypothesis, pytest): a plain miss
            raise AttributeError(name)
        return _Missing(f"{self._name}.{name}")

    def __call__(self, *args, **kwargs):
        pytest.skip(f"needs {self._name}, and this run is --without-torch",
                    allow_module_level=True)


class _NoTorch(types.ModuleType):
    """A stand-in for torch or one of its submodules: its names are `_Missing`.

    Reading a name does not skip, so that ``from torch.testing import assert_close``
    and a default argument ``dtype=torch.float64`` import; calling one does.
    """

    def __getattr__(self, name):
        if name.startswith("__"):   # import machinery and introspection: a plain miss
            raise AttributeError(name)
        return _Missing(f"{self.__name__}.{name}")


@contextlib.contextmanager
def _torch_stand_in():
    """sys.modules holds the stand-ins while a test module is imported, then as before."""
    saved = {name: sys.modules.get(name) for name in _TORCH_MODULES}
    stand_ins = {name: _NoTorch(name) for name in _TORCH_MODULES}
    for name, module in stand_ins.items():   # `import torch.nn.functional as F` and
        parent, _, child = name.rpartition(".")   # `from torch.testing import x` read
        if parent:                                # these attributes
            setattr(stand_ins[parent], child, module)
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class _WithoutTorch(pytest.Module):
    def _getobj(self):
        with _torch_stand_in():
            return super()._getobj()


def pytest_pycollect_makemodule(module_path, parent):
    """Under --without-torch, a module that imports torch gets the stand-in (see above)."""
    if parent.config.getoption("--without-torch") and _IMPORTS_TORCH.search(
            module_path.read_text(encoding="utf-8")):
        return _WithoutTorch.from_parent(parent, path=module_path)
    return None
