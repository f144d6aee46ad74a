"""The README's example, the package doctest and the demo command do what they say."""

import contextlib
import doctest
import io
import re
import subprocess
import sys
from pathlib import Path

import pymicrograd

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_examples_print_what_the_readme_shows() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    for code in blocks:
        shown = [line[2:] for line in code.splitlines() if line.startswith("# ")]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(README), "exec"), {})
        assert out.getvalue().splitlines() == shown


def test_package_docstring_example_runs() -> None:
    result = doctest.testmod(pymicrograd, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_neuron_command_prints_graph_values_and_gradients() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pymicrograd", "neuron"], capture_output=True, text=True,
        check=True,
    )
    lines = run.stdout.splitlines()
    rows = {line[:15].strip(): line[15:].split() for line in lines if line[:2] in ("w1", "x1")}
    # o = tanh(x1*w1 + ...) with o = 0.7071: do/dw1 = (1 - o^2) * x1 = 1.0, do/dx1 = -1.5
    assert rows["w1"] == ["leaf", "-3.0000", "1.0000"]
    assert rows["x1"] == ["leaf", "2.0000", "-1.5000"]
    assert "o = Tensor(value=0.7071, gradient=1.0)" in lines


def test_demo_command_has_help() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pymicrograd", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0
    assert "usage: python -m pymicrograd" in run.stdout
