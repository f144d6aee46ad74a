"""MkDocs hooks: add the generated pages and pictures to the site while it builds.

- reference/c-api.md from the C headers (c_api.py);
- figures/* drawn by the functions registered in figures_*.py (figures.py);
- source/<path>.md, a page per source file that the docs link to (csrc/, examples/,
  fuzz/, benchmarks/, pymicrograd/_core.py and _tensor.c), so that a link such as ``../csrc/mg.h``
  works on GitHub and on the site alike.

All of it exists only in the build: nothing generated is committed, so nothing can go
stale.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import c_api
import figures
from mkdocs.exceptions import Abort
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parent.parent.parent
SOURCES = ["csrc/*.[ch]", "csrc/CMakeLists.txt", "examples/*.py", "examples/c/*.c",
           "examples/c/CMakeLists.txt", "fuzz/*.c", "benchmarks/*.py", "benchmarks/*.c",
           "pymicrograd/_core.py", "pymicrograd/_tensor.c"]
_LANG = {".c": "c", ".h": "c", ".py": "python", ".txt": "cmake"}
_LINK = re.compile(r"\]\((\.\./[^)#\s]+)(#[^)\s]*)?\)")

_tmp = tempfile.TemporaryDirectory(prefix="pymicrograd-figures-")


def _source_page(rel: str) -> str:
    text = (REPO / rel).read_text()
    lang = _LANG.get(Path(rel).suffix, "text")
    return f"# {rel}\n\n```{lang}\n{text}\n```\n"


def on_config(config: Any) -> Any:
    """Stops the build at once, in one line, when Graphviz's dot is missing (figures)."""
    if shutil.which("dot") is None:
        raise Abort("the figures need Graphviz's dot program, which is not on PATH: "
                    "install Graphviz (apt install graphviz, brew install graphviz)")
    return config


def on_files(files: Files, config: Any) -> Files:
    """Adds the C API page, every figure and the source pages to the site."""
    files.append(File.generated(config, "reference/c-api.md", content=c_api.render()))
    outdir = Path(_tmp.name)
    for path in figures.draw(outdir):
        files.append(File.generated(config, f"figures/{path.name}", abs_src_path=str(path)))
    for pattern in SOURCES:
        for path in sorted(REPO.glob(pattern)):
            rel = path.relative_to(REPO).as_posix()
            files.append(File.generated(config, f"source/{rel}.md", content=_source_page(rel)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Points links that leave docs/ for a source file at that file's page."""
    here = posixpath.dirname(page.file.src_uri)

    def relink(m: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join("docs", here, m.group(1)))
        if target.startswith("docs/") or files.get_file_from_path(f"source/{target}.md") is None:
            return m.group(0)  # inside docs/, or no page for it: MkDocs validates it
        link = posixpath.relpath(f"source/{target}.md", here or ".")
        return f"]({link}{m.group(2) or ''})"

    return _LINK.sub(relink, markdown)
