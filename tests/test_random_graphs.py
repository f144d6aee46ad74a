"""Random programs: the nodes they build, and one fixed program with every op.

The comparisons of random programs with torch and with central differences, and the
second backward that doubles every gradient, are checks of the suite
(pymicrograd.testing._suite, area "graphs"), run by tests/test_checks.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from lazy_torch import torch

from pymicrograd import Tensor
from pymicrograd.testing._suite import References, program_against_torch
from pymicrograd.testing.strategies import Instr, Program, expected_node, programs, run_program


@given(programs())
def test_random_program_builds_the_nodes_it_describes(program):
    """Each instruction makes one node with the expected op, constant and children.

    A number operand is folded into the node (no child for it); ``t - c`` is add_const
    with constant -c.
    """
    nodes = run_program(program, Tensor)
    for k, leaf in enumerate(nodes[:len(program.leaves)]):
        assert (leaf.op, leaf.constant, leaf.children) == ("leaf", None, ())
        assert leaf.value == program.leaves[k]
    for ins, node in zip(program.instrs, nodes[len(program.leaves):]):
        if ins.form == "nt":
            op, constant = expected_node("nt", ins.op, ins.lhs)
            children: tuple[Tensor, ...] = (nodes[ins.rhs],)
        elif ins.form == "tn":
            op, constant = expected_node("tn", ins.op, ins.rhs)
            children = (nodes[ins.lhs],)
        elif ins.form == "tt":
            op, constant = expected_node("tt", ins.op)
            children = (nodes[ins.lhs], nodes[ins.rhs])
        else:
            op, constant = expected_node("u", ins.op)
            children = (nodes[ins.lhs],)
        assert node.op == op
        assert node.constant == constant
        assert node.children == children  # Tensor equality is node identity


# Every op in every operand form, with reused nodes (x*x, a+a, x/x, x**x, a diamond
# through v5 and v6), at fixed values: proves the program runner itself drives each op.
EVERY_OP = Program(
    leaves=(0.7, -1.3, 2.1),
    instrs=(
        Instr("tt", "add", 0, 1),        # v3 = v0 + v1
        Instr("tt", "mul", 3, 3),        # v4 = v3 * v3
        Instr("tt", "sub", 4, 2),        # v5
        Instr("tt", "div", 5, 2),        # v6
        Instr("tt", "pow", 2, 0),        # v7 = 2.1 ** 0.7
        Instr("tt", "pow", 2, 2),        # v8 = v2 ** v2
        Instr("tt", "div", 6, 6),        # v9 = v6 / v6
        Instr("tn", "add", 5, 1.5),      # v10
        Instr("tn", "sub", 6, 2.5),      # v11
        Instr("tn", "mul", 7, -3.0),     # v12
        Instr("tn", "div", 8, 4.0),      # v13
        Instr("tn", "pow", 2, 1.5),      # v14
        Instr("tn", "pow", 1, 3.0),      # v15 = (-1.3) ** 3
        Instr("nt", "add", 2.0, 10),     # v16
        Instr("nt", "sub", 1.0, 11),     # v17
        Instr("nt", "mul", 0.5, 12),     # v18
        Instr("nt", "div", 3.0, 13),     # v19
        Instr("nt", "pow", 2.5, 0),      # v20
        Instr("u", "neg", 14),           # v21
        Instr("u", "tanh", 15),          # v22
        Instr("u", "relu", 16),          # v23 (active)
        Instr("u", "relu", 1),           # v24 (inactive)
        Instr("u", "exp", 0),            # v25
        Instr("u", "log", 2),            # v26
        Instr("u", "sigmoid", 17),       # v27
        Instr("tt", "add", 18, 19),      # v28
        Instr("tt", "add", 20, 21),      # v29
        Instr("tt", "mul", 22, 23),      # v30
        Instr("tt", "add", 24, 25),      # v31
        Instr("tt", "sub", 26, 27),      # v32
        Instr("tt", "add", 28, 29),      # v33
        Instr("tt", "add", 30, 31),      # v34
        Instr("tt", "add", 32, 33),      # v35
        Instr("tt", "add", 34, 35),      # v36
        Instr("tt", "add", 36, 9),       # v37
        Instr("tt", "mul", 37, 5),       # v38: v5 used by v6, v10 and here
    ),
)


@pytest.mark.needs_torch
def test_fixed_program_with_every_op_and_form_matches_torch():
    """All 21 (form, op) kinds at once, with reuse, against torch node by node."""
    kinds = {(i.form, i.op) for i in EVERY_OP.instrs}
    assert len(kinds) == 3 * 5 + 6
    refs = References(torch)
    program_against_torch(EVERY_OP, refs)
    assert refs.tally.torch_numbers == 2 * EVERY_OP.n_nodes
