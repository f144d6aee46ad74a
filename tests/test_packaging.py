"""Packaging: what a user sees when Python imports a pymicrograd whose C core was never
built, and the version's one home.

The usual cause of the first: `python -m pymicrograd` run from the checkout's top folder
after a plain `pip install .`, so the checkout's sources shadow the installed package.
The installs themselves (README command, `pip install .`, sdist, the C library from the
sdist) run in .ci/packaging; the wheel on every supported CPython in .ci/wheels.
"""

import re
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


REPO = Path(__file__).resolve().parent.parent


def test_the_version_has_one_home_in_mg_h() -> None:
    """pyproject.toml reads the version from csrc/mg.h (setup.py), __version__ is the one
    compiled into the C core, and the newest CHANGELOG entry names it: all must agree."""
    from importlib.metadata import version

    from pymicrograd._core import lib

    header = (REPO / "csrc" / "mg.h").read_text()
    in_header = re.search(r'^#define MG_VERSION "([0-9.]+)"', header, re.M).group(1)
    major, minor, patch = (int(p) for p in in_header.split("."))
    assert pymicrograd.__version__ == in_header
    assert version("pymicrograd") == in_header   # the installed distribution's metadata
    assert lib.mg_version_number() == major * 10000 + minor * 100 + patch
    newest = re.search(r"^## ([0-9.]+)", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    assert newest == in_header
