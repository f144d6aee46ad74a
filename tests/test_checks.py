"""The project's gradient checks (pymicrograd.testing._suite), under the active profile.

These are the checks ``python -m pymicrograd verify`` runs on an installation; here they
run on the checkout, each with the hypothesis profile's number of examples (conftest.py).
Each one compares with torch float64 and with central differences where it can (see
the suite's docstring for what each area covers); those that use no torch also run
--without-torch.
"""

from __future__ import annotations

import pytest
from lazy_torch import torch

from pymicrograd.testing._suite import AREAS, CHECKS, Check


# a check that compares with torch needs it; one that does not (central differences
# alone) runs without it, and is given no torch
@pytest.mark.parametrize("check", [
    pytest.param(c, marks=pytest.mark.needs_torch if c.uses_torch else (),
                 id=f"{c.area}: {c.name}") for c in CHECKS])
def test_check_passes_on_every_example(check: Check) -> None:
    check.test(torch if check.uses_torch else None)


def test_every_area_has_checks_that_run_without_torch_but_optim() -> None:
    """Without torch, verify still checks every area but optim (central differences)."""
    for area in AREAS:
        without = [c for c in CHECKS if c.area == area and c.runs_without_torch()]
        assert bool(without) == (area != "optim"), area
