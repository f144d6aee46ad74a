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

torch: a test that compares with PyTorch, directly or through pymicrograd (the checks
of pymicrograd.testing, pymicrograd.interop), is marked ``@pytest.mark.needs_torch``;
test modules take torch from tests/lazy_torch.py, which imports it at its first use in
a test, never at import (a module that imports torch itself is a collection error).
``--without-torch`` is for CPythons with no CPU build of torch 2.13.0 at hand
(.ci/wheels): it skips, visibly, each marked test, and runs every other one with torch
made unimportable (as it is there, even where torch is installed). An unmarked test
that reaches torch fails, naming where: in every run when it reads lazy_torch's torch,
and under --without-torch whatever way it tries to import torch (through pymicrograd
too), rather than pass without its reference. Without the option a missing torch is an
error for each marked test, as it should be in every run but .ci/wheels'.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import settings

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

import lazy_torch  # noqa: E402  (from tests/, on sys.path from here on)

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
                     help="skip, visibly, the tests marked needs_torch (they compare with "
                          "PyTorch) and run the others with torch unimportable")


def pytest_configure(config):
    """The needs_torch marker; under --without-torch, torch made unimportable."""
    config.addinivalue_line(
        "markers", "needs_torch: compares with PyTorch (directly or through pymicrograd): "
                   "--without-torch skips it")
    if config.getoption("--without-torch"):
        if "torch" in sys.modules:
            raise pytest.UsageError("--without-torch, but torch is imported already")
        lazy_torch.make_torch_unimportable()


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


_IMPORTS_TORCH = re.compile(r"^[ \t]*(import torch|from torch(\.\w+)* import)\b", re.M)


class _ImportsTorch(pytest.Module):
    def collect(self):
        raise self.CollectError(f"{self.path.name} imports torch: take it from lazy_torch "
                                f"(see conftest.py's docstring)")


def pytest_pycollect_makemodule(module_path, parent):
    """A test module that imports torch itself is an error (see the module docstring)."""
    if _IMPORTS_TORCH.search(module_path.read_text(encoding="utf-8")):
        return _ImportsTorch.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(config, items):
    """Under --without-torch, each test marked needs_torch is skipped, saying so."""
    if config.getoption("--without-torch"):
        skip = pytest.mark.skip(reason="needs torch, and this run is --without-torch")
        for item in items:
            if item.get_closest_marker("needs_torch"):
                item.add_marker(skip)


_torch_error: list[str] = []   # why torch does not import, once tried ("" if it does)


def pytest_runtest_setup(item):
    """Without --without-torch, a test marked needs_torch fails when torch is missing."""
    if item.get_closest_marker("needs_torch") and not item.config.getoption("--without-torch"):
        if not _torch_error:
            try:
                importlib.import_module("torch")
                _torch_error.append("")
            except ImportError as e:
                _torch_error.append(str(e))
        if _torch_error[0]:
            pytest.fail(f"needs torch, which does not import ({_torch_error[0]}): install "
                        f"the test extra, or run pytest --without-torch", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """lazy_torch's torch is for tests only; what each test reaches is noted afresh."""
    lazy_torch.in_test = True
    lazy_torch.reached.clear()
    yield
    lazy_torch.in_test = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test not marked needs_torch that reached torch fails (see the module docstring)."""
    try:
        return (yield)
    finally:
        if lazy_torch.reached and not item.get_closest_marker("needs_torch"):
            pytest.fail(f"reached torch ({lazy_torch.reached[0]}) but is not marked "
                        f"needs_torch: mark it, so that --without-torch skips it rather "
                        f"than run it without its reference", pytrace=False)
