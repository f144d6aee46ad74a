#!/usr/bin/env python3
"""Writes fuzz/corpus/: hand-written programs for fuzz_api.c, the fuzzer's start, and
the hand-written regression inputs of fuzz/regressions/.

Each seed is a short program in the harness's instruction encoding (see the switch in
LLVMFuzzerTestOneInput): the seed notebook's neuron, reuse and diamonds, deep chains,
IEEE edge values, reference juggling, allocation failures and allocator changes, and
from mg_nn.h layers, MLP forward passes, losses, n-ary nodes and optimizers. The
fuzzer mutates these; rerun this script after changing the encoding.

    python3 fuzz/make_seeds.py
"""

import math
import struct
from pathlib import Path

TABLE = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 0.1, 1e-300, -1e-310, 1e300,
         -1e300, 710.0, -745.0, math.inf, -math.inf, math.nan, 1e-8, 20.0, -20.0, 0.7, 1.5]
BINARY = ["add", "sub", "mul", "div", "pow"]
UNARY = ["neg", "tanh", "relu", "exp", "log", "sigmoid"]
CONST = ["add_const", "mul_const", "div_const", "pow_const", "rsub_const", "rdiv_const",
         "rpow_const"]


def num(v: float) -> bytes:
    for i, t in enumerate(TABLE):
        if struct.pack(">d", t) == struct.pack(">d", v):
            return bytes([i])
    return b"\xf0" + struct.pack(">d", v)


def leaf(dst, v): return bytes([0, dst, 0, 0]) + num(v)
def binop(name, dst, a, b): return bytes([1, dst, a, b, BINARY.index(name)])
def unop(name, dst, a): return bytes([3, dst, a, 0, UNARY.index(name)])
def cop(name, dst, a, c): return bytes([4, dst, a, 0, CONST.index(name)]) + num(c)
def retain(dst, a): return bytes([5, dst, a, 0])
def release(a): return bytes([6, 0, a, 0])
def backward(a): return bytes([7, 0, a, 0])
def set_value(a, v): return bytes([9, 0, a, 0]) + num(v)
def set_grad(a, v): return bytes([10, 0, a, 0]) + num(v)
def child(dst, a, k): return bytes([11, dst, a, 0, k])
def fail(n): return bytes([12, 0, 0, 0, n])  # n-th allocation from now; odd n: and after
def chain(dst, a, n, kind=0): return bytes([13, dst, a, kind, n & 0xFF, n >> 8])
def trim(): return bytes([14, 0, 0, 0])
def switch_allocator(): return bytes([15, 0, 0, 0])


# ---- mg_nn.h ------------------------------------------------------------------------
NARY = ["sum", "sum_squares", "logsumexp", "bce_with_logits"]
LOSSES = ["sse", "mse", "hinge", "bce", "l2", "cross_entropy"]
ACTS = ["linear", "tanh", "relu", "sigmoid"]


def nary(name, dst, xs, t=0.0):
    out = bytes([16, dst, 0, 0, NARY.index(name), len(xs)]) + bytes(xs)
    return out + (num(t) if name == "bce_with_logits" else b"")


def loss(name, dst, xs, targets, k=1, labels=()):
    out = bytes([17, dst, 0, 0, LOSSES.index(name), len(xs)]) + bytes(xs)
    out += b"".join(num(t) for t in targets)
    return out + (bytes([k - 1]) + bytes(labels) if name == "cross_entropy" else b"")


def layer_new(which, nin, nout, act, init=None):
    out = bytes([18, 0, which, 0, nin - 1, nout - 1, ACTS.index(act), init is None])
    return out + (b"".join(num(v) for v in init) if init is not None else b"")


def layer_free(which): return bytes([19, 0, which, 0])
def forward(dst, which, ins): return bytes([20, dst, 0, 0, which, 0]) + bytes(ins)
def forward_neuron(dst, which, ins, j):
    return bytes([20, dst, 0, 0, which, 1]) + bytes(ins) + bytes([j])


def mlp(dst, which, ins, both):
    return bytes([20, dst, 0, 0, which, 2]) + bytes(ins) + bytes([both])


def mlp_batch(dst, which, nin, rows, both=1):  # nin unused input bytes; both layers exist
    head = bytes([20, dst, 0, 0, which, 3]) + bytes(nin) + bytes([both, len(rows) - 1])
    return head + b"".join(num(v) for row in rows for v in row)


def param(dst, which, i): return bytes([22, dst, which, 0, i])
def zero_grad(which): return bytes([22, 0, which, 1])
def sgd(momentum, wd): return bytes([23, 0, 0, 0, 0]) + num(momentum) + num(wd)
def adam(wd, decoupled): return bytes([23, 0, 0, 0, 1]) + num(wd) + num(0.0) + bytes([decoupled])
def step(lr): return bytes([23, 0, 0, 0, 2]) + num(lr)
def opt_zero_grad(): return bytes([23, 0, 0, 0, 3])
def opt_free(): return bytes([23, 0, 0, 0, 4])


def neuron():
    """o = tanh(x1*w1 + x2*w2 + b), micrograd's example neuron."""
    return b"".join([
        leaf(0, 2.0), leaf(1, 0.0), leaf(2, -3.0), leaf(3, 1.0), leaf(4, 6.8813735870195432),
        binop("mul", 5, 0, 2), binop("mul", 6, 1, 3), binop("add", 7, 5, 6),
        binop("add", 8, 7, 4), unop("tanh", 9, 8), backward(9), backward(9),
        release(5), release(6), release(7), release(8), backward(9),
    ])


def reuse_and_diamonds():
    prog = [leaf(0, 3.0), binop("mul", 1, 0, 0), binop("add", 2, 0, 0), binop("add", 3, 1, 2),
            backward(3), retain(4, 0)]
    for _ in range(30):
        prog.append(binop("add", 4, 4, 4))
    prog += [backward(4), set_grad(1, 1e300), backward(3)]
    return b"".join(prog)


def deep_chains():
    return b"".join([
        leaf(0, 0.5), chain(1, 0, 1500, 0), backward(1), chain(2, 1, 2999, 1), backward(2),
        release(1), backward(2), trim(), backward(2),
    ])


def ieee_edges():
    prog = [leaf(0, -1.0), leaf(1, 0.0), leaf(2, math.inf), leaf(3, math.nan), leaf(4, 710.0)]
    k = 5
    for name in UNARY:
        for src in range(5):
            prog.append(unop(name, k % 16, src))
            prog.append(backward(k % 16))
            k += 1
    prog += [binop("div", 10, 0, 1), binop("pow", 11, 1, 1), binop("pow", 12, 0, 3),
             cop("pow_const", 13, 1, 0.0), cop("rpow_const", 14, 1, 0.0),
             cop("rdiv_const", 15, 1, 1.0), backward(10), backward(11), backward(12),
             backward(13), backward(14), backward(15)]
    return b"".join(prog)


def all_const_ops():
    prog = [leaf(0, 1.5)]
    for i, name in enumerate(CONST):
        prog += [cop(name, 1 + i, 0, [2.0, -0.5, 3.0, 0.7][i % 4]), backward(1 + i)]
    prog.append(binop("add", 9, 1, 2))
    for i in range(3, 8):
        prog.append(binop(BINARY[i % 5], 9, 9, i))
    prog.append(backward(9))
    return b"".join(prog)


def all_unary_ops():
    """Each unary op at finite values, so that the harness checks its backward (at the
    edges of ieee_edges, inf and nan make the reference pass skip the comparison)."""
    prog = [leaf(0, 0.7), leaf(1, 1.5)]
    for i, name in enumerate(UNARY):
        prog += [unop(name, 2 + i, i % 2), backward(2 + i)]
    prog.append(binop("add", 8, 2, 3))
    for i in range(4, 8):
        prog.append(binop("mul", 8, 8, i))
    prog.append(backward(8))
    return b"".join(prog)


def references():
    return b"".join([
        leaf(0, 2.0), leaf(1, 3.0), binop("mul", 2, 0, 1), release(0), release(1),
        child(3, 2, 0), child(4, 2, 1), child(5, 2, 2), child(6, 3, 0), release(2),
        backward(3), retain(7, 4), retain(8, 4), release(4), release(7), set_value(8, -1.0),
        unop("exp", 9, 8), backward(9), release(8), backward(9),
    ])


def allocation_failures():
    prog = [leaf(0, 1.0), leaf(1, 2.0)]
    for n in range(1, 6):
        prog += [fail(n), binop("mul", 2, 0, 1), unop("tanh", 3, 2), cop("add_const", 4, 3, 1.0),
                 leaf(5, 0.5), backward(4)]
    prog += [fail(0), chain(6, 0, 1100, 2), trim(), fail(2), backward(6), fail(3),
             backward(6), fail(0), backward(6)]
    return b"".join(prog)


def allocator_changes():
    return b"".join([
        switch_allocator(), leaf(0, 1.0), switch_allocator(), unop("exp", 1, 0), backward(1),
        release(0), release(1), switch_allocator(), leaf(2, 3.0), backward(2),
    ])


def nn_training():
    """MLP(3, [3, 1]) (the harness's layers have at most 3 neurons), trained a few steps
    with SGD, then Adam."""
    init = [0.5, -0.3, 0.7, 0.0, -0.2, 0.1, 0.9, 0.0, 0.3, 0.3, -0.8, 0.0]
    prog = [layer_new(0, 3, 3, "tanh", init), layer_new(1, 3, 1, "tanh"),
            leaf(0, 2.0), leaf(1, 3.0), leaf(2, -1.0), sgd(0.9, 0.0)]
    for _ in range(3):
        prog += [mlp(3, 0, [0, 1, 2], 1), cop("add_const", 4, 3, -1.0), binop("mul", 5, 4, 4),
                 backward(5), step(0.05), opt_zero_grad()]
    prog += [adam(0.01, 1), forward(6, 0, [0, 1, 2]), loss("mse", 10, [6, 7, 8], [1, -1, 0.5]),
             backward(10), step(0.1), forward_neuron(11, 0, [0, 1, 2], 2), backward(11),
             mlp_batch(12, 0, 3, [[0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]), backward(12),
             param(13, 1, 4), zero_grad(0), opt_free(), layer_free(0), backward(13),
             layer_free(1), release(13), backward(3)]
    return b"".join(prog)


def nn_losses_and_nary():
    prog = [leaf(0, 0.5), leaf(1, -2.0), leaf(2, 3.0), leaf(3, 0.0), leaf(4, 20.0), leaf(5, -745.0)]
    for i, name in enumerate(NARY):
        prog += [nary(name, 6 + i, [0, 1, 2, 3, 4, 5][: 6 - i], 0.7), backward(6 + i)]
    prog += [loss("sse", 10, [0, 1, 2], [1.0, -1.0, 0.5]), backward(10),
             loss("hinge", 11, [0, 1, 2, 4], [1.0, -1.0, 1.0, -1.0]), backward(11),
             loss("bce", 12, [0, 1, 5], [1.0, 0.0, 0.5]), backward(12),
             loss("l2", 13, [0, 1, 2], [0.01, 0, 0]), backward(13),
             loss("cross_entropy", 14, [0, 1, 2, 3, 4, 5], [0] * 6, 3, [2, 0]), backward(14),
             loss("cross_entropy", 15, [0, 1, 2, 3], [0] * 4, 2, [1, 2]),   # label 2: invalid
             loss("sse", 15, [0, 9, 15], [1, 1, 1]), backward(15)]
    return b"".join(prog)


SEEDS = {
    "neuron": neuron(),
    "reuse_and_diamonds": reuse_and_diamonds(),
    "deep_chains": deep_chains(),
    "ieee_edges": ieee_edges(),
    "all_const_ops": all_const_ops(),
    "all_unary_ops": all_unary_ops(),
    "references": references(),
    "allocation_failures": allocation_failures(),
    "allocator_changes": allocator_changes(),
    "nn_training": nn_training(),
    "nn_losses_and_nary": nn_losses_and_nary(),
}

# Bugs the fuzzer found, rewritten as short programs (inputs libFuzzer saves go to
# fuzz/regressions/ as they are). ctest replays fuzz/regressions/ in every build.
REGRESSIONS = {
    # mg_set_allocator(NULL) succeeded while an optimizer over no parameters (no node,
    # but blocks of the installed allocator) was alive; freeing it then handed the
    # counting allocator's block to free().
    "allocator_switch_with_empty_optimizer": b"".join([
        sgd(0.0, 0.0), switch_allocator(), opt_free(), switch_allocator(), leaf(0, 1.0),
    ]),
}

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for folder, prefix, inputs in (("corpus", "seed_", SEEDS), ("regressions", "", REGRESSIONS)):
        out = here / folder
        out.mkdir(exist_ok=True)
        for name, data in inputs.items():
            (out / f"{prefix}{name}").write_bytes(data)
        print(f"wrote {len(inputs)} inputs to {out}")
