"""Check gradients of your own code the way pymicrograd checks its own.

- `check_function(f, *strategies)`: f, written with operators and the Tensor methods
  torch tensors also have, runs on pymicrograd Tensors and on torch float64 tensors
  over inputs hypothesis draws; the value and every input's gradient must agree, and
  every gradient must agree with central differences. A failure raises
  `GradientMismatch` with the smallest failing input.
- `check_model(model)`: the same for an `nn.MLP`, `Layer` or `Neuron` against its
  `interop.to_torch` twin.
- `compare_function` and `compare_model`: one input, for hypothesis tests of your own.
- strategies (`reals`, `away_from`, `positive`, `nonzero`, ..., `leaves`,
  `programs`): inputs shifted away from kinks and poles, and random programs.

``python -m pymicrograd verify`` runs the project's own checks, built from these
(chapter 9 of the tutorial). Needs hypothesis: ``pip install "pymicrograd[verify]"``;
the torch half needs torch (``pip install torch==2.13.0``), without it only central
differences are compared.
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis  # noqa: F401  (checked first, for a clear message)
except ImportError as e:
    raise ImportError('pymicrograd.testing needs hypothesis: pip install "pymicrograd[verify]"'
                      ) from e

from . import strategies
from ._compare import GradientMismatch, Tally
from .checks import CheckReport, check_function, check_model, compare_function, compare_model
from .strategies import (
    Instr,
    Program,
    away_from,
    exp_inputs,
    exponents,
    int_exponents,
    leaf_values,
    leaves,
    nonzero,
    positive,
    pow_bases,
    programs,
    reals,
    relu_inputs,
    run_program,
    signed_bases,
    squash_inputs,
    values,
)

__all__ = [
    "CheckReport",
    "GradientMismatch",
    "Instr",
    "Program",
    "Tally",
    "away_from",
    "check_function",
    "check_model",
    "compare_function",
    "compare_model",
    "exp_inputs",
    "exponents",
    "int_exponents",
    "leaf_values",
    "leaves",
    "nonzero",
    "positive",
    "pow_bases",
    "programs",
    "reals",
    "relu_inputs",
    "run_program",
    "signed_bases",
    "squash_inputs",
    "strategies",
    "values",
]
