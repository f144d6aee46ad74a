"""The command line: python -m pymicrograd [seed|moons|spirals|yinyang|digits|neuron]."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pymicrograd.__main__ import SEED_XS, SEED_YS, main
from pymicrograd._progress import Progress

COMMANDS = ["seed", "moons", "spirals", "yinyang", "digits", "neuron"]


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def predictions(out: str) -> list[tuple[float, float]]:
    """(target, prediction) of each row of the seed command's table."""
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\[(.*?)\]\s+(\S+)\s+(\S+)$", line)
        if m:
            rows.append((float(m.group(2)), float(m.group(3))))
    return rows


def final_accuracy(out: str) -> float:
    m = re.search(r"final accuracy ([\d.]+)%", out)
    assert m, out
    return float(m.group(1)) / 100


# ---- the main job: python -m pymicrograd ------------------------------------------------


def test_main_command_trains_the_seed_example_and_prints_predictions() -> None:
    run = subprocess.run([sys.executable, "-m", "pymicrograd"], capture_output=True,
                         text=True, check=True, timeout=60)
    out = run.stdout
    assert "MLP(3, [4, 4, 1])" in out
    loss = float(re.search(r"final loss ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    assert loss < 0.05
    rows = predictions(out)
    assert [t for t, _ in rows] == SEED_YS
    for target, pred in rows:
        assert abs(pred - target) < 0.2
    # not a terminal: the progress shows as plain periodic lines with the loss
    steps = re.findall(r"^step (\d+)/100  loss [\d.]+$", out, re.M)
    assert steps[-1] == "100" and 5 <= len(steps) <= 20
    assert "\r" not in out
    assert str(SEED_XS[0]) in out


def test_seed_options_are_used(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "seed", "--steps", "3", "--lr", "0.01", "--seed", "7")
    assert status == 0
    assert "SGD lr 0.01, 3 steps, seed 7" in out
    status, out2, _ = run_main(capsys, "--steps", "3", "--lr", "0.01", "--seed", "7")
    assert predictions(out2) == predictions(out)  # no command = seed


def test_steps_zero_only_evaluates(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "--steps", "0")
    assert status == 0
    assert len(predictions(out)) == 4


@pytest.mark.parametrize("argv", [[], *([c] for c in COMMANDS)])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m pymicrograd{' ' + argv[0] if argv else ''}")
    if not argv:
        for command in COMMANDS:
            assert command in out
    if argv == ["digits"]:
        assert 'pip install "pymicrograd[digits]"' in out
    if argv and argv[0] in ("moons", "spirals", "yinyang", "digits"):
        assert "--plot" in out and 'pip install "pymicrograd[plot]"' in out
    if argv != ["neuron"]:
        assert "--save" in out and "--load" in out


def test_bad_arguments_exit_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--steps", "-1"], ["moons", "--samples", "1"], ["nope"],
                 ["--lr", "nan"], ["--lr", "x"], ["moons", "--seed", "-1"],
                 ["moons", "--seed", str(2**32)], ["moons", "--noise", "-0.1"],
                 ["spirals", "--per-class", "1"], ["yinyang", "--hidden", "0"],
                 ["digits", "--train", "0"], ["digits", "--lr", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "usage:" in capsys.readouterr().err


# ---- moons ------------------------------------------------------------------------------


def test_moons_reaches_100_percent_and_saves_a_plot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib  # noqa: F401  (the test extra installs it: a plot must not skip)
    png = tmp_path / "moons.png"
    status, out, err = run_main(capsys, "moons", "--plot", str(png))
    assert status == 0, err
    assert final_accuracy(out) == 1.0
    assert re.search(r"^step 100/100  loss [\d.]+, accuracy 100%$", out, re.M)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"decision boundary saved to {png}" in out


def test_moons_without_matplotlib_trains_and_says_how_to_get_plots(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import matplotlib` raise ImportError, as if missing
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    png = tmp_path / "moons.png"
    status, out, err = run_main(capsys, "moons", "--plot", str(png))
    assert status == 0
    assert final_accuracy(out) == 1.0
    assert not png.exists()
    assert "matplotlib" in err and 'pip install "pymicrograd[plot]"' in err
    assert "Traceback" not in err


def test_moons_no_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "moons", "--no-plot", "--steps", "5")
    assert status == 0 and err == ""
    assert list(tmp_path.iterdir()) == []
    assert "5 steps" in out


# ---- multi-class ------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "threshold"), [("spirals", 0.95), ("yinyang", 0.9)])
def test_multiclass_accuracy(command: str, threshold: float,
                             capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, command, "--no-plot")
    assert status == 0
    assert "softmax cross-entropy" in out and "Adam" in out
    assert final_accuracy(out) >= threshold


def test_spirals_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib  # noqa: F401  (the test extra installs it: a plot must not skip)
    png = tmp_path / "s.png"
    status, _, _ = run_main(capsys, "spirals", "--steps", "5", "--plot", str(png))
    assert status == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


# ---- digits -----------------------------------------------------------------------------


def digits_accuracy(out: str) -> float:
    """The test accuracy a digits run printed, checked against its count."""
    m = re.search(r"^test accuracy ([\d.]+)% \((\d+)/(\d+) digits\)$", out, re.M)
    assert m, out
    assert round(100 * int(m.group(2)) / int(m.group(3)), 1) == float(m.group(1))
    return float(m.group(1)) / 100


def test_digits_learns_from_a_small_subset_and_saves_and_loads(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sklearn  # noqa: F401  (the test extra installs it: the command must not skip)
    path = tmp_path / "digits.json"
    # 300 of the 1,437 training digits, 60 steps: about a second, and far above chance
    # (10%): 82% here (76% to 88% over seeds 0 to 2 after 40 to 60 steps)
    status, out, err = run_main(capsys, "digits", "--train", "300", "--steps", "60",
                                "--no-plot", "--save", str(path))
    assert status == 0, err
    assert "on 300 of scikit-learn's 8x8 digits" in out and "testing on 360 others" in out
    assert re.search(r"^60 steps in [\d.]+ m?s \([\d.]+ ms per step\)$", out, re.M)
    accuracy = digits_accuracy(out)
    assert accuracy >= 0.75
    assert len(json.loads(path.read_text())["parameters"]) == 64 * 32 + 32 + 33 * 10
    # another seed, no training: the same test accuracy from the file alone
    status, loaded, err = run_main(capsys, "digits", "--load", str(path), "--steps", "0",
                                   "--seed", "5", "--no-plot")
    assert status == 0, err
    assert f"loaded parameters from {path}" in loaded
    assert digits_accuracy(loaded) == accuracy


def test_digits_data_and_its_one_split() -> None:
    from pymicrograd.cli.recipes import DIGITS_TEST, _load_digits, digits_split

    X, labels = _load_digits()
    assert X.shape == (1797, 64) and X.min() == 0.0 and X.max() == 1.0  # pixels / 16
    assert sorted(set(labels)) == list(range(10))
    train, test = digits_split(1797)
    assert len(test) == DIGITS_TEST == 360 and len(train) == 1437
    assert sorted(train + test) == list(range(1797))  # disjoint, every digit used
    assert digits_split(1797) == (train, test)  # fixed: no seed of the run changes it
    assert digits_split(1797, 100) == (train[:100], test)  # --train: a prefix, same test
    assert min(sum(labels[i] == c for i in test) for c in range(10)) >= 20  # every class


def test_digits_plot_shows_digits_and_a_confusion_matrix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib  # noqa: F401  (the test extra installs it: a plot must not skip)
    png = tmp_path / "d.png"
    status, out, err = run_main(capsys, "digits", "--train", "100", "--steps", "3",
                                "--plot", str(png))
    assert status == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"test digits and confusion matrix saved to {png}" in out


def test_digits_without_scikit_learn_names_the_extra(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import sklearn...` raise ImportError, as if missing
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "digits")
    assert status == 2 and out == ""
    assert err == ('python -m pymicrograd: error: the digits command needs scikit-learn: '
                   'pip install "pymicrograd[digits]"\n')
    assert list(tmp_path.iterdir()) == []


# ---- save / load ------------------------------------------------------------------------


def test_seed_save_then_load_gives_the_same_predictions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seed.json"
    status, trained, _ = run_main(capsys, "--save", str(path))
    assert status == 0 and f"saved parameters to {path}" in trained
    state = json.loads(path.read_text())
    assert len(state["parameters"]) == 41
    # another seed, no training: the predictions come from the file alone
    status, loaded, _ = run_main(capsys, "--load", str(path), "--steps", "0", "--seed", "99")
    assert status == 0 and f"loaded parameters from {path}" in loaded
    assert predictions(loaded) == predictions(trained)


def test_moons_save_then_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "moons.json"
    assert run_main(capsys, "moons", "--no-plot", "--save", str(path))[0] == 0
    status, out, _ = run_main(capsys, "moons", "--no-plot", "--load", str(path),
                              "--steps", "0")
    assert status == 0
    assert final_accuracy(out) == 1.0


def test_load_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_file = tmp_path / "seed.json"
    assert run_main(capsys, "--steps", "1", "--save", str(seed_file))[0] == 0
    status, _, err = run_main(capsys, "moons", "--no-plot", "--load", str(seed_file))
    assert status == 2
    assert f"cannot load parameters from {seed_file}" in err and "Traceback" not in err
    status, _, err = run_main(capsys, "--load", str(tmp_path / "missing.json"))
    assert status == 2 and "cannot load parameters" in err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    status, _, err = run_main(capsys, "--load", str(garbage))
    assert status == 2 and "not a JSON state dict" in err


# ---- bad arguments and outputs are usage errors before training --------------------------


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The error line of a usage error (exit status 2) that happened before any training."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert out == ""  # nothing trained, nothing printed
    assert err.startswith("usage: python -m pymicrograd") and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error: " in last
    return last


@pytest.mark.parametrize("argv", [["--lr", "-1"], ["seed", "--lr", "-1"],
                                  ["spirals", "--lr", "-0.5"], ["yinyang", "--lr", "-1"],
                                  ["moons", "--alpha", "-1"], ["spirals", "--alpha", "-1"]])
def test_a_negative_learning_rate_or_penalty_is_a_usage_error(
        argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a command that did train would plot into the folder
    option = argv[-2]
    assert f"argument {option}: must be >= 0, got {argv[-1]}" in usage_error(capsys, *argv)


@pytest.mark.parametrize("argv", [["--steps", "5", "moons"], ["--seed", "3", "seed"],
                                  ["--save", "x.json", "spirals"], ["--lr", "1", "neuron"]])
def test_options_before_the_command_are_a_usage_error(
        argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # they were silently replaced by the command's defaults (--steps 5 moons ran 100)
    monkeypatch.chdir(tmp_path)
    error = usage_error(capsys, *argv)
    assert f"{argv[0]} given before the command {argv[2]!r}: options go after it" in error
    assert list(tmp_path.iterdir()) == []


def test_moons_trains_any_number_of_steps_and_saves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # lr 1.0 - 0.9k/100 went negative at step 112 and the run crashed before --save
    path = tmp_path / "moons.json"
    status, out, err = run_main(capsys, "moons", "--steps", "150", "--no-plot",
                                "--save", str(path))
    assert status == 0, err
    assert "SGD lr 1.0 - 0.9k/150, 150 steps" in out
    assert f"saved parameters to {path}" in out and path.exists()


def test_a_plot_path_without_extension_reports_the_file_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib  # noqa: F401  (the test extra installs it: a plot must not skip)
    status, out, _ = run_main(capsys, "moons", "--steps", "1", "--plot", str(tmp_path / "b"))
    assert status == 0
    assert [p.name for p in tmp_path.iterdir()] == ["b.png"]
    assert f"decision boundary saved to {tmp_path / 'b.png'}" in out


def test_a_plot_format_matplotlib_cannot_write_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib  # noqa: F401  (the supported formats come from matplotlib)
    error = usage_error(capsys, "spirals", "--plot", str(tmp_path / "regions.foo"))
    assert "argument --plot: matplotlib cannot save a plot as .foo" in error
    assert "png" in error and "svg" in error and "pdf" in error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--save", "--plot"])
@pytest.mark.parametrize(("where", "problem"), [("missing/out.png", "there is no folder"),
                                                (".", "it is a folder")])
def test_an_output_path_that_cannot_be_written_is_a_usage_error_before_training(
        option: str, where: str, problem: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / where
    error = usage_error(capsys, "moons", option, str(path))
    assert f"argument {option}: cannot write {path}: {problem}" in error
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("argv", [["moons", "--no-plot", "--steps", "5"], ["--steps", "5"]])
def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status(argv: list[str]) -> None:
    # as with `| head` once head has its lines: the reading end is already closed
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = subprocess.run([sys.executable, "-m", "pymicrograd", *argv], stdout=write_end,
                             stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert run.stderr == ""  # no traceback, no "Exception ignored" message
    assert run.returncode == 128 + 13  # what a shell reports for a program SIGPIPE ended


# ---- the package's structure ---------------------------------------------------------------


def test_every_training_command_trains_through_the_one_loop(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from pymicrograd.cli import training

    optimizers = []
    loop = training.train

    def spy(recipe: Any, optimizer: Any, steps: int) -> None:
        optimizers.append(type(optimizer).__name__)
        loop(recipe, optimizer, steps)

    monkeypatch.setattr(training, "train", spy)
    for argv in (["--steps", "2"], ["seed", "--steps", "2"],
                 *([command, "--steps", "2", "--no-plot"]
                   for command in ("moons", "spirals", "yinyang")),
                 ["digits", "--steps", "2", "--train", "20", "--no-plot"]):
        assert run_main(capsys, *argv)[0] == 0
    assert optimizers == ["SGD", "SGD", "SGD", "Adam", "Adam", "Adam"]


# ---- the progress bar -------------------------------------------------------------------


def test_progress_redraws_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    bar = Progress(3, stream=out, tty=True, width=6)
    for k in range(3):
        bar.update(k + 1, f"loss {k}")
    bar.close()
    text = out.getvalue()
    assert text.startswith("\r[##----] 1/3  loss 0")
    assert text.endswith("\r[######] 3/3  loss 2\n")
    assert text.count("\n") == 1


def test_progress_plain_lines_elsewhere() -> None:
    out = io.StringIO()
    bar = Progress(25, stream=out, tty=False)
    for k in range(25):
        bar.update(k + 1, "x")
    bar.close()
    assert out.getvalue().splitlines() == [f"step {k}/25  x" for k in (2, 4, 6, 8, 10, 12,
                                                                        14, 16, 18, 20, 22,
                                                                        24, 25)]


# ---- the examples -------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(("script", "args", "expect"), [
    ("seed_training.py", [], r"step 100  loss 0\.00"),
    ("moons.py", ["--steps", "100"], r"final accuracy 100%"),
    ("moons.py", ["--style", "batched", "--steps", "100"], r"final accuracy 100%"),
    ("spirals.py", ["--steps", "60"], r"predicts the same: True"),
])
def test_examples_run(script: str, args: list[str], expect: str, tmp_path: Path) -> None:
    if script == "spirals.py":
        args = [*args, "--save", str(tmp_path / "s.json")]
    run = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert re.search(expect, run.stdout), run.stdout
