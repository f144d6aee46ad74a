"""What a user sees when Python imports a pymicrograd whose C core was never built.

The usual cause: `python -m pymicrograd` run from the checkout's top folder after a
plain `pip install .`, so the checkout's sources shadow the installed package. The
installs themselves (README command, `pip install .`, sdist) run in .ci/packaging.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pymicrograd

SOURCES = Path(pymicrograd.__file__).parent


def test_a_source_tree_without_its_c_core_says_how_to_build_it(tmp_path: Path) -> None:
    shutil.copytree(SOURCES, tmp_path / "pymicrograd",
                    ignore=shutil.ignore_patterns("_C.*.so", "_C.*.pyd", "__pycache__"))
    # -S: no site-packages, so no editable-install finder can supply the built package
    run = subprocess.run([sys.executable, "-S", "-c", "import pymicrograd"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: pymicrograd's C core (pymicrograd._C) is not built in")
    assert "pip install -e ." in last
