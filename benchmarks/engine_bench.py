#!/usr/bin/env python3
"""engine_bench.py: pymicrograd's scalar engine side by side with its peers.

One command, one run, one table of ratios against karpathy's micrograd:

    python benchmarks/engine_bench.py [--quick] [--json out.json]

Engines: micrograd (pip package), micrograd[gc-off] (same, cyclic GC disabled inside the
timed regions only), torch (0-dim float64 tensors, one thread) and pymicrograd.
Every (engine, workload) runs in a fresh interpreter that imports only that engine:
importing torch fills the heap with GC-tracked objects and changes micrograd's timings.

Workloads (each timed as the median of several repeats, gc.collect() between them,
and each checked against a reference computed with plain floats):
  chain    x = x*1.0001 + 0.0001 (also wrapped in relu / tanh): build ns per op node,
           backward ns per node;
  dag      random DAG, node i = node[i-1] (+|*) node[j], j < i uniform: build and
           backward ns per node;
  memory   RSS delta of a live chain in a fresh process (+ tracemalloc, + for
           pymicrograd the C node count from live_nodes());
  depth    micrograd's RecursionError threshold at the default recursion limit;
           pymicrograd building, backpropagating and freeing a 10,000,000-node chain.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

from fresh import machine_info, run_fresh, serve_worker

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()  # read before anything changes it
ENGINES = ("micrograd", "micrograd[gc-off]", "torch", "pymicrograd")
VARIANTS = {"muladd": 2, "relu": 3, "tanh": 3}  # chain variant -> op nodes per iteration
MUL, ADD, X0 = 1.0001, 0.0001, 0.5
GRAD_TOL = 1e-9  # max |grad - ref| / max |ref|, and the same for the root's value

# The performance budget of /work/shared/design.md, as this benchmark checks it.
TARGET_BUILD_SPEEDUP = 3.0  # build: >= 3x faster than micrograd[gc-off]
TARGET_BACKWARD_SPEEDUP = 40.0  # backward: >= 40x faster than micrograd
TARGET_BYTES_PER_NODE = 64.0
TARGET_DEPTH = 10_000_000

perf = time.perf_counter
Json = dict[str, Any]


# ---------------------------------------------------------------- engines
@dataclass(frozen=True)
class Engine:
    """What the workloads need from a scalar autograd engine.

    Nodes support `node * float`, `node + float`, `node + node` and `node * node`.
    """

    name: str
    leaf: Callable[[float], Any]
    relu: Callable[[Any], Any]
    tanh: Callable[[Any], Any]
    backward: Callable[[Any], None]
    value: Callable[[Any], float]
    grad: Callable[[Any], float]
    gc_off: bool = False


def load_engine(name: str) -> Engine:
    """Import one engine (only this one) and adapt it."""
    if name.startswith("micrograd"):
        from micrograd.engine import Value

        def mg_tanh(v: Value) -> Value:
            # micrograd 0.1.0 has no tanh: this is the lecture's, in micrograd's style
            t = math.tanh(v.data)
            out = Value(t, (v,), "tanh")

            def _backward() -> None:
                v.grad += (1 - t**2) * out.grad

            out._backward = _backward
            return out

        return Engine(name, Value, Value.relu, mg_tanh, Value.backward,
                      lambda v: float(v.data), lambda v: float(v.grad),
                      gc_off=name.endswith("[gc-off]"))
    if name == "torch":
        import torch

        torch.set_num_threads(1)
        f64 = torch.float64

        def t_leaf(v: float) -> Any:
            return torch.tensor(v, dtype=f64, requires_grad=True)

        def t_grad(t: Any) -> float:
            return 0.0 if t.grad is None else float(t.grad.item())

        return Engine(name, t_leaf, torch.relu, torch.tanh, torch.Tensor.backward,
                      lambda t: float(t.item()), t_grad)
    if name == "pymicrograd":
        from pymicrograd import Tensor

        return Engine(name, Tensor, Tensor.relu, Tensor.tanh, Tensor.backward,
                      lambda t: t.value, lambda t: t.gradient)
    raise ValueError(f"unknown engine {name!r}")


# ---------------------------------------------------------------- workloads
def timed(fn: Callable[[], Any], gc_off: bool) -> tuple[float, Any]:
    """Seconds fn() takes, with the cyclic GC disabled during the call if gc_off."""
    if gc_off:
        gc.disable()
    try:
        t0 = perf()
        result = fn()
        return perf() - t0, result
    finally:
        if gc_off:
            gc.enable()


def build_chain(eng: Engine, variant: str, n_iter: int, mul: float = MUL,
                add: float = ADD) -> tuple[Any, Any]:
    """(leaf, root) of n_iter iterations of x = f(x*mul + add), f = id / relu / tanh."""
    leaf = x = eng.leaf(X0)
    if variant == "muladd":
        for _ in range(n_iter):
            x = x * mul + add
    else:
        f = eng.relu if variant == "relu" else eng.tanh
        for _ in range(n_iter):
            x = f(x * mul + add)
    return leaf, x


def chain_reference(variant: str, n_iter: int, mul: float = MUL,
                    add: float = ADD) -> tuple[float, float]:
    """(root value, d root / d leaf) of build_chain, from plain floats.

    muladd and relu (whose values stay positive from X0 = 0.5) are affine maps with the
    closed forms mul**n * x0 + add * (mul**n - 1) / (mul - 1) and mul**n; tanh has no
    closed form and is differentiated in forward mode, one float step at a time.
    """
    if variant in ("muladd", "relu"):
        p = mul**n_iter
        return p * X0 + add * (p - 1) / (mul - 1), p
    v, g = X0, 1.0
    for _ in range(n_iter):
        v = math.tanh(v * mul + add)
        g *= mul * (1.0 - v * v)
    return v, g


def rel_err(got: list[float], ref: list[float]) -> float:
    """Norm-wise relative error: max |got - ref| / max |ref|."""
    scale = max(max(abs(r) for r in ref), 1e-300)
    return max(abs(g - r) for g, r in zip(got, ref)) / scale


def bench_chain(eng: Engine, sizes: list[int], reps: int) -> list[Json]:
    """Build and backward of every chain variant at every size N (op nodes).

    The variants take turns within each repeat, so that a slow spell of the machine
    (or the first, cold repeat) does not land on one variant only.
    """
    rows = []
    for n in sizes:
        samples: dict[str, Json] = {}
        for rep in range(reps):
            for variant, per_iter in VARIANTS.items():
                n_iter = n // per_iter
                s = samples.setdefault(variant, {"variant": variant, "N": n_iter * per_iter,
                                                 "reps": reps, "build_s": [],
                                                 "backward_s": [], "errs": []})
                if rep == 0:
                    s["ref"] = chain_reference(variant, n_iter)
                gc.collect()
                tb, (leaf, root) = timed(partial(build_chain, eng, variant, n_iter),
                                         eng.gc_off)
                tk, _ = timed(partial(eng.backward, root), eng.gc_off)
                ref_v, ref_g = s["ref"]
                s["build_s"].append(tb)
                s["backward_s"].append(tk)
                s["errs"].append(max(rel_err([eng.grad(leaf)], [ref_g]),
                                     rel_err([eng.value(root)], [ref_v])))
                del leaf, root
                gc.collect()
        for s in samples.values():
            rows.append({**s, "err": max(s.pop("errs")),
                         "build_ns": statistics.median(s["build_s"]) / s["N"] * 1e9,
                         "backward_ns": statistics.median(s["backward_s"]) / s["N"] * 1e9})
    return rows


def make_dag(n: int, n_leaves: int = 16, seed: int = 1337) -> tuple[
        list[float], list[tuple[bool, int]], float, list[float]]:
    """Plan of a random DAG: node i = node[i-1] (* if mul else +) node[j], j < i uniform.

    The previous node is always an operand, so the last node reaches every node.
    Values stay in [-1, 1]: a + that would leave it becomes *, and a * whose result is
    tiny becomes + when that is allowed. Returns the leaf values, the ops, and the
    reference root value and d root / d leaves (a reverse sweep over plain floats).
    """
    rng = random.Random(seed)
    vals = [rng.uniform(-1.0, 1.0) for _ in range(n_leaves)]
    ops: list[tuple[bool, int]] = []
    for i in range(n_leaves, n_leaves + n):
        j = rng.randrange(i)
        a, b = vals[i - 1], vals[j]
        is_mul = rng.random() < 0.5
        if not is_mul and abs(a + b) > 1.0:
            is_mul = True
        elif is_mul and abs(a * b) < 1e-2 and abs(a + b) <= 1.0:
            is_mul = False
        vals.append(a * b if is_mul else a + b)
        ops.append((is_mul, j))
    g = [0.0] * len(vals)
    g[-1] = 1.0
    for i in range(len(vals) - 1, n_leaves - 1, -1):
        is_mul, j = ops[i - n_leaves]
        if is_mul:
            g[i - 1] += vals[j] * g[i]
            g[j] += vals[i - 1] * g[i]
        else:
            g[i - 1] += g[i]
            g[j] += g[i]
    return vals[:n_leaves], ops, vals[-1], g[:n_leaves]


def build_dag(eng: Engine, leaf_vals: list[float],
              ops: list[tuple[bool, int]]) -> tuple[list[Any], Any, list[Any]]:
    """(leaves, root, all nodes) of a make_dag plan."""
    leaves = [eng.leaf(v) for v in leaf_vals]
    nodes = list(leaves)
    append = nodes.append
    prev = nodes[-1]
    for is_mul, j in ops:
        prev = prev * nodes[j] if is_mul else prev + nodes[j]
        append(prev)
    return leaves, prev, nodes


def bench_dag(eng: Engine, sizes: list[int], reps: int) -> list[Json]:
    """Build and backward of a random DAG of N op nodes, for every N."""
    rows = []
    for n in sizes:
        leaf_vals, ops, ref_v, ref_g = make_dag(n)
        t_build, t_back, errs = [], [], []
        for _ in range(reps):
            gc.collect()
            tb, (leaves, root, nodes) = timed(partial(build_dag, eng, leaf_vals, ops),
                                              eng.gc_off)
            tk, _ = timed(partial(eng.backward, root), eng.gc_off)
            t_build.append(tb)
            t_back.append(tk)
            errs.append(max(rel_err([eng.grad(x) for x in leaves], ref_g),
                            rel_err([eng.value(root)], [ref_v])))
            del leaves, root, nodes
            gc.collect()
        rows.append({"N": n, "reps": reps, "frac_mul": sum(m for m, _ in ops) / n,
                     "build_ns": statistics.median(t_build) / n * 1e9,
                     "backward_ns": statistics.median(t_back) / n * 1e9,
                     "build_s": t_build, "backward_s": t_back, "err": max(errs)})
    return rows


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live_c_nodes(eng: Engine) -> int | None:
    """pymicrograd's count of allocated C nodes; None for the other engines."""
    if eng.name != "pymicrograd":
        return None
    from pymicrograd import live_nodes

    return live_nodes()


def build_mem_chain(eng: Engine, variant: str, n: int) -> tuple[Any, Any]:
    """A chain of n op nodes: muladd as in `chain`, or add_leaf: x = x + c, one shared
    leaf c, so that every op makes exactly one node in every engine."""
    if variant == "muladd":
        return build_chain(eng, "muladd", n // 2)
    c = eng.leaf(1e-6)
    x = eng.leaf(X0)
    for _ in range(n):
        x = x + c
    return c, x


def bench_memory(eng: Engine, variant: str, n: int) -> Json:
    """Bytes per op node of a live chain; run in a fresh process (no reusable heap)."""
    build_mem_chain(eng, variant, 100)  # first-call allocations, outside the measure
    gc.collect()
    c0, r0 = live_c_nodes(eng), rss_bytes()
    keep = build_mem_chain(eng, variant, n)
    gc.collect()
    c1, r1 = live_c_nodes(eng), rss_bytes()
    del keep
    gc.collect()
    tracemalloc.start()  # the Python allocator only: misses C and C++ heaps
    t0 = tracemalloc.get_traced_memory()[0]
    keep = build_mem_chain(eng, variant, n)
    gc.collect()
    t1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    out: Json = {"variant": variant, "N": n, "rss_per_op": (r1 - r0) / n,
                 "tracemalloc_per_op": (t1 - t0) / n}
    if c0 is not None and c1 is not None:
        out.update(live_nodes_delta=c1 - c0, rss_per_c_node=(r1 - r0) / (c1 - c0))
    return out


def recursion_threshold(eng: Engine, upto: int = 4096) -> Json:
    """Smallest muladd chain (op nodes) whose backward raises RecursionError at the
    default recursion limit (binary search), or None if even `upto` works."""
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)

    def fails(n_ops: int) -> bool:
        _, x = build_chain(eng, "muladd", n_ops // 2)
        if n_ops % 2:
            x = x * MUL
        try:
            eng.backward(x)
            return False
        except RecursionError:
            return True
        finally:
            del x
            gc.collect()

    out: Json = {"recursion_limit": DEFAULT_RECURSION_LIMIT, "checked_up_to": upto,
                 "first_failing": None, "last_passing": upto}
    if fails(upto):
        lo, hi = 1, upto
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if fails(mid) else (mid, hi)
        out.update(first_failing=hi, last_passing=lo)
    return out


def deep_chain(eng: Engine, n_nodes: int) -> Json:
    """Build, backpropagate and free a muladd chain of n_nodes op nodes at the default
    recursion limit. The multiplier 1 + 1e-7 keeps the gradient finite at 10M nodes."""
    mul = add = 1e-7
    mul += 1.0
    n_iter = n_nodes // 2
    ref_v, ref_g = chain_reference("muladd", n_iter, mul, add)
    c0 = live_c_nodes(eng)
    t_build, (leaf, root) = timed(partial(build_chain, eng, "muladd", n_iter, mul, add),
                                  False)
    c1 = live_c_nodes(eng)
    t_back, _ = timed(partial(eng.backward, root), False)
    err = max(rel_err([eng.grad(leaf)], [ref_g]), rel_err([eng.value(root)], [ref_v]))
    t0 = perf()
    del leaf, root  # the root holds the whole chain: this frees it
    t_free = perf() - t0
    c2 = live_c_nodes(eng)
    return {"N": n_iter * 2, "build_s": t_build, "backward_s": t_back, "free_s": t_free,
            "err": err, "recursion_limit": sys.getrecursionlimit(),
            "live_nodes_built": None if c0 is None or c1 is None else c1 - c0,
            "live_nodes_after_free": None if c0 is None or c2 is None else c2 - c0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ---------------------------------------------------------------- worker process
def worker(spec: Json) -> Json:
    """Run one workload on one engine (in this fresh interpreter)."""
    try:
        eng = load_engine(spec["engine"])
    except ImportError as e:
        return {"skipped": f"not installed ({e})"}
    # first calls (lazy imports, cffi, torch dispatch) stay outside every measure
    leaf, root = build_chain(eng, "tanh", 30)
    eng.backward(root)
    del leaf, root
    task, args = spec["task"], spec["args"]
    if task in ("chain", "dag"):
        # micrograd's topological sort recurses once per node
        sys.setrecursionlimit(max(DEFAULT_RECURSION_LIMIT, 2 * max(args["sizes"]) + 1000))
        fn = bench_chain if task == "chain" else bench_dag
        return {"rows": fn(eng, args["sizes"], args["reps"])}
    if task == "memory":
        return bench_memory(eng, args["variant"], args["n"])
    if task == "recursion":
        return recursion_threshold(eng)
    if task == "deep":
        return deep_chain(eng, args["n"])
    raise ValueError(f"unknown task {task!r}")


def run_worker(engine: str, task: str, **args: Any) -> Json:
    """Run `worker` in a fresh interpreter and return its result."""
    print(f"[{time.strftime('%H:%M:%S')}] {task:9s} {engine} {args}", file=sys.stderr,
          flush=True)
    return run_fresh(__file__, {"engine": engine, "task": task, "args": args})


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Plan:
    """Sizes and repeat counts of one run."""

    chain_sizes: list[int]
    chain_reps: dict[int, int]
    dag_sizes: list[int]
    dag_reps: dict[int, int]
    mem_n: dict[str, int]  # engine -> chain length
    mem_variants: tuple[str, ...]
    deep_n: int


def make_plan(quick: bool) -> Plan:
    """The full plan (a few minutes) or the quick one (under a minute)."""
    if quick:
        return Plan([10_000, 50_000], {10_000: 5, 50_000: 3}, [10_000], {10_000: 3},
                    {"micrograd": 100_000, "torch": 100_000, "pymicrograd": 1_000_000},
                    ("muladd",), 1_000_000)
    return Plan([10_000, 100_000], {10_000: 9, 100_000: 5}, [10_000, 100_000],
                {10_000: 7, 100_000: 3},
                {"micrograd": 200_000, "torch": 200_000, "pymicrograd": 1_000_000},
                ("muladd", "add_leaf"), TARGET_DEPTH)


def run_all(plan: Plan) -> Json:
    """Every workload for every engine, each in its own interpreter."""
    res: Json = {"chain": {}, "dag": {}, "memory": {}}
    for eng in ENGINES:
        for n in plan.chain_sizes:
            res["chain"].setdefault(eng, []).append(
                run_worker(eng, "chain", sizes=[n], reps=plan.chain_reps[n]))
        res["dag"][eng] = [run_worker(eng, "dag", sizes=[n], reps=plan.dag_reps[n])
                           for n in plan.dag_sizes]
    for eng, n in plan.mem_n.items():
        for variant in plan.mem_variants:
            res["memory"][f"{eng}/{variant}"] = run_worker(eng, "memory", variant=variant,
                                                           n=n)
    res["recursion"] = run_worker("micrograd", "recursion")
    res["deep"] = run_worker("pymicrograd", "deep", n=plan.deep_n)
    return res


# ---------------------------------------------------------------- report
def table(title: str, header: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print rows under a header; the first `left` and the last two columns (target,
    status) align left, the numbers right."""
    width = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for k, r in enumerate([header, *rows]):
        cells = [c.ljust(w) if i < left or i >= len(r) - 2 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, width))]
        print("  " + "  ".join(cells).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in width))


def fmt_ns(ns: float | None) -> str:
    """Nanoseconds, thousands separated; one decimal below 100."""
    if ns is None:
        return "-"
    return f"{ns:,.1f}" if ns < 100 else f"{ns:,.0f}"


def status(ok: bool, grad_ok: bool = True) -> str:
    """PASS / MISS, or WRONG GRADIENT (which never passes)."""
    if not grad_ok:
        return "MISS (wrong gradient)"
    return "PASS" if ok else "MISS"


def speed_rows(res: Json, task: str, key: str) -> list[list[str]]:
    """One row per (variant, N): each engine's ns/node with its speedup over micrograd,
    then pymicrograd's spread, its speedup over the target's reference, and the verdict."""
    by_engine: dict[str, dict[tuple[str, int], Json]] = {}
    for eng in ENGINES:
        by_engine[eng] = {}
        for result in res[task][eng]:
            for row in result.get("rows", []):
                by_engine[eng][(row.get("variant", "dag"), row["N"])] = row
    if key == "build_ns":
        ref_engine, goal = "micrograd[gc-off]", TARGET_BUILD_SPEEDUP
    else:
        ref_engine, goal = "micrograd", TARGET_BACKWARD_SPEEDUP
    rows = []
    for k in by_engine["pymicrograd"] or by_engine["micrograd"]:
        base = by_engine["micrograd"].get(k, {}).get(key)
        cells = [k[0], f"{k[1]:,}"]
        for eng in ENGINES:
            row = by_engine[eng].get(k)
            if row is None:
                cells.append("failed")
                continue
            ns = row[key]
            bad = "" if row["err"] <= GRAD_TOL else " WRONG"
            cells.append(f"{fmt_ns(ns)} {base / ns:5.2f}x{bad}" if base else fmt_ns(ns) + bad)
        pmg = by_engine["pymicrograd"].get(k)
        ref = by_engine[ref_engine].get(k, {}).get(key)
        target = f">= {goal:g}x"
        if pmg and ref:
            seconds = pmg[key.replace("_ns", "_s")]
            speedup = ref / pmg[key]
            cells += [f"{fmt_ns(min(seconds) / k[1] * 1e9)}-{fmt_ns(max(seconds) / k[1] * 1e9)}",
                      f"{speedup:.2f}x", target, status(speedup >= goal, pmg["err"] <= GRAD_TOL)]
        else:
            cells += ["-", "-", target, "MISS (no result)"]
        rows.append(cells)
    return rows


def report(res: Json, plan: Plan, quick: bool, info: Json, wall_s: float) -> None:
    """Print the whole result as tables."""
    v = info["versions"]
    print("pymicrograd engine benchmark" + (" (--quick)" if quick else ""))
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['mem_gb']} GB RAM, "
          f"{info['os']}")
    print(f"  python {info['python']}; pymicrograd {v['pymicrograd']} @ {info['commit']}, "
          f"micrograd {v['micrograd']}, torch {v['torch']} (1 thread), cffi {v['cffi']}")
    print("  every (engine, workload) runs in a fresh interpreter; times are medians; "
          "'1.23x' = micrograd ns / engine ns (higher is faster)")
    print("  micrograd[gc-off] = micrograd with the cyclic GC disabled inside the timed "
          "regions only; micrograd's tanh is the lecture's (0.1.0 has none)")

    for task, what in (("chain", "Chain x = f(x*1.0001 + 0.0001), f = id|relu|tanh"),
                       ("dag", "Random DAG, node i = node[i-1] (+|*) node[j<i]")):
        reps = plan.chain_reps if task == "chain" else plan.dag_reps
        reps_s = ", ".join(f"{r} at N={n:,}" for n, r in reps.items())
        for key, part, ref in (("build_ns", "build from Python, ns per op node", "gc-off"),
                               ("backward_ns", "backward, ns per node", "mg")):
            table(f"{what}: {part} (repeats: {reps_s})",
                  [task, "N", *ENGINES, "pmg min-max", f"pmg/{ref}", "target", "status"],
                  speed_rows(res, task, key))

    rows = []
    for variant in plan.mem_variants:
        mg = res["memory"].get(f"micrograd/{variant}", {}).get("rss_per_op")
        for eng in ("micrograd", "torch", "pymicrograd"):
            m = res["memory"].get(f"{eng}/{variant}", {})
            if "rss_per_op" not in m:
                rows.append([variant, eng, "-", "failed", "", "", "", "", "", ""])
                continue
            rss = m["rss_per_op"]
            cells = [variant, eng, f"{m['N']:,}", f"{rss:,.1f}",
                     f"{mg / rss:.1f}x" if mg else "-", f"{m['tracemalloc_per_op']:,.1f}"]
            if eng == "pymicrograd":
                per_c = m["rss_per_c_node"]
                cells += [f"{m['live_nodes_delta']:,}", f"{per_c:,.1f}",
                          f"<= {TARGET_BYTES_PER_NODE:g} B",
                          status(max(rss, per_c) <= TARGET_BYTES_PER_NODE)]
            else:
                cells += ["-", "-", "", ""]
            rows.append(cells)
    table("Memory of a live chain, bytes per op node (fresh process; RSS delta; tracemalloc "
          "= Python heap only; 'x' = micrograd B / engine B; add_leaf: x = x + c)",
          ["chain", "engine", "op nodes", "RSS B/op", "vs mg", "tracemalloc B/op",
           "C live_nodes", "RSS B/C node", "target", "status"], rows, 2)

    r, d = res["recursion"], res["deep"]
    if r.get("first_failing"):
        mg_depth = (f"{r['last_passing']:,} (RecursionError at {r['first_failing']:,}, "
                    f"limit {r['recursion_limit']})")
    elif "last_passing" in r:
        mg_depth = f">= {r['checked_up_to']:,} (no RecursionError)"
    else:
        mg_depth = r.get("failed", r.get("skipped", "?"))
    rows = [["micrograd", mg_depth, "-", "-", "-", "-", "-", "-", "", ""]]
    if "N" in d:
        ok = (d["err"] <= GRAD_TOL and d["live_nodes_built"] == d["N"] + 1
              and d["live_nodes_after_free"] == 0)
        verdict = status(ok and d["N"] >= TARGET_DEPTH, d["err"] <= GRAD_TOL)
        if d["N"] < TARGET_DEPTH:
            verdict = (f"{'PASS' if ok else 'MISS'} at {d['N']:,} only "
                       f"({TARGET_DEPTH:,} skipped by --quick)")
        rows.append(["pymicrograd", f"{d['N']:,} (limit {d['recursion_limit']})",
                     f"{d['build_s']:.2f} s", f"{d['backward_s']:.2f} s",
                     f"{d['free_s']:.2f} s", f"{d['peak_rss_mb']:,.0f} MB",
                     f"{d['err']:.1e}",
                     f"{d['live_nodes_built']:,} -> {d['live_nodes_after_free']:,}",
                     f">= {TARGET_DEPTH:,}", verdict])
    else:
        rows.append(["pymicrograd", d.get("failed", "?"), "", "", "", "", "", "",
                     f">= {TARGET_DEPTH:,}", "MISS"])
    table("Deepest chain that backward survives (x = x*c + c at the default recursion "
          "limit; pymicrograd: build + backward + free)",
          ["engine", "deepest chain ok (op nodes)", "build", "backward", "free", "peak RSS",
           "grad err", "C nodes built -> after free", "target", "status"], rows, 2)

    errs = []
    for eng in ENGINES:
        e = [row["err"] for task in ("chain", "dag") for result in res[task][eng]
             for row in result.get("rows", [])]
        worst = max(e) if e else float("nan")
        errs.append(f"{eng} {worst:.1e} {'ok' if worst <= GRAD_TOL else 'WRONG'}")
    print(f"\nGradients and root values vs plain-float references (closed form c**n for "
          f"muladd/relu, forward mode for tanh, reverse sweep for the DAG), worst "
          f"norm-wise relative error, tolerance {GRAD_TOL:g}:\n  " + "; ".join(errs))
    print(f"Total wall time: {wall_s:.1f} s")


def main() -> int:
    """Parse the command line; run as the driver or as one worker."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="N=1e4 and 5e4 chains, 1e4 DAG, 1M instead of 10M deep chain")
    ap.add_argument("--json", metavar="OUT", help="also write every measurement here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return serve_worker(args.worker, args.json, worker)
    t0 = perf()
    info = machine_info(REPO)
    plan = make_plan(args.quick)
    res = run_all(plan)
    wall = perf() - t0
    report(res, plan, args.quick, info, wall)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "plan": plan.__dict__,
                       "results": res, "wall_s": wall}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
