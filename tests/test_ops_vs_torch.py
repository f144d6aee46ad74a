"""Every op, value and gradients, against torch float64 on generated inputs.

Each binary op is checked in its three operand forms (Tensor-Tensor, Tensor-number,
number-Tensor) and with one Tensor on both sides (x op x); each unary op on its own.
Inputs come from strategies.py, shifted away from kinks and poles; comparisons use
``torch.testing.assert_close`` with its float64 defaults.
"""

from __future__ import annotations

import pytest
import strategies as S
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.testing import assert_close

from pymicrograd import Tensor

# op name -> (strategy for the left operand, strategy for the right operand)
BINARY_INPUTS = {
    "add": (S.values, S.values),
    "sub": (S.values, S.values),
    "mul": (S.values, S.values),
    "div": (S.values, S.nonzero),
    "pow": (S.pow_bases, S.exponents),
}
# (negative or positive base) ** (integer exponent), the one case where a negative
# base is in the domain; only as pow_const, since d/d(exponent) needs ln(base).
INT_POW_INPUTS = (S.signed_bases, S.int_exponents)

# x op x: the operand must suit both sides (a denominator, a pow base)
SAME_INPUTS = {
    "add": S.values,
    "sub": S.values,
    "mul": S.values,
    "div": S.nonzero,
    "pow": S.reals(0.1, 3.0),
}

UNARY_INPUTS = {
    "neg": S.values,
    "tanh": S.squash_inputs,
    "relu": S.relu_inputs,
    "exp": S.exp_inputs,
    "log": S.positive,
    "sigmoid": S.squash_inputs,
}


def torch_leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def as_tensor(xs: list[float]) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


def check_binary(op: str, form: str, a: float, b: float) -> None:
    """Compare ``a op b`` in one operand form: value and the gradient of each Tensor."""
    fn = S.BINARY[op]
    if form == "tt":
        x, y = Tensor(a), Tensor(b)
        out = fn(x, y)
        out.backward()
        ours = [out.value, x.gradient, y.gradient]
        tx, ty = torch_leaf(a), torch_leaf(b)
        t_out = fn(tx, ty)
        t_grads = torch.autograd.grad(t_out, [tx, ty])
        expected_op, expected_constant = S.expected_node("tt", op)
    elif form == "tn":
        x = Tensor(a)
        out = fn(x, b)
        out.backward()
        ours = [out.value, x.gradient]
        tx = torch_leaf(a)
        t_out = fn(tx, b)
        t_grads = torch.autograd.grad(t_out, [tx])
        expected_op, expected_constant = S.expected_node("tn", op, b)
    else:
        y = Tensor(b)
        out = fn(a, y)
        out.backward()
        ours = [out.value, y.gradient]
        ty = torch_leaf(b)
        t_out = fn(a, ty)
        t_grads = torch.autograd.grad(t_out, [ty])
        expected_op, expected_constant = S.expected_node("nt", op, a)
    assert_close(as_tensor(ours), torch.stack([t_out.detach(), *t_grads]))
    assert (out.op, out.constant) == (expected_op, expected_constant)


@pytest.mark.parametrize("form", S.FORMS)
@pytest.mark.parametrize("op", sorted(BINARY_INPUTS))
@given(data=st.data())
def test_binary_op_value_and_gradients_match_torch(op, form, data):
    """a op b as Tensor-Tensor, Tensor-number and number-Tensor, as torch computes it."""
    left, right = BINARY_INPUTS[op]
    a = data.draw(left, label="a")
    b = data.draw(right, label="b")
    check_binary(op, form, a, b)


@given(a=INT_POW_INPUTS[0], b=INT_POW_INPUTS[1])
def test_pow_of_any_sign_base_with_integer_exponent_matches_torch(a, b):
    """t ** n for a negative or positive base and an integer n (pow_const)."""
    check_binary("pow", "tn", a, b)


@pytest.mark.parametrize("op", sorted(SAME_INPUTS))
@given(data=st.data())
def test_binary_op_with_one_tensor_on_both_sides_matches_torch(op, data):
    """x op x: both uses of x add into its gradient (x*x gives 2x, x-x gives 0)."""
    a = data.draw(SAME_INPUTS[op], label="a")
    x = Tensor(a)
    out = S.BINARY[op](x, x)
    out.backward()
    tx = torch_leaf(a)
    t_out = S.BINARY[op](tx, tx)
    (t_grad,) = torch.autograd.grad(t_out, [tx])
    assert_close(as_tensor([out.value, x.gradient]), torch.stack([t_out.detach(), t_grad]))
    assert out.children == (x, x)


@pytest.mark.parametrize("op", sorted(UNARY_INPUTS))
@given(data=st.data())
def test_unary_op_value_and_gradient_match_torch(op, data):
    """neg, tanh, relu, exp, log, sigmoid: value and gradient as torch."""
    a = data.draw(UNARY_INPUTS[op], label="a")
    x = Tensor(a)
    out = S.UNARY[op](x)
    out.backward()
    tx = torch_leaf(a)
    t_out = S.UNARY[op](tx)
    (t_grad,) = torch.autograd.grad(t_out, [tx])
    assert_close(as_tensor([out.value, x.gradient]), torch.stack([t_out.detach(), t_grad]))
    assert (out.op, out.constant, out.children) == (op, None, (x,))


@pytest.mark.parametrize("op", sorted(UNARY_INPUTS))
@given(data=st.data(), seed=S.reals(-2.0, 2.0))
def test_unary_op_chain_rule_with_upstream_gradient_matches_torch(op, data, seed):
    """op(x) * w: the upstream gradient w (not 1) is multiplied in, as in torch."""
    a = data.draw(UNARY_INPUTS[op], label="a")
    x, w = Tensor(a), Tensor(seed)
    out = S.UNARY[op](x) * w
    out.backward()
    tx, tw = torch_leaf(a), torch_leaf(seed)
    t_out = S.UNARY[op](tx) * tw
    t_grads = torch.autograd.grad(t_out, [tx, tw])
    assert_close(as_tensor([out.value, x.gradient, w.gradient]),
                 torch.stack([t_out.detach(), *t_grads]))
