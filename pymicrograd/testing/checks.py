"""Gradient checks for your own code: a function, or a model, against two references.

- `compare_function` and `compare_model` check one input: pymicrograd's value and
  every gradient against PyTorch in float64 (the same function run on torch tensors,
  or a `reference` of your own) and against central differences of pymicrograd's own
  forward pass. Use them inside a hypothesis test of your own.
- `check_function` and `check_model` draw the inputs with hypothesis, run the
  comparison on each, and on a failure raise `GradientMismatch` with the smallest
  failing input hypothesis could shrink to. They are plain functions: call them in a
  script, or in a pytest test.

The two references catch different bugs. torch checks every number to float64
precision, but only where it computes the derivative itself: a function that states
its own derivative (a custom op, chapter 9 of the tutorial), run on torch tensors,
makes torch differentiate the same hand-written slope. Central differences look at
nothing but values, so no hand-written slope fools them.
"""

from __future__ import annotations

import importlib
import inspect
import random
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..engine import Tensor
from ..interop import Model
from ..nn import MLP, Layer, Neuron
from . import strategies as S
from ._compare import (
    GradientMismatch,
    Tally,
    compare_with_central_differences,
    compare_with_torch,
    graph_size,
)

__all__ = ["CheckReport", "GradientMismatch", "Tally", "check_function", "check_model",
           "compare_function", "compare_model"]


_TORCH_HINT = ("pip install torch==2.13.0 (the version pymicrograd is tested with; "
               "on Linux add --extra-index-url https://download.pytorch.org/whl/cpu "
               "for the CPU build)")


def torch_module(use: bool | None) -> Any:
    """The torch module to compare with, or None: `use` False, or None and no torch.

    ImportError, with the install command, when `use` is True and torch is missing.
    """
    if use is False:
        return None
    try:
        with warnings.catch_warnings():
            # torch warns at import when numpy is missing, which nothing here uses
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            return importlib.import_module("torch")
    except ImportError as e:
        if use:
            raise ImportError(f"comparing with torch needs torch, which could not be "
                              f"imported ({e}): {_TORCH_HINT}") from e
        return None


# ---- one input ------------------------------------------------------------------------


def _input_names(f: Callable[..., Any], n: int) -> list[str]:
    """f's parameter names when it takes exactly n positional ones, else x0, x1, ..."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(params) == n and all(p.kind in positional for p in params):
        return [p.name for p in params]
    return [f"x{i}" for i in range(n)]


def _call(f: Callable[..., Any], args: Sequence[Any]) -> Tensor:
    out = f(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"the function must return a Tensor on Tensor inputs, "
                        f"not {type(out).__name__}")
    return out


def _torch_value_and_grads(torch: Any, f: Callable[..., Any],
                           inputs: Sequence[float]) -> tuple[float, list[float]]:
    """f's value and gradients on torch float64 leaves (0 where f does not depend)."""
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    hint = "give compare_function a `reference` written with torch, or torch=False"
    try:
        out = f(*leaves)
    except Exception as e:
        raise TypeError(f"the function cannot run on torch tensors ({type(e).__name__}: "
                        f"{e}); {hint}") from e
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise TypeError(f"on torch tensors the function must return a one-element "
                        f"tensor, not {type(out).__name__}; {hint}")
    value = float(out.detach())
    if not out.requires_grad:  # f ignores its inputs
        return value, [0.0] * len(inputs)
    grads = torch.autograd.grad(out.reshape(()), leaves, allow_unused=True)
    return value, [0.0 if g is None else float(g) for g in grads]


def compare_function(f: Callable[..., Any], inputs: Sequence[float], *,
                     reference: Callable[..., Any] | None = None, torch: bool | None = None,
                     finite_differences: bool = True, tally: Tally | None = None) -> Tally:
    """Check f's value and gradients at one input against torch and central differences.

    `f` takes one Tensor per input and returns a Tensor; written with operators and
    the Tensor methods torch tensors share (``tanh``, ``exp``, ``log``, ``relu``,
    ``sigmoid``, ``**``), the same f also runs on torch float64 tensors, which is the
    torch reference; else pass `reference`, a function of torch tensors. `torch`:
    True requires torch, False skips it, None (default) uses it when it imports.
    `finite_differences`: also compare each gradient with a central difference of
    f's values. Returns the `Tally` of the comparisons (the one given, updated);
    raises `GradientMismatch` naming every number that disagrees.
    """
    tally = Tally() if tally is None else tally
    xs = [float(v) for v in inputs]
    names = _input_names(f, len(xs))
    leaves = [Tensor(v) for v in xs]
    out = _call(f, leaves)
    out.backward()
    value, grads = out.value, [leaf.gradient for leaf in leaves]
    module = torch_module(torch)
    if module is not None:
        t_value, t_grads = _torch_value_and_grads(module, reference or f, xs)
        compare_with_torch(tally, f"at {_show(names, xs)}", ["value"] +
                           [f"d/d{n}" for n in names], [value, *grads], [t_value, *t_grads])
    if finite_differences:
        size = graph_size(out)
        for i, name in enumerate(names):
            def value_at(v: float, i: int = i) -> float:
                return _call(f, [Tensor(v if j == i else x) for j, x in enumerate(xs)]).value

            compare_with_central_differences(tally, f"d/d{name} at {_show(names, xs)}",
                                             value_at, xs[i], grads[i], size)
    return tally


def _show(names: Sequence[str], xs: Sequence[float]) -> str:
    return ", ".join(f"{n}={x!r}" for n, x in zip(names, xs))


def _outputs(out: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [out] if isinstance(out, Tensor) else list(out)


def _levels(outs: Sequence[Tensor], nins: Sequence[int]) -> list[list[Tensor]]:
    """The nodes of one sample's forward pass, level by level from the inputs.

    `outs` are the sample's outputs; a neuron's children are its weights, the nodes
    of the level below and its bias, so the level below is ``children[nin:2 nin]``.
    """
    levels = [list(outs)]
    for nin in reversed(nins):
        levels.append(list(levels[-1][0].children[nin:2 * nin]))
    return levels[::-1]


def _torch_model_pass(torch: Any, twin: Any, rows: Sequence[Sequence[float]],
                      coeffs: Sequence[float]) -> tuple[Any, list[Any], list[float]]:
    """The twin on `rows`: outputs, levels and parameter gradients.

    The levels are the tensors of every layer's outputs, the inputs first, with their
    gradients filled in; the parameter gradients are in micrograd's order.
    """
    x = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    levels = [x]
    modules = list(twin)
    i, h = 0, x
    while i < len(modules):
        h = modules[i](h)  # a Linear ...
        i += 1
        if i < len(modules) and not isinstance(modules[i], torch.nn.Linear):
            h = modules[i](h)  # ... and its activation
            i += 1
        h.retain_grad()
        levels.append(h)
    (h * torch.tensor(coeffs, dtype=torch.float64)).sum().backward()
    grads = []
    for module in modules:
        if isinstance(module, torch.nn.Linear):
            rows_grad = torch.cat([module.weight.grad, module.bias.grad[:, None]], dim=1)
            grads.extend(rows_grad.flatten().tolist())
    return h, levels, grads


def _layer_shapes(model: Model) -> list[tuple[int, int, str]]:
    """(nin, nout, activation) of each layer of `model`."""
    if isinstance(model, MLP):
        return [(layer.nin, layer.nout, layer.activation) for layer in model.layers]
    if isinstance(model, Layer):
        return [(model.nin, model.nout, model.activation)]
    if isinstance(model, Neuron):
        return [(model.nin, 1, model.activation)]
    raise TypeError(f"compare_model needs a pymicrograd.nn MLP, Layer or Neuron, "
                    f"not {type(model).__name__}")


def compare_model(model: Model, rows: Sequence[Sequence[float]],
                  coeffs: Sequence[float] | None = None, *, torch: bool | None = None,
                  finite_differences: bool | None = None, tally: Tally | None = None) -> Tally:
    """Check a model on a batch of inputs against its `interop.to_torch` twin.

    The root is ``sum over samples s and outputs j of coeffs[j] * output[s][j]``
    (coeffs default to 1). The model runs three ways: sample by sample on Tensor
    inputs, sample by sample on plain numbers, and (an MLP) in one `forward_batch`.
    Each way must give bit-identical outputs, match torch float64 (outputs, and the
    gradient of every parameter, every input and every hidden node), and double
    every gradient exactly when backpropagated a second time. `torch`: True requires
    torch, False skips it, None (default) uses it when it imports. With
    `finite_differences` (default: when no layer uses relu, whose kink a step could
    cross) the parameter and input gradients are also compared with central
    differences. Returns the `Tally` (the one given, updated); raises
    `GradientMismatch` naming every number that disagrees.
    """
    tally = Tally() if tally is None else tally
    shapes = _layer_shapes(model)
    nins, nout = [nin for nin, _, _ in shapes], shapes[-1][1]
    data = [[float(v) for v in row] for row in rows]
    if not data or any(len(row) != nins[0] for row in data):
        raise ValueError(f"compare_model needs at least one row of {nins[0]} inputs")
    cs = [1.0] * nout if coeffs is None else [float(c) for c in coeffs]
    if len(cs) != nout:
        raise ValueError(f"the model has {nout} outputs but {len(cs)} coefficients were given")
    params = model.parameters()
    module = torch_module(torch)
    expected: list[float] | None = None
    if module is not None:
        from ..interop import to_torch

        t_out, t_levels, t_pgrads = _torch_model_pass(module, to_torch(model), data, cs)
        expected = (t_out.flatten().tolist() + t_pgrads +
                    [v for t in t_levels for v in t.grad.flatten().tolist()])

    ways: list[tuple[str, Callable[[], list[list[Tensor]]]]] = [
        ("model(x), x Tensors", lambda: [_outputs(model([Tensor(v) for v in row]))
                                         for row in data]),
        ("model(x), x numbers", lambda: [_outputs(model(row)) for row in data]),
    ]
    if isinstance(model, MLP):
        ways.append(("forward_batch", lambda: [_outputs(o) for o in model.forward_batch(data)]))
    first_values: list[float] | None = None
    for way, forward in ways:
        model.zero_grad()
        outs = forward()
        values = [o.value for sample in outs for o in sample]
        if first_values is None:
            first_values = values
        elif values != first_values:
            raise GradientMismatch(f"{way}: the outputs {values} differ from those of "
                                   f"model(x) on Tensors {first_values}")
        root = _weighted_root(outs, cs)
        root.backward()
        levels = [_levels(sample, nins) for sample in outs]   # [sample][level][node]
        nodes = [n for level in range(len(nins) + 1) for sample in levels
                 for n in sample[level]]
        labels = ([f"output {k}" for k in range(len(values))] +
                  [f"d/d(parameter {k})" for k in range(len(params))] +
                  [_node_label(level, s, j, len(nins)) for level in range(len(nins) + 1)
                   for s in range(len(data)) for j in range(len(levels[s][level]))])
        grads = [p.gradient for p in params] + [n.gradient for n in nodes]
        if expected is not None:
            compare_with_torch(tally, f"{way}, rows {data}, coefficients {cs}", labels,
                               values + grads, expected)
        if way == ways[0][0] and _smooth(shapes, finite_differences):
            input_grads = [[x.gradient for x in sample[0]] for sample in levels]
            _model_central_differences(tally, model, data, cs, input_grads,
                                       graph_size(root))
        root.backward()
        again = [p.gradient for p in params] + [n.gradient for n in nodes]
        doubled = [label for label, g, g2 in zip(labels[len(values):], grads, again)
                   if g2 != 2.0 * g]
        if doubled:
            raise GradientMismatch(f"{way}, rows {data}: a second backward() did not double "
                                   f"the gradient of {', '.join(doubled)}")
    return tally


def _smooth(shapes: Sequence[tuple[int, int, str]], finite_differences: bool | None) -> bool:
    if finite_differences is None:
        return all(act != "relu" for _, _, act in shapes)
    return finite_differences


def _node_label(level: int, sample: int, j: int, top: int) -> str:
    if level == 0:
        return f"d/d(input {j} of row {sample})"
    if level == top:
        return f"d/d(output {j} of row {sample})"
    return f"d/d(hidden node {j} of layer {level} on row {sample})"


def _weighted_root(outs: Sequence[Sequence[Tensor]], cs: Sequence[float]) -> Tensor:
    terms = [o * c for sample in outs for o, c in zip(sample, cs)]
    root = terms[0]
    for t in terms[1:]:
        root = root + t
    return root


def _model_central_differences(tally: Tally, model: Model, data: list[list[float]],
                               cs: Sequence[float], input_grads: list[list[float]],
                               size: float) -> None:
    """Parameter and input gradients against central differences of the root's value.

    The parameters' gradients are read as they are now; `input_grads` row by row.
    """
    def root_value(rows: list[list[float]]) -> float:
        return sum(o.value * c for row in rows for o, c in zip(_outputs(model(row)), cs))

    for k, p in enumerate(model.parameters()):
        original = p.value

        def at_param(v: float, p: Tensor = p) -> float:
            p.value = v
            return root_value(data)

        try:
            compare_with_central_differences(tally, f"d/d(parameter {k}), rows {data}",
                                             at_param, original, p.gradient, size)
        finally:
            p.value = original
    for s, row in enumerate(data):
        for i, x in enumerate(row):
            def at_input(v: float, s: int = s, i: int = i) -> float:
                rows = [list(r) for r in data]
                rows[s][i] = v
                return root_value(rows)

            compare_with_central_differences(tally, f"d/d(input {i} of row {s}), rows {data}",
                                             at_input, x, input_grads[s][i], size)


# ---- many inputs, drawn by hypothesis -------------------------------------------------


@dataclass(frozen=True)
class CheckReport:
    """What a passing `check_function` or `check_model` compared."""

    examples: int
    """How many inputs were drawn and checked."""
    references: tuple[str, ...]
    """What pymicrograd was compared with: "torch float64", "central differences"."""
    tally: Tally
    """The numbers compared and the worst error seen, per reference."""
    seed: int
    """hypothesis's seed: the same seed draws the same inputs."""

    def __str__(self) -> str:
        """One line: the examples, and the worst error against each reference."""
        worst = []
        if self.tally.torch_numbers:
            worst.append(f"torch float64 (worst error {self.tally.torch_worst:.2g})")
        if self.tally.fd_numbers:
            worst.append(f"central differences (worst error {self.tally.fd_worst:.2g})")
        return (f"{self.examples} examples (seed {self.seed}): every value and gradient "
                f"agrees with {' and '.join(worst)}")


@dataclass
class Outcome:
    """What running one body over hypothesis's examples gave (see `run_examples`)."""

    examples: int
    failure: BaseException | None = None
    example: str | None = None


def run_examples(name: str, strategy: st.SearchStrategy[Any], body: Callable[[Any], None], *,
                 max_examples: int | None = None, seed: int | None = None,
                 isolated: bool = True, shrink: bool = True,
                 show: Callable[[Any], str] = repr) -> Outcome:
    """Call body(case) on up to max_examples cases drawn from strategy.

    `isolated` (``verify``, `check_function`): no deadline, no example database
    (nothing is written to the current folder), no health checks (a slow example is
    not a wrong gradient), and hypothesis's `seed`. Not isolated (the project's
    tests): the active hypothesis profile's settings, but for `max_examples` when
    given. A failure is shrunk (unless `shrink` is False) and returned, not raised,
    with the smallest failing case as `show` writes it; KeyboardInterrupt propagates.
    """
    outcome = Outcome(0)

    def example(case: Any) -> None:
        outcome.examples += 1
        try:
            body(case)
        except Exception:
            outcome.example = show(case)   # the last failure is the shrunk one
            raise

    example.__name__ = example.__qualname__ = re.sub(r"\W", "_", name)  # an identifier
    # hypothesis's hook for telling apart cases that share one function's source
    example._hypothesis_internal_add_digest = name.encode()  # type: ignore[attr-defined]
    test = given(strategy)(example)
    if isolated:
        phases = list(Phase) if shrink else [Phase.explicit, Phase.generate]
        test = settings(max_examples=max_examples or 100, deadline=None, database=None,
                        derandomize=False, phases=phases, report_multiple_bugs=False,
                        suppress_health_check=list(HealthCheck), print_blob=False)(test)
    elif max_examples is not None:
        test = settings(max_examples=max_examples)(test)
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    try:
        test()
    except Exception as e:
        outcome.failure = e
    return outcome


def _new_seed(seed: int | None) -> int:
    return random.randrange(2**32) if seed is None else seed


def _raise(what: str, outcome: Outcome, seed: int) -> None:
    failure = outcome.failure
    assert failure is not None
    raise GradientMismatch(f"{what} fails after {outcome.examples} examples (seed {seed}); "
                           f"smallest failing input: {outcome.example}\n"
                           f"{type(failure).__name__}: {failure}") from failure


def _references(torch: Any, fd: bool) -> tuple[str, ...]:
    return (("torch float64",) if torch is not None else ()) + (
        ("central differences",) if fd else ())


def check_function(f: Callable[..., Any], *inputs: st.SearchStrategy[float],
                   reference: Callable[..., Any] | None = None, torch: bool | None = None,
                   finite_differences: bool = True, max_examples: int = 100,
                   seed: int | None = None) -> CheckReport:
    """`compare_function` on inputs drawn by hypothesis: one strategy per argument of f.

    Draw inputs away from f's kinks and poles (`strategies.away_from`,
    `strategies.positive`, ...): central differences straddling a kink fail, rightly.
    Raises `GradientMismatch` with the smallest failing input hypothesis shrinks to
    and the seed that draws it again; returns a `CheckReport`.

    >>> from pymicrograd.testing import check_function, reals
    >>> report = check_function(lambda a, b: (a * b).tanh(), reals(-2, 2), reals(-2, 2),
    ...                         max_examples=20, seed=0)
    >>> report.examples
    20
    """
    if not inputs:
        raise ValueError("check_function needs one strategy per argument of f")
    module = torch_module(torch)
    use_torch = module is not None
    tally = Tally()
    seed = _new_seed(seed)

    def body(xs: tuple[float, ...]) -> None:
        compare_function(f, xs, reference=reference, torch=use_torch,
                         finite_differences=finite_differences, tally=tally)

    name = getattr(f, "__name__", "f")
    names = _input_names(f, len(inputs))
    outcome = run_examples(name, st.tuples(*inputs), body, max_examples=max_examples,
                           seed=seed, show=lambda xs: _show(names, xs))
    if outcome.failure is not None:
        _raise(f"check_function({name})", outcome, seed)
    return CheckReport(outcome.examples, _references(module, finite_differences), tally, seed)


_MODEL_INPUTS = S.reals(-3.0, 3.0)


def check_model(model: Model, inputs: st.SearchStrategy[float] = _MODEL_INPUTS, *,
                max_rows: int = 4, torch: bool | None = None,
                finite_differences: bool | None = None, max_examples: int = 50,
                seed: int | None = None) -> CheckReport:
    """`compare_model` on batches drawn by hypothesis: 1 to max_rows rows of inputs.

    Each input number is drawn from `inputs`, and each output's coefficient in the
    root from [-2, 2]. Raises `GradientMismatch` with the smallest failing batch and
    the seed that draws it again; returns a `CheckReport`.
    """
    shapes = _layer_shapes(model)
    nin, nout = shapes[0][0], shapes[-1][1]
    row = st.lists(inputs, min_size=nin, max_size=nin)
    cases = st.tuples(st.lists(row, min_size=1, max_size=max_rows),
                      st.lists(S.reals(-2.0, 2.0), min_size=nout, max_size=nout))
    module = torch_module(torch)
    use_torch = module is not None
    tally = Tally()
    seed = _new_seed(seed)

    def body(case: tuple[list[list[float]], list[float]]) -> None:
        compare_model(model, case[0], case[1], torch=use_torch,
                      finite_differences=finite_differences, tally=tally)

    outcome = run_examples(f"check_model({model!r})", cases, body,
                           max_examples=max_examples, seed=seed)
    if outcome.failure is not None:
        _raise(f"check_model({model!r})", outcome, seed)
    fd = _smooth(shapes, finite_differences)
    return CheckReport(outcome.examples, _references(module, fd), tally, seed)
