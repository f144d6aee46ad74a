"""The Python surface of Tensor: construction, attributes, operators, identity, repr."""

from __future__ import annotations

import gc
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from lazy_torch import torch

from pymicrograd import Tensor, Value, live_nodes

# ---- construction --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (3, 3.0),
        (-7, -7.0),
        (2.5, 2.5),
        (np.float64(0.1), 0.1),
        (np.float32(0.1), float(np.float32(0.1))),  # the float32 value, widened exactly
        (np.int64(-4), -4.0),
        (True, 1.0),  # bool is an int (numbers.Real), as in plain Python arithmetic
        (False, 0.0),
        (Fraction(1, 4), 0.25),  # any numbers.Real is accepted
    ],
)
def test_construction_from_real_numbers_gives_a_float_leaf(number, expected):
    """Any numbers.Real becomes a leaf whose value is exactly float(number), gradient 0."""
    t = Tensor(number)
    assert type(t.value) is float
    assert t.value == expected
    assert t.gradient == 0.0
    assert t.op == "leaf"
    assert t.children == ()
    assert t.constant is None


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [
        ("1.0", "str"),
        (None, "NoneType"),
        ([1.0], "list"),
        (1 + 2j, "complex"),
        # Decimal is not registered as numbers.Real (it refuses to mix with float),
        # so the engine rejects it like any other non-real type.
        (Decimal("1.5"), "Decimal"),
    ],
)
def test_construction_from_non_real_raises_type_error_naming_the_type(bad, type_name):
    """Tensor(non-real) raises TypeError whose message names the offending type."""
    with pytest.raises(TypeError, match=rf"\b{type_name}\b"):
        Tensor(bad)


def test_value_is_tensor():
    """micrograd's name `Value` is the same class as `Tensor`."""
    assert Value is Tensor


# ---- value and gradient ----------------------------------------------------------------


def test_value_and_gradient_are_writable_and_data_grad_are_aliases():
    """`.value`/`.gradient` can be written; `.data`/`.grad` read and write the same slots."""
    t = Tensor(1.0)
    t.value = 2.5
    assert t.value == 2.5 and t.data == 2.5
    t.data = -1.0
    assert t.value == -1.0
    t.gradient = 4
    assert t.gradient == 4.0 and t.grad == 4.0
    assert type(t.gradient) is float
    t.grad = 0.25
    assert t.gradient == 0.25
    t.value = np.float32(0.5)
    assert t.value == 0.5


def test_sgd_update_in_place_works():
    """The training idiom `p.value -= lr * p.gradient` updates a parameter."""
    p = Tensor(3.0)
    loss = p * p
    loss.backward()
    assert p.gradient == 6.0
    p.value -= 0.5 * p.gradient
    assert p.value == 0.0
    p.data -= 0.25 * p.grad
    assert p.value == -1.5


@pytest.mark.parametrize("bad", ["0.5", None, [1.0], 1j, Decimal(1)])
def test_setting_value_or_gradient_to_non_real_raises_type_error(bad):
    """Writing a non-real to value or gradient raises TypeError and changes nothing."""
    t = Tensor(1.0)
    with pytest.raises(TypeError, match=type(bad).__name__):
        t.value = bad
    with pytest.raises(TypeError, match=type(bad).__name__):
        t.gradient = bad
    assert t.value == 1.0
    assert t.gradient == 0.0


def test_setting_value_does_not_recompute_dependents():
    """Writing a leaf's value changes only that node; nodes built on it keep their value."""
    a = Tensor(2.0)
    b = a * 3.0
    a.value = 10.0
    assert b.value == 6.0
    assert b.children[0].value == 10.0


def test_float_conversion():
    """float(t) is the value."""
    assert float(Tensor(1.25) * 2) == 2.5


# ---- repr ------------------------------------------------------------------------------


def test_repr_matches_seed_example():
    """tanh(0.8813735870195432) after backward prints as in the seed notebook."""
    x = Tensor(0.8813735870195432)
    out = x.tanh()
    out.backward()
    assert math.isclose(out.value, math.sqrt(0.5), rel_tol=1e-15)
    assert repr(out) == "Tensor(value=0.7071, gradient=1.0)"
    assert repr(x) == "Tensor(value=0.8814, gradient=0.5)"


def test_repr_of_fresh_leaf():
    """A fresh leaf shows its value and a zero gradient."""
    assert repr(Tensor(2)) == "Tensor(value=2.0, gradient=0.0)"
    assert repr(Tensor(-3.0)) == "Tensor(value=-3.0, gradient=0.0)"


# ---- identity: hash and eq ---------------------------------------------------------------


def test_eq_and_hash_follow_node_identity():
    """A child wrapper equals (and hashes like) the Tensor of the same node; values don't."""
    a = Tensor(1.0)
    b = a * 2
    (child,) = b.children
    assert child is not a
    assert child == a
    assert hash(child) == hash(a)
    assert not (child != a)
    assert Tensor(1.0) != Tensor(1.0)  # same value, different nodes
    assert (a == 1.0) is False  # comparing with a number is not a value comparison
    assert a != b


def test_tensors_work_as_set_members_and_dict_keys():
    """Sets and dicts dedupe by node, so graph walks can key on Tensors."""
    a, b = Tensor(1.0), Tensor(1.0)
    c = a * b + a
    seen = {a, b, *c.children, *c.children[0].children}
    assert seen == {a, b, c.children[0]}
    assert len(seen) == 3
    labels = {a: "a", b: "b"}
    mul = c.children[0]
    assert [labels[t] for t in mul.children] == ["a", "b"]
    assert labels[c.children[1]] == "a"


# ---- op, children and constant for every op kind -------------------------------------------


def _binary_cases():
    return [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
    ]


@pytest.mark.parametrize(("op", "fn"), _binary_cases())
def test_binary_tensor_ops_record_op_and_both_children(op, fn):
    """Tensor-Tensor ops have two children in operand order and no constant."""
    a, b = Tensor(1.5), Tensor(2.0)
    out = fn(a, b)
    assert out.op == op
    assert out.children == (a, b)
    assert out.constant is None
    assert out.value == fn(1.5, 2.0)


@pytest.mark.parametrize(
    ("op", "fn", "ref"),
    [
        ("neg", lambda t: -t, lambda x: -x),
        ("tanh", lambda t: t.tanh(), math.tanh),
        ("relu", lambda t: t.relu(), lambda x: max(x, 0.0)),
        ("exp", lambda t: t.exp(), math.exp),
        ("log", lambda t: t.log(), math.log),
        ("sigmoid", lambda t: t.sigmoid(), lambda x: 1.0 / (1.0 + math.exp(-x))),
    ],
)
def test_unary_ops_record_op_and_one_child(op, fn, ref):
    """Unary ops have one child, no constant, and the right value."""
    a = Tensor(0.75)
    out = fn(a)
    assert out.op == op
    assert out.children == (a,)
    assert out.constant is None
    assert out.value == ref(0.75)


@pytest.mark.parametrize(
    ("op", "fn", "constant", "value"),
    [
        ("add_const", lambda t: t + 2, 2.0, 3.5),
        ("add_const", lambda t: 2 + t, 2.0, 3.5),
        # t - c is folded into t + (-c): same value bit for bit in IEEE arithmetic
        ("add_const", lambda t: t - 2, -2.0, -0.5),
        ("rsub_const", lambda t: 2 - t, 2.0, 0.5),
        ("mul_const", lambda t: t * 2, 2.0, 3.0),
        ("mul_const", lambda t: 2 * t, 2.0, 3.0),
        ("div_const", lambda t: t / 2, 2.0, 0.75),
        ("rdiv_const", lambda t: 3 / t, 3.0, 2.0),
        ("pow_const", lambda t: t**2, 2.0, 2.25),
        ("rpow_const", lambda t: 2**t, 2.0, 2.0**1.5),
    ],
)
def test_constant_ops_record_op_constant_and_single_child(op, fn, constant, value):
    """A plain-number operand is folded into the node: one child, `.constant` holds it."""
    a = Tensor(1.5)
    out = fn(a)
    assert out.op == op
    assert out.children == (a,)
    assert type(out.constant) is float
    assert out.constant == constant
    assert out.value == value


def test_unary_plus_is_identity():
    """+t returns t itself, no new node."""
    a = Tensor(1.0)
    assert (+a) is a


# ---- unsupported operands ------------------------------------------------------------------


_BAD_OPERANDS = ["x", None, [1], (1.0,), {"a": 1}, 1j, Decimal("1.0"), object()]
_OPS = [
    ("+", lambda x, y: x + y),
    ("-", lambda x, y: x - y),
    ("*", lambda x, y: x * y),
    ("/", lambda x, y: x / y),
    ("**", lambda x, y: x**y),
]


@pytest.mark.parametrize("bad", _BAD_OPERANDS, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize(("sym", "fn"), _OPS, ids=[s for s, _ in _OPS])
def test_unsupported_operand_raises_type_error_on_both_sides(sym, fn, bad):
    """`t <op> bad` and `bad <op> t` raise TypeError and create no node."""
    t = Tensor(2.0)
    gc.collect()
    before = live_nodes()
    with pytest.raises(TypeError):
        fn(t, bad)
    with pytest.raises(TypeError):
        fn(bad, t)
    assert live_nodes() == before


# ---- reflected numeric ops: values and gradients --------------------------------------------


def _torch_value_and_grad(fn, x):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(xt)
    out.backward()
    return out.detach(), xt.grad


@pytest.mark.needs_torch
@pytest.mark.parametrize(
    ("name", "fn", "value", "grad"),
    [
        ("2 - t", lambda t: 2 - t, lambda x: 2 - x, lambda x: -1.0),
        ("2 ** t", lambda t: 2**t, lambda x: 2**x, lambda x: 2**x * math.log(2)),
        ("1 / t", lambda t: 1 / t, lambda x: 1 / x, lambda x: -1 / x**2),
    ],
)
@pytest.mark.parametrize("x", [0.5, 1.7, -2.25])
def test_reflected_number_ops_values_and_gradients(name, fn, value, grad, x):
    """Number-on-the-left ops give the right value and gradient (math and torch agree)."""
    t = Tensor(x)
    out = fn(t)
    out.backward()
    assert math.isclose(out.value, value(x), rel_tol=1e-15)
    assert math.isclose(t.gradient, grad(x), rel_tol=1e-15)
    tv, tg = _torch_value_and_grad(fn, x)
    torch.testing.assert_close(torch.tensor(out.value, dtype=torch.float64), tv)
    torch.testing.assert_close(torch.tensor(t.gradient, dtype=torch.float64), tg)


@pytest.mark.parametrize(
    ("scalar", "fn", "expected"),
    [
        (np.float64(2.0), lambda s, t: s * t, 3.0),
        (np.float32(2.0), lambda s, t: s * t, 3.0),
        (np.int64(2), lambda s, t: s + t, 3.5),
        (np.float64(2.0), lambda s, t: s - t, 0.5),
        (np.float64(3.0), lambda s, t: s / t, 2.0),
        (np.float64(4.0), lambda s, t: s**t, 8.0),
    ],
)
def test_numpy_scalar_on_the_left_returns_tensor(scalar, fn, expected):
    """np scalar <op> Tensor defers to Tensor's reflected op: a Tensor, not an ndarray."""
    t = Tensor(1.5)
    out = fn(scalar, t)
    assert type(out) is Tensor
    assert out.value == expected
    assert out.children == (t,)


def test_numpy_scalar_on_the_right_returns_tensor():
    """Tensor <op> np scalar folds the scalar as a constant."""
    t = Tensor(1.5)
    out = t * np.float64(2.0)
    assert type(out) is Tensor
    assert out.op == "mul_const"
    assert out.constant == 2.0


# ---- the README example ----------------------------------------------------------------------


def test_readme_example_matches_math():
    """c = tanh(a*b + 1) with a=2, b=-3: value and gradients from the closed form."""
    a, b = Tensor(2.0), Tensor(-3.0)
    c = (a * b + 1.0).tanh()
    c.backward()
    expected = math.tanh(-5.0)
    local = 1.0 - expected * expected  # d tanh(u)/du at u = -5
    assert c.value == expected
    assert c.gradient == 1.0
    assert math.isclose(a.gradient, local * -3.0, rel_tol=1e-15)
    assert math.isclose(b.gradient, local * 2.0, rel_tol=1e-15)
    # the rounded figures a reader sees (pymicrograd/__init__.py's docstring shows them)
    assert (round(a.gradient, 6), round(b.gradient, 6)) == (-0.000545, 0.000363)


# ---- subclasses ----------------------------------------------------------------------------


class _Mine(Tensor):
    """A subclass that overrides nothing: every op must still give one of its own."""

    __slots__ = ()


_SUBCLASS_OPS = {
    "t + u": lambda t, u: t + u, "t + 2": lambda t, u: t + 2, "2 + t": lambda t, u: 2 + t,
    "t - u": lambda t, u: t - u, "t - 2": lambda t, u: t - 2, "2 - t": lambda t, u: 2 - t,
    "t * u": lambda t, u: t * u, "t * 2": lambda t, u: t * 2, "2 * t": lambda t, u: 2 * t,
    "t / u": lambda t, u: t / u, "t / 2": lambda t, u: t / 2, "2 / t": lambda t, u: 2 / t,
    "t ** u": lambda t, u: t ** u, "t ** 2": lambda t, u: t ** 2, "2 ** t": lambda t, u: 2 ** t,
    "-t": lambda t, u: -t, "+t": lambda t, u: +t, "tanh": lambda t, u: t.tanh(),
    "relu": lambda t, u: t.relu(), "exp": lambda t, u: t.exp(), "log": lambda t, u: t.log(),
    "sigmoid": lambda t, u: t.sigmoid(), "np.float64 * t": lambda t, u: np.float64(2.0) * t,
}
# (A plain Tensor on the left and a subclass on the right give a Tensor, as int + an int
# subclass gives an int: Python asks the right operand first only if its class overrides
# the reflected op, as compat's Value does.)


@pytest.mark.parametrize("op", sorted(_SUBCLASS_OPS))
def test_every_op_on_a_subclass_returns_the_subclass(op):
    """Ops return type(self), so a subclass (compat's Value) needs no override for that."""
    t, u = _Mine(1.5), _Mine(0.5)
    out = _SUBCLASS_OPS[op](t, u)
    assert type(out) is _Mine
    assert all(type(c) is _Mine for c in out.children)
