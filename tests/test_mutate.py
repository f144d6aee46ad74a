"""tools/mutate.py, the mutation testing tool: what it mutates, and that it leaves the
checkout alone, also when interrupted.

The mutation run itself (an hour) is not part of the suite; .ci/mutation runs a sample.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate", REPO / "tools" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mutate = load_tool()

SAMPLE = """\
static void tanh_backward(mg_node *out, double g)
{
    /* d/da = 1 - out^2 */
    A(out)->grad += g * (1.0 - out->value * out->value);
}
"""


def test_each_kind_of_mutant_of_a_derivative() -> None:
    found = {(m.operator, m.after) for m in mutate.mutants_of("x.c", SAMPLE, ["tanh_backward"])}
    expected = {
        ("+= to =", "A(out)->grad = g * (1.0 - out->value * out->value);"),
        ("flip sign", "A(out)->grad -= g * (1.0 - out->value * out->value);"),
        ("flip sign", "A(out)->grad += g * (1.0 + out->value * out->value);"),
        ("swap * and /", "A(out)->grad += g / (1.0 - out->value * out->value);"),
        ("change constant", "A(out)->grad += g * (2.0 - out->value * out->value);"),
        ("drop term", "A(out)->grad += g * (1.0 );"),
        ("drop term", "A(out)->grad += g * (- out->value * out->value);"),
        ("drop factor", "A(out)->grad += (1.0 - out->value * out->value);"),
        ("drop factor", "A(out)->grad += g * (1.0 - out->value );"),
        ("swap operands", "A(out)->grad += g * (out->value * out->value - 1.0);"),
        ("delete statement", ";"),
    }
    assert expected <= found
    assert all("/*" not in after for _, after in found)  # comments are not code


def test_every_target_exists_and_every_listed_equivalent_mutant_is_generated() -> None:
    mutants = mutate.all_mutants(REPO / "csrc")
    assert {m.file for m in mutants} == set(mutate.TARGETS)
    assert {(m.file, m.function) for m in mutants} == {
        (f, fn) for f, fns in mutate.TARGETS.items() for fn in fns}
    keys = {m.key for m in mutants}
    assert set(mutate.EQUIVALENT) <= keys, set(mutate.EQUIVALENT) - keys
    assert set(mutate.SANITIZER_ONLY) <= keys, set(mutate.SANITIZER_ONLY) - keys
    assert not set(mutate.EQUIVALENT) & set(mutate.SANITIZER_ONLY)
    assert len(keys) == len(mutants)  # a key names one mutant


def csrc_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((REPO / "csrc").iterdir()):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_removes_its_copy_and_leaves_csrc_alone(
        tmp_path: Path, signum: int) -> None:
    before = csrc_digest()
    run = subprocess.Popen([sys.executable, str(REPO / "tools" / "mutate.py"), "--files",
                            "nn.c", "--match", "sum_backward"],
                           env=dict(os.environ, TMPDIR=str(tmp_path)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # wait for the copy and the build to have started, then interrupt the build
        for _ in range(600):
            if any(tmp_path.glob("mutate-*/obj/_C_module.c")):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the tool made no copy of the sources")
        run.send_signal(signum)
        run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    # The tool's own copy is gone. (A compiler it started may leave a temporary .s file of
    # its own for a moment as it dies: not the tool's to remove.)
    assert not list(tmp_path.glob("mutate-*"))
    assert csrc_digest() == before
