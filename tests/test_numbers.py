"""Every plain number that comes in follows one rule (pymicrograd._core.as_float).

Any ``numbers.Real`` is taken as ``float(x)``: a bool is 0.0 or 1.0 (as in Python
arithmetic), numpy scalars and Fractions are their value. Anything else is a TypeError
(or, for an operator, Python's own TypeError after NotImplemented), and an int too
large for a double is an OverflowError that names the argument. The tests go through
every door a number comes in by: the constructor, the operators on both sides, the
value and gradient setters, a model's inputs, loss targets, hyperparameters, compat's
Value and gradcheck. A refused number leaves no node behind.
"""

from __future__ import annotations

import gc
import math
import re
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest

from pymicrograd import Tensor, gradcheck, live_nodes, losses, nn, optim
from pymicrograd.compat.engine import Value

HUGE = 10**400   # no double holds it: float(HUGE) raises OverflowError

# (number, the float it stands for)
REALS = [(True, 1.0), (False, 0.0), (np.float32(0.5), 0.5), (np.int64(-3), -3.0),
         (np.float64(0.25), 0.25), (Fraction(3, 4), 0.75), (7, 7.0)]


def _doors() -> dict[str, Callable[[Any], float]]:
    """Each way a number comes in, as a function of the number giving the float used."""
    t = Tensor(2.0)
    model = nn.MLP(2, [1], activation="linear", seed=0)
    w = [p.value for p in model.parameters()]   # w0, w1, bias

    def setter(attribute: str) -> Callable[[Any], float]:
        def put(x: Any) -> float:
            u = Tensor(0.0)
            setattr(u, attribute, x)
            return float(getattr(u, attribute))
        return put

    return {
        "Tensor()": lambda x: Tensor(x).value,
        "Value()": lambda x: Value(x).value,
        "t + x": lambda x: (t + x).value - 2.0,
        "x + t": lambda x: (x + t).value - 2.0,
        "t - x": lambda x: 2.0 - (t - x).value,
        "x - t": lambda x: (x - t).value + 2.0,
        "t * x": lambda x: (t * x).value / 2.0,
        "x * t": lambda x: (x * t).value / 2.0,
        "t / x": lambda x: 2.0 / (t / x).value if x else 0.0,
        "x / t": lambda x: (x / t).value * 2.0,
        "t ** x": lambda x: math.log2((t ** x).value),
        "x ** t": lambda x: math.sqrt((x ** t).value),
        "Value + x": lambda x: (Value(2.0) + x).value - 2.0,
        "Value / x": lambda x: 2.0 / (Value(2.0) / x).value if x else 0.0,
        "value =": setter("value"),
        "gradient =": setter("gradient"),
        "model input": lambda x: (model([x, 0.0]).value - w[2]) / w[0],
        "model input beside a Tensor": lambda x: (model([x, Tensor(0.0)]).value - w[2]) / w[0],
        "forward_batch row": lambda x: (model.forward_batch([[x, 0.0]])[0].value - w[2]) / w[0],
        "loss target": lambda x: 2.0 - losses.sse_loss([t], [x]).value ** 0.5 * (
            1.0 if float(x) <= 2.0 else -1.0),
        "l2 alpha": lambda x: losses.l2_penalty([t], x).value / 4.0,
        "optimizer lr": lambda x: optim.SGD([Tensor(0.0)], lr=x).lr,
    }


DOORS = sorted(_doors())


@pytest.mark.parametrize(("door", "number", "expected"), [
    (door, number, expected) for door in DOORS for number, expected in REALS
    # a learning rate must also be positive, a power's base here too (their own checks)
    if expected > 0.0 or door not in ("optimizer lr", "t ** x", "x ** t")], ids=repr)
def test_every_real_number_is_taken_at_its_float_value(door: str, number: Any,
                                                       expected: float) -> None:
    assert _doors()[door](number) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("door", DOORS)
def test_an_int_beyond_a_double_is_an_overflow_error_that_names_the_argument(door: str) -> None:
    fn = _doors()[door]
    gc.collect()
    before = live_nodes()
    with pytest.raises(OverflowError, match=r"is an int of about 401 digits, too large for a "
                                            r"double") as info:
        fn(HUGE)
    message = str(info.value)
    assert message.split(" is an int")[0], message   # something is named before it
    del info
    gc.collect()
    assert live_nodes() == before


@pytest.mark.parametrize(("door", "named"), [
    ("Tensor()", "Tensor(value)"), ("Value()", "Value(value)"), ("value =", "value"),
    ("gradient =", "gradient"), ("model input", "input 0"),
    ("model input beside a Tensor", "input 0"), ("forward_batch row", "X[0][0]"),
    ("loss target", "sse_loss: targets[0]"),
    ("l2 alpha", "l2_penalty: alpha"), ("optimizer lr", "lr"), ("t * x", "an operand of *"),
    ("x - t", "an operand of -"), ("t ** x", "an operand of **"),
])
def test_the_overflow_error_names_where_the_number_came_in(door: str, named: str) -> None:
    with pytest.raises(OverflowError, match="^" + re.escape(named) + " is an int"):
        _doors()[door](HUGE)


@pytest.mark.parametrize("door", DOORS)
def test_a_non_number_is_a_type_error(door: str) -> None:
    with pytest.raises(TypeError):
        _doors()[door]("1.5")


def test_a_non_number_after_a_tensor_input_is_a_type_error_naming_it() -> None:
    """Inputs are checked in order even after a Tensor (a str there became a float)."""
    model = nn.MLP(2, [1], seed=0)
    for bad, name in (("1.5", "str"), (None, "NoneType")):
        with pytest.raises(TypeError, match=f"input 1 must be an int or float, not {name}"):
            model([Tensor(0.5), bad])


def test_gradcheck_takes_its_inputs_by_the_same_rule() -> None:
    assert gradcheck(lambda a, b: a * b, [True, np.float32(0.5)])
    with pytest.raises(TypeError, match="input 1 is str"):
        gradcheck(lambda a, b: a * b, [1.0, "2"])
    with pytest.raises(OverflowError, match="gradcheck input 0 is an int"):
        gradcheck(lambda a: a * 2.0, [HUGE])
