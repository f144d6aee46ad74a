"""Run one measurement in a fresh interpreter: the isolation both benchmarks rely on.

Importing torch fills the heap with objects the cycle collector tracks and changes
micrograd's timings, and a memory measure must not reuse a heap an earlier graph
freed, so every (engine, workload) pair runs as ``python SCRIPT --worker SPEC --json
OUT`` and reports back through the JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

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
