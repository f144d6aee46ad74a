"""What the benchmarks share: a fresh interpreter per measurement, and machine facts.

Importing torch fills the heap with objects the cycle collector tracks and changes
micrograd's timings, and a memory measure must not reuse a heap an earlier graph
freed, so every (engine, workload) pair runs as ``python SCRIPT --worker SPEC --json
OUT`` and reports back through the JSON file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from typing import Any, Callable

Json = dict[str, Any]


def run_fresh(script: str, spec: Json) -> Json:
    """Run `script`'s worker on `spec` in a new interpreter and return its result.

    A worker that fails gives ``{"failed": ...}``; ``worker_wall_s`` is added.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, os.path.abspath(script), "--worker",
                               json.dumps(spec), "--json", out], check=False)
        if proc.returncode != 0 or not os.path.exists(out):
            return {"failed": f"worker exited with status {proc.returncode}"}
        with open(out) as f:
            result: Json = json.load(f)
    result["worker_wall_s"] = time.perf_counter() - t0
    return result


def serve_worker(spec_json: str, out_path: str, worker: Callable[[Json], Json]) -> int:
    """The worker side of `run_fresh`: run `worker` on the spec, write its JSON result."""
    result = worker(json.loads(spec_json))
    with open(out_path, "w") as f:
        json.dump(result, f)
    return 0


def machine_info(repo: str) -> Json:
    """CPU, memory, interpreter, package versions and the repo's commit."""
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    versions = {}
    for pkg in ("pymicrograd", "micrograd", "torch", "cffi"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"

    def git(*cmd: str) -> str:
        p = subprocess.run(["git", "-C", repo, *cmd], capture_output=True, text=True,
                           check=False)
        return p.stdout.strip()

    dirty = git("status", "--porcelain", "--", "csrc", "pymicrograd")
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": round(mem_kb / 2**20, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "versions": versions,
            "commit": git("rev-parse", "--short", "HEAD") + (" (dirty)" if dirty else "")}
