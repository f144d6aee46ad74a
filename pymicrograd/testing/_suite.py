"""The project's own gradient checks, as data: what tests/ and ``verify`` both run.

Each `Check` pairs a strategy with a function that checks one drawn case against the
references it can use: PyTorch float64 (when torch imports) and central differences.
tests/ runs every check under the active hypothesis profile; ``python -m pymicrograd
verify`` runs them with its own number of examples and seed. Neither has a copy of
its own, so the two cannot drift apart.

Areas:

- ops: every op in every operand form (Tensor-Tensor, Tensor-number, number-Tensor,
  x op x), each unary op under an upstream gradient, and the n-ary nodes of the C API
  (sum, sum of squares, logsumexp, binary and softmax cross-entropy) over operands used
  several times and also by other nodes;
- graphs: random programs over every op with reused nodes, node by node against torch
  and central differences, and a second backward() that doubles every gradient;
- mlp: random MLPs on a few samples, run sample by sample and in one forward_batch,
  against their torch twins (`checks.compare_model`);
- losses: every loss over predictions that repeat and also feed other nodes;
- optim: every optimizer's trajectory against torch.optim (torch only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from hypothesis import settings
from hypothesis import strategies as st

from .. import losses as L
from .. import optim
from .._core import lib
from .._nodes import make_tensor, node_array
from ..engine import Tensor
from ..nn import ACTIVATIONS, MLP
from . import strategies as S
from ._compare import GradientMismatch, Tally, compare_with_central_differences, compare_with_torch
from .checks import Outcome, compare_function, compare_model, run_examples

AREAS = ("ops", "graphs", "mlp", "losses", "optim")
"""The areas in the order ``verify`` runs and reports them."""


@dataclass
class References:
    """What one run compares with: the torch module (None: without torch), and its tally."""

    torch: Any
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True)
class Check:
    """One property: cases drawn from `strategy`, each checked by ``run(case, refs)``.

    `uses_torch` and `uses_fd`: the references `run` compares with when it can (a
    check that needs torch and has no other reference is skipped without it).
    `weight` multiplies the number of examples (programs are cheap and are where
    gradient accumulation goes wrong).
    """

    area: str
    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Any, References], None]
    uses_torch: bool = True
    uses_fd: bool = True
    weight: int = 1

    def runs_without_torch(self) -> bool:
        """True when the check has a reference other than torch."""
        return self.uses_fd

    def test(self, torch: Any) -> None:
        """Run the check under the active hypothesis profile (the project's tests).

        The profile's number of examples times `weight`; a failure raises, with
        hypothesis's report of the failing case.
        """
        refs = References(torch)
        outcome = run_examples(self.name, self.strategy, lambda case: self.run(case, refs),
                               max_examples=self.weight * settings().max_examples,
                               isolated=False)
        if outcome.failure is not None:
            raise outcome.failure

    def run_examples(self, refs: References, examples: int, seed: int,
                     shrink: bool = True) -> Outcome:
        """Run the check on `examples` times its weight cases, with hypothesis's `seed`."""
        return run_examples(self.name, self.strategy, lambda case: self.run(case, refs),
                            max_examples=examples * self.weight, seed=seed, shrink=shrink)


CHECKS: list[Check] = []
"""Every check, area by area (the functions below add them)."""


def _add(area: str, name: str, strategy: st.SearchStrategy[Any],
         run: Callable[[Any, References], None], **kw: Any) -> None:
    CHECKS.append(Check(area, name, strategy, run, **kw))


# ---- ops -----------------------------------------------------------------------------

BINARY_INPUTS = {
    "add": (S.values, S.values),
    "sub": (S.values, S.values),
    "mul": (S.values, S.values),
    "div": (S.values, S.nonzero),
    "pow": (S.pow_bases, S.exponents),
}
"""The two operands' strategies of each binary op."""

SAME_INPUTS = {
    "add": S.values,
    "sub": S.values,
    "mul": S.values,
    "div": S.nonzero,
    "pow": S.reals(0.1, 3.0),
}
"""x op x: an operand that suits both sides (a denominator, a pow base)."""

UNARY_INPUTS = {
    "neg": S.values,
    "tanh": S.squash_inputs,
    "relu": S.relu_inputs,
    "exp": S.exp_inputs,
    "log": S.positive,
    "sigmoid": S.squash_inputs,
}
"""The operand strategy of each unary op."""


class OpCase(NamedTuple):
    """One op in one operand form ("tt", "tn", "nt", "same", "u") on a and b."""

    op: str
    form: str
    a: float
    b: float


def op_function(case: OpCase) -> tuple[Callable[..., Any], list[float]]:
    """The case as a function of its Tensor operands, and their values.

    "tn" and "nt" fold the number into the function (the node is a *_const op);
    a unary op is multiplied by b, so the upstream gradient is not 1.
    """
    a, b = case.a, case.b
    if case.form == "u":
        fn = S.UNARY[case.op]
        return (lambda x, w: fn(x) * w), [a, b]
    op = S.BINARY[case.op]
    if case.form == "tt":
        return (lambda x, y: op(x, y)), [a, b]
    if case.form == "tn":
        return (lambda x: op(x, b)), [a]
    if case.form == "nt":
        return (lambda y: op(a, y)), [b]
    return (lambda x: op(x, x)), [a]


def _run_op(case: OpCase, refs: References) -> None:
    f, inputs = op_function(case)
    compare_function(f, inputs, torch=refs.torch is not None, tally=refs.tally)


def _op_cases(op: str, form: str, a: st.SearchStrategy[float],
              b: st.SearchStrategy[float]) -> st.SearchStrategy[OpCase]:
    return st.builds(OpCase, st.just(op), st.just(form), a, b)


for _op, (_a, _b) in BINARY_INPUTS.items():
    for _form in S.FORMS:
        _add("ops", f"{_op} {_form}", _op_cases(_op, _form, _a, _b), _run_op)
    _add("ops", f"{_op} x x", _op_cases(_op, "same", SAME_INPUTS[_op], st.just(0.0)), _run_op)
# (negative or positive base) ** (integer exponent): the one case where a negative base
# is in the domain; only as pow_const, since d/d(exponent) needs ln(base).
_add("ops", "pow tn integer exponent", _op_cases("pow", "tn", S.signed_bases, S.int_exponents),
     _run_op)
# The upstream gradient w stays away from 0, where it would hide the local derivative.
for _op, _a in UNARY_INPUTS.items():
    _add("ops", _op, _op_cases(_op, "u", _a, S.away_from(0.0, 0.1, -2.0, 2.0)), _run_op)


class NaryCase(NamedTuple):
    """An n-ary node over leaves of `pool` (`operands` index it, with repeats).

    Each leaf j also feeds the root through ``extra[j] * leaf``, so its gradient
    sums over two parents. `targets` are bce_with_logits's, one per operand;
    cross_entropy's label is the operand that targets[0] picks (`_label`).
    """

    op: str
    pool: tuple[float, ...]
    operands: tuple[int, ...]
    extra: tuple[float, ...]
    targets: tuple[float, ...]


def _label(targets: Sequence[float], k: int) -> int:
    """cross_entropy's class among k operands: targets[0] in [0, 1] scaled to range(k)."""
    return min(int(targets[0] * k), k - 1)


def _nary_node(op: str, xs: Sequence[Tensor], targets: Sequence[float]) -> Tensor:
    """The C API's n-ary node (bce: a sum of single-logit nodes) over Tensors."""
    if op == "cross_entropy":
        return make_tensor(lib.mg_cross_entropy, node_array(xs), len(xs),
                           _label(targets, len(xs)), what=op)
    if op == "bce_with_logits":
        terms = [make_tensor(lib.mg_bce_with_logits, x._node, t, what=op)
                 for x, t in zip(xs, targets)]
        total: Tensor = _sum(terms)
        return total
    fn = {"sum": lib.mg_sum, "sum_squares": lib.mg_sum_squares,
          "logsumexp": lib.mg_logsumexp}[op]
    return make_tensor(fn, node_array(xs), len(xs), what=op)


def _nary_torch(torch: Any, op: str, xs: Sequence[Any], targets: Sequence[float]) -> Any:
    x = torch.stack(list(xs))
    if op == "sum":
        return x.sum()
    if op == "sum_squares":
        return (x * x).sum()
    if op == "logsumexp":
        return torch.logsumexp(x, 0)
    if op == "cross_entropy":
        label = torch.tensor([_label(targets, len(xs))])
        return torch.nn.functional.cross_entropy(x[None], label)
    t = torch.tensor(targets, dtype=torch.float64)
    return torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="sum")


def _with_extra(node: Any, pool: Sequence[Any], extra: Sequence[float]) -> Any:
    """node + sum_j extra[j] * pool[j], for Tensors and torch tensors alike."""
    out = node
    for x, c in zip(pool, extra):
        out = out + x * c
    return out


def _sum(xs: Sequence[Any]) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _run_nary(case: NaryCase, refs: References) -> None:
    def ours(*pool: Tensor) -> Tensor:
        node = _nary_node(case.op, [pool[i] for i in case.operands], case.targets)
        return _with_extra(node, pool, case.extra)  # type: ignore[no-any-return]

    def theirs(*pool: Any) -> Any:
        node = _nary_torch(refs.torch, case.op, [pool[i] for i in case.operands],
                           case.targets)
        return _with_extra(node, pool, case.extra)

    compare_function(ours, case.pool, reference=theirs, torch=refs.torch is not None,
                     tally=refs.tally)


@st.composite
def _nary_cases(draw: Any, op: str, elements: st.SearchStrategy[float]) -> NaryCase:
    k = draw(st.integers(1, 4))
    pool = tuple(draw(st.lists(elements, min_size=k, max_size=k)))
    operands = tuple(draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=6)))
    extra = tuple(draw(st.lists(S.reals(-2.0, 2.0), min_size=k, max_size=k)))
    targets = tuple(draw(st.lists(S.reals(0.0, 1.0), min_size=len(operands),
                                  max_size=len(operands))))
    return NaryCase(op, pool, operands, extra, targets)


NARY_INPUTS = {
    "sum": S.reals(-10.0, 10.0),
    "sum_squares": S.reals(-10.0, 10.0),
    "logsumexp": S.reals(-30.0, 30.0),
    "bce_with_logits": S.reals(-30.0, 30.0),
    "cross_entropy": S.reals(-30.0, 30.0),
}
"""The operand strategy of each n-ary node (bce_with_logits: a sum of its nodes)."""

for _op, _elements in NARY_INPUTS.items():
    _add("ops", f"{_op} node, shared operands", _nary_cases(_op, _elements), _run_nary,
         uses_torch=True)


# ---- graphs ---------------------------------------------------------------------------


def _torch_leaf(torch: Any) -> Callable[[float], Any]:
    return lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)


def program_against_torch(program: S.Program, refs: References) -> None:
    """Every node's value and gradient (leaves and intermediates), as torch gives them."""
    torch = refs.torch
    ours = S.run_program(program, Tensor)
    ours[-1].backward()
    theirs = S.run_program(program, _torch_leaf(torch))
    for t in theirs[len(program.leaves):]:
        t.retain_grad()
    theirs[-1].backward()
    n = len(ours)
    compare_with_torch(
        refs.tally, f"{program!r}", [f"v{k}" for k in range(n)] + [f"d/dv{k}" for k in range(n)],
        [t.value for t in ours] + [t.gradient for t in ours],
        [float(t.detach()) for t in theirs] +
        [0.0 if t.grad is None else float(t.grad) for t in theirs])


def program_against_central_differences(program: S.Program, refs: References) -> None:
    """d(root)/d(node) from backward() against central differences, for every node.

    For an intermediate node k the program is re-run with node k replaced by a leaf
    (`run_program`'s `replace`): exactly the partial derivative reverse mode gives k.
    """
    nodes = S.run_program(program, Tensor)
    nodes[-1].backward()
    size = 1.0 + sum(abs(n.value) for n in nodes)
    for k, node in enumerate(nodes):
        def value_at(v: float, k: int = k) -> float:
            return float(S.run_program(program, Tensor, replace={k: v})[-1].value)

        compare_with_central_differences(refs.tally, f"node v{k} of {program!r}", value_at,
                                         node.value, node.gradient, size)


def program_backward_twice(program: S.Program, refs: References) -> None:
    """A second backward() gives every node exactly twice the first call's gradient."""
    nodes = S.run_program(program, Tensor)
    nodes[-1].backward()
    first = [n.gradient for n in nodes]
    nodes[-1].backward()
    wrong = [f"v{k}: {g!r} then {n.gradient!r}" for k, (n, g) in enumerate(zip(nodes, first))
             if n.gradient != 2.0 * g]
    if wrong:
        raise GradientMismatch(f"{program!r}: a second backward() did not double "
                               f"every gradient: {'; '.join(wrong)}")


_long_programs = S.programs(max_leaves=2, max_ops=30)
_add("graphs", "programs vs torch", S.programs(), program_against_torch, uses_fd=False,
     weight=4)
_add("graphs", "long programs vs torch", _long_programs, program_against_torch,
     uses_fd=False, weight=4)
_add("graphs", "programs vs central differences", S.programs(),
     program_against_central_differences, uses_torch=False, weight=4)
_add("graphs", "long programs vs central differences", _long_programs,
     program_against_central_differences, uses_torch=False, weight=4)
_add("graphs", "second backward doubles", S.programs(), program_backward_twice,
     uses_torch=False, weight=4)


# ---- mlp --------------------------------------------------------------------------------

SMOOTH_ACTIVATIONS = ("tanh", "sigmoid", "linear")
"""The activations without a kink, which central differences can check anywhere."""


class MlpCase(NamedTuple):
    """A random MLP (shape, activations, seed), a batch of rows and each output's weight."""

    nin: int
    nouts: tuple[int, ...]
    activation: str
    final: str | None
    seed: int
    rows: tuple[tuple[float, ...], ...]
    coeffs: tuple[float, ...]


@st.composite
def mlp_cases(draw: Any, activations: Sequence[str] = tuple(ACTIVATIONS)) -> MlpCase:
    """1-3 layers of width 1-5 over 1-4 inputs, 1-4 rows of inputs in [-3, 3]."""
    nin = draw(st.integers(1, 4))
    nouts = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    row = st.tuples(*[S.reals(-3.0, 3.0)] * nin)
    rows = tuple(draw(st.lists(row, min_size=1, max_size=4)))
    coeffs = tuple(draw(st.lists(S.reals(-2.0, 2.0), min_size=nouts[-1],
                                 max_size=nouts[-1])))
    acts = st.sampled_from(list(activations))
    return MlpCase(nin, nouts, draw(acts), draw(st.one_of(st.none(), acts)),
                   draw(st.integers(0, 2**32 - 1)), rows, coeffs)


def _run_mlp(case: MlpCase, refs: References, torch: bool = True) -> None:
    model = MLP(case.nin, list(case.nouts), case.activation, case.final, seed=case.seed)
    compare_model(model, case.rows, case.coeffs, torch=torch and refs.torch is not None,
                  tally=refs.tally)


# With torch: every activation (central differences too, for the smooth ones). Without:
# the smooth ones against central differences, since a step could cross relu's kink.
_add("mlp", "MLP: sample by sample and batched", mlp_cases(), _run_mlp, uses_fd=False)
_add("mlp", "smooth MLP vs central differences", mlp_cases(SMOOTH_ACTIVATIONS),
     lambda case, refs: _run_mlp(case, refs, torch=False), uses_torch=False)


# ---- losses -----------------------------------------------------------------------------


class LossCase(NamedTuple):
    """A loss over predictions ``pool[i] for i in operands`` (repeats allowed).

    Each leaf j also feeds the root through ``extra[j] * leaf``. cross-entropy reads
    the predictions as rows of `classes` logits and `labels`; l2_penalty uses `alpha`.
    """

    loss: str
    pool: tuple[float, ...]
    operands: tuple[int, ...]
    targets: tuple[float, ...]
    extra: tuple[float, ...]
    labels: tuple[int, ...] = ()
    classes: int = 0
    alpha: float = 0.0


def _loss_of(case: LossCase, xs: list[Any], torch: Any) -> Any:
    """The case's loss of the predictions xs: in pymicrograd, or with torch's functions."""
    name = case.loss
    if torch is None:
        if name == "cross_entropy":
            k = case.classes
            return L.cross_entropy_loss([xs[i:i + k] for i in range(0, len(xs), k)],
                                        list(case.labels))
        if name == "l2_penalty":
            return L.l2_penalty(xs, case.alpha)
        fn = {"sse": L.sse_loss, "mse": L.mse_loss, "hinge": L.hinge_loss,
              "bce_with_logits": L.bce_with_logits_loss}[name]
        return fn(xs, list(case.targets))
    F = torch.nn.functional
    x = torch.stack(xs)
    t = torch.tensor(case.targets, dtype=torch.float64)
    if name == "sse":
        return F.mse_loss(x, t, reduction="sum")
    if name == "mse":
        return F.mse_loss(x, t)
    if name == "hinge":
        return torch.relu(1 - t * x).mean()
    if name == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(x, t)
    if name == "cross_entropy":
        return F.cross_entropy(x.reshape(-1, case.classes),
                               torch.tensor(case.labels, dtype=torch.long))
    return case.alpha * (x * x).sum()


def _run_loss(case: LossCase, refs: References) -> None:
    def ours(*pool: Tensor) -> Tensor:
        loss = _loss_of(case, [pool[i] for i in case.operands], None)
        return _with_extra(loss, pool, case.extra)  # type: ignore[no-any-return]

    def theirs(*pool: Any) -> Any:
        loss = _loss_of(case, [pool[i] for i in case.operands], refs.torch)
        return _with_extra(loss, pool, case.extra)

    compare_function(ours, case.pool, reference=theirs, torch=refs.torch is not None,
                     tally=refs.tally)


_logits = st.one_of(S.reals(-50.0, 50.0), st.sampled_from([50.0, -50.0, 500.0, -500.0]))
_probabilities = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), S.reals(0.0, 1.0))
# A hinge score with |score| away from 1, so that no margin (+-score) sits on the kink.
_scores = st.tuples(S.away_from(1.0, 1e-3, 0.0, 5.0), st.sampled_from([1.0, -1.0])).map(
    lambda t: t[0] * t[1])


@st.composite
def loss_cases(draw: Any, loss: str) -> LossCase:
    """A `LossCase`: a pool of 1-4 leaves, and 1-8 predictions drawn from it.

    For cross_entropy the predictions are 1-4 rows of 1-5 logits.
    """
    elements = {"hinge": _scores, "bce_with_logits": _logits, "cross_entropy": _logits}.get(
        loss, S.reals(-10.0, 10.0))
    size = draw(st.integers(1, 4))
    pool = tuple(draw(st.lists(elements, min_size=size, max_size=size)))
    extra = tuple(draw(st.lists(S.reals(-2.0, 2.0), min_size=size, max_size=size)))
    rows, classes = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    n = rows * classes if loss == "cross_entropy" else draw(st.integers(1, 8))
    operands = tuple(draw(st.lists(st.integers(0, size - 1), min_size=n, max_size=n)))
    target = {"hinge": st.sampled_from([-1.0, 1.0]), "bce_with_logits": _probabilities}.get(
        loss, S.reals(-10.0, 10.0))
    targets = tuple(draw(st.lists(target, min_size=n, max_size=n)))
    if loss == "cross_entropy":
        labels = tuple(draw(st.lists(st.integers(0, classes - 1), min_size=rows,
                                     max_size=rows)))
        return LossCase(loss, pool, operands, (), extra, labels, classes)
    alpha = draw(S.reals(0.0, 1.0)) if loss == "l2_penalty" else 0.0
    return LossCase(loss, pool, operands, targets, extra, alpha=alpha)


LOSSES = ("sse", "mse", "hinge", "bce_with_logits", "cross_entropy", "l2_penalty")
"""Every loss of pymicrograd.losses, by the name `LossCase` gives it."""

for _loss in LOSSES:
    _add("losses", _loss, loss_cases(_loss), _run_loss)


# ---- optim -----------------------------------------------------------------------------


class Trajectory(NamedTuple):
    """An optimizer and its hyperparameters; start values; per step gradients and lr."""

    optimizer: str
    hypers: tuple[tuple[str, Any], ...]
    start: tuple[float, ...]
    steps: tuple[tuple[tuple[float, ...], float], ...]


_OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW}
_momenta = st.one_of(st.sampled_from([0.0, 0.9, 1.0]), S.reals(0.0, 1.0))
_decays = st.one_of(st.just(0.0), S.reals(0.0, 0.1))
_betas = st.one_of(st.just((0.9, 0.999)), st.tuples(S.reals(0.0, 0.99), S.reals(0.9, 0.9999)))
_epsilons = st.one_of(st.just(1e-8), S.reals(1e-10, 1e-3))


@st.composite
def trajectories(draw: Any, optimizer: str) -> Trajectory:
    """1-5 parameters in [-3, 3], 3-6 steps of gradients in [-5, 5] (0 included)."""
    n = draw(st.integers(1, 5))
    start = tuple(draw(st.lists(S.reals(-3.0, 3.0), min_size=n, max_size=n)))
    grads = st.lists(st.one_of(S.reals(-5.0, 5.0), st.just(0.0)), min_size=n, max_size=n)
    steps = tuple((tuple(g), lr) for g, lr in draw(st.lists(
        st.tuples(grads, S.reals(1e-4, 0.5)), min_size=3, max_size=6)))
    if optimizer == "SGD":
        hypers: tuple[tuple[str, Any], ...] = (("momentum", draw(_momenta)),
                                               ("weight_decay", draw(_decays)))
    else:
        decay = st.one_of(st.just(1e-2), _decays) if optimizer == "AdamW" else _decays
        hypers = (("betas", draw(_betas)), ("eps", draw(_epsilons)),
                  ("weight_decay", draw(decay)))
    return Trajectory(optimizer, hypers, start, steps)


def _run_trajectory(case: Trajectory, refs: References) -> None:
    torch = refs.torch
    params = [Tensor(v) for v in case.start]
    t_param = torch.tensor(case.start, dtype=torch.float64, requires_grad=True)
    lr0 = case.steps[0][1]
    hypers = dict(case.hypers)
    opt = _OPTIMIZERS[case.optimizer](params, lr0, **hypers)
    t_opt = getattr(torch.optim, case.optimizer)([t_param], lr=lr0, **hypers)
    for k, (grad, lr) in enumerate(case.steps):
        for p, g in zip(params, grad):
            p.gradient = g
        t_param.grad = torch.tensor(grad, dtype=torch.float64)
        opt.lr = lr
        for group in t_opt.param_groups:
            group["lr"] = lr
        opt.step()
        t_opt.step()
        compare_with_torch(refs.tally, f"{case!r}, after step {k + 1}",
                           [f"parameter {i}" for i in range(len(params))],
                           [p.value for p in params], t_param.detach().tolist())


for _name in _OPTIMIZERS:
    _add("optim", f"{_name} trajectory", trajectories(_name), _run_trajectory, uses_fd=False)


# ---- running them -------------------------------------------------------------------------


@dataclass
class AreaResult:
    """One area's checks: how many ran or were skipped, examples, errors, failures."""

    area: str
    checks: int = 0
    skipped: int = 0
    examples: int = 0
    tally: Tally = field(default_factory=Tally)
    failures: list[tuple[Check, Outcome]] = field(default_factory=list)


def run_suite(torch: Any, examples: int, seed: int, *, areas: Sequence[str] | None = None,
              shrink: bool = True, stop_at_first_failure: bool = False,
              on_area: Callable[[AreaResult], None] | None = None) -> list[AreaResult]:
    """Run the checks of `areas`, each on `examples` examples (times its weight).

    `areas` defaults to all of them (`AREAS`). `torch` is the torch module, or None to
    compare with central differences only (checks with no other reference are
    skipped). `on_area` is called with each area's result as soon as it is complete.
    """
    results = []
    for area in areas or AREAS:
        result = AreaResult(area)
        for check in (c for c in CHECKS if c.area == area):
            if torch is None and not check.runs_without_torch():
                result.skipped += 1
                continue
            refs = References(torch)
            outcome = check.run_examples(refs, examples, seed, shrink=shrink)
            result.checks += 1
            result.examples += outcome.examples
            result.tally.add(refs.tally)
            if outcome.failure is not None:
                result.failures.append((check, outcome))
                if stop_at_first_failure:
                    break
        results.append(result)
        if on_area is not None:
            on_area(result)
        if stop_at_first_failure and result.failures:
            break
    return results

