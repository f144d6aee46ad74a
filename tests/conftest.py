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
(``from docs_blocks import check_page``) whether or not tests/ is a package. This file
defines no fixtures.
"""

from __future__ import annotations

import os
import sys

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


def pytest_report_header(config):
    """Show which hypothesis profile this run uses."""
    return f"hypothesis profile: {HYPOTHESIS_PROFILE}"
