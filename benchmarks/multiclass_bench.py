#!/usr/bin/env python3
"""multiclass_bench.py: one training step beyond the moons demo, pymicrograd side by side
with torch vectorized and a hand-written C step (issue 13's workloads).

    python benchmarks/multiclass_bench.py [--quick] [--only NAME[,NAME]] [--json OUT]

Workloads (ReLU hidden layers, a linear last layer, float64, initial weights drawn once
and copied into every engine):

  moons       100 x 2,    MLP(2, [16, 16, 1]),    hinge + 1e-4 L2, SGD lr 1 - 0.9k/100
  spirals     300 x 2,    MLP(2, [16, 16, 3]),    cross-entropy, Adam lr 0.01
  multiclass  100 x 64,   MLP(64, [16, 10]),      cross-entropy, Adam lr 0.01
  digits      1797 x 64,  MLP(64, [32, 10]),      cross-entropy, Adam lr 0.01
  wide        100 x 64,   MLP(64, [128, 128, 1]), MSE, SGD lr 0.01
  scaling     the digits-shaped net on 100 .. 10,000 samples, and 100 x 64 with
              MLP(64, [w, w, 1]), MSE, SGD for w = 16 .. 256

One step is the user code of the README, timed from before the forward to after the
update (dropping the previous step's graph is inside it, as rebinding `loss` in a loop):

  pymicrograd   out = model.forward_batch(X); loss = losses.cross_entropy_loss(out, y)
                (or mse_loss, or hinge_loss + l2_penalty); opt.zero_grad();
                loss.backward(); opt.step()      with pymicrograd.optim's SGD or Adam
  torch         the same with torch.nn.Sequential of nn.Linear and nn.ReLU,
                F.cross_entropy / F.mse_loss and torch.optim's SGD or Adam, float64,
                torch.set_num_threads(1)
  C             benchmarks/mlp_ref.c, the step by hand with no graph, compiled here with
                the system cc (-O3 -march=native -std=c11)

Each engine runs in an interpreter (or process) of its own that imports only itself,
started once; the three are driven in turn (interleaved), one run of `steps` steps from
the initial weights at a time, in a rotating order, so that they share the machine's
noise. The first run of each is a warm-up and is not timed into the results.
Every step's loss of pymicrograd and torch is checked against C's (see LOSS_TOL).

GFLOP/s counts the multiply-adds of the layers, 2 flops each: N*nin*nout per layer
forward, the same for the weights' gradient, and the same for the gradient of the
layer's input except at the first layer (no engine needs d/dX). Losses, activations and
the optimizer are left out (a few percent at most). The peak beside it is measured in
the torch worker: the best time of a 512 x 512 x 512 float64 matrix product (torch's
GEMM) on one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from fresh import machine_info

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEED = 1337
# |loss - C's loss| / max(1, |C's loss|), at every step of every run. The engines sum
# in different orders (torch's GEMM blocks its dot products; the C step and pymicrograd
# follow micrograd's order, but their softmax and mean differ from torch's), so losses
# differ by rounding: about 1e-16 at the first step. Training carries it on, and Adam
# divides each moment by sqrt(v) + eps, which turns an absolute rounding error e of a
# gradient near 0 into an error of up to lr * e / eps in a weight; over a run's steps
# that stays far below 1e-9, which a wrong gradient or update would exceed at once.
LOSS_TOL = 1e-9
ENGINES = ("ours", "torch", "c")
LABEL = {"ours": "pymicrograd", "torch": "torch vectorized", "c": "C by hand"}
C_FLAGS = (["-O3", "-march=native", "-std=c11"], ["-O3", "-std=c11"])

perf = time.perf_counter
Json = dict[str, Any]


# ---------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    """One training step to time: data shape, network, loss and optimizer."""

    name: str
    n: int
    sizes: list[int]  # [nin, *nouts]
    loss: str  # "hinge_l2", "ce" or "mse"
    opt: str  # "sgd" or "adam"
    lr: float
    decay: float = 0.0  # lr at step k is lr - decay * k
    alpha: float = 0.0  # the L2 penalty of hinge_l2
    data: str = "blobs"  # "moons", "spirals", "blobs" (classes) or "regression"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    steps: int = 20  # per run
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        loss = {"hinge_l2": f"hinge + {self.alpha:g} L2", "ce": "CE", "mse": "MSE"}[self.loss]
        return (f"{self.n} x {self.sizes[0]}, MLP({self.sizes[0]}, {self.sizes[1:]}), "
                f"{loss}, {'Adam' if self.opt == 'adam' else 'SGD'}")

    def macs(self) -> int:
        """Multiply-adds of the layers in one step (forward and backward)."""
        total = 0
        for layer, (nin, nout) in enumerate(zip(self.sizes, self.sizes[1:])):
            total += self.n * nin * nout * (2 if layer == 0 else 3)
        return total


MAIN = [
    Workload("moons", 100, [2, 16, 16, 1], "hinge_l2", "sgd", 1.0, decay=0.009,
             alpha=1e-4, data="moons"),
    Workload("spirals", 300, [2, 16, 16, 3], "ce", "adam", 0.01, data="spirals"),
    Workload("multiclass", 100, [64, 16, 10], "ce", "adam", 0.01),
    Workload("digits", 1797, [64, 32, 10], "ce", "adam", 0.01),
    Workload("wide", 100, [64, 128, 128, 1], "mse", "sgd", 0.01, data="regression"),
]
SCALE_N = [100, 300, 1000, 3000, 10000]
SCALE_W = [16, 32, 64, 128, 256]


def scaling_workloads(quick: bool) -> list[Workload]:
    ns = [100, 1000, 10000] if quick else SCALE_N
    ws = [16, 64, 256] if quick else SCALE_W
    steps = 10
    return ([Workload(f"digits-n{n}", n, [64, 32, 10], "ce", "adam", 0.01, steps=steps,
                      extra={"table": "samples", "x": n}) for n in ns]
            + [Workload(f"wide-w{w}", 100, [64, w, w, 1], "mse", "sgd", 0.01,
                        data="regression", steps=steps, extra={"table": "width", "x": w})
               for w in ws])


def initial_params(sizes: list[int], seed: int) -> list[float]:
    """Parameters in pymicrograd's order (per layer, per neuron: weights, then bias),
    uniform in +-1/sqrt(nin) as torch's nn.Linear draws them (micrograd's +-1 would
    saturate a 64-input network's softmax at the first step)."""
    rng = random.Random(seed)
    flat: list[float] = []
    for nin, nout in zip(sizes, sizes[1:]):
        bound = 1.0 / math.sqrt(nin)
        for _ in range(nout * (nin + 1)):
            flat.append(rng.uniform(-bound, bound))
    return flat


def make_data(w: Workload) -> Json:
    """Inputs, targets and initial parameters of a workload (deterministic)."""
    from pymicrograd import datasets  # pure Python, no numpy needed

    rng = random.Random(SEED + w.n)
    nin, nout = w.sizes[0], w.sizes[-1]
    X: list[list[float]]
    y: list[float] | list[int]
    if w.data == "moons":
        X, y = datasets.make_moons(w.n, noise=0.1, seed=SEED)
    elif w.data == "spirals":
        X, y = datasets.make_spirals(w.n // nout, nout, seed=SEED)
    elif w.data == "blobs":  # digits-shaped: a random prototype in [0, 1]^nin per class
        protos = [[rng.random() for _ in range(nin)] for _ in range(nout)]
        y = [i % nout for i in range(w.n)]
        X = [[min(1.0, max(0.0, v + rng.gauss(0.0, 0.3))) for v in protos[c]] for c in y]
    else:  # regression: a smooth function of a random projection
        u = [rng.gauss(0.0, 1.0) / math.sqrt(nin) for _ in range(nin)]
        X = [[rng.uniform(-1.0, 1.0) for _ in range(nin)] for _ in range(w.n)]
        y = [math.sin(2.0 * sum(a * b for a, b in zip(u, row))) for row in X]
    assert len(X) == w.n
    return {"workload": asdict(w), "X": X, "y": y, "init": initial_params(w.sizes, SEED)}


def write_c_problem(data: Json, path: str) -> None:
    """The problem file that mlp_ref.c reads (see its header)."""
    w = data["workload"]
    head = [w["n"], len(w["sizes"]) - 1, *w["sizes"],
            {"hinge_l2": 0, "ce": 1, "mse": 2}[w["loss"]], {"sgd": 0, "adam": 1}[w["opt"]],
            w["lr"], w["decay"], w["alpha"], w["betas"][0], w["betas"][1], w["eps"],
            w["steps"]]
    with open(path, "w") as f:
        f.write(" ".join(map(repr, head)) + "\n")
        f.write(" ".join(repr(float(v)) for row in data["X"] for v in row) + "\n")
        f.write(" ".join(repr(float(v)) for v in data["y"]) + "\n")
        f.write(" ".join(map(repr, data["init"])) + "\n")


# ---------------------------------------------------------------- the Python engines
class OursEngine:
    """pymicrograd, exactly the README's user code."""

    def __init__(self, data: Json) -> None:
        from pymicrograd import losses
        from pymicrograd.nn import MLP
        from pymicrograd.optim import SGD, Adam

        w = data["workload"]
        self.w, self.init, self.keep = w, data["init"], None
        X: Any = data["X"]
        try:  # one float64 array made once, as torch gets one tensor: forward_batch
            import numpy  # reads it without a copy (a list of rows is converted per call)

            X = numpy.array(X, dtype=numpy.float64)
        except ImportError:
            pass
        y = data["y"]
        model = MLP(w["sizes"][0], w["sizes"][1:], activation="relu",
                    final_activation="linear")
        self.model, self.params = model, model.parameters()
        assert len(self.params) == len(self.init)
        if w["opt"] == "adam":
            self.new_opt = lambda: Adam(self.params, lr=w["lr"], betas=tuple(w["betas"]),
                                        eps=w["eps"])
        else:
            self.new_opt = lambda: SGD(self.params, lr=w["lr"])
        alpha, lr, decay = w["alpha"], w["lr"], w["decay"]
        loss_kind = w["loss"]

        def step(k: int) -> Any:
            opt = self.opt
            out = model.forward_batch(X)
            if loss_kind == "ce":
                loss = losses.cross_entropy_loss(out, y)
            elif loss_kind == "mse":
                loss = losses.mse_loss(out, y)
            else:
                loss = losses.hinge_loss(out, y) + losses.l2_penalty(model, alpha)
            opt.zero_grad()
            loss.backward()
            if decay:
                opt.lr = lr - decay * k
            opt.step()
            return out, loss

        self.step = step

    def reset(self) -> None:
        self.keep = None
        for p, v in zip(self.params, self.init):
            p.value = v
        self.opt = self.new_opt()

    def timed(self, k: int) -> tuple[float, float]:
        t0 = perf()
        self.keep = None  # drops the previous step's graph, as rebinding `loss` does
        self.keep = self.step(k)
        dt = perf() - t0
        return dt, self.keep[1].value


class TorchEngine:
    """torch vectorized: nn.Sequential, F's losses, torch.optim, float64, one thread."""

    def __init__(self, data: Json) -> None:
        import torch
        import torch.nn.functional as F
        from torch import nn

        torch.set_num_threads(1)
        f64 = torch.float64
        w = data["workload"]
        self.w, self.keep = w, None
        sizes = w["sizes"]
        self.layers = [nn.Linear(a, b, dtype=f64) for a, b in zip(sizes, sizes[1:])]
        mods: list[Any] = []
        for i, layer in enumerate(self.layers):
            mods.append(layer)
            if i + 1 < len(self.layers):
                mods.append(nn.ReLU())
        model = nn.Sequential(*mods)
        self.init = torch.tensor(data["init"], dtype=f64)
        Xt = torch.tensor(data["X"], dtype=f64)
        if w["loss"] == "ce":
            yt = torch.tensor(data["y"], dtype=torch.long)
        else:
            yt = torch.tensor(data["y"], dtype=f64)
        params = list(model.parameters())
        if w["opt"] == "adam":
            self.new_opt = lambda: torch.optim.Adam(params, lr=w["lr"],
                                                    betas=tuple(w["betas"]), eps=w["eps"])
        else:
            self.new_opt = lambda: torch.optim.SGD(params, lr=w["lr"])
        alpha, lr, decay = w["alpha"], w["lr"], w["decay"]
        loss_kind = w["loss"]

        def step(k: int) -> Any:
            opt = self.opt
            out = model(Xt)
            if loss_kind == "ce":
                loss = F.cross_entropy(out, yt)
            elif loss_kind == "mse":
                loss = F.mse_loss(out.squeeze(1), yt)
            else:
                loss = (torch.relu(1 - yt * out.squeeze(1)).mean()
                        + alpha * sum((p * p).sum() for p in params))
            opt.zero_grad()
            loss.backward()
            if decay:
                for group in opt.param_groups:
                    group["lr"] = lr - decay * k
            opt.step()
            return out, loss

        self.step = step

    def reset(self) -> None:
        import torch

        self.keep = None
        off = 0
        with torch.no_grad():  # pymicrograd's order: per neuron, weights then bias
            for layer in self.layers:
                nout, nin = layer.weight.shape
                block = self.init[off:off + nout * (nin + 1)].view(nout, nin + 1)
                layer.weight.copy_(block[:, :nin])
                layer.bias.copy_(block[:, nin])
                off += nout * (nin + 1)
        assert off == len(self.init)
        self.opt = self.new_opt()

    def timed(self, k: int) -> tuple[float, float]:
        t0 = perf()
        self.keep = None
        self.keep = self.step(k)
        dt = perf() - t0
        return dt, float(self.keep[1].item())


def gemm_peak() -> float:
    """GFLOP/s of torch's float64 512^3 matrix product on one thread (best of 5)."""
    import torch

    torch.set_num_threads(1)
    n = 512
    a = torch.rand(n, n, dtype=torch.float64)
    b = torch.rand(n, n, dtype=torch.float64)
    a @ b
    best = math.inf
    for _ in range(5):
        t0 = perf()
        a @ b
        best = min(best, perf() - t0)
    return 2 * n**3 / best / 1e9


def python_worker(engine: str) -> int:
    """Serve the line protocol of mlp_ref.c (load PATH, run, quit) for `engine`."""
    made: Any = None
    hello: Json = {"ok": 1}
    try:
        if engine == "ours":
            import pymicrograd

            hello["where"] = os.path.dirname(pymicrograd.__file__)
        else:
            hello["peak_gflops"] = gemm_peak()
    except ImportError as e:
        hello = {"error": f"not installed ({e})"}
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        try:
            if cmd.startswith("load "):
                with open(cmd[5:]) as f:
                    data = json.load(f)
                made = (OursEngine if engine == "ours" else TorchEngine)(data)
                reply: Json = {"ok": 1}
            elif cmd == "run" and made is not None:
                made.reset()
                times, losses = [], []
                for k in range(made.w["steps"]):
                    dt, loss = made.timed(k)
                    times.append(dt)
                    losses.append(loss)
                made.keep = None
                reply = {"t": times, "loss": losses}
            elif cmd == "quit":
                break
            else:
                reply = {"error": f"bad command {cmd!r}"}
        except Exception as e:  # report it to the driver, which shows it in the table
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)
    return 0


# ---------------------------------------------------------------- the driver
class Worker:
    """One engine's process and its command line."""

    def __init__(self, engine: str, argv: list[str]) -> None:
        self.engine = engine
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.error: str | None = None
        self.hello: Json = self.read() if engine != "c" else {"ok": 1}

    def read(self) -> Json:
        out: IO[str] | None = self.proc.stdout
        line = out.readline() if out else ""
        if not line:
            return {"error": f"{self.engine} worker exited ({self.proc.poll()})"}
        reply: Json = json.loads(line)
        return reply

    def ask(self, cmd: str) -> Json:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"error": f"{self.engine} worker exited ({self.proc.poll()})"}
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            self.proc.wait(timeout=30)


def checkout_commit(where: str) -> str:
    """' @ <commit>' of the git checkout holding the pymicrograd under test ('' if none),
    with ' (dirty)' when its csrc/ or pymicrograd/ differ from that commit."""
    def git(*cmd: str) -> str:
        p = subprocess.run(["git", "-C", where, *cmd], capture_output=True, text=True,
                           check=False)
        return p.stdout.strip() if p.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") if os.path.isdir(where) else ""
    if not head:
        return ""
    top = git("rev-parse", "--show-toplevel")
    dirty = git("-C", top, "status", "--porcelain", "--", "csrc", "pymicrograd")
    return f" @ {head}" + (" (dirty)" if dirty else "")


def compile_c(tmp: str) -> tuple[list[str] | None, str]:
    """Build mlp_ref.c; the command line to run it (or None) and the flags (or why not)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None, "no C compiler (cc) found"
    exe = os.path.join(tmp, "mlp_ref")
    err = ""
    for flags in C_FLAGS:
        p = subprocess.run([cc, *flags, "-o", exe, os.path.join(HERE, "mlp_ref.c"), "-lm"],
                           capture_output=True, text=True, check=False)
        if p.returncode == 0:
            return [exe], f"{os.path.basename(cc)} {' '.join(flags)}"
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
    return None, f"cannot compile mlp_ref.c: {err}"


def measure(workers: dict[str, Worker], w: Workload, data_dir: str, budget_s: float,
            min_runs: int) -> dict[str, Json]:
    """Load the workload in every worker, then interleave runs until the budget is spent."""
    data = make_data(w)
    path = os.path.join(data_dir, f"{w.name}.json")
    with open(path, "w") as f:
        json.dump(data, f)
    write_c_problem(data, path + ".txt")
    res: dict[str, Json] = {}
    live: list[Worker] = []
    for eng, wk in workers.items():
        if wk.error:
            res[eng] = {"error": wk.error}
            continue
        reply = wk.ask(f"load {path}.txt" if eng == "c" else f"load {path}")
        if "error" in reply:
            res[eng] = {"error": reply["error"]}
        else:
            res[eng] = {"t": [], "loss": []}
            live.append(wk)
    t0 = perf()
    r = 0
    while live and (r <= min_runs or perf() - t0 < budget_s):
        order = live[r % len(live):] + live[:r % len(live)]
        for wk in order:
            reply = wk.ask("run")
            if "error" in reply:
                res[wk.engine] = {"error": reply["error"]}
                live.remove(wk)
            elif r > 0:  # run 0 warms up
                res[wk.engine]["t"].extend(reply["t"])
                res[wk.engine]["loss"].append(reply["loss"])
        r += 1
    return res


def summarize(w: Workload, res: dict[str, Json]) -> Json:
    """Median step time, loss error against C and GFLOP/s per engine."""
    ref = (res.get("c", {}).get("loss") or [None])[0]
    out: Json = {"workload": w.name, "macs": w.macs()}
    for eng in ENGINES:
        r = res.get(eng, {})
        if not r.get("t"):
            out[eng] = {"why": r.get("error", "no result")}
            continue
        med = statistics.median(r["t"])
        e: Json = {"median": med, "min": min(r["t"]), "n": len(r["t"]),
                   "gflops": 2 * w.macs() / med / 1e9}
        if eng != "c" and ref is not None:
            e["err"] = max(abs(a - b) / max(1.0, abs(b)) for h in r["loss"]
                           for a, b in zip(h, ref))
            e["ok"] = e["err"] <= LOSS_TOL
        elif eng == "c":
            # every C run restarts from the same weights: its runs must agree exactly
            e["err"] = max(abs(a - b) for h in r["loss"] for a, b in zip(h, ref))
            e["ok"] = e["err"] == 0.0
        out[eng] = e
    return out


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1e-3:
        return f"{s * 1e3:,.2f} ms"
    return f"{s * 1e6:,.1f} us"


def table(title: str, header: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print rows under a header: the first `left` columns align left, the rest right."""
    width = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate([header, *rows]):
        cells = [c.ljust(wd) if i < left else c.rjust(wd)
                 for i, (c, wd) in enumerate(zip(r, width))]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * wd for wd in width))


def cell(s: Json, eng: str, key: str = "median") -> float | None:
    v = s.get(eng, {}).get(key)
    return float(v) if v is not None else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def check(s: Json, eng: str) -> str:
    e = s.get(eng, {})
    if "err" not in e:
        return "-"
    return f"{e['err']:.0e} {'ok' if e['ok'] else 'WRONG'}"


def report_main(summaries: list[Json], workloads: dict[str, Workload], peak: float | None
                ) -> None:
    rows, flops = [], []
    for s in summaries:
        w = workloads[s["workload"]]
        o, t, c = (cell(s, e) for e in ENGINES)
        rows.append([w.name, w.describe(), fmt_time(o), fmt_time(t), fmt_time(c),
                     ratio(t, o), ratio(c, o), check(s, "ours"), check(s, "torch")])
        g = [cell(s, e, "gflops") for e in ENGINES]
        flops.append([w.name, f"{2 * w.macs() / 1e6:,.2f}",
                      *[f"{x:.2f}" if x else "-" for x in g],
                      *[f"{x / peak:.0%}" if x and peak else "-" for x in g]])
    table("Median time per training step ('torch/ours' = torch's time / ours: above 1 we "
          "are faster)", ["workload", "shape", "pymicrograd", "torch", "C by hand",
                          "torch/ours", "C/ours", "ours: loss vs C", "torch: loss vs C"],
          rows, left=2)
    table("Arithmetic rate (multiply-adds of the layers, forward + backward, 2 flops each)"
          + (f"; peak {peak:.1f} GFLOP/s (torch float64 GEMM 512^3, 1 thread)"
             if peak else ""),
          ["workload", "MFLOP/step", "ours GFLOP/s", "torch", "C", "ours % peak",
           "torch % peak", "C % peak"], flops)
    for s in summaries:
        for eng in ENGINES:
            if "why" in s.get(eng, {}):
                print(f"  {s['workload']}: {LABEL[eng]} not measured: {s[eng]['why']}")


def report_scaling(summaries: list[Json], workloads: dict[str, Workload]) -> None:
    for which, title in (("samples", "Scaling with the samples: N x 64, MLP(64, [32, 10]), "
                                     "CE, Adam"),
                         ("width", "Scaling with the width: 100 x 64, MLP(64, [w, w, 1]), "
                                   "MSE, SGD")):
        rows = []
        prev: Json | None = None
        for s in summaries:
            w = workloads[s["workload"]]
            if w.extra.get("table") != which:
                continue
            o, t, c = (cell(s, e) for e in ENGINES)
            po = cell(prev, "ours") if prev else None
            pt = cell(prev, "torch") if prev else None
            rows.append([f"{w.extra['x']:,}", fmt_time(o), fmt_time(t), fmt_time(c),
                         ratio(t, o), ratio(c, o),
                         f"{cell(s, 'ours', 'gflops') or 0:.2f}",
                         f"{cell(s, 'torch', 'gflops') or 0:.2f}",
                         ratio(o, po), ratio(t, pt), check(s, "ours"), check(s, "torch")])
            prev = s
        if rows:
            table(title, ["N" if which == "samples" else "w", "pymicrograd", "torch", "C",
                          "torch/ours", "C/ours", "ours GFLOP/s", "torch GFLOP/s",
                          "ours x prev", "torch x prev", "ours: loss vs C",
                          "torch: loss vs C"], rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [w.name for w in MAIN] + ["scaling"]
    ap.add_argument("--quick", action="store_true", help="shorter runs (about 30 s)")
    ap.add_argument("--only", metavar="NAMES",
                    help=f"comma-separated workloads to run, from {', '.join(names)}")
    ap.add_argument("--json", metavar="OUT", help="also write every measurement here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return python_worker(args.worker)
    chosen = names if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(chosen) - set(names)
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from "
                 f"{', '.join(names)}")
    try:
        import pymicrograd  # noqa: F401  (the driver makes the data with its datasets)
    except ImportError:
        ap.error("pymicrograd is not installed in this interpreter "
                 f"({sys.executable}); pip install -e . first")
    budget, scale_budget = (2.0, 0.8) if args.quick else (10.0, 3.5)
    t_start = perf()
    info = machine_info(REPO)
    main_w = [w for w in MAIN if w.name in chosen]
    scale_w = scaling_workloads(args.quick) if "scaling" in chosen else []
    workloads = {w.name: w for w in main_w + scale_w}
    with tempfile.TemporaryDirectory(prefix="multiclass_bench_") as tmp:
        c_argv, c_flags = compile_c(tmp)
        script = os.path.abspath(__file__)
        workers: dict[str, Worker] = {}
        for eng in ENGINES:
            if eng == "c":
                wk = Worker("c", c_argv) if c_argv else None
            else:
                wk = Worker(eng, [sys.executable, script, "--worker", eng])
            if wk is None:
                continue
            if "error" in wk.hello:
                wk.error = wk.hello["error"]
            workers[eng] = wk
        peak = workers["torch"].hello.get("peak_gflops") if "torch" in workers else None
        where = workers["ours"].hello.get("where", "?") if "ours" in workers else "?"
        commit = checkout_commit(where)
        print("pymicrograd multi-class and wide training step benchmark"
              + (" (--quick)" if args.quick else ""))
        print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['os']}")
        print(f"  python {info['python']}; pymicrograd {info['versions']['pymicrograd']} "
              f"from {where}{commit}; torch {info['versions']['torch']} (1 thread); C: {c_flags}")
        print("  one step = forward + loss + zero_grad + backward + update over the whole "
              "batch; engines interleaved run by run, medians over every timed step",
              flush=True)
        summaries: list[Json] = []
        try:
            for w in main_w + scale_w:
                print(f"[{time.strftime('%H:%M:%S')}] {w.name}: {w.describe()}",
                      file=sys.stderr, flush=True)
                b = scale_budget if w.extra else budget
                # a scaling row runs once after its warm-up if its budget is spent by then
                min_runs = 1 if w.extra else 2
                summaries.append(summarize(w, measure(workers, w, tmp, b, min_runs)))
        finally:
            for wk in workers.values():
                wk.close()
    report_main([s for s in summaries if not workloads[s["workload"]].extra], workloads, peak)
    report_scaling(summaries, workloads)
    print(f"\nLoss check: every step's loss of every run against the C step's, relative "
          f"tolerance {LOSS_TOL:g} (see LOSS_TOL); C's own runs must repeat exactly.")
    print(f"Total wall time: {perf() - t_start:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "peak_gflops": peak,
                       "c_flags": c_flags, "summaries": summaries}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
