"""pymicrograd.gradcheck: passes where backward is right, reports where it is not."""

from __future__ import annotations

import doctest
import gc
import re

import pytest

import pymicrograd._gradcheck
from pymicrograd import GradcheckError, Tensor, gradcheck, live_nodes


def test_correct_gradients_pass_for_every_op() -> None:
    def f(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
        return ((a * b - c / a) ** 2 + (b ** c) + a.exp().log() * c.tanh()
                - (1 - a).sigmoid() + (b + 3.0).relu() + 2 ** c)

    assert gradcheck(f, [0.7, 1.3, -0.4]) is True


def test_a_wrong_gradient_is_reported_with_the_input_and_the_numbers() -> None:
    # x * x.value treats the second factor as a constant: backward gives x, the true
    # derivative of x**2 is 2x, so input 0 fails and input 1 (used correctly) passes.
    def f(x: Tensor, y: Tensor) -> Tensor:
        return x * x.value + y * y

    with pytest.raises(GradcheckError) as err:
        gradcheck(f, [1.5, 2.0])
    message = str(err.value)
    assert "1 of 2 inputs" in message
    assert "input 0 (x = 1.5): backward gives 1.5" in message
    assert re.search(r"the central difference (3\.0|2\.9999)", message)
    assert "input 1" not in message


def test_a_kink_is_reported_not_hidden() -> None:
    # relu at exactly 0: backward takes torch's subgradient 0, the central difference
    # sees the average slope 0.5.
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: x.relu(), [0.0])


def test_nan_gradients_fail() -> None:
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: (x - 1.0).log(), [0.5])   # log of a negative: nan


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Tensor(1.0), [])
    with pytest.raises(TypeError, match="input 1 is Tensor"):
        gradcheck(lambda a, b: a * b, [1.0, Tensor(2.0)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda a: 3.0, [1.0])  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a, [1.0], eps=0.0)


def test_gradcheck_leaves_no_node_behind() -> None:
    gc.collect()
    before = live_nodes()
    gradcheck(lambda a, b: (a * b).tanh() + a, [0.3, 0.9])
    assert live_nodes() == before


def test_docstring_example_runs() -> None:
    result = doctest.testmod(pymicrograd._gradcheck)
    assert result.attempted > 0 and result.failed == 0
