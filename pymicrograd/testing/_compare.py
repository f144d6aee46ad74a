"""The two comparisons every gradient check makes: with PyTorch, and with central differences.

One home for both, used by the public checks (`check_function`, `check_model`), by the
project's own checks (`_checks`) and so by ``python -m pymicrograd verify``.

The error of a number is ``|ours - reference| / (1 + |reference|)``. PyTorch's
``torch.testing.assert_close`` accepts ``|ours - reference| <= atol + rtol |reference|``
with ``atol = rtol = 1e-7`` for float64, which is exactly error <= 1e-7: one number both
decides a comparison with torch and says how close it came.

Central differences follow chapter 9 of the tutorial (docs/tutorial): a step
h = 2**-17 max(1, |x|) (about eps**(1/3), where truncation and rounding errors meet),
and a tolerance derived from both error sources instead of guessed:

- truncation, measured: with D(h) the central difference, D(h) - D(h/2) is 3/4 of
  D(h)'s truncation error, so D(h/2), the estimate used, is within |D(h) - D(h/2)| / 3
  of the derivative; the tolerance takes twice |D(h) - D(h/2)|, which also absorbs the
  independent rounding noise of the four evaluations;
- rounding, bounded: an evaluation rounds every node k of the graph once, by a couple
  of ulps of |v_k| at most, 2 eps S in all with S = 1 + sum_k |v_k|; a difference
  quotient divides the error of two evaluations by 2h, eps S / h. The tolerance takes
  8 times that.

The comparison is then required to be sharp: a tolerance above 1e-5 (1 + |gradient|)
means the function is not smooth around the input (a kink or a pole within a step)
or too ill-conditioned there, and counts as a failure, since a wrong derivative could
hide behind it. Before that verdict the step is made 8 and then 64 times smaller:
a smooth function whose third derivative is large (a log near its lower bound behind
a steep chain, say) then becomes sharp, as truncation falls 64 times per step while
rounding grows only 8 times; a kink or a pole within reach stays unsharp.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from ..engine import Tensor

__all__ = ["GradientMismatch", "Tally", "compare_with_central_differences",
           "compare_with_torch", "error", "graph_size"]

TOLERANCE = 1e-7
"""The largest error accepted against torch: assert_close's float64 rtol and atol."""
EPS = 2.0**-52
STEP = 2.0**-17
SHARP = 1e-5


class GradientMismatch(AssertionError):
    """A value or gradient of pymicrograd disagrees with torch or central differences.

    The message names every number that disagrees, with both values and the error.
    """


GradientMismatch.__module__ = "pymicrograd.testing"  # where users import it


@dataclass
class Tally:
    """How many numbers were compared with each reference, and the worst error seen."""

    torch_numbers: int = 0
    torch_worst: float = 0.0
    fd_numbers: int = 0
    fd_worst: float = 0.0

    def add(self, other: Tally) -> None:
        """Count `other`'s comparisons in this tally too."""
        self.torch_numbers += other.torch_numbers
        self.torch_worst = max(self.torch_worst, other.torch_worst)
        self.fd_numbers += other.fd_numbers
        self.fd_worst = max(self.fd_worst, other.fd_worst)


def error(ours: float, reference: float) -> float:
    """``|ours - reference| / (1 + |reference|)``; 0 for equal infinities or two nans.

    A nan on one side only, or infinities that differ, is an infinite error.
    """
    if ours == reference or (ours != ours and reference != reference):
        return 0.0
    if not (math.isfinite(ours) and math.isfinite(reference)):
        return math.inf
    return abs(ours - reference) / (1.0 + abs(reference))


def compare_with_torch(tally: Tally, what: str, labels: Sequence[str],
                       ours: Sequence[float], theirs: Sequence[float]) -> None:
    """Each of `ours` must be within assert_close's float64 tolerance of `theirs`.

    Raises GradientMismatch naming `what` and every label whose numbers disagree.
    """
    problems = []
    for label, a, b in zip(labels, ours, theirs):
        e = error(a, b)
        tally.torch_worst = max(tally.torch_worst, e)
        if not e <= TOLERANCE:
            problems.append(f"{label}: pymicrograd {a!r}, torch {b!r} (error {e:.3g})")
    tally.torch_numbers += len(labels)
    if problems:
        raise GradientMismatch(
            f"{what}: {len(problems)} of {len(labels)} numbers differ from torch float64 by "
            f"more than |a - b| <= 1e-7 (1 + |b|) allows:\n  " + "\n  ".join(problems))


def compare_with_central_differences(tally: Tally, what: str,
                                     value_at: Callable[[float], float], x: float,
                                     gradient: float, size: float) -> None:
    """`gradient` must match the central difference of `value_at` at `x`.

    `value_at(v)` is the function's value with the input (or node) at `v` instead of
    `x`; `size` is S = 1 + the sum of |value| over the nodes of the graph (rounding
    error grows with it; `graph_size` computes it). Raises GradientMismatch naming
    `what` when they differ by more than the tolerance, or when the tolerance is not
    sharp (see the module docstring).
    """
    for shrink in (1.0, 8.0, 64.0):   # a smaller step only where the first is not sharp
        h = STEP * max(1.0, abs(x)) / shrink
        d_h = _central(value_at, x, h)
        d_half = _central(value_at, x, h / 2)
        tolerance = 2.0 * abs(d_h - d_half) + 8.0 * EPS * size / h
        if tolerance <= SHARP * (1.0 + abs(gradient)):
            break
    difference = abs(gradient - d_half)
    tally.fd_numbers += 1
    where = f"{what}: backward gives {gradient!r}, the central difference {d_half!r}"
    if not math.isfinite(gradient):
        tally.fd_worst = math.inf
        raise GradientMismatch(f"{where}: the gradient is not finite")
    if not tolerance <= SHARP * (1.0 + abs(gradient)):
        raise GradientMismatch(
            f"{where}: central differences are not sharp here (tolerance {tolerance:.3g}): "
            "the function is not smooth within a step of this input (a kink or a pole "
            "nearby?) or is too ill-conditioned to check")
    tally.fd_worst = max(tally.fd_worst, difference / (1.0 + abs(gradient)))
    if not difference <= tolerance:
        raise GradientMismatch(f"{where}; they differ by {difference:.3g}, more than the "
                               f"tolerance {tolerance:.3g}")


def _central(value_at: Callable[[float], float], x: float, h: float) -> float:
    """(f(x + h) - f(x - h)) / (the step actually taken, exact in floating point)."""
    up, down = x + h, x - h
    return (value_at(up) - value_at(down)) / (up - down)


def graph_size(*roots: Tensor) -> float:
    """S = 1 + the sum of |value| over every node the roots depend on (each node once)."""
    seen: set[Tensor] = set()
    stack: list[Any] = list(roots)
    total = 1.0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        total += abs(node.value)
        stack.extend(node.children)
    return total
