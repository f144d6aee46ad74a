#!/usr/bin/env python3
"""moons_bench.py: micrograd's moons training step, pymicrograd side by side with its peers.

One command, one run, one table:

    python benchmarks/moons_bench.py [--quick] [--json out.json] [--chart out.png]

The step is karpathy's micrograd demo: 100 two-moons points (make_moons, noise 0.1,
np.random.seed(1337)), MLP(2, [16, 16, 1]) with ReLU hidden layers and a linear score,
loss = mean_n relu(1 - y_n * score_n) + 1e-4 * sum_p p^2, then zero_grad, backward and
SGD with lr = 1.0 - 0.9 * k / 100. One timed step = forward over all 100 samples, loss,
zero_grad, backward, update. (The accuracy is computed after the timer stops.)

Engines, each in a fresh interpreter that imports only itself:
  micrograd            the pip package, run as its demo notebook runs it
  micrograd GC off     the same with Python's cyclic GC disabled inside the timed step
                       (a gc.collect() after each step, untimed, frees the cycles)
  pymicrograd seed     the demo written seed-style on pymicrograd: a Python loop calling
                       the model once per sample, the loss from Tensor ops, the L2 from
                       p*p sums, the SGD update in Python
  pymicrograd batched  MLP.forward_batch (one C call for the batch; the inputs passed
                       as a float64 numpy array made once, as torch gets one tensor),
                       losses.hinge_loss, losses.l2_penalty and optim.SGD (C)
  torch vectorized     nn.Linear float64 on the whole batch, one thread
  C by hand            benchmarks/moons_ref.c (gcc -O2): the same arithmetic with no graph

Every engine starts from the same weights (drawn like micrograd.nn does, copied in
micrograd's parameter order) and trains on the same data, and every engine's loss must
match the C reference at every step to 1e-9 (relative): a wrong but fast engine is
reported WRONG and cannot pass a target.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from fresh import machine_info as shared_machine_info
from fresh import run_fresh, serve_worker

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SIZES = [2, 16, 16, 1]
ALPHA = 1e-4
SEED = 1337
STEPS = 100
NOT_RUN = "not run (--engines)"
LOSS_TOL = 1e-9  # |loss - C loss| / max(1, |C loss|), at every step

# The performance budget of /work/shared/design.md for the moons step.
TARGET_SEED_MS = 3.0  # seed-style step: at most about 3 ms ...
TARGET_VS_GC_OFF = 35.0  # ... i.e. >= 35x faster than micrograd with its GC off
TARGET_VS_MICROGRAD = 300.0  # ... and >= 300x faster than micrograd as people run it
TARGET_VS_TORCH = 1.0  # batched step: faster than torch vectorized
TARGET_VS_C = 5.0  # batched step: within 5x of the hand-written C step

perf = time.perf_counter
Json = dict[str, Any]
Step = Callable[[int], tuple[float, list[float]]]  # k -> (loss, scores)

ENGINES = ("micrograd", "micrograd[gc-off]", "pymicrograd-seed", "pymicrograd-batched",
           "torch", "c")
LABEL = {"micrograd": "micrograd", "micrograd[gc-off]": "micrograd, GC off",
         "pymicrograd-seed": "pymicrograd seed-style", "pymicrograd-batched":
         "pymicrograd batched", "torch": "torch vectorized", "c": "C by hand, no graph"}


# ---------------------------------------------------------------- data
def initial_params(sizes: Sequence[int], seed: int = SEED) -> list[float]:
    """Initial parameters in micrograd's order, drawn as micrograd.nn draws them:
    per layer, per neuron, each weight uniform in [-1, 1], then a bias of 0."""
    rng = random.Random(seed)
    flat: list[float] = []
    for nin, nout in zip(sizes, sizes[1:]):
        for _ in range(nout):
            flat.extend(rng.uniform(-1.0, 1.0) for _ in range(nin))
            flat.append(0.0)
    return flat


def make_data() -> Json:
    """The demo's moons (bit-exact with sklearn under np.random.seed(1337))."""
    from pymicrograd.datasets import make_moons

    X, y = make_moons(100, noise=0.1, seed=SEED)
    return {"X": X, "y": y, "init": initial_params(SIZES), "sizes": SIZES, "alpha": ALPHA}


def lr_at(k: int) -> float:
    """The demo's learning-rate schedule."""
    return 1.0 - 0.9 * k / 100


# ---------------------------------------------------------------- the steps
def set_params(params: Sequence[Any], values: Sequence[float], attr: str) -> None:
    """Copy the initial weights into a model's parameters (micrograd order)."""
    assert len(params) == len(values), (len(params), len(values))
    for p, v in zip(params, values):
        setattr(p, attr, v)


def micrograd_step(data: Json) -> Step:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    X, y, alpha = data["X"], data["y"], data["alpha"]
    model = MLP(2, data["sizes"][1:])
    set_params(model.parameters(), data["init"], "data")

    def step(k: int) -> tuple[Any, list[Any]]:
        # the demo notebook's loss() and training loop, verbatim but for the batching
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total_loss, scores

    def run(k: int) -> tuple[float, list[float]]:
        total, scores = timed_step(step, k)
        return total.data, [s.data for s in scores]

    return run


def pymicrograd_seed_step(data: Json) -> Step:
    from pymicrograd import Tensor
    from pymicrograd.nn import MLP

    X, y, alpha = data["X"], data["y"], data["alpha"]
    model = MLP(2, data["sizes"][1:], activation="relu", final_activation="linear")
    set_params(model.parameters(), data["init"], "value")

    def step(k: int) -> tuple[Any, list[Any]]:
        inputs = [list(map(Tensor, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.value -= learning_rate * p.gradient
        return total_loss, scores

    def run(k: int) -> tuple[float, list[float]]:
        total, scores = timed_step(step, k)
        return total.value, [s.value for s in scores]

    return run


def pymicrograd_batched_step(data: Json) -> Step:
    from pymicrograd.losses import hinge_loss, l2_penalty
    from pymicrograd.nn import MLP
    from pymicrograd.optim import SGD

    X, y, alpha = data["X"], data["y"], data["alpha"]
    try:  # the inputs as one float64 array, made once (as torch's Xt): forward_batch
        import numpy  # reads it without a copy; a list of rows is converted per call

        X = numpy.array(X, dtype=numpy.float64)
    except ImportError:
        pass
    model = MLP(2, data["sizes"][1:], activation="relu", final_activation="linear")
    params = model.parameters()
    set_params(params, data["init"], "value")
    opt = SGD(params, lr=1.0)

    def step(k: int) -> tuple[Any, list[Any]]:
        scores = model.forward_batch(X)
        total_loss = hinge_loss(scores, y) + l2_penalty(model, alpha)
        opt.zero_grad()
        total_loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
        return total_loss, scores

    def run(k: int) -> tuple[float, list[float]]:
        total, scores = timed_step(step, k)
        return total.value, [s.value for s in scores]

    return run


def torch_step(data: Json) -> Step:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    f64 = torch.float64
    sizes, alpha = data["sizes"], data["alpha"]
    Xt = torch.tensor(data["X"], dtype=f64)
    yt = torch.tensor(data["y"], dtype=f64)
    layers = [nn.Linear(a, b, dtype=f64) for a, b in zip(sizes, sizes[1:])]
    init = torch.tensor(data["init"], dtype=f64)
    off = 0
    with torch.no_grad():  # micrograd order: per neuron, weights then bias
        for layer in layers:
            nout, nin = layer.weight.shape
            block = init[off:off + nout * (nin + 1)].view(nout, nin + 1)
            layer.weight.copy_(block[:, :nin])
            layer.bias.copy_(block[:, nin])
            off += nout * (nin + 1)
    assert off == len(init)
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    last = len(layers) - 1

    def step(k: int) -> tuple[Any, Any]:
        h = Xt
        for i, layer in enumerate(layers):
            h = layer(h)
            if i != last:
                h = torch.relu(h)
        scores = h.squeeze(1)
        total_loss = torch.relu(1 - yt * scores).mean() + alpha * sum(
            (p * p).sum() for p in params)
        for p in params:
            p.grad = None
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-learning_rate)
        return total_loss, scores

    def run(k: int) -> tuple[float, list[float]]:
        total, scores = timed_step(step, k)
        return float(total.item()), scores.detach().tolist()

    return run


STEP_FACTORIES: dict[str, Callable[[Json], Step]] = {
    "micrograd": micrograd_step, "micrograd[gc-off]": micrograd_step,
    "pymicrograd-seed": pymicrograd_seed_step, "pymicrograd-batched": pymicrograd_batched_step,
    "torch": torch_step}

# Set by the worker: seconds of the last timed step, whether the GC is off inside, and
# the last step's result (its graph), which the next step drops inside its timed region,
# as rebinding `total_loss` does in a training loop.
_LAST: dict[str, Any] = {"dt": 0.0, "gc_off": False, "keep": None}


def timed_step(step: Callable[[int], Any], k: int) -> Any:
    """Run step(k) under the timer (with the GC off if asked) and record its seconds."""
    gc_off = _LAST["gc_off"]
    if gc_off:
        gc.disable()
    try:
        t0 = perf()
        _LAST["keep"] = None  # frees the previous step's graph (micrograd: its cycles)
        out = step(k)
        _LAST["dt"] = perf() - t0
    finally:
        if gc_off:
            gc.enable()
    _LAST["keep"] = out
    return out


# ---------------------------------------------------------------- workers
def accuracy(scores: Sequence[float], y: Sequence[float]) -> float:
    return sum((yi > 0) == (s > 0) for yi, s in zip(y, scores)) / len(y)


def python_worker(engine: str, data: Json, steps: int, repeats: int, budget_s: float,
                  warmup: bool) -> Json:
    """Train `repeats` times for `steps` steps (each from the initial weights), timing
    every step; stop early once budget_s has passed (after at least 3 steps)."""
    try:
        factory = STEP_FACTORIES[engine]
        if warmup:  # first calls (lazy imports, dispatch caches) stay untimed
            factory(data)(0)
    except ImportError as e:
        return {"skipped": f"not installed ({e})"}
    _LAST["gc_off"] = engine.endswith("[gc-off]")
    times: list[float] = []
    losses: list[list[float]] = []
    accs: list[float] = []
    t_start = perf()
    for r in range(repeats):
        _LAST["keep"] = None
        run = factory(data)
        hist: list[float] = []
        for k in range(steps):
            loss, scores = run(k)
            times.append(_LAST["dt"])
            hist.append(loss)
            if r == 0:
                accs.append(accuracy(scores, data["y"]))
            del scores
            if _LAST["gc_off"]:
                gc.collect()  # free this step's cycles outside the timed region
            if perf() - t_start > budget_s and k >= 2:
                break
        losses.append(hist)
        if perf() - t_start > budget_s:
            break
    return {"step_s": times, "loss": losses, "acc": accs}


def c_worker(data: Json, steps: int, repeats: int, build_dir: str) -> Json:
    """Compile moons_ref.c with gcc -O2 and run it."""
    exe = os.path.join(build_dir, "moons_ref")
    try:
        subprocess.run(["gcc", "-O2", "-std=c11", "-o", exe, os.path.join(HERE, "moons_ref.c")],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return {"skipped": f"cannot compile moons_ref.c ({e})"}
    sizes = data["sizes"]
    lines = [f"{len(data['X'])} {len(sizes) - 1} {' '.join(map(str, sizes))} {steps} "
             f"{repeats} {data['alpha']!r}",
             " ".join(repr(v) for row in data["X"] for v in row),
             " ".join(repr(v) for v in data["y"]),
             " ".join(repr(v) for v in data["init"])]
    proc = subprocess.run([exe], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return {"failed": f"moons_ref exited with {proc.returncode}: {proc.stderr.strip()}"}
    out = json.loads(proc.stdout)
    return {"step_s": [t * 1e-9 for t in out["step_ns"]], "loss": [out["loss"]],
            "acc": out["acc"]}


def run_worker(spec: Json) -> Json:
    """Run one engine's measurement in a fresh interpreter and return its result."""
    print(f"[{time.strftime('%H:%M:%S')}] {LABEL[spec['engine']]}: {spec['steps']} steps x "
          f"{spec['repeats']}", file=sys.stderr, flush=True)
    return run_fresh(__file__, spec)


def worker(spec: Json) -> Json:
    with open(spec["data"]) as f:
        data = json.load(f)
    if spec["engine"] == "c":
        return c_worker(data, spec["steps"], spec["repeats"], spec["tmp"])
    return python_worker(spec["engine"], data, spec["steps"], spec["repeats"],
                         spec["budget_s"], not spec["engine"].startswith("micrograd"))


# ---------------------------------------------------------------- plan
@dataclass(frozen=True)
class Plan:
    """(steps, repeats, time budget in s) per engine."""

    runs: dict[str, tuple[int, int, float]]


def make_plan(quick: bool) -> Plan:
    if quick:
        return Plan({"micrograd": (5, 1, 20.0), "micrograd[gc-off]": (15, 1, 10.0),
                     "pymicrograd-seed": (STEPS, 2, 20.0),
                     "pymicrograd-batched": (STEPS, 5, 20.0), "torch": (STEPS, 3, 20.0),
                     "c": (STEPS, 50, 0.0)})
    return Plan({"micrograd": (40, 1, 60.0), "micrograd[gc-off]": (STEPS, 1, 40.0),
                 "pymicrograd-seed": (STEPS, 5, 60.0),
                 "pymicrograd-batched": (STEPS, 30, 60.0), "torch": (STEPS, 10, 60.0),
                 "c": (STEPS, 300, 0.0)})


# ---------------------------------------------------------------- report
def machine_info() -> Json:
    """fresh.machine_info, and the C compiler that builds the hand-written step."""
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False)
    return {**shared_machine_info(REPO),
            "gcc": gcc.stdout.splitlines()[0] if gcc.stdout else "?"}


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1.0:
        return f"{s:,.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:,.2f} ms"
    return f"{s * 1e6:,.1f} us"


def loss_error(res: Json, ref: list[float]) -> float | None:
    """Worst relative difference of an engine's per-step losses (every repeat) from the
    C reference's."""
    hists = res.get("loss")
    if not hists or not ref:
        return None
    return max(abs(a - b) / max(1.0, abs(b)) for h in hists for a, b in zip(h, ref))


def table(title: str, header: list[str], rows: list[list[str]], left: int = 1,
          right_tail: int = 2) -> None:
    """Print rows under a header: the first `left` and the last `right_tail` columns
    align left, the others (numbers) right."""
    width = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate([header, *rows]):
        cells = [c.ljust(w) if i < left or i >= len(r) - right_tail else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, width))]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in width))


def summarize(res: dict[str, Json]) -> dict[str, Json]:
    """Median step time, loss agreement and final accuracy per engine."""
    ref = (res["c"].get("loss") or [[]])[0]
    out: dict[str, Json] = {}
    for eng in ENGINES:
        r = res[eng]
        if "step_s" not in r:
            out[eng] = {"why": r.get("skipped") or r.get("failed") or "?"}
            continue
        err = loss_error(r, ref)
        s = r["step_s"]
        out[eng] = {"median": statistics.median(s), "min": min(s), "max": max(s),
                    "n": len(s), "steps": len(r["loss"][0]), "err": err,
                    "ok": err is not None and err <= LOSS_TOL,
                    "acc": r["acc"][-1] if r["acc"] else None}
    return out


def report(res: dict[str, Json], plan: Plan, quick: bool, info: Json, wall: float) -> Json:
    v = info["versions"]
    print("pymicrograd moons-step benchmark" + (" (--quick)" if quick else ""))
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['os']}")
    print(f"  python {info['python']}; pymicrograd {v['pymicrograd']} @ {info['commit']}, "
          f"micrograd {v['micrograd']}, torch {v['torch']} (1 thread), {info['gcc']}")
    print("  one step = forward 100 samples + loss + zero_grad + backward + SGD update, "
          "MLP(2, [16, 16, 1]); fresh interpreter per engine; medians over every timed "
          "step")
    s = summarize(res)
    ref_s = s["micrograd"].get("median")
    gcoff_s = s["micrograd[gc-off]"].get("median")
    rows = []
    for eng in ENGINES:
        e = s[eng]
        if "median" not in e:
            rows.append([LABEL[eng], "-", "-", "-", "-", "-", "-", e["why"]])
            continue
        steps = plan.runs[eng][0]
        runs = f"{e['n']:,}" + (f" ({e['n'] // steps} x {steps})" if e["n"] >= steps else "")
        m = e["median"]
        err = "reference" if eng == "c" else (
            f"{e['err']:.0e} {'ok' if e['ok'] else 'WRONG'}" if e["err"] is not None else "-")
        acc = f"{e['acc']:.0%} at step {e['steps']}" if e["acc"] is not None else "-"
        rows.append([LABEL[eng], runs, fmt_time(m), f"{fmt_time(e['min'])}-{fmt_time(e['max'])}",
                     f"{ref_s / m:,.0f}x" if ref_s else "-",
                     f"{gcoff_s / m:,.1f}x" if gcoff_s else "-", err, acc])
    table("Moons training step, median time per step ('x' = micrograd's time / engine's "
          "time: higher is faster)",
          ["engine", "steps timed", "median", "min-max", "vs micrograd", "vs GC off",
           "loss vs C (rel.)", "accuracy"], rows, right_tail=1)

    seed, batched = s["pymicrograd-seed"], s["pymicrograd-batched"]
    torch_s, c_s = s["torch"].get("median"), s["c"].get("median")
    checks: list[tuple[str, str, Json, float | None, Callable[[float], bool], str]] = []
    sm, bm = seed.get("median"), batched.get("median")
    checks.append(("seed-style step", f"<= {TARGET_SEED_MS:g} ms", seed,
                   sm, lambda m: m <= TARGET_SEED_MS * 1e-3, fmt_time(sm)))
    checks.append(("seed-style vs micrograd GC off", f">= {TARGET_VS_GC_OFF:g}x faster", seed,
                   gcoff_s / sm if gcoff_s and sm else None,
                   lambda x: x >= TARGET_VS_GC_OFF,
                   f"{gcoff_s / sm:,.1f}x" if gcoff_s and sm else "-"))
    checks.append(("seed-style vs micrograd", f">= {TARGET_VS_MICROGRAD:g}x faster", seed,
                   ref_s / sm if ref_s and sm else None,
                   lambda x: x >= TARGET_VS_MICROGRAD,
                   f"{ref_s / sm:,.0f}x" if ref_s and sm else "-"))
    checks.append(("batched vs torch vectorized", "faster (> 1x)", batched,
                   torch_s / bm if torch_s and bm else None, lambda x: x > TARGET_VS_TORCH,
                   (f"{torch_s / bm:.2f}x faster" if torch_s / bm > 1
                    else f"{bm / torch_s:.2f}x slower") if torch_s and bm else "-"))
    checks.append(("batched vs C by hand", f"within {TARGET_VS_C:g}x", batched,
                   bm / c_s if c_s and bm else None, lambda x: x <= TARGET_VS_C,
                   f"{bm / c_s:.2f}x slower" if c_s and bm else "-"))
    rows, verdicts = [], {}
    for name, target, eng, value, ok, shown in checks:
        not_run = [e for e in ENGINES if res[e].get("skipped") == NOT_RUN]
        if value is None and not_run:
            verdict = "not run"
        elif value is None:
            verdict = "MISS (no result)"
        elif not eng.get("ok"):
            verdict = "MISS (wrong loss)"
        else:
            verdict = "PASS" if ok(value) else "MISS"
        verdicts[name] = verdict
        rows.append([name, shown, target, verdict])
    table("Targets (shared/design.md)", ["check", "measured", "target", "status"], rows)
    print(f"\nLoss check: every engine's loss at every step (every repeat) against the C "
          f"reference's, relative tolerance {LOSS_TOL:g}.")
    print(f"Total wall time: {wall:.1f} s")
    return {"summary": s, "verdicts": verdicts}


def chart(summary: dict[str, Json], path: str, info: Json) -> bool:
    """Horizontal bar chart of the median step times (log scale) as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"no chart: matplotlib is not installed (pip install matplotlib); {path} "
              "not written", file=sys.stderr)
        return False
    names = [e for e in ENGINES if "median" in summary[e]]
    times = [summary[e]["median"] for e in names]
    colors = ["#1f77b4" if e.startswith("pymicrograd") else "#b0b0b0" for e in names]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=120)
    ypos = list(range(len(names)))[::-1]
    ax.barh(ypos, times, color=colors)
    ax.set_xscale("log")
    ax.set_yticks(ypos)
    ax.set_yticklabels([LABEL[e] for e in names])
    for yp, t in zip(ypos, times):
        ax.text(t * 1.08, yp, fmt_time(t), va="center", fontsize=9)
    ax.set_xlim(min(times) / 2, max(times) * 20)
    ax.set_xlabel("seconds per training step (log scale, lower is faster)")
    ax.set_title("micrograd's moons step: 100 samples, MLP(2, [16, 16, 1]), SVM loss + L2, "
                 "SGD", fontsize=10)
    fig.text(0.99, 0.01, f"{info['cpu']}, python {info['python']}, one thread",
             ha="right", fontsize=7, color="#666666")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"chart: {path}")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer steps and repeats (under a minute)")
    ap.add_argument("--json", metavar="OUT", help="also write every measurement here")
    ap.add_argument("--chart", metavar="PNG", help="write a bar chart of the step times "
                    "here (needs matplotlib)")
    ap.add_argument("--engines", metavar="LIST", default=",".join(ENGINES),
                    help="comma-separated engines to run (default: all: %(default)s); "
                         "the C reference always runs, it checks the losses")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    chosen = {e.strip() for e in args.engines.split(",") if e.strip()} | {"c"}
    unknown = chosen - set(ENGINES)
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(sorted(unknown))}; choose from "
                 f"{', '.join(ENGINES)}")
    if args.worker:
        return serve_worker(args.worker, args.json, worker)
    t0 = perf()
    info = machine_info()
    plan = make_plan(args.quick)
    with tempfile.TemporaryDirectory(prefix="moons_bench_") as tmp:
        data_path = os.path.join(tmp, "data.json")
        with open(data_path, "w") as f:
            json.dump(make_data(), f)
        res = {}
        for eng in ENGINES:
            steps, repeats, budget = plan.runs[eng]
            if eng not in chosen:
                res[eng] = {"skipped": NOT_RUN}
                continue
            res[eng] = run_worker({"engine": eng, "steps": steps, "repeats": repeats,
                                   "budget_s": budget, "data": data_path, "tmp": tmp})
    wall = perf() - t0
    out = report(res, plan, args.quick, info, wall)
    if args.chart:
        chart(out["summary"], args.chart, info)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "plan": plan.runs,
                       "results": res, **out, "wall_s": wall}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
