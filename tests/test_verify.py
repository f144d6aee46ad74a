"""``python -m pymicrograd verify`` and the public API of pymicrograd.testing.

The checks themselves run in tests/test_checks.py; here: what the command prints and
returns (with and without torch, without hypothesis, on a failure), and what the
public checks report for a user's function or model, right or wrong.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from lazy_torch import F, torch

from pymicrograd import Tensor
from pymicrograd.__main__ import main
from pymicrograd.nn import MLP, Layer, Neuron
from pymicrograd.testing import (
    GradientMismatch,
    Tally,
    _suite,
    away_from,
    check_function,
    check_model,
    compare_function,
    leaves,
    reals,
)
from pymicrograd.testing._compare import compare_with_central_differences, error


def softplus(x: Tensor, *, wrong: bool = False) -> Tensor:
    """A custom op: log(1 + e**x) as one value with a hand-written derivative.

    (x - x0) * slope + value has the value `value` at x0 and the derivative `slope`.
    The right slope is sigmoid(x0); the wrong one, sigmoid(-x0), is a sign slip.
    """
    x0 = x.value
    value = max(x0, 0.0) + math.log1p(math.exp(-abs(x0)))
    slope = 1.0 / (1.0 + math.exp(x0 if wrong else -x0))
    return (x - x0) * slope + value


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300)


# ---- the command ---------------------------------------------------------------------------


@pytest.mark.needs_torch
def test_verify_passes_with_a_line_per_area_and_the_seed(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_main(capsys, "verify", "--examples", "3", "--seed", "7")
    assert status == 0, out
    assert "against torch 2.13.0" in out and "in float64 and central differences" in out
    assert "hypothesis seed 7 (to draw the same examples: python -m pymicrograd verify " \
           "--seed 7 --examples 3)" in out
    for area in _suite.AREAS:
        line = re.search(rf"^{area} +(\d+) checks +(\d+) examples +worst error: (.*) ok$",
                         out, re.M)
        assert line, (area, out)
        checks = [c for c in _suite.CHECKS if c.area == area]
        assert int(line.group(1)) == len(checks)
        assert 0 < int(line.group(2)) <= 3 * sum(c.weight for c in checks)
        assert "torch " in line.group(3)
    assert re.search(r"^passed: \d+ checks, \d+ examples$", out, re.M)
    assert list(tmp_path.iterdir()) == []  # no .hypothesis folder in the current one


@pytest.mark.needs_torch
def test_verify_reports_the_smallest_failing_example_and_exits_1(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that fails (a custom op with a wrong derivative) is reported, shrunk."""
    def wrong_op(x: float, refs: _suite.References) -> None:
        compare_function(lambda a: softplus(a, wrong=True), [x], tally=refs.tally,
                         reference=F.softplus)

    wrong = _suite.Check("losses", "wrong softplus", reals(0.5, 3.0), wrong_op)
    monkeypatch.setattr(_suite, "CHECKS", [*_suite.CHECKS, wrong])
    monkeypatch.setattr(_suite, "AREAS", ("losses",))
    status, out, _ = run_main(capsys, "verify", "--examples", "5", "--seed", "1")
    assert status == 1
    assert re.search(r"^losses +7 checks .* FAILED$", out, re.M), out
    # shrunk to the simplest failing input (hypothesis prefers integers): 1.0
    assert "  wrong softplus: smallest failing example:\n    1.0\n" in out
    assert "GradientMismatch: at a=1.0: 1 of 2 numbers differ from torch float64" in out
    assert "d/da: pymicrograd 0.2689414213699951, torch 0.7310585786300049" in out
    assert ("FAILED: 1 of 7 checks (losses: wrong softplus); rerun with python -m "
            "pymicrograd verify --seed 1 --examples 5") in out


def test_verify_without_torch_compares_with_central_differences_only() -> None:
    run = run_python("import sys; sys.modules['torch'] = None\n"
                     "from pymicrograd.__main__ import main\n"
                     "sys.exit(main(['verify', '--examples', '2', '--seed', '3']))")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "against central differences only: torch is not importable" in run.stdout
    assert re.search(r"^optim +skipped: its 3 checks need torch$", run.stdout, re.M)
    for area in ("ops", "graphs", "mlp", "losses"):
        line = re.search(rf"^{area} .* worst error: central differences \S+ +ok$",
                         run.stdout, re.M)
        assert line, (area, run.stdout)
    assert re.search(r"^passed: \d+ checks, \d+ examples \(\d+ skipped without torch\)$",
                     run.stdout, re.M)


def test_without_hypothesis_the_package_imports_and_verify_says_how_to_install_it() -> None:
    run = run_python(
        "import sys; sys.modules['hypothesis'] = None\n"
        "import pymicrograd, pymicrograd.nn, pymicrograd.cli\n"
        "try:\n"
        "    import pymicrograd.testing\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "from pymicrograd.__main__ import main\n"
        "sys.exit(main(['verify']))")
    assert run.returncode == 2
    assert run.stdout == 'pymicrograd.testing needs hypothesis: pip install "pymicrograd[verify]"\n'
    assert run.stderr == ('python -m pymicrograd verify needs hypothesis: '
                          'pip install "pymicrograd[verify]"\n')


@pytest.mark.parametrize("argv, message", [
    (["--examples", "0"], "argument --examples: must be at least 1, got 0"),
    (["--examples", "5", "--thorough"], "argument --thorough: not allowed with argument "
                                        "--examples"),
    (["--seed", "-1"], "argument --seed: must be between 0 and 2**32 - 1, got -1"),
])
def test_verify_bad_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---- pymicrograd.testing: a user's function ------------------------------------------------


@pytest.mark.needs_torch
def test_check_function_passes_a_right_function_against_both_references() -> None:
    report = check_function(lambda a, b: (a * b + 1.0).tanh() * a.relu() + (b * b + 0.5).log(),
                            away_from(0.0, 0.1, -3.0, 3.0), reals(-3.0, 3.0),
                            max_examples=30, seed=2)
    assert report.examples == 30
    assert report.references == ("torch float64", "central differences")
    assert report.tally.torch_numbers == 30 * 3  # the value and two gradients
    assert report.tally.fd_numbers == 30 * 2
    assert report.tally.torch_worst <= 1e-15
    assert str(report).startswith("30 examples (seed 2): every value and gradient agrees "
                                  "with torch float64 (worst error ")


def test_check_function_catches_a_wrong_hand_written_derivative_by_central_differences() -> None:
    """On torch tensors the custom op cannot run (.value), so torch=False: central
    differences alone see the wrong slope, and hypothesis shrinks the input."""
    with pytest.raises(GradientMismatch) as e:
        check_function(lambda a: softplus(a * 2.0, wrong=True), reals(-3.0, 3.0),
                       torch=False, seed=0)
    message = str(e.value)
    assert message.startswith("check_function(<lambda>) fails after ")
    assert "(seed 0); smallest failing input: a=" in message
    assert "GradientMismatch: d/da at a=" in message
    assert "more than the tolerance" in message


@pytest.mark.needs_torch
def test_check_function_catches_it_against_a_torch_reference_too() -> None:
    with pytest.raises(GradientMismatch, match=r"smallest failing input: a=1\.0\n"
                                               r"GradientMismatch: at a=1\.0: 1 of 2 numbers"):
        check_function(lambda a: softplus(a, wrong=True), away_from(0.0, 1.0, -2.0, 2.0),
                       reference=F.softplus, seed=0)
    report = check_function(softplus, reals(-30.0, 30.0), reference=F.softplus, seed=0)
    assert report.references == ("torch float64", "central differences")


@pytest.mark.needs_torch
def test_compare_function_inside_a_hypothesis_test_of_ones_own() -> None:
    tally = Tally()

    @given(x=reals(-3.0, 3.0))
    def test_sigmoid(x: float) -> None:
        compare_function(lambda a: a.sigmoid() * a, [x], tally=tally)

    test_sigmoid()
    assert tally.torch_numbers > 0 and tally.fd_numbers > 0


@pytest.mark.needs_torch
def test_compare_function_on_a_function_torch_cannot_run_says_to_pass_a_reference() -> None:
    with pytest.raises(TypeError, match=r"cannot run on torch tensors \(AttributeError: "
                                        r".*give compare_function a `reference`"):
        compare_function(lambda a: Tensor(2.0) * a.value, [1.0])


def test_leaves_draws_a_fresh_leaf_per_example() -> None:
    seen: list[Tensor] = []

    @given(x=leaves(reals(-1.0, 1.0)))
    def collect(x: Tensor) -> None:
        assert (x.op, x.gradient) == ("leaf", 0.0) and -1.0 <= x.value <= 1.0
        x.gradient = 1.0  # no other example may see this
        seen.append(x)

    collect()
    assert len(set(seen)) == len(seen) > 1


# ---- pymicrograd.testing: a model ---------------------------------------------------------


# factories, not models: no C node may outlive a test (test_allocation_failure)
@pytest.mark.needs_torch
@pytest.mark.parametrize("make", [lambda: MLP(3, [4, 4, 2], seed=1),
                                  lambda: MLP(2, [3, 1], "relu", seed=2),
                                  lambda: Layer(3, 2, "sigmoid", seed=3),
                                  lambda: Neuron(2, "linear", seed=4)],
                         ids=["MLP tanh", "MLP relu", "Layer sigmoid", "Neuron linear"])
def test_check_model_passes_built_in_models(make: Any) -> None:
    model = make()
    report = check_model(model, max_examples=10, seed=0)
    smooth = all(a != "relu" for a in [getattr(model, "activation", "")])
    assert report.references == ("torch float64",) + (("central differences",) if smooth
                                                       else ())
    assert report.tally.torch_numbers > 0


@pytest.mark.needs_torch
def test_check_model_reports_a_twin_that_computes_something_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pymicrograd.interop as interop

    to_torch = interop.to_torch

    def off_by_a_bit(model: Any) -> Any:
        twin = to_torch(model)
        with torch.no_grad():
            twin[0].bias[0] += 1e-6
        return twin

    monkeypatch.setattr(interop, "to_torch", off_by_a_bit)
    with pytest.raises(GradientMismatch, match=r"smallest failing input: .*\nGradientMismatch: "
                                               r"model\(x\), x Tensors, rows"):
        check_model(MLP(2, [2, 1], seed=0), max_examples=5, seed=0)


# ---- the comparisons ----------------------------------------------------------------------


def test_error_is_relative_to_one_plus_the_reference() -> None:
    assert error(1.0, 1.0) == 0.0
    assert error(3.0, 1.0) == 1.0
    assert error(float("inf"), float("inf")) == 0.0
    assert error(float("nan"), float("nan")) == 0.0
    assert error(float("nan"), 1.0) == math.inf
    assert error(float("inf"), -float("inf")) == math.inf


def test_central_differences_fail_at_a_kink_rather_than_loosen() -> None:
    relu = lambda v: max(v, 0.0)  # noqa: E731
    with pytest.raises(GradientMismatch, match="not sharp here"):  # every step crosses it
        compare_with_central_differences(Tally(), "relu at 3e-8", relu, 3e-8, 1.0, 1.0)
    # 3e-6 from the kink, the first step (2**-17) crosses it, a smaller one does not
    compare_with_central_differences(Tally(), "relu at 3e-6", relu, 3e-6, 1.0, 1.0)
    with pytest.raises(GradientMismatch, match=r"central difference 0\.5; they differ by 0\.5"):
        compare_with_central_differences(Tally(), "relu at 0", relu, 0.0, 0.0, 1.0)
    with pytest.raises(GradientMismatch, match="more than the tolerance"):
        compare_with_central_differences(Tally(), "x**2 at 1", lambda v: v * v, 1.0, 2.001,
                                         2.0)
    tally = Tally()
    compare_with_central_differences(tally, "x**2 at 1", lambda v: v * v, 1.0, 2.0, 2.0)
    assert tally.fd_numbers == 1 and tally.fd_worst < 1e-9


def test_central_differences_take_a_smaller_step_where_the_third_derivative_is_large() -> None:
    """A log near its lower bound behind a steep map (as hypothesis found in a long
    program: v25 = log(v24) with v24 = 47 v9 + ... near 0.1): smooth, but a step of
    2**-17 is too coarse for central differences to be sharp there."""
    f = lambda v: math.log(0.05 + 47.0 * (v - 0.2))  # noqa: E731
    tally = Tally()
    compare_with_central_differences(tally, "steep log", f, 0.2, 940.0, 10.0)
    assert tally.fd_worst < 1e-5
    with pytest.raises(GradientMismatch, match="more than the tolerance"):
        compare_with_central_differences(Tally(), "steep log", f, 0.2, 940.1, 10.0)


@pytest.mark.needs_torch
def test_module_doctests() -> None:
    import doctest

    import pymicrograd.testing.checks

    result = doctest.testmod(pymicrograd.testing.checks)
    assert result.attempted > 0 and result.failed == 0
