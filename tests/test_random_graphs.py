"""Random programs over every op, with reused nodes, checked node by node against torch.

Each program (see strategies.programs) runs on pymicrograd and on torch float64; the
root value, the gradient of EVERY leaf and of EVERY intermediate node (torch
``retain_grad()``) must agree within ``torch.testing.assert_close`` defaults.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from strategies import Instr, Program, expected_node, programs, run_program
from torch.testing import assert_close

from pymicrograd import Tensor

# Programs are cheap and are where bugs in gradient accumulation show up: run several
# times the active profile's number of examples (ci, dev or thorough; see conftest.py).
MORE_EXAMPLES = settings(max_examples=4 * settings().max_examples)


def torch_leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def run_both(program: Program) -> tuple[list[Tensor], list[torch.Tensor]]:
    """Run program on both engines and backpropagate from the root once in each."""
    ours = run_program(program, Tensor)
    ours[-1].backward()
    theirs = run_program(program, torch_leaf)
    for t in theirs[len(program.leaves):]:
        t.retain_grad()
    theirs[-1].backward()
    return ours, theirs


def torch_grads(nodes: list[torch.Tensor]) -> torch.Tensor:
    """Every node's .grad; None (the node does not reach the root) is 0, as in ours."""
    zero = torch.zeros((), dtype=torch.float64)
    return torch.stack([zero if t.grad is None else t.grad for t in nodes])


def as_tensor(xs: list[float]) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


def check_against_torch(program: Program) -> None:
    ours, theirs = run_both(program)
    # every node's value (the root is the last one) ...
    assert_close(as_tensor([n.value for n in ours]),
                 torch.stack([t.detach() for t in theirs]))
    # ... and every node's gradient: leaves first, then every intermediate node
    assert_close(as_tensor([n.gradient for n in ours]), torch_grads(theirs))


@MORE_EXAMPLES
@given(programs())
def test_random_program_values_and_all_gradients_match_torch(program):
    """Value of every node, gradient of every leaf and intermediate node, as torch."""
    check_against_torch(program)


@MORE_EXAMPLES
@given(programs(max_leaves=2, max_ops=30))
def test_long_random_program_with_few_leaves_matches_torch(program):
    """Few leaves and many ops: leaves are reused a lot, gradients sum over many paths."""
    check_against_torch(program)


@MORE_EXAMPLES
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


@MORE_EXAMPLES
@given(programs())
def test_second_backward_adds_the_same_derivative_again(program):
    """backward() twice gives every node exactly twice the first call's gradient.

    This is what micrograd gets wrong (its second call re-propagates the intermediate
    gradients left by the first one).
    """
    nodes = run_program(program, Tensor)
    nodes[-1].backward()
    first = [n.gradient for n in nodes]
    nodes[-1].backward()
    assert [n.gradient for n in nodes] == [2.0 * g for g in first]


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


def test_fixed_program_with_every_op_and_form_matches_torch():
    """All 21 (form, op) kinds at once, with reuse, against torch node by node."""
    kinds = {(i.form, i.op) for i in EVERY_OP.instrs}
    assert len(kinds) == 3 * 5 + 6
    check_against_torch(EVERY_OP)
