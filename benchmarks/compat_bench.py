#!/usr/bin/env python3
"""compat_bench.py: micrograd's demo notebook, unchanged, on micrograd and on pymicrograd.compat.

    python benchmarks/compat_bench.py [--quick] [--json out.json]

The notebook (benchmarks/micrograd_notebook.py) is the code of karpathy's micrograd
demo.ipynb, cell by cell, without the plotting (matplotlib) lines. It runs twice, each
time in a fresh interpreter (benchmarks/fresh.py): once as it is, on the micrograd package, and once
with ``from micrograd.`` replaced by ``from pymicrograd.compat.`` in its imports, which
is the only change. Nothing else is rewritten: the inputs are still numpy scalars, the
loss is still built one Value op at a time in Python, the SGD update is still a Python
loop over ``model.parameters()``. It is a measure of what a micrograd user gets from
swapping the import, not of pymicrograd's fastest way to train (moons_bench.py).

The data is ``sklearn.datasets.make_moons(n_samples=100, noise=0.1)`` after
``np.random.seed(1337)`` as in the notebook; without scikit-learn,
``pymicrograd.datasets.make_moons`` gives the same numbers (as numpy arrays, 0/1
labels), so the notebook's ``y = y*2 - 1`` still applies.

The notebook prints one line per training step; the worker records when each line is
printed (a ``print`` placed in the notebook's globals), so a step's time is the time
between two such lines: forward over the 100 points, loss, zero_grad, backward, update.
It reports the median step, the whole run (model, first loss, 100 steps), and checks
that both engines print the same losses (to 1e-9, relative) and accuracies.
"""

from __future__ import annotations

import argparse
import builtins
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from typing import Any

from fresh import run_fresh, serve_worker
from micrograd_notebook import source_for

Json = dict[str, Any]
ENGINES = ("micrograd", "pymicrograd.compat")
LOSS_TOL = 1e-9

STEP_LINE = re.compile(r"step (\d+) loss (\S+), accuracy (\S+)%")


def moons_maker() -> Any:
    """The notebook's ``make_moons``: scikit-learn's if installed, else pymicrograd's copy."""
    try:
        from sklearn.datasets import make_moons

        return make_moons
    except ImportError:
        import numpy as np

        from pymicrograd.datasets import make_moons as pmg_moons

        def make_moons(n_samples: int = 100, noise: float = 0.0) -> Any:
            # the seed np.random.seed(1337) gave sklearn; pymicrograd's takes it directly
            X, y = pmg_moons(n_samples, noise=noise, seed=1337)
            return np.array(X), (np.array(y) > 0).astype(np.int64)

        return make_moons


def worker(spec: Json) -> Json:
    """Run the notebook once on one engine; time every printed training step."""
    make_moons = moons_maker()
    stamps: list[float] = []
    lines: list[str] = []
    buf = io.StringIO()

    def stamped_print(*args: Any, **kwargs: Any) -> None:
        stamps.append(time.perf_counter())
        builtins.print(*args, file=buf, **kwargs)
        lines.append(buf.getvalue().rstrip("\n"))
        buf.seek(0)
        buf.truncate()

    env: Json = {"make_moons": make_moons, "print": stamped_print, "__name__": "__notebook__"}
    code = compile(source_for(spec["engine"], spec["steps"]), "demo.ipynb", "exec")
    t0 = time.perf_counter()
    exec(code, env)
    total = time.perf_counter() - t0
    step_idx = [i for i, line in enumerate(lines) if STEP_LINE.match(line)]
    # a step's time: from the previous printed line (the step before, or the first loss)
    step_s = [stamps[i] - stamps[i - 1] for i in step_idx]
    parsed = [STEP_LINE.match(lines[i]) for i in step_idx]
    return {"engine": spec["engine"], "total_s": total, "step_s": step_s,
            "losses": [float(m[2]) for m in parsed if m],
            "accuracies": [float(m[3]) for m in parsed if m],
            "header": lines[:2], "python": platform.python_version()}


def fmt(s: float) -> str:
    return f"{s * 1e3:9.2f} ms" if s < 10 else f"{s:9.2f} s "


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 training steps instead of 100")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return serve_worker(args.worker, args.json, worker)

    steps = 10 if args.quick else 100
    here = os.path.abspath(__file__)
    results = {e: run_fresh(here, {"engine": e, "steps": steps}) for e in ENGINES}
    for e, res in results.items():
        if "failed" in res:
            print(f"{e}: {res['failed']}", file=sys.stderr)
            return 1
    mg, pc = results["micrograd"], results["pymicrograd.compat"]
    ok = (len(mg["losses"]) == len(pc["losses"]) == steps
          and mg["accuracies"] == pc["accuracies"] and mg["header"] == pc["header"]
          and all(abs(a - b) <= LOSS_TOL * max(1.0, abs(a))
                  for a, b in zip(mg["losses"], pc["losses"])))
    print(f"micrograd demo notebook, {steps} training steps, Python {mg['python']}, "
          f"{platform.machine()}")
    print(f"{'engine':22} {'median step':>12} {'whole run':>12}")
    for e, res in results.items():
        print(f"{e:22} {fmt(statistics.median(res['step_s']))} {fmt(res['total_s'])}")
    step_ratio = statistics.median(mg["step_s"]) / statistics.median(pc["step_s"])
    run_ratio = mg["total_s"] / pc["total_s"]
    print(f"pymicrograd.compat is {step_ratio:.0f}x faster per step "
          f"({run_ratio:.0f}x on the whole run)")
    print(f"same losses (1e-9) and accuracies at every step: {'yes' if ok else 'NO: WRONG'}")
    print(f"final loss {pc['losses'][-1]:.6f}, accuracy {pc['accuracies'][-1]:g}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "step_ratio": step_ratio,
                       "run_ratio": run_ratio, "same_losses": ok}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
