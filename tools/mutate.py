#!/usr/bin/env python3
"""Mutation testing of the C core's derivatives, gradient accumulation and optimizers.

The tool makes small changes ("mutants") to the code that computes gradients, one at
a time: the local derivatives of every op (ops.c, nn.c, loss.c, activation.h,
mg_internal.h's mg__neuron_dz), the accumulation of gradients (backward.c, batch.c), the losses'
terms (loss.c) and the optimizers' updates (optim.c). Each mutant is one of: a sign
flipped, a term or factor dropped, ``+=`` made ``=`` (and back), ``*`` made ``/``,
a constant changed, two operands swapped, a comparison changed, a ``!`` or a unary
minus dropped, an accumulating statement deleted. It rebuilds the extension with
the mutant and runs a fast, strong profile of the tests, in three stages, stopping
at the first that fails:

  1. the project's gradient checks (pymicrograd.testing._suite, what ``python -m
     pymicrograd verify`` runs), 20 examples per check, hypothesis seed 0, no
     shrinking, stopping at the first failure;
  2. the C unit tests (tests/c), linked against the mutant core;
  3. selected pytest files (PYTEST_FILES below) under the ci hypothesis profile.

A mutant that makes a stage fail (or crash, or run past the time box) is *killed*;
one that passes all three *survived*: a change to a derivative no test notices. A
mutant that does not compile is counted apart. Some mutants cannot change any
result (a gradient restored with += where it is 0); they are listed in EQUIVALENT
below, with the reason, so that the score is reproducible, and a survivor that is
not listed fails the run. Others only read or write out of bounds and leave every
value right: the suite under AddressSanitizer and UBSan (.ci/asan-python) reports
them, this unsanitized profile cannot; they are listed in SANITIZER_ONLY with the
report, and counted as killed by "sanitizer".

Nothing touches the checkout: the sources are copied to a temporary folder, each
mutant is built there (the unchanged objects are compiled once), and the folder is
removed at the end, also on Ctrl-C.

    python tools/mutate.py                  every mutant (an hour or so on 2 cores)
    python tools/mutate.py --list           the mutants, without running anything
    python tools/mutate.py --budget 480 --seed 7
                                            a random sample for 8 minutes (.ci/mutation)
    python tools/mutate.py --files nn.c,optim.c --match sgd

Exit status: 0 when no non-equivalent mutant survived, 1 when one did, 2 when the
unmutated build fails its own profile (nothing to measure against).
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import random
import re
import runpy
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# ---- what is mutated ------------------------------------------------------------------

TARGETS: dict[str, tuple[str, ...]] = {
    # local derivatives of the scalar ops
    "ops.c": ("add_sub_mul_backward", "div_backward", "pow_backward", "neg_backward",
              "tanh_backward", "relu_backward", "exp_backward", "log_backward",
              "sigmoid_backward", "add_const_backward", "mul_const_backward",
              "div_const_backward", "pow_const_backward", "rsub_const_backward",
              "rdiv_const_backward", "rpow_const_backward"),
    # local derivatives of the n-ary nodes and neurons
    "nn.c": ("mg__neuron_backward", "mg__sum_backward", "mg__sum_squares_backward",
             "mg__logsumexp_backward"),
    "loss.c": ("mg__bce_logits_backward", "error_term", "mean_of", "hinge_term",
               "mg_l2_penalty"),
    # the activations' derivatives, shared by the scalar ops, neurons and batches
    "activation.h": ("mg__tanh_dz", "mg__relu_passes", "mg__relu_dz", "mg__sigmoid_dz"),
    "mg_internal.h": ("mg__neuron_dz",),
    # gradient accumulation: setting aside, propagating, finishing, undoing
    "backward.c": ("append", "undo_discover", "propagate", "finish_leaves"),
    "batch.c": ("tile_product", "backward_dense", "backward_nodes", "finish_batch"),
    # the optimizers' updates
    "optim.c": ("sgd_step", "adam_step", "mg_optimizer_step", "mg_optimizer_zero_grad"),
}
"""The functions mutated, file by file (csrc/)."""

EQUIVALENT: dict[tuple[str, str, str, str, int], str] = {}
"""Mutants that cannot change any result, keyed by `Mutant.key` (file, function, the
line and the mutated line with whitespace squeezed, and which of several identical
lines), and why. Filled in below the mutation engine."""

SANITIZER_ONLY: dict[tuple[str, str, str, str, int], str] = {}
"""Mutants whose only effect is a read or write out of bounds that leaves every value
right, keyed as EQUIVALENT, and the sanitizer report that kills them: the whole suite
under AddressSanitizer and UBSan (.ci/asan-python) fails on each, which this tool's
unsanitized profile cannot see. Counted as killed (by "sanitizer") without being run
again; each was checked by hand under that build when it was listed."""

PYTEST_FILES = (
    "tests/test_backward_semantics.py",
    "tests/test_allocation_failure.py",
    "tests/test_edges.py",
    "tests/test_random_graphs.py",
    "tests/test_nn.py",
    "tests/test_losses.py",
    "tests/test_optim.py",
    "tests/test_gradient_accumulation.py",
    "tests/test_batch_backward.py",
    "tests/test_checks.py",
    "tests/test_training.py",
)
"""Stage 3: the pytest files that check values and gradients (not the CLI, docs,
packaging, threads or lifetimes, which a change to arithmetic does not reach)."""

C_TESTS = ("test_main.c", "test_ops.c", "test_backward.c", "test_lifetime.c", "test_batch.c",
           "test_deep.c", "test_args.c", "test_alloc.c", "test_fork.c")
"""Stage 2: the C unit test program's sources (tests/c/CMakeLists.txt's mg_tests)."""

SUITE_EXAMPLES = 20
"""Stage 1: examples per check of the suite (a program check runs 4 times as many)."""

# ---- the mutation engine ----------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFuUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>->|\+\+|--|\+=|-=|\*=|/=|==|!=|<=|>=|&&|\|\||<<|>>|[-+*/%<>=!&|^~?:;,.(){}\[\]])
  | (?P<space>\s+)
""", re.X)
_KEYWORDS = {"if", "else", "for", "while", "do", "return", "switch", "case", "break",
             "continue", "sizeof", "default"}
_TYPES = {"double", "int", "unsigned", "size_t", "uint32_t", "mg_node", "mg__row",
          "mg__batch", "mg__level", "mg_op", "mg_activation", "mg_optimizer", "const",
          "static", "float", "long", "char", "void", "mg_layer", "pairs", "rows", "term_fn",
          "combine_fn", "reachable", "node_list"}
_COMPARE = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Token:
    """A C token: its text and where it is in the file."""

    text: str
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Mutant:
    """One change to one function of one file: replace text[start:end] by `new`."""

    file: str
    function: str
    operator: str
    start: int
    end: int
    new: str
    line: int         # 1-based line of the change in the file
    before: str       # the changed lines, before and after, whitespace squeezed
    after: str
    occurrence: int   # how many earlier mutants of the function have the same two lines

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """What EQUIVALENT is keyed by: stable while the function's text is."""
        return (self.file, self.function, self.before, self.after, self.occurrence)

    def describe(self) -> str:
        """``nn.c:93 mg__sum_backward [+= to =]: a += b;  ->  a = b;``."""
        return (f"{self.file}:{self.line} {self.function} [{self.operator}]: "
                f"{self.before}  ->  {self.after}")


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _blank_comments(text: str) -> str:
    """The text with comments and string literals replaced by spaces (same offsets)."""
    out = list(text)
    for m in re.finditer(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', text,
                         re.S):
        for i in range(m.start(), m.end()):
            if out[i] != "\n":
                out[i] = " "
    return "".join(out)


def function_body(code: str, name: str) -> tuple[int, int]:
    """(start, end) of the body of the function `name` defined in `code`, braces excluded.

    `code` has its comments blanked. Raises LookupError if there is no definition.
    """
    for m in re.finditer(rf"^[A-Za-z_][^;{{}}()]*\b{re.escape(name)}\s*\(", code, re.M):
        depth, i = 0, m.end() - 1
        while True:   # the parameter list
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
            if depth == 0:
                break
        rest = code[i:]
        stripped = rest.lstrip()
        if not stripped.startswith("{"):
            continue   # a declaration
        start = i + (len(rest) - len(stripped)) + 1
        depth, j = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        return start, j - 1
    raise LookupError(f"no definition of {name}")


def tokens(code: str, start: int, end: int) -> list[Token]:
    """The tokens of code[start:end] (preprocessor lines skipped)."""
    out = []
    pos = start
    while pos < end:
        line_start = code.rfind("\n", 0, pos) + 1
        if code[line_start:pos].strip() == "" and code[pos] == "#":
            pos = code.find("\n", pos)
            pos = end if pos < 0 else pos
            continue
        m = _TOKEN.match(code, pos)
        if not m or m.end() > end:
            raise ValueError(f"cannot tokenize {code[pos:pos + 20]!r}")
        if m.lastgroup != "space":
            out.append(Token(m.group(), m.start(), m.end(), m.lastgroup or ""))
        pos = m.end()
    return out


def _nesting(t: Token) -> int:
    """+1 for an opening parenthesis or bracket, -1 for a closing one, else 0."""
    return {"(": 1, "[": 1, ")": -1, "]": -1}.get(t.text, 0)


def _is_operand_end(t: Token | None) -> bool:
    """True when a binary operator can follow this token (it ends an operand)."""
    if t is None:
        return False
    if t.kind == "num" or t.text in (")", "]"):
        return True
    return t.kind == "id" and t.text not in _KEYWORDS and t.text not in _TYPES


def _split(toks: Sequence[Token], seps: set[str]) -> list[list[Token]]:
    """Split at top-level binary operators in `seps` (kept as the parts' first token)."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for i, t in enumerate(toks):
        depth += _nesting(t)
        if depth == 0 and t.text in seps and i > 0 and _is_operand_end(toks[i - 1]) and parts[-1]:
            parts.append([t])
        else:
            parts[-1].append(t)
    return parts


def _ternary(group: list[Token]) -> Iterator[list[Token]]:
    """The parts of `group` between top-level ``?`` and ``:`` (all of it if none)."""
    depth = 0
    parts: list[list[Token]] = [[]]
    for t in group:
        depth += _nesting(t)
        if depth == 0 and t.text in ("?", ":"):
            parts.append([])
        else:
            parts[-1].append(t)
    yield from (p for p in parts if p)


def _groups(toks: list[Token]) -> Iterator[list[Token]]:
    """Expression groups, where terms and factors are dropped and swapped.

    Statement right-hand sides, returned values, parenthesized expressions, call
    arguments and for-clauses, each split at a ternary's ``?`` and ``:``.
    """
    for stmt in _statements(toks):
        depth = 0
        for i, t in enumerate(stmt):
            depth += _nesting(t)
            if depth == 0 and t.text in ("=", "+=", "-=", "*=", "/="):
                yield from _ternary(stmt[i + 1:])
                break
        else:
            if stmt[0].text == "return" and len(stmt) > 1:
                yield from _ternary(stmt[1:])
    for i, t in enumerate(toks):
        if t.text != "(":
            continue
        depth, j = 1, i + 1
        while depth:
            depth += {"(": 1, ")": -1}.get(toks[j].text, 0)
            j += 1
        inner = toks[i + 1:j - 1]
        prev = toks[i - 1] if i else None
        if prev is not None and prev.text == "for":
            clauses: list[list[Token]] = [[]]
            for x in inner:
                if x.text == ";":
                    clauses.append([])
                else:
                    clauses[-1].append(x)
            for clause in clauses:
                yield from _ternary(clause)
        elif prev is not None and prev.kind == "id" and prev.text not in _KEYWORDS:
            for arg in _split_commas(inner):
                yield from _ternary(arg)
        elif len(inner) > 1:
            yield from _ternary(inner)


def _split_commas(toks: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in toks:
        depth += _nesting(t)
        if depth == 0 and t.text == ",":
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _statements(toks: list[Token]) -> Iterator[list[Token]]:
    """The statements at any brace level, without their ';'."""
    stmt: list[Token] = []
    depth = 0
    for t in toks:
        depth += _nesting(t)
        if depth == 0 and t.text in (";", "{", "}"):
            if t.text == ";" and stmt:
                yield stmt
            stmt = []
            continue
        stmt.append(t)


def _is_declaration(lhs: list[Token]) -> bool:
    if not lhs:
        return False
    if lhs[0].text in _TYPES:
        return True
    return len(lhs) > 1 and lhs[0].kind == "id" and lhs[1].kind == "id"


def edits(code: str, toks: list[Token]) -> Iterator[tuple[str, int, int, str]]:
    """(operator, start, end, replacement) for every mutant of a body's tokens."""
    for i, t in enumerate(toks):
        prev = toks[i - 1] if i else None
        binary = _is_operand_end(prev)
        if t.text in ("+=", "-="):
            yield "+= to =" if t.text == "+=" else "-= to =", t.start, t.end, "="
            yield "flip sign", t.start, t.end, "-=" if t.text == "+=" else "+="
        elif t.text in ("*=", "/="):
            yield f"{t.text} to =", t.start, t.end, "="
        elif t.text in ("+", "-") and binary:
            yield "flip sign", t.start, t.end, "-" if t.text == "+" else "+"
        elif t.text == "-" and not binary:
            yield "drop unary minus", t.start, t.end, ""
        elif t.text in ("*", "/") and binary and prev is not None and prev.text not in _TYPES:
            yield "swap * and /", t.start, t.end, "/" if t.text == "*" else "*"
        elif t.text in _COMPARE:
            yield "change comparison", t.start, t.end, _COMPARE[t.text]
        elif t.text == "!" and not binary:
            yield "drop !", t.start, t.end, ""
        elif t.kind == "num" and not (prev is not None and prev.text == "["
                                      and i + 1 < len(toks) and toks[i + 1].text == "]"):
            # (an array's size, as in da[3], is no constant of a derivative)
            digits = t.text.rstrip("fFuUlL")
            is_float = any(c in digits for c in ".eE")
            new = repr(float(digits) + 1.0) if is_float else str(int(digits) + 1)
            yield "change constant", t.start, t.end, new + t.text[len(digits):]
    for stmt in _statements(toks):
        depth = 0
        for i, t in enumerate(stmt):
            depth += _nesting(t)
            if depth:
                continue
            if t.text == "=" and not _is_declaration(stmt[:i]):
                yield "= to +=", t.start, t.end, "+="
            if t.text in ("+=", "-="):
                end = code.index(";", stmt[-1].end) + 1
                yield "delete statement", stmt[0].start, end, ";"
    for group in _groups(toks):
        terms = _split(group, {"+", "-"})
        text = lambda ts: code[ts[0].start:ts[-1].end]  # noqa: E731
        if len(terms) > 1:
            for k, term in enumerate(terms):
                if k == 0:
                    nxt = terms[1]
                    if nxt[0].text == "+":   # a + b -> b
                        yield "drop term", term[0].start, nxt[0].end, ""
                    else:                    # a - b -> -b
                        yield "drop term", term[0].start, nxt[0].start, ""
                else:
                    yield "drop term", term[0].start, term[-1].end, ""
            for k in range(len(terms) - 1):
                a, b = terms[k], terms[k + 1]
                if b[0].text == "-":
                    a_body = a[1:] if k > 0 else a
                    b_body = b[1:]
                    if a_body and b_body:
                        yield ("swap operands", a_body[0].start, b_body[-1].end,
                               f"{text(b_body)} - {text(a_body)}")
        for term in terms:
            body = term[1:] if term[0].text in ("+", "-") and term is not terms[0] else term
            factors = _split(body, {"*", "/"})
            if len(factors) > 1:
                for k, factor in enumerate(factors):
                    if k == 0:
                        if factors[1][0].text == "*":
                            yield "drop factor", factor[0].start, factors[1][0].end, ""
                    else:
                        yield "drop factor", factor[0].start, factor[-1].end, ""
                for k in range(len(factors) - 1):
                    a, b = factors[k], factors[k + 1]
                    if b[0].text == "/":
                        a_body = a[1:] if k > 0 else a
                        if a_body and b[1:]:
                            yield ("swap operands", a_body[0].start, b[-1].end,
                                   f"{text(b[1:])} / {text(a_body)}")
    # two-argument calls: f(a, b) -> f(b, a)
    for i, t in enumerate(toks[:-1]):
        if t.kind == "id" and t.text not in _KEYWORDS and toks[i + 1].text == "(":
            depth, j = 1, i + 2
            while depth:
                depth += {"(": 1, ")": -1}.get(toks[j].text, 0)
                j += 1
            args = _split_commas(toks[i + 2:j - 1])
            if len(args) == 2:
                a, b = args
                yield ("swap operands", a[0].start, b[-1].end,
                       f"{code[b[0].start:b[-1].end]}, {code[a[0].start:a[-1].end]}")


def mutants_of(file: str, text: str, functions: Sequence[str]) -> list[Mutant]:
    """Every distinct mutant of the functions of one file, in file order."""
    code = _blank_comments(text)
    out: list[Mutant] = []
    for function in functions:
        start, end = function_body(code, function)
        body = text[start:end]
        seen = {body}
        lines: dict[tuple[str, str], int] = {}
        for operator, a, b, new in edits(code, tokens(code, start, end)):
            mutated = text[start:a] + new + text[b:end]
            if _squeeze(_blank_comments(mutated)) == _squeeze(_blank_comments(body)):
                continue
            if mutated in seen:
                continue
            seen.add(mutated)
            line_start = text.rfind("\n", 0, a) + 1
            line_end = text.find("\n", b)
            before = _squeeze(_blank_comments(text[line_start:line_end]))
            after = _squeeze(_blank_comments(text[line_start:a] + new + text[b:line_end]))
            occurrence = lines.get((before, after), 0)
            lines[(before, after)] = occurrence + 1
            out.append(Mutant(file, function, operator, a, b, new,
                              text.count("\n", 0, a) + 1, before, after, occurrence))
    return out


def all_mutants(csrc: Path) -> list[Mutant]:
    """Every mutant of TARGETS, file by file."""
    out = []
    for file, functions in TARGETS.items():
        out.extend(mutants_of(file, (csrc / file).read_text(), functions))
    return out


def _equivalent(file: str, function: str, before: str, after: str, why: str,
                occurrence: int = 0) -> None:
    EQUIVALENT[(file, function, _squeeze(before), _squeeze(after), occurrence)] = why


# ---- known-equivalent mutants ------------------------------------------------------------

_equivalent("backward.c", "undo_discover", "n->grad = r->inner.saved[i];",
            "n->grad += r->inner.saved[i];",
            "append() set the gradient to 0 when it saved it, and nothing changed it since "
            "(step 2 has not started): 0 + saved == saved")
_equivalent("backward.c", "undo_discover", "r->leaves.nodes[i]->grad = r->leaves.saved[i];",
            "r->leaves.nodes[i]->grad += r->leaves.saved[i];",
            "as above, for a leaf: its gradient is 0 since append()")
_equivalent("backward.c", "propagate", "root->grad = 1.0;", "root->grad += 1.0;",
            "append() or first_leaf() set the root's gradient to 0 in step 1: 0 + 1 == 1")
_equivalent("batch.c", "backward_nodes", "loaded = 1;", "loaded = 2;",
            "loaded is only tested as !loaded: any non-zero value means loaded")
_equivalent("batch.c", "backward_nodes", "loaded = 1;", "loaded += 1;",
            "loaded is 0 there (the assignment runs once per sample, under !loaded): "
            "0 + 1 == 1")
_equivalent("batch.c", "backward_nodes", "used[j] = 1.0;", "used[j] = 2.0;",
            "used[j] is only compared with 0: any non-zero value marks the neuron")
_equivalent("batch.c", "backward_nodes", "used[j] = 1.0;", "used[j] += 1.0;",
            "used[j] starts at 0 (the memset): adding 1 once or more makes it non-zero, "
            "as setting it to 1 does")
_equivalent("batch.c", "finish_batch",
            "for (size_t l = 0; l + 1 < b->nlevels; l++) {",
            "for (size_t l = 0; l + 1 <= b->nlevels; l++) {",
            "the one more level is the top one, whose rows are never full (reach_batch "
            "clears their flags for the samples finish goes through): it adds nothing")
# batch.c's dense kernels (chapter 9, 2026-12-03): padding lanes of a tile, loops that
# only add a tile that stores nothing, a work layout that still fits
_equivalent("batch.c", "backward_dense",
            "for (size_t i = 0; i < nin; i++) x[i] = in[i].value;",
            "for (size_t i = 0; i <= nin; i++) x[i] = in[i].value;",
            "in[nin] is the next node of the batch (a next sample's, or level l's first: in the "
            "block), and the x[nin] it sets is set to 1.0 on the next line")
_equivalent("batch.c", "backward_dense",
            "for (size_t i = nin + 1; i < ldi; i++) x[i] = 0.0;",
            "for (size_t i = nin + 2; i < ldi; i++) x[i] = 0.0;",
            "x[nin + 1] is a padding column of x: it feeds only the padding column nin + 1 of dW,"
            " which add_to_params never reads (i <= nin)")
_equivalent("batch.c", "backward_dense",
            "for (size_t i = nin + 1; i < ldi; i++) x[i] = 0.0;",
            "for (size_t i = nin + 1; i < ldi; i++) x[i] = 1.0;",
            "x's padding columns feed only dW's padding columns, which add_to_params never reads "
            "(i <= nin)")
_equivalent("batch.c", "backward_dense",
            "for (size_t j = 0; j < ldo; j++)",
            "for (size_t j = 0; j <= ldo; j++)",
            "the one more write puts 0.0 at dz row n + 1, column 0: overwritten by the next "
            "reached sample, or a padding row that nothing reads (k < n, t < n), or (n + 1 == "
            "ld_samples) dzt[0], which is rewritten before it is read")
_equivalent("batch.c", "backward_dense",
            ": 0.0;",
            ": 1.0;",
            "dz's padding neuron columns (j >= nout) feed only dW's padding rows, which are not "
            "stored (j0 + r < nout), and dzt copies j < nout only")
_equivalent("batch.c", "backward_dense",
            "for (size_t j0 = 0; j0 < nout; j0 += TILE_M)",
            "for (size_t j0 = 0; j0 <= nout; j0 += TILE_M)",
            "the one more tile (nout a multiple of TILE_M) stores nothing (j0 + r < nout is "
            "false); its reads stay in the work array (dz's padding, or dzt after it)")
_equivalent("batch.c", "backward_dense",
            "for (size_t r = 0; r < TILE_M && j0 + r < nout; r++)",
            "for (size_t r = 0; r < TILE_M && j0 + r <= nout; r++)",
            "the one more row (neuron nout, padding) goes to dw's row nout, the first row of x "
            "(next in the work array), at the columns i0..i0+7 this tile has just read; later "
            "tiles read other columns and nothing reads x after dW: no result changes")
_equivalent("batch.c", "backward_dense",
            "for (size_t t = 0; t < lds; t++) lw.dzt[j * lds + t] = t < n ? lw.dz[t * ldo + j] : "
            "0.0;",
            "for (size_t t = 0; t < lds; t++) lw.dzt[j * lds + t] = t <= n ? lw.dz[t * ldo + j] :"
            " 0.0;",
            "dzt's column t = n (a padding sample) feeds only acc's row r = nsample in the last "
            "tile, which is not added (r < nsample); the read is dz's padding row n")
_equivalent("batch.c", "backward_dense",
            "for (size_t t = 0; t < lds; t++) lw.dzt[j * lds + t] = t < n ? lw.dz[t * ldo + j] : "
            "0.0;",
            "for (size_t t = 0; t < lds; t++) lw.dzt[j * lds + t] = t < n ? lw.dz[t * ldo + j] : "
            "1.0;",
            "dzt's padding sample columns feed only acc rows r >= nsample, which are not added")
_equivalent("batch.c", "backward_dense",
            "for (size_t t0 = 0; t0 < n; t0 += TILE_M) {",
            "for (size_t t0 = 0; t0 <= n; t0 += TILE_M) {",
            "the one more tile (n a multiple of TILE_M) has no reached sample left (nsample = 0):"
            " it adds nothing; its reads stay in the scratch block (the batches' adjoints follow "
            "the work array)")
_equivalent("batch.c", "backward_dense",
            "for (size_t i0 = 0; i0 < nin; i0 += TILE_N) {",
            "for (size_t i0 = 0; i0 <= nin; i0 += TILE_N) {",
            "the one more tile (nin a multiple of TILE_N) stores nothing (i0 + q < nin is false);"
            " its reads are w's bias and padding columns (ld_in = nin + TILE_N)")
_equivalent("batch.c", "backward_dense",
            "for (size_t q = 0; q < TILE_N && i0 + q < nin; q++) gx[i0 + q] += acc[r][q];",
            "for (size_t q = 0; q < TILE_N && i0 + q < nin; q++) gx[i0 + q] = acc[r][q];",
            "each gx element is added to once per backward (the t0 tiles split the samples, the "
            "i0 tiles the inputs) and reach_batch zeroed it; acc starts at +0.0, so it is never "
            "-0.0, and +0.0 + acc == acc to the bit")
_equivalent("batch.c", "backward_dense",
            "for (size_t i = nin + 1; i < ldi; i++) x[i] = 0.0;",
            "for (size_t i = nin + 1; i < ldi; i++) x[i] += 0.0;",
            "as above: whatever is in x's padding columns feeds only dW's padding columns")
_equivalent("batch.c", "backward_dense",
            "layout(b, l, b->hi - b->lo, work, &lw);",
            "layout(b, l, b->hi , work, &lw);",
            "hi <= size: the layout for hi samples fits in the work array sized for size "
            "(work_size(b, b->size)); only dzt gets more zero padding columns, and the loops stop"
            " at n")
_equivalent("batch.c", "backward_nodes",
            "layout(b, l, 1, work, &lw);",
            "layout(b, l, 2, work, &lw);",
            "round_up(2, TILE_M) == round_up(1, TILE_M): the same layout")
_equivalent("batch.c", "backward_nodes",
            "for (size_t i = 0; i < nin; i++) x[i] = in[i].value;",
            "for (size_t i = 0; i <= nin; i++) x[i] = in[i].value;",
            "x[nin] is in x's first row (ld_in > nin) and nothing here reads it (the loops "
            "stop at nin; the bias's term is dwj[nin] += dz); in[nin] is the next node of "
            "the batch (a next sample's, or level l's first: in the block)")

def _sanitizer_only(file: str, function: str, before: str, after: str, why: str,
                    occurrence: int = 0) -> None:
    SANITIZER_ONLY[(file, function, _squeeze(before), _squeeze(after), occurrence)] = why


# batch.c, checked 2026-12-03 by building each mutant with PYMICROGRAD_SANITIZE=address,
# undefined and Clang and running tests/test_nn.py and tests/test_gradient_accumulation.py
# under the preloaded runtime, as .ci/asan-python does: each gave the report named.
_sanitizer_only("batch.c", "tile_product",
                "for (int r = 0; r < TILE_M; r++)",
                "for (int r = 0; r <= TILE_M; r++)",
                "UBSan: index 4 out of bounds for type 'double[4][8]' (t[TILE_M]), at the "
                "first forward_batch")
_sanitizer_only("batch.c", "backward_dense",
                "dz[j] = j < nout ? mg__neuron_dz((mg_op)out[j].op, out[j].value, "
                "adjoint(b, &out[j]))",
                "dz[j] = j <= nout ? mg__neuron_dz((mg_op)out[j].op, out[j].value, "
                "adjoint(b, &out[j]))",
                "ASan: heap-buffer-overflow reading out[nout] past the batch's nodes (the "
                "top level's last sample, nout not a multiple of TILE_N); the value lands "
                "in a padding column")
_sanitizer_only("batch.c", "backward_dense",
                "for (size_t r = 0; r < TILE_M && j0 + r < nout; r++)",
                "for (size_t r = 0; r <= TILE_M && j0 + r < nout; r++)",
                "UBSan: index 4 out of bounds for type 'double[4][8]' (acc[TILE_M], when "
                "nout > TILE_M); the row it writes is rewritten by the next tile")
_sanitizer_only("batch.c", "backward_dense",
                "for (; nsample < TILE_M && s < b->hi; s++)",
                "for (; nsample < TILE_M && s <= b->hi; s++)",
                "ASan: heap-buffer-overflow reading the slice flag of sample hi == size at "
                "the top level (past the flags); a sample taken there gets acc's padding "
                "row, 0, outside the samples finish_batch reads")


# ---- building and running ------------------------------------------------------------------


def _run(cmd: Sequence[str], cwd: Path, timeout: float,
         env: dict[str, str] | None = None) -> tuple[int | None, str]:
    """(exit status, or None on timeout; output tail). Killed with its process group."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1.0))
        return proc.returncode, out[-2000:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, ""
    except BaseException:   # Ctrl-C: the child group goes too
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


class Workspace:
    """A copy of the checkout with the extension and the C tests built from objects.

    The unchanged sources are compiled once; a mutant recompiles only what it touches
    (a header: every .c that includes it) and relinks.
    """

    def __init__(self, root: Path, cc: str) -> None:
        self.root = root / "src"
        self.obj = root / "obj"
        self.mut = root / "mut"
        self.cc = cc
        # Every temporary file of the compiler and the tests goes inside the copy, so
        # that an interrupted run leaves nothing behind (a killed cc leaves its .s).
        (root / "tmp").mkdir()
        self.env = dict(os.environ, TMPDIR=str(root / "tmp"))
        self.obj.mkdir()
        self.mut.mkdir()
        self._copy()
        self.csrc = self.root / "csrc"
        self.sources = sorted(p.name for p in self.csrc.glob("*.c"))
        self.suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        self.extension = self.root / "pymicrograd" / f"_C{self.suffix}"
        self.c_tests = root / "mg_tests"
        self.python_include = sysconfig.get_paths()["include"]

    def _copy(self) -> None:
        """The checkout's files, tracked or not (but not ignored ones), without builds."""
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], cwd=REPO, capture_output=True,
                               check=True).stdout.decode().split("\0")
        for name in files:
            src = REPO / name
            if not name or not src.is_file() or re.match(r"pymicrograd/_C\.", name):
                continue
            dst = self.root / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)

    def _compile(self, source: Path, obj: Path, *extra: str) -> str | None:
        """Compile one file; None, or the compiler's complaint."""
        run = subprocess.run([self.cc, "-std=c11", "-O2", "-fPIC", f"-I{self.csrc}", *extra,
                              "-c", str(source), "-o", str(obj)], capture_output=True,
                             text=True, env=self.env)
        return None if run.returncode == 0 else run.stderr[-2000:]

    def build_baseline(self) -> None:
        """Compile everything unmutated: the core, cffi's module, the C tests."""
        build_ext = runpy.run_path(str(self.root / "build_ext.py"))
        module_c = self.obj / "_C_module.c"
        build_ext["ffibuilder"].emit_c_code(str(module_c))
        problems = [self._compile(module_c, self.obj / "_C_module.o",
                                  f"-I{self.python_include}")]
        # Tensor's C half, which the extension links beside the core (the C tests do not)
        problems.append(self._compile(self.root / build_ext["TENSOR_C"],
                                      self.obj / "_C_tensor.o", f"-I{self.python_include}"))
        problems += [self._compile(self.csrc / s, self.obj / (s[:-2] + ".o"))
                     for s in self.sources]
        problems += [self._compile(self.root / "tests" / "c" / t,
                                   self.obj / ("ctest_" + t[:-2] + ".o"))
                     for t in C_TESTS]
        errors = [p for p in problems if p]
        if errors:
            raise RuntimeError("the unmutated sources do not compile:\n" + errors[0])
        if self.link({}) is not None:
            raise RuntimeError("the unmutated objects do not link")

    def link(self, replaced: dict[str, Path]) -> str | None:
        """Link the extension and the C tests, with `replaced` objects of the core."""
        core = [str(replaced.get(s, self.obj / (s[:-2] + ".o"))) for s in self.sources]
        tmp = self.extension.with_suffix(".tmp")
        for cmd in ([self.cc, "-shared", "-o", str(tmp), str(self.obj / "_C_module.o"),
                     str(self.obj / "_C_tensor.o"), *core,
                     "-lm", "-lpthread"],
                    [self.cc, "-o", str(self.c_tests),
                     *[str(self.obj / ("ctest_" + t[:-2] + ".o")) for t in C_TESTS], *core,
                     "-lm", "-lpthread"]):
            run = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
            if run.returncode != 0:
                return run.stderr[-2000:]
        os.replace(tmp, self.extension)
        return None

    def _includes(self, name: str) -> set[str]:
        """The csrc/ headers that csrc/`name` includes, directly or through another."""
        found: set[str] = set()
        todo = [name]
        while todo:
            text = (self.csrc / todo.pop()).read_text()
            for header in re.findall(r'^#include "([^"]+)"', text, re.M):
                if header not in found and (self.csrc / header).is_file():
                    found.add(header)
                    todo.append(header)
        return found

    def build_mutant(self, mutant: Mutant, text: str) -> str | None:
        """Compile and link the mutant; None, or why it does not compile."""
        mutated = text[:mutant.start] + mutant.new + text[mutant.end:]
        path = self.csrc / mutant.file
        path.write_text(mutated)
        try:
            if mutant.file.endswith(".h"):
                touched = [s for s in self.sources if mutant.file in self._includes(s)]
            else:
                touched = [mutant.file]
            replaced = {}
            for s in touched:
                obj = self.mut / (s[:-2] + ".o")
                problem = self._compile(self.csrc / s, obj)
                if problem:
                    return problem
                replaced[s] = obj
            return self.link(replaced)
        finally:
            path.write_text(text)

    def run_profile(self, timeout: float, first: Sequence[str] = ()) -> tuple[str, str]:
        """('passed', '') or (the stage that failed or ran out of time, its output).

        `first`: the names of the suite's checks to run before the others.
        """
        deadline = time.monotonic() + timeout
        env = dict(self.env, HYPOTHESIS_PROFILE="ci", PYTHONHASHSEED="0")
        env.pop("PYTHONPATH", None)
        stages = [
            ("suite", [sys.executable, "-c", _SUITE_DRIVER, str(self.root),
                       str(SUITE_EXAMPLES), json.dumps(list(first))]),
            ("C tests", [str(self.c_tests)]),
            ("pytest", [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        *PYTEST_FILES]),
        ]
        for name, cmd in stages:
            status, out = _run(cmd, self.root, deadline - time.monotonic(), env)
            if status is None:
                return f"{name} (timeout)", ""
            if status != 0:
                return name, out
        return "passed", ""


_SUITE_DRIVER = r"""
import json, sys
import pymicrograd
assert pymicrograd.__file__.startswith(sys.argv[1]), pymicrograd.__file__  # the copy's
import torch
from pymicrograd.testing import _suite
# The checks that killed the latest mutants first: the next mutant is likely to be of
# the same function, and to die the same way. The rest in the suite's order.
first = json.loads(sys.argv[3])
order = sorted(_suite.CHECKS, key=lambda c: first.index(c.name) if c.name in first else 99)
for check in order:
    outcome = check.run_examples(_suite.References(torch), int(sys.argv[2]), 0, shrink=False)
    if outcome.failure is not None:
        print(f"KILLER {check.name}")
        print(f"{check.area}: {check.name}: {outcome.example}\n{outcome.failure!r}"[:1500])
        sys.exit(1)
"""


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Score:
    """Per file: killed (and by which stage), survived, equivalent, not compiling."""

    killed: dict[str, int] = field(default_factory=dict)   # by stage, or "sanitizer"
    survived: int = 0
    equivalent: int = 0
    not_compiling: int = 0

    @property
    def total(self) -> int:
        """Every mutant counted."""
        return sum(self.killed.values()) + self.survived + self.equivalent + self.not_compiling


def _report(scores: dict[str, Score]) -> None:
    print(f"\n{'file':<14} {'mutants':>7} {'killed':>7} {'survived':>8} {'equivalent':>10} "
          f"{'not compiling':>13}   killed by (suite / C tests / pytest / sanitizer / timeout)")
    total = Score()
    for file, s in scores.items():
        stages = [s.killed.get(k, 0) for k in ("suite", "C tests", "pytest", "sanitizer")]
        timeouts = sum(v for k, v in s.killed.items() if k.endswith("(timeout)"))
        print(f"{file:<14} {s.total:7} {sum(s.killed.values()):7} {s.survived:8} "
              f"{s.equivalent:10} {s.not_compiling:13}   {' / '.join(map(str, stages))} / "
              f"{timeouts}")
        for k, v in s.killed.items():
            total.killed[k] = total.killed.get(k, 0) + v
        total.survived += s.survived
        total.equivalent += s.equivalent
        total.not_compiling += s.not_compiling
    print(f"{'all':<14} {total.total:7} {sum(total.killed.values()):7} {total.survived:8} "
          f"{total.equivalent:10} {total.not_compiling:13}")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)   # so that the temporary copy is removed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mutants as the arguments say; the exit status."""
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--files", help="only these files of csrc/, comma-separated")
    parser.add_argument("--match", help="only mutants whose function or text contains this")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="a random sample of the non-equivalent mutants, as many as fit "
                             "in this time (building included)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the sample's seed (default: random, printed)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time box per mutant (default: 3 times the unmutated "
                             "profile's time, at least 60 s)")
    parser.add_argument("--skip-equivalent", action="store_true",
                        help="do not run the listed equivalent and sanitizer-only mutants "
                             "(they are run by default, to show that they survive the "
                             "profile)")
    args = parser.parse_args(argv)
    started = time.monotonic()

    mutants = all_mutants(REPO / "csrc")
    keys = {m.key for m in mutants}
    for name, listed in (("EQUIVALENT", EQUIVALENT), ("SANITIZER_ONLY", SANITIZER_ONLY)):
        for k in listed:
            if k not in keys:
                print(f"warning: {name} lists a mutant that no longer exists: {k}")
    if args.files:
        wanted = set(args.files.split(","))
        mutants = [m for m in mutants if m.file in wanted]
    if args.match:
        mutants = [m for m in mutants if args.match in m.function or args.match in m.after]
    if args.list:
        for m in mutants:
            mark = ("  (equivalent)" if m.key in EQUIVALENT
                    else "  (sanitizer only)" if m.key in SANITIZER_ONLY else "")
            print(m.describe() + mark)
        print(f"{len(mutants)} mutants")
        return 0
    if args.budget is not None:
        seed = random.randrange(2**32) if args.seed is None else args.seed
        print(f"random sample, seed {seed} (python tools/mutate.py --budget {args.budget:g} "
              f"--seed {seed} draws it again)")
        mutants = [m for m in mutants if m.key not in EQUIVALENT and m.key not in SANITIZER_ONLY]
        random.Random(seed).shuffle(mutants)
    elif args.skip_equivalent:
        mutants = [m for m in mutants if m.key not in EQUIVALENT and m.key not in SANITIZER_ONLY]

    texts = {f: (REPO / "csrc" / f).read_text() for f in TARGETS}
    scores: dict[str, Score] = {f: Score() for f in TARGETS if any(m.file == f for m in mutants)}
    survivors: list[Mutant] = []
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        work = Workspace(Path(tmp), cc)
        work.build_baseline()
        t0 = time.monotonic()
        verdict, out = work.run_profile(timeout=3600)
        baseline = time.monotonic() - t0
        if verdict != "passed":
            print(f"the unmutated build fails its profile ({verdict}):\n{out}")
            return 2
        timeout = args.timeout or max(60.0, 3 * baseline)
        print(f"unmutated: the profile passes in {baseline:.0f} s; time box per mutant "
              f"{timeout:.0f} s; {len(mutants)} mutants")
        done = 0
        killers: list[str] = []   # the suite's checks that killed recent mutants, latest first
        for m in mutants:
            elapsed = time.monotonic() - started
            if args.budget is not None and elapsed + baseline > args.budget:
                break
            score = scores[m.file]
            problem = work.build_mutant(m, texts[m.file])
            done += 1
            if problem is not None:
                score.not_compiling += 1
                print(f"[{done}] not compiling  {m.describe()}")
                continue
            verdict, out = work.run_profile(timeout, killers)
            killer = re.match(r"KILLER (.*)", out.split("\n", 1)[0]) if verdict == "suite" else None
            if killer:
                killers = [killer.group(1)] + [k for k in killers if k != killer.group(1)]
            if verdict != "passed":
                score.killed[verdict] = score.killed.get(verdict, 0) + 1
                print(f"[{done}] killed ({verdict})  {m.describe()}")
                if m.key in EQUIVALENT or m.key in SANITIZER_ONLY:
                    print("      warning: it is listed as surviving the profile, but was killed")
            elif m.key in EQUIVALENT:
                score.equivalent += 1
                print(f"[{done}] equivalent  {m.describe()}\n      {EQUIVALENT[m.key]}")
            elif m.key in SANITIZER_ONLY:
                score.killed["sanitizer"] = score.killed.get("sanitizer", 0) + 1
                print(f"[{done}] killed (sanitizer)  {m.describe()}\n      "
                      f"{SANITIZER_ONLY[m.key]}")
            else:
                score.survived += 1
                survivors.append(m)
                print(f"[{done}] SURVIVED  {m.describe()}")
            sys.stdout.flush()
    _report(scores)
    minutes = (time.monotonic() - started) / 60
    print(f"\n{done} mutants in {minutes:.1f} min")
    if survivors:
        print("\nsurvivors (kill each with a test, or list it in EQUIVALENT with the reason):")
        for m in survivors:
            print("  " + m.describe())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
