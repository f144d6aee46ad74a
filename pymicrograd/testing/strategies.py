"""Hypothesis strategies for gradient checks, in the style of minitorch.

Inputs are finite floats in sane ranges, and inputs near a kink or a pole (relu at 0,
log / division / a pow base near 0, a negative pow base with a non-integer exponent)
are SHIFTED away from it instead of loosening tolerances: comparisons with PyTorch stay
at ``torch.testing.assert_close``'s float64 defaults, and central differences stay
sound (a step never crosses a kink).

`programs()` draws random computation graphs as data: a `Program` is a tuple of leaf
values and a list of `Instr`, each one op of the engine in one operand form. The same
Program runs on pymicrograd Tensors and on torch tensors through `run_program`, and
can be re-run at other leaf values (finite differences). Guards that keep every op
well-defined and finite (log of ``x*x + c``, a denominator pushed away from 0, an
exponent squashed into [-3, 3], ...) are written into the program as ordinary
instructions, so they are differentiated and compared like everything else.

The project's own tests and ``python -m pymicrograd verify`` draw their inputs from
this module; it needs hypothesis (``pip install "pymicrograd[verify]"``).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, NamedTuple, Union

from hypothesis import strategies as st

from ..engine import Tensor

__all__ = [
    "ALL_OPS",
    "BINARY",
    "FORMS",
    "UNARY",
    "Instr",
    "Operand",
    "Program",
    "apply_instr",
    "away_from",
    "exp_inputs",
    "expected_node",
    "exponents",
    "int_exponents",
    "leaf_values",
    "leaves",
    "nonzero",
    "positive",
    "pow_bases",
    "programs",
    "reals",
    "reference_value",
    "relu_inputs",
    "run_program",
    "signed_bases",
    "squash_inputs",
    "values",
]

# ---- scalar inputs -----------------------------------------------------------------


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi], no subnormals (test_edges covers those)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def away_from(point: float, gap: float, lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats x in [lo, hi] shifted away from `point`: x + copysign(gap, x - point).

    Every result is at least `gap` from `point`; the shift is monotone, so shrinking
    still moves towards simple values on either side of the point.
    """
    return reals(lo, hi).map(lambda x: x + math.copysign(gap, x - point))


values = reals(-100.0, 100.0)
"""Any operand of add, sub, mul, neg, and the numerator of a division."""
nonzero = away_from(0.0, 0.01, -100.0, 100.0)
"""A denominator: |x| >= 0.01."""
positive = reals(0.01, 100.0)
"""A log argument: x >= 0.01 (the pole is at 0)."""
pow_bases = reals(0.01, 10.0)
"""A pow base with a real exponent: positive, away from 0."""
exponents = reals(-3.0, 3.0)
"""A real pow exponent."""
int_exponents = st.integers(-3, 3).map(float)
"""An integer-valued exponent, which also allows a negative base."""
signed_bases = away_from(0.0, 0.1, -10.0, 10.0)
"""A base of either sign, away from 0 (so that negative integer exponents are finite)."""
relu_inputs = away_from(0.0, 1e-3, -100.0, 100.0)
"""relu away from its kink at 0 (relu at exactly 0 is pinned by test_edges)."""
exp_inputs = reals(-50.0, 50.0)
"""exp up to e**50, far from overflow."""
squash_inputs = reals(-50.0, 50.0)
"""tanh and sigmoid: both saturation regions included."""

# ---- the ops, as data ----------------------------------------------------------------

BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
}
"""The binary ops, as Python operators (they work on Tensors, torch tensors, numbers)."""

UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": operator.neg,
    "tanh": lambda x: x.tanh(),
    "relu": lambda x: x.relu(),
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sigmoid": lambda x: x.sigmoid(),
}
"""The unary ops, as functions of a Tensor or a torch tensor."""

FORMS = ("tt", "tn", "nt")
"""Binary operand forms: Tensor-Tensor, Tensor-number, number-Tensor."""


def expected_node(form: str, op: str, constant: float | None = None) -> tuple[str, float | None]:
    """The (Tensor.op, Tensor.constant) that pymicrograd gives for one op in one form.

    A number operand is folded into a *_const node; ``t - c`` is ``add_const`` with
    constant ``-c``. Tensor-Tensor and unary ops have no constant.
    """
    if form in ("tt", "u"):
        return op, None
    assert constant is not None
    if form == "tn":
        if op == "sub":
            return "add_const", -constant
        return op + "_const", constant
    # number op Tensor
    name = {"add": "add_const", "mul": "mul_const", "sub": "rsub_const",
            "div": "rdiv_const", "pow": "rpow_const"}[op]
    return name, constant


# ---- programs --------------------------------------------------------------------------

Operand = Union[int, float, None]
"""An operand of an `Instr`: a node index (int), a number (float), or None (no rhs)."""


class Instr(NamedTuple):
    """One op: ``form`` is "tt", "tn", "nt" or "u" (unary).

    Node operands are ints (indices into the program's nodes: leaves first, then one
    node per instruction); number operands are floats; ``rhs`` is None for unary ops.
    """

    form: str
    op: str
    lhs: Operand
    rhs: Operand = None


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def _show(x: Operand, form_is_node: bool) -> str:
    return f"v{x}" if form_is_node else repr(x)


class Program(NamedTuple):
    """Leaf values and instructions; node i is leaf i, then instruction i - n_leaves.

    The last node is the root that tests call backward() on.
    """

    leaves: tuple[float, ...]
    instrs: tuple[Instr, ...]

    @property
    def n_nodes(self) -> int:
        """The number of nodes: leaves plus one per instruction."""
        return len(self.leaves) + len(self.instrs)

    def __repr__(self) -> str:
        lines = [f"v{i} = leaf({v!r})" for i, v in enumerate(self.leaves)]
        for k, ins in enumerate(self.instrs, start=len(self.leaves)):
            if ins.form == "u":
                expr = f"{ins.op}(v{ins.lhs})"
            else:
                lhs = _show(ins.lhs, ins.form in ("tt", "tn"))
                rhs = _show(ins.rhs, ins.form in ("tt", "nt"))
                expr = f"{lhs} {_SYMBOL[ins.op]} {rhs}"
            lines.append(f"v{k} = {expr}")
        return "Program(\n    " + "\n    ".join(lines) + "\n)"


def apply_instr(ins: Instr, nodes: list[Any]) -> Any:
    """Apply one instruction to already computed nodes (any Tensor-like type)."""
    if ins.form == "u":
        return UNARY[ins.op](nodes[ins.lhs])  # type: ignore[index]
    fn = BINARY[ins.op]
    if ins.form == "tt":
        return fn(nodes[ins.lhs], nodes[ins.rhs])  # type: ignore[index]
    if ins.form == "tn":
        return fn(nodes[ins.lhs], ins.rhs)  # type: ignore[index]
    return fn(ins.lhs, nodes[ins.rhs])  # type: ignore[index]


def run_program(program: Program, make_leaf: Callable[[float], Any],
                leaves: tuple[float, ...] | list[float] | None = None,
                replace: dict[int, float] | None = None) -> list[Any]:
    """Run `program`, returning every node (leaves first).

    `make_leaf` makes a leaf of the backend (``Tensor``, or a torch float64 tensor that
    requires grad). `leaves` overrides the leaf values. `replace` maps a node index to
    a value: that node is computed and then replaced by a fresh leaf with that value,
    so the rest of the program sees a perturbed node (finite differences w.r.t. an
    intermediate node).
    """
    nodes = [make_leaf(v) for v in (program.leaves if leaves is None else leaves)]
    replace = replace or {}
    for k, v in replace.items():
        if k < len(nodes):
            nodes[k] = make_leaf(v)
    for ins in program.instrs:
        out = apply_instr(ins, nodes)
        k = len(nodes)
        nodes.append(make_leaf(replace[k]) if k in replace else out)
    return nodes


def _ref_sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


_REF_UNARY: dict[str, Callable[[float], float]] = {
    "neg": operator.neg,
    "tanh": math.tanh,
    "relu": lambda x: x if x > 0.0 else 0.0,
    "exp": math.exp,
    "log": math.log,          # raises ValueError outside the domain: a guard bug
    "sigmoid": _ref_sigmoid,
}
_REF_BINARY: dict[str, Callable[[float, float], float]] = {
    **{k: v for k, v in BINARY.items() if k != "pow"},
    "pow": math.pow,          # raises ValueError for (negative) ** non-integer
}


def reference_value(ins: Instr, values: list[float]) -> float:
    """The value of one instruction in plain Python floats (used to place the guards)."""
    if ins.form == "u":
        return _REF_UNARY[ins.op](values[ins.lhs])  # type: ignore[index]
    fn = _REF_BINARY[ins.op]
    if ins.form == "tt":
        return fn(values[ins.lhs], values[ins.rhs])  # type: ignore[index]
    if ins.form == "tn":
        return fn(values[ins.lhs], ins.rhs)  # type: ignore[index, arg-type]
    return fn(ins.lhs, values[ins.rhs])  # type: ignore[index, arg-type]


# Ranges that the generator keeps every operand in. With them every node value is
# below about 1e3 in magnitude, and every local derivative is moderate.
SOFT = 10.0         # |operand| of add/sub/mul/div/neg/tanh/sigmoid
LOW = 0.25          # |denominator|, pow base, |base| for a negative exponent
LOG_LOW = 0.1       # log argument
EXP_BOUND = 3.0     # |exp argument|, |real exponent|, |exponent of a number base|
KINK_GAP = 0.1      # |relu argument| (far beyond any finite-difference step)
ALL_OPS = [(f, op) for f in FORMS for op in BINARY] + [("u", op) for op in UNARY]
"""Every (form, op) that `programs()` draws: the binary ops in each form, the unary ops."""


class _Builder:
    """Grows a program one instruction at a time, tracking each node's value."""

    def __init__(self, draw: Callable[..., Any], leaves: list[float]) -> None:
        self.draw = draw
        self.values = list(leaves)
        self.instrs: list[Instr] = []
        self.used: set[int] = set()

    def emit(self, form: str, op: str, lhs: Operand, rhs: Operand = None) -> int:
        ins = Instr(form, op, lhs, rhs)
        value = reference_value(ins, self.values)
        assert math.isfinite(value) and abs(value) < 1e6, (ins, value)  # generator bug
        for x, is_node in ((lhs, form in ("tt", "tn", "u")), (rhs, form in ("tt", "nt"))):
            if is_node:
                self.used.add(x)  # type: ignore[arg-type]
        self.instrs.append(ins)
        self.values.append(value)
        return len(self.values) - 1

    def pick(self) -> int:
        """An existing node, shrinking towards the newest one (deep chains)."""
        n = len(self.values)
        back: int = self.draw(st.integers(0, n - 1))
        return n - 1 - back

    # ---- guards: each returns a node whose value is in the wanted range ----------------

    def bounded(self, i: int, bound: float = SOFT) -> int:
        """|value| <= bound, squashing with tanh, sigmoid or an exact power-of-two scale."""
        v = self.values[i]
        if abs(v) <= bound:
            return i
        how = self.draw(st.sampled_from(["tanh", "sigmoid", "div", "mul"]))
        if how in ("tanh", "sigmoid"):
            return self.emit("u", how, i)
        scale = 2.0 ** math.ceil(math.log2(abs(v) / bound))
        if how == "div":
            return self.emit("tn", "div", i, scale)
        return self.emit("tn", "mul", i, 1.0 / scale)

    def positive(self, i: int, low: float) -> int:
        """value >= low (and <= about SOFT): x*x + c, exp(x), sigmoid(x) + c or x + shift."""
        i = self.bounded(i)
        v = self.values[i]
        if v >= low:
            return i
        how = self.draw(st.sampled_from(["square", "exp", "sigmoid", "shift"]))
        if how == "square":
            sq = self.emit("tt", "mul", i, i)
            p = self.emit("tn", "add", sq, self.draw(reals(low, 2.0)))
        elif how == "exp":  # exp of [-1, 1] is at least 0.37 > low
            p = self.emit("u", "exp", self.bounded(i, 1.0))
        elif how == "sigmoid":
            s = self.emit("u", "sigmoid", i)
            p = self.emit("nt", "add", self.draw(reals(low, 1.0)), s)
        else:
            shift = (low - v) + self.draw(reals(0.0, 2.0))
            p = self.emit("tn", "add", i, shift)
        return self.bounded(p)  # a squash keeps a positive value above 0.76

    def nonzero(self, i: int, low: float) -> int:
        """|value| >= low: a positive guard, negated half of the time."""
        i = self.bounded(i)
        if abs(self.values[i]) >= low:
            return i
        p = self.positive(i, low)
        if self.draw(st.booleans()):
            return self.emit("u", "neg", p)
        return p

    def off_kink(self, i: int) -> int:
        """|value| >= KINK_GAP, so relu is smooth on a neighbourhood of the input."""
        i = self.bounded(i)
        if abs(self.values[i]) >= KINK_GAP:
            return i
        shift = self.draw(reals(2 * KINK_GAP, 1.0)) * self.draw(st.sampled_from([1.0, -1.0]))
        return self.emit("tn", "add", i, shift)

    # ---- one random op ----------------------------------------------------------------

    def operands(self, a: int, b: int, guard_a: Callable[[int], int],
                 guard_b: Callable[[int], int]) -> tuple[int, int]:
        """Guard both operands; the same node twice stays one node where it can (x*x).

        For ``x op x`` the second guard is applied to the first one's result, and it
        returns that node unchanged when it already satisfies both.
        """
        a_is_b = a == b
        a = guard_a(a)
        return a, guard_b(a if a_is_b else b)

    def random_op(self) -> None:
        draw = self.draw
        form, op = draw(st.sampled_from(ALL_OPS))
        a = self.pick()
        if form == "u":
            guards: dict[str, Callable[[int], int]] = {
                "relu": self.off_kink,
                "exp": lambda i: self.bounded(i, EXP_BOUND),
                "log": lambda i: self.positive(i, LOG_LOW)}
            guard = guards.get(op, self.bounded)
            self.emit("u", op, guard(a))
        elif form == "tt":
            b = a if draw(st.booleans()) else self.pick()  # x op x: two uses of one node
            guard_a: Callable[[int], int] = self.bounded
            guard_b: Callable[[int], int] = self.bounded
            if op == "div":
                guard_b = lambda i: self.nonzero(i, LOW)  # noqa: E731
            elif op == "pow":
                guard_a = lambda i: self.positive(i, LOW)  # noqa: E731
                guard_b = lambda i: self.bounded(i, EXP_BOUND)  # noqa: E731
            a, b = self.operands(a, b, guard_a, guard_b)
            self.emit("tt", op, a, b)
        elif form == "tn":
            if op == "div":
                c = draw(reals(LOW, 5.0)) * draw(st.sampled_from([1.0, -1.0]))
                self.emit("tn", op, self.bounded(a), c)
            elif op == "pow" and draw(st.booleans()):
                c = float(draw(st.sampled_from([2, 3, -1, -2, 0, 1])))
                base = self.nonzero(a, LOW) if c < 0 else self.bounded(a)
                self.emit("tn", op, base, c)
            elif op == "pow":
                self.emit("tn", op, self.positive(a, LOW), draw(reals(-2.5, 2.5)))
            else:
                self.emit("tn", op, self.bounded(a), draw(reals(-5.0, 5.0)))
        else:  # number op Tensor
            if op == "div":
                self.emit("nt", op, draw(reals(-5.0, 5.0)), self.nonzero(a, LOW))
            elif op == "pow":
                self.emit("nt", op, draw(reals(LOW, 4.0)), self.bounded(a, EXP_BOUND))
            else:
                self.emit("nt", op, draw(reals(-5.0, 5.0)), self.bounded(a))

    def finish(self) -> None:
        """Sum every node that nothing uses into one root, so that every node counts."""
        sinks = [i for i in range(len(self.values)) if i not in self.used]
        root = sinks[0]
        for s in sinks[1:]:
            root = self.emit("tt", self.draw(st.sampled_from(["add", "sub"])), root, s)


leaf_values = reals(-3.0, 3.0)
"""Leaf values of random programs (0 included: the guards shift what needs it)."""


def leaves(elements: st.SearchStrategy[float] = leaf_values) -> st.SearchStrategy[Tensor]:
    """A fresh leaf `Tensor` per example, holding a value drawn from `elements`.

    A failing example prints the Tensor rounded (its repr); hypothesis's seed, or a
    strategy of plain values, gives the exact number.
    """
    return st.builds(Tensor, elements)


@st.composite
def programs(draw: Callable[..., Any], max_leaves: int = 4, max_ops: int = 12) -> Program:
    """A random program over every op and operand form, with reused nodes.

    1..max_leaves leaves and 1..max_ops random ops (plus the guard instructions they
    need, plus the adds that join unused nodes into the root, which is the last node).
    Every node value is finite and below about 1e4 in magnitude; every relu argument
    is at least KINK_GAP from 0; every log, division, pow base and exponent is in a
    range where the op is smooth and well-conditioned.
    """
    leaves = draw(st.lists(leaf_values, min_size=1, max_size=max_leaves))
    builder = _Builder(draw, leaves)
    for _ in range(draw(st.integers(1, max_ops))):
        builder.random_op()
    builder.finish()
    return Program(tuple(leaves), tuple(builder.instrs))
