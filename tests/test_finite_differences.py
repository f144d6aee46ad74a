"""backward() against central finite differences of pymicrograd's own forward pass.

Independent of torch: on random programs (strategies.programs), the gradient that
backward() gives EVERY node (leaves and intermediates) must equal the derivative of the
root's value with respect to that node, estimated by central differences. For an
intermediate node k, the program is re-run with node k replaced by a leaf holding
v_k +- h, which is exactly the partial derivative that reverse mode assigns to k.

Soundness: the strategy keeps every relu argument at least KINK_GAP = 0.1 from 0 and
every log / division / pow base well inside its domain, while a step moves any node
by at most a few 1e-5 (see below), so f is smooth on [v - h, v + h].

Step. Central differences have truncation error h**2 |f'''| / 6 and rounding error
about eps |f| / h; both are near eps**(2/3) (relative) for h = eps**(1/3) * scale,
so h = 2**-17 * max(1, |v|) (eps**(1/3) is about 6e-6; 2**-17 is about 7.6e-6). The
step actually taken is (v + h) - (v - h), computed exactly in floating point.

Tolerance, derived from the two error sources rather than fixed:
- truncation, measured: with D(h) the central difference, D(h) - D(h/2) is
  3/4 of D(h)'s truncation error, so D(h/2) (the estimate used) is within
  |D(h) - D(h/2)| / 3 of the derivative; the tolerance takes twice |D(h) - D(h/2)|,
  which also absorbs the independent rounding noise of the four evaluations.
- rounding, bounded: each evaluation of f rounds every node k once, by at most a
  couple of ulps of |v_k| (libm is within 1-2 ulp); summed over nodes that is
  2 eps S with S = 1 + sum_k |v_k|, and the difference quotient divides the error
  of two evaluations by 2h: eps S / h per difference. The tolerance takes 8x that.
The check is then asserted to be sharp: the tolerance must stay below 1e-5 of the
gradient's scale (measured: it is below 3e-7 on thousands of programs), so a wrong
derivative cannot hide behind it.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from strategies import Program, programs, run_program

from pymicrograd import Tensor

EPS = 2.0**-52
STEP = 2.0**-17          # about eps ** (1/3), relative to max(1, |v|)
SHARP = 1e-5             # the largest tolerance, relative to 1 + |gradient|, we accept


# Programs are cheap and are where bugs in gradient accumulation show up: run several
# times the active profile's number of examples (ci, dev or thorough; see conftest.py).
MORE_EXAMPLES = settings(max_examples=4 * settings().max_examples)


def root_value(program: Program, k: int, v: float) -> float:
    """The root's value when node k is replaced by a leaf holding v."""
    return run_program(program, Tensor, replace={k: v})[-1].value


def central_difference(program: Program, k: int, v: float, h: float) -> float:
    vp, vm = v + h, v - h
    return (root_value(program, k, vp) - root_value(program, k, vm)) / (vp - vm)


def check_against_finite_differences(program: Program) -> None:
    nodes = run_program(program, Tensor)
    nodes[-1].backward()
    values = [n.value for n in nodes]
    grads = [n.gradient for n in nodes]
    size = 1.0 + sum(abs(v) for v in values)  # S in the module docstring
    for k, (v, g) in enumerate(zip(values, grads)):
        h = STEP * max(1.0, abs(v))
        d_h = central_difference(program, k, v, h)
        d_half = central_difference(program, k, v, h / 2)
        tol = 2.0 * abs(d_h - d_half) + 8.0 * EPS * size / h
        where = f"node v{k} = {v!r}: backward {g!r}, central difference {d_half!r}"
        assert math.isfinite(g), where
        assert tol <= SHARP * (1.0 + abs(g)), f"finite differences not sharp at {where}"
        assert abs(g - d_half) <= tol, f"{where}, tolerance {tol!r}"


@MORE_EXAMPLES
@given(programs())
def test_every_node_gradient_matches_central_differences(program):
    """d(root)/d(node) from backward() agrees with central differences, for every node."""
    check_against_finite_differences(program)


@MORE_EXAMPLES
@given(programs(max_leaves=2, max_ops=30))
def test_long_program_gradients_match_central_differences(program):
    """Same on longer programs over few leaves: many paths summed into each gradient."""
    check_against_finite_differences(program)
