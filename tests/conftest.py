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

``--without-torch`` skips, visibly, each test module that imports torch: for CPythons
with no CPU build of torch 2.13.0 at hand (.ci/wheels). Without the option a missing
torch is an error, as it should be in every other run.
"""

from __future__ import annotations

import os
import re
import sys
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
                     help="skip the test modules that import torch (compare with PyTorch)")


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


class _NeedsTorch(pytest.Module):
    def collect(self):
        pytest.skip(f"{self.path.name} imports torch, and this run is --without-torch")


def pytest_pycollect_makemodule(module_path, parent):
    """Under --without-torch, a module that imports torch is reported as skipped."""
    if parent.config.getoption("--without-torch") and _IMPORTS_TORCH.search(
            module_path.read_text(encoding="utf-8")):
        return _NeedsTorch.from_parent(parent, path=module_path)
    return None
