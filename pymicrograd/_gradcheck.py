"""`gradcheck`: the seed's finite-difference lesson as a tool.

The derivative is the limit of (f(x + h) - f(x - h)) / 2h as h shrinks. `gradcheck`
computes that central difference for each input with a small h and compares it with
the gradient backward() gives. They agree to within rounding and truncation error
wherever f is smooth; a disagreement means a wrong backward, or an input at a kink.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable

from ._core import float_or_none
from .engine import Tensor

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """backward() and the central differences disagree; the message says where and how."""


GradcheckError.__module__ = "pymicrograd"  # tracebacks name it where users import it


def gradcheck(f: Callable[..., Tensor], inputs: Sequence[float], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check backward() against central differences; True, or GradcheckError.

    `f` takes one Tensor per input and returns a Tensor. For each input x_i the
    central difference ``(f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2 eps)``
    must match ``d f / d x_i`` from backward() within ``atol + rtol * |difference|``
    (PyTorch's gradcheck defaults). The error lists every input that disagrees, with
    both values and by how much.

    >>> gradcheck(lambda a, b: (a * b + 1.0).tanh(), [0.5, -1.5])
    True
    """
    xs = [_as_input(v, i) for i, v in enumerate(inputs)]
    if not xs:
        raise ValueError("gradcheck needs at least one input")
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")

    leaves = [Tensor(v) for v in xs]
    out = _call(f, leaves)
    out.backward()
    analytic = [leaf.gradient for leaf in leaves]

    problems = []
    for i, x in enumerate(xs):
        up = _call(f, [Tensor(x + eps if j == i else v) for j, v in enumerate(xs)]).value
        down = _call(f, [Tensor(x - eps if j == i else v) for j, v in enumerate(xs)]).value
        numeric = (up - down) / (2 * eps)
        tolerance = atol + rtol * abs(numeric)
        difference = abs(analytic[i] - numeric)
        if not difference <= tolerance:  # also catches nan
            problems.append(f"input {i} (x = {x!r}): backward gives {analytic[i]!r}, the "
                            f"central difference {numeric!r}; they differ by "
                            f"{difference:.3g}, more than the tolerance {tolerance:.3g}")
    if problems:
        raise GradcheckError(f"gradcheck failed for {len(problems)} of {len(xs)} inputs "
                             f"(eps={eps}, atol={atol}, rtol={rtol}):\n  "
                             + "\n  ".join(problems))
    return True


def _as_input(v: object, i: int) -> float:
    """Input `i` as a float, by the rule every plain number follows (_core.as_float)."""
    number = float_or_none(v, f"gradcheck input {i}")
    if number is None:
        raise TypeError(f"gradcheck inputs are plain numbers; input {i} is "
                        f"{type(v).__name__}")
    return number


def _call(f: Callable[..., Tensor], args: list[Tensor]) -> Tensor:
    out = f(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"f must return a Tensor, not {type(out).__name__}")
    return out
