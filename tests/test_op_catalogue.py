"""The catalogue of ops: every op of the C core's table has all of its tests.

The ops come from the C core itself (mg_op_count, mg_op_name, ...), so an op added to
the table in csrc/ops.c is checked here without editing this file. For each op, the
test asks each place where a kind of test lives whether that place covers the op, and
fails naming the op when one does not. "Covers" means the op is among the nodes that
place's own tables build (each table is run here, and the graphs it makes are walked):

- torch comparison and central differences: the checks of
  pymicrograd.testing._suite, which draw their cases from BINARY_INPUTS,
  UNARY_INPUTS, NARY_INPUTS, ACTIVATIONS (central differences: SMOOTH_ACTIVATIONS),
  LOSSES and, for random programs, strategies.ALL_OPS;
- edge cases: tests/test_edges.py's EDGE_CASES and NEURON_EDGE_CASES, and the
  checkers of tests/test_loss_extremes.py;
- fuzzing: the reference of fuzz/fuzz_api.c, which must know the op's local derivative
  (the C build's fuzz replay, run with --every-op, also fails when the corpus never
  checks a backward through the op);
- the README's table of ops.

docs/tutorial/05-c-core.md ("Adding an op") tells a contributor these places; the last
test here keeps it naming them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
import test_edges
import test_loss_extremes

from pymicrograd import Tensor
from pymicrograd._core import ffi, lib
from pymicrograd.nn import MLP
from pymicrograd.testing import _suite
from pymicrograd.testing import strategies as S
from pymicrograd.viz import walk

ROOT = Path(__file__).resolve().parent.parent


def _text(c_string: Any) -> str:
    return ffi.string(c_string).decode()  # type: ignore[no-any-return]


OPS = [_text(lib.mg_op_name(op)) for op in range(lib.mg_op_count())]
"""Every op of the C core's table, by name, in enum order."""


def ops_in(*roots: Tensor) -> set[str]:
    """The ops of every node the roots depend on, the roots included."""
    return {t.op for root in roots for t in walk(root)}


# ---- what each place builds ----------------------------------------------------------


def suite_ops(activations: tuple[str, ...]) -> set[str]:
    """The ops the checks of pymicrograd.testing._suite build, with these activations."""
    built: set[str] = set()
    for op in _suite.BINARY_INPUTS:
        for form in (*S.FORMS, "same"):
            f, inputs = _suite.op_function(_suite.OpCase(op, form, 1.5, 0.5))
            built |= ops_in(f(*[Tensor(x) for x in inputs]))
    for op in _suite.UNARY_INPUTS:
        f, inputs = _suite.op_function(_suite.OpCase(op, "u", 1.5, 0.5))
        built |= ops_in(f(*[Tensor(x) for x in inputs]))
    for op in _suite.NARY_INPUTS:
        built |= ops_in(_suite._nary_node(op, [Tensor(0.5), Tensor(-1.5)], [0.25, 1.0]))
    for form, op in S.ALL_OPS:   # random programs
        operand = {"tt": (0, 1), "tn": (0, 0.5), "nt": (0.5, 1), "u": (0, None)}[form]
        program = S.Program(leaves=(1.5, 0.5), instrs=(S.Instr(form, op, *operand),))
        built |= ops_in(S.run_program(program, Tensor)[-1])
    for act in activations:
        out = MLP(2, [2, 1], act, seed=0)([0.5, -1.0])
        built |= ops_in(out)  # type: ignore[arg-type]
    for loss in _suite.LOSSES:
        case = _suite.LossCase(loss, (0.5, -1.5), (0, 1), (1.0, -1.0), (), labels=(1,),
                               classes=2, alpha=0.1)
        if loss != "hinge":
            case = case._replace(targets=(1.0, 0.0))
        built |= ops_in(_suite._loss_of(case, [Tensor(0.5), Tensor(-1.5)], None))
    return built


def _areas(flag: str) -> set[str]:
    return {check.area for check in _suite.CHECKS if getattr(check, flag)}


def torch_ops() -> set[str]:
    assert {"ops", "graphs", "mlp", "losses"} <= _areas("uses_torch")
    return suite_ops(_suite.ACTIVATIONS)


def central_difference_ops() -> set[str]:
    assert {"ops", "graphs", "mlp", "losses"} <= _areas("uses_fd")
    return suite_ops(_suite.SMOOTH_ACTIVATIONS)


def edge_case_ops(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The ops of tests/test_edges.py's tables and tests/test_loss_extremes.py's checkers."""
    built: set[str] = set()
    for param in test_edges.EDGE_CASES:
        fn, args, _ = param.values
        built |= ops_in(fn(*[Tensor(a) for a in args]))
    for _, activation, x, w, b, _ in test_edges.NEURON_EDGE_CASES:
        built |= ops_in(test_edges.neuron_node(activation, x, w, b)[0])
    # each checker of test_loss_extremes builds its loss and hands it to compare(); what
    # it builds in torch is not wanted here, so torch is a mock (no torch needed here)
    monkeypatch.setattr(test_loss_extremes, "compare",
                        lambda ours, *_: built.update(ops_in(ours)))
    monkeypatch.setattr(test_loss_extremes, "torch", MagicMock())
    monkeypatch.setattr(test_loss_extremes, "F", MagicMock())
    test_loss_extremes.check_squared([1.0, 2.0], [0.5, 0.5], mean=True)
    test_loss_extremes.check_hinge([1.0, 2.0], [1.0, -1.0])
    test_loss_extremes.check_bce([1.0, 2.0], [0.0, 1.0])
    test_loss_extremes.check_cross_entropy([[1.0, 2.0]], [1])
    test_loss_extremes.check_l2([1.0, 2.0], 0.5)
    return built


def fuzz_reference_ops() -> set[str]:
    """The ops whose local derivatives fuzz/fuzz_api.c's reference pass knows (an op
    without operands has none to know)."""
    source = (ROOT / "fuzz" / "fuzz_api.c").read_text()
    start, end = source.index("static void local_grads"), source.index("static int nary_value")
    reference = source[start:end]
    return {name for op, name in enumerate(OPS) if lib.mg_op_arity(op) == 0
            or re.search(rf"\bMG_OP_{name.upper()}\b", reference)}


def readme_ops() -> set[str]:
    """The ops with a row in the README's table of ops ("| `name` | ...")."""
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `(\w+)` \|", readme, re.M)) & set(OPS)


# ---- the catalogue -------------------------------------------------------------------

# Once per session: each builds a few hundred nodes.
_COVERAGE: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def coverage() -> dict[str, set[str]]:
    if not _COVERAGE:
        with pytest.MonkeyPatch.context() as mp:
            _COVERAGE.update({
                "a torch comparison (pymicrograd/testing/_suite.py)": torch_ops(),
                "a central-difference check (pymicrograd/testing/_suite.py)":
                    central_difference_ops(),
                "edge cases (tests/test_edges.py, tests/test_loss_extremes.py)":
                    edge_case_ops(mp),
                "a local derivative in the fuzzer's reference (fuzz/fuzz_api.c)":
                    fuzz_reference_ops(),
                "a row in the README's table of ops": readme_ops(),
            })
    return _COVERAGE


# relu's kink: central differences at a random point of a random MLP could straddle it.
# Scalar relu is checked with inputs kept away from the kink; a relu neuron against
# torch, and at its kink in NEURON_EDGE_CASES.
NO_CENTRAL_DIFFERENCES = {"neuron_relu"}


@pytest.mark.parametrize("name", OPS)
def test_op_has_every_kind_of_test(name: str, coverage: dict[str, set[str]]) -> None:
    """The op is built by every place that tests ops (see the module docstring)."""
    missing = [what for what, ops in coverage.items() if name not in ops
               and not (what.startswith("a central-difference") and name in
                        NO_CENTRAL_DIFFERENCES)]
    assert not missing, f"op {name!r} lacks: " + "; ".join(missing)


def test_exemptions_are_still_needed(coverage: dict[str, set[str]]) -> None:
    """An op exempted from central differences is not in fact checked by them."""
    checked = next(ops for what, ops in coverage.items() if what.startswith("a central"))
    assert NO_CENTRAL_DIFFERENCES <= set(OPS)
    assert not NO_CENTRAL_DIFFERENCES & checked


@pytest.mark.parametrize("op", range(lib.mg_op_count()), ids=OPS)
def test_op_row_is_complete(op: int) -> None:
    """The table gives the op a name, a symbol, an arity and a place for its constant."""
    name, symbol = _text(lib.mg_op_name(op)), _text(lib.mg_op_symbol(op))
    assert name != "?" and OPS.count(name) == 1, f"op {op}: missing or duplicate name"
    assert symbol != "?" and (symbol or name == "leaf"), f"op {name!r}: no symbol"
    assert lib.mg_op_arity(op) in (0, 1, 2, lib.MG_ARITY_NARY), f"op {name!r}: arity"
    assert lib.mg_op_has_constant(op) in (0, lib.MG_CONST_RIGHT, lib.MG_CONST_LEFT)
    assert (lib.mg_op_arity(op) == 0) == (name == "leaf")


def test_unknown_ops_are_answered_not_read_out_of_bounds() -> None:
    """Outside 0 <= op < mg_op_count(), every mg_op_* function says "unknown"."""
    for op in (lib.mg_op_count(), 255, 2**31 - 1, 2**32 - 1):
        assert _text(lib.mg_op_name(op)) == _text(lib.mg_op_symbol(op)) == "?"
        assert lib.mg_op_arity(op) == lib.mg_op_has_constant(op) == 0


def test_the_how_to_add_an_op_section_names_every_place_checked_here() -> None:
    """docs' "Adding an op" names each file this test reads, so following it passes."""
    chapter = (ROOT / "docs" / "tutorial" / "05-c-core.md").read_text()
    section = chapter[chapter.index("## Adding an op"):]
    section = section[:section.index("\n## ", 1)]
    for place in ("csrc/ops.c", "csrc/mg.h", "pymicrograd/engine.py",
                  "pymicrograd/testing/_suite.py", "tests/test_edges.py",
                  "fuzz/fuzz_api.c", "fuzz/make_seeds.py", "README.md",
                  "tests/test_op_catalogue.py"):
        assert place in section, f"'Adding an op' does not name {place}"
