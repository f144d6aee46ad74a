"""Module.save / load / load_state_dict: strict JSON, atomic writes, errors that name the key.

A state file is strict JSON: NaN, Infinity and numbers beyond a float are rejected both
ways, with a ValueError naming the parameter or the key. A save never truncates the
file it replaces, so a save that fails (here under a real file size limit) leaves the
previous checkpoint byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from pymicrograd import Tensor
from pymicrograd.nn import MLP, Layer, Neuron

CHECKPOINT = "model.json"


def moons_model(seed: int) -> MLP:
    return MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=seed)


def saved(tmp_path: Path, seed: int = 0) -> tuple[Path, bytes]:
    """A good checkpoint on disk, and its bytes."""
    path = tmp_path / CHECKPOINT
    moons_model(seed).save(path)
    return path, path.read_bytes()


def values(model: MLP) -> list[float]:
    return [p.value for p in model.parameters()]


# ---- a failed save keeps the previous file ----------------------------------------------

SAVE_UNDER_A_SIZE_LIMIT = textwrap.dedent("""
    import resource, signal, sys
    from pymicrograd.nn import MLP
    path, limit = sys.argv[1], int(sys.argv[2])
    model = MLP(2, [16, 16, 1], activation="relu", final_activation="linear", seed=1)
    # what a full disk or a quota does to a write: writes past `limit` bytes fail with
    # EFBIG (with SIGXFSZ ignored, the process is not killed for it)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        model.save(path)
    except OSError as e:
        print(e)
        sys.exit(3)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and SIGXFSZ are POSIX")
def test_a_save_that_hits_a_file_size_limit_leaves_the_previous_file_intact(
        tmp_path: Path) -> None:
    path, before = saved(tmp_path)
    run = subprocess.run([sys.executable, "-c", SAVE_UNDER_A_SIZE_LIMIT, str(path),
                          str(len(before) // 2)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stderr  # the save failed with an OSError ...
    assert path.read_bytes() == before  # ... and the old checkpoint is untouched
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]  # no temporary left over
    assert "File too large" in run.stdout and str(path) in run.stdout  # the error names it


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_save_that_fails_late_leaves_the_previous_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    path, before = saved(tmp_path)

    def fail(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match=r"Input/output error: .*model\.json"):
        moons_model(1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]


def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    # Guards the atomic save itself: a rename puts a new file in place, which must not
    # widen a private checkpoint's permissions (nor narrow a new file's to 0600).
    path, _ = saved(tmp_path)
    os.chmod(path, 0o600)
    moons_model(1).save(path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    fresh = tmp_path / "fresh.json"
    moons_model(1).save(fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert oct(os.stat(fresh).st_mode & 0o777) == oct(0o666 & ~umask)


def test_save_writes_a_read_only_file_exactly_when_open_would(tmp_path: Path) -> None:
    # Guards the atomic save itself: a rename would replace a read-only file that open()
    # refuses. (Root may open any file for writing, and then save may replace it too.)
    path, before = saved(tmp_path)
    os.chmod(path, 0o444)
    try:
        with open(path, "r+b"):
            open_may_write = True
    except PermissionError:
        open_may_write = False
    if open_may_write:
        moons_model(1).save(path)
        assert path.read_bytes() != before
    else:
        with pytest.raises(PermissionError, match=r"model\.json"):
            moons_model(1).save(path)
        assert path.read_bytes() == before


def test_a_saved_file_is_the_state_dict_as_json(tmp_path: Path) -> None:
    model = moons_model(3)
    path = tmp_path / "m.json"
    model.save(path)
    assert path.read_text() == json.dumps(model.state_dict()) + "\n"


# ---- save refuses what strict JSON cannot hold -----------------------------------------


@pytest.mark.parametrize(("make", "set_bad", "named"), [
    (lambda: MLP(3, [4, 4, 1], seed=0), lambda m: m.layers[1].neurons[2].w[3],
     r"parameters\(\)\[29\] \(layers\[1\]\.neurons\[2\]\.w\[3\]\) is nan"),
    (lambda: MLP(3, [4, 4, 1], seed=0), lambda m: m.layers[2].neurons[0].b,
     r"parameters\(\)\[40\] \(layers\[2\]\.neurons\[0\]\.b\) is nan"),
    (lambda: Layer(3, 2, seed=0), lambda m: m.neurons[1].w[0],
     r"parameters\(\)\[4\] \(neurons\[1\]\.w\[0\]\) is nan"),
    (lambda: Neuron(3, seed=0), lambda m: m.b, r"parameters\(\)\[3\] \(b\) is nan"),
])
def test_save_refuses_a_nan_parameter_naming_it_and_writes_nothing(
        tmp_path: Path, make: Callable[[], Any], set_bad: Callable[[Any], Tensor],
        named: str) -> None:
    model = make()
    path = tmp_path / "m.json"
    model.save(path)
    before = path.read_bytes()
    set_bad(model).value = float("nan")
    with pytest.raises(ValueError, match=named):
        model.save(path)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="nothing was written"):
        model.save(tmp_path / "new.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


@pytest.mark.parametrize("bad", [float("inf"), float("-inf")])
def test_save_refuses_infinite_parameters(tmp_path: Path, bad: float) -> None:
    model = MLP(3, [4, 1], seed=0)
    model.parameters()[0].value = bad
    with pytest.raises(ValueError, match=r"parameters\(\)\[0\] \(layers\[0\]\.neurons\[0\]"
                                         rf"\.w\[0\]\) is {bad!r}"):
        model.save(tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


# ---- load accepts strict JSON only, and names the bad key -------------------------------


def write_with_parameter(path: Path, model: MLP, index: int, json_text: str) -> None:
    """`model`'s state dict as a file, with parameters[index] written as `json_text`."""
    state = model.state_dict()
    state["parameters"][index] = "@@"
    path.write_text(json.dumps(state).replace('"@@"', json_text))


@pytest.mark.parametrize("json_text", [
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999",
    "1" + "0" * 400,   # an int a float cannot hold (float() raises OverflowError)
    "9" * 5000,        # longer than int()'s default limit on digit strings (3.11+)
])
def test_load_rejects_numbers_strict_json_cannot_hold_naming_the_key(
        tmp_path: Path, json_text: str) -> None:
    model = moons_model(0)
    before = values(model)
    path = tmp_path / "bad.json"
    write_with_parameter(path, moons_model(1), 3, json_text)
    with pytest.raises(ValueError, match=r"not a JSON state dict: parameters\[3\] is "):
        model.load(path)
    assert values(model) == before


@pytest.mark.parametrize(("key", "named"), [
    ("format", "format"), ("nouts", r"nouts\[1\]"), ("extra", r"extra\.inner\[0\]")])
def test_load_names_any_key_holding_nan(tmp_path: Path, key: str, named: str) -> None:
    state = moons_model(1).state_dict()
    if key == "nouts":
        state["nouts"][1] = "@@"
    elif key == "extra":
        state["extra"] = {"inner": ["@@"]}
    else:
        state[key] = "@@"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(state).replace('"@@"', "NaN"))
    with pytest.raises(ValueError, match=rf"{named} is NaN"):
        moons_model(0).load(path)


def test_load_rejects_deep_nesting_with_a_value_error_naming_the_key(tmp_path: Path) -> None:
    model = moons_model(0)
    before = values(model)
    depth = 100_000  # far past the recursion limit of the json module
    path = tmp_path / "deep.json"
    path.write_text('{"format": "pymicrograd.nn/1", "parameters": '
                    + "[" * depth + "]" * depth + "}")
    with pytest.raises(ValueError, match=r"parameters\[0\]\[0\]\[0\]\.\.\. holds lists or "
                                         "objects nested too deeply"):
        model.load(path)
    assert values(model) == before


def test_load_state_dict_rejects_non_finite_and_overflowing_values() -> None:
    model = moons_model(0)
    before = values(model)
    state = moons_model(1).state_dict()
    for bad, message in [(float("nan"), r"parameters\[5\] is not a finite float: nan"),
                         (float("inf"), r"parameters\[5\] is not a finite float: inf"),
                         (10**400, r"parameters\[5\] is not a finite float: an integer")]:
        params = list(state["parameters"])
        params[5] = bad
        with pytest.raises(ValueError, match=message):
            model.load_state_dict({**state, "parameters": params})
        assert values(model) == before


def test_what_save_writes_load_reads_back_exactly(tmp_path: Path) -> None:
    source, copy = moons_model(4), moons_model(5)
    source.parameters()[0].value = 1e308  # finite extremes stay finite
    source.parameters()[1].value = -5e-324
    source.save(tmp_path / "m.json")
    copy.load(tmp_path / "m.json")
    assert values(copy) == values(source)
