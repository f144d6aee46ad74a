"""Finds the code blocks of a Markdown page and runs them, for tests/test_docs.py.

The rules a page follows (docs/_tools/README.md says the same for writers):

- a ```python block runs; the blocks of one page run in order in one fresh interpreter
  and share their variables, in an empty temporary folder;
- a ```console block runs each ``$ command`` line with bash (``python`` is the
  interpreter running the tests), in that same folder; the lines after a command, up
  to the next ``$``, are its expected output;
- a ```c block titled ``something.c`` is a whole program: it is compiled with the C
  core's sources (-std=c11 -Wall -Werror) and run;
- a ```text block titled "Output" right after a python or C block is what that block
  prints, checked exactly but for ``...``, which stands for any text (as in doctest);
  an uncaught exception prints as ``Traceback (most recent call last):`` then ``...``
  then its last line, so a page can show an error on purpose;
- ``--8<-- "path"`` / ``--8<-- "path:section"`` lines (pymdownx.snippets) are replaced
  by that file or section before running: code shown from the sources is the source;
  a ```c block made only of them shows the library itself, which its own tests run;
- ```sh blocks (install and build commands that CI runs elsewhere) and other ```text
  blocks are not run.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNNABLE = {"python", "console", "c"}
KNOWN = RUNNABLE | {"sh", "text", "diff", "cmake"}  # the last four are not run

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)(?P<attrs>[^\n`]*)$")
_TITLE = re.compile(r'title="([^"]*)"')
_SNIPPET = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$')
_SECTION_MARK = re.compile(r"--8<--\s*\[(start|end):([\w-]+)\]")


@dataclass
class Block:
    """One fenced code block: its language, title, text and 1-based first line."""

    lang: str
    title: str
    code: str
    line: int
    output: Block | None = None  # the "Output" block that follows, if any

    @property
    def is_output(self) -> bool:
        """True for a ```text title="Output" block."""
        return self.lang == "text" and self.title.lower() == "output"

    @property
    def snippet_only(self) -> bool:
        """True when every non-blank line includes a file (--8<--)."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        return bool(lines) and all(_SNIPPET.match(line) for line in lines)


def parse(text: str) -> list[Block]:
    """The page's blocks in order, each runnable block with its Output block attached."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or not (m.group("lang") or m.group("attrs").strip() == ""):
            i += 1
            continue
        indent, start = m.group("indent"), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        title = _TITLE.search(m.group("attrs"))
        blocks.append(Block(m.group("lang"), title.group(1) if title else "",
                            "\n".join(body) + "\n", start + 1))
        i += 1
    for prev, block in zip(blocks, blocks[1:]):
        if block.is_output and prev.lang in RUNNABLE:
            prev.output = block
    return blocks


def expand_snippets(code: str) -> str:
    """Replaces each --8<-- line by the file or section it names (paths from the repo)."""
    out = []
    for line in code.splitlines():
        m = _SNIPPET.match(line)
        if not m:
            out.append(line)
            continue
        path, _, section = m.group(1).partition(":")
        text = (REPO / path).read_text()
        if section:
            inside = re.search(rf"--8<--\s*\[start:{section}\][^\n]*\n(.*?)\n[^\n]*--8<--"
                               rf"\s*\[end:{section}\]", text, re.S)
            if not inside:
                raise ValueError(f"{path} has no snippet section {section!r}")
            text = inside.group(1)
        out.extend(t for t in text.splitlines() if not _SECTION_MARK.search(t))
    return "\n".join(out) + "\n"


def output_matches(expected: str, got: str) -> bool:
    """Equal but for trailing spaces and blank edge lines, ``...`` matching anything."""
    def norm(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.strip("\n").splitlines()) + "\n"

    checker = doctest.OutputChecker()
    return checker.check_output(norm(expected), norm(got), doctest.ELLIPSIS)


_PY_DRIVER = r"""
import contextlib, io, json, sys, traceback
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
outputs = []
for name, code in blocks:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(code, name, "exec"), namespace)
        except BaseException as e:
            last = traceback.format_exception_only(type(e), e)[-1]
            print("Traceback (most recent call last):\n  ...\n" + last, end="")
    outputs.append(out.getvalue())
json.dump(outputs, open(sys.argv[2], "w"))
"""


def run_python(blocks: list[tuple[str, str]], cwd: Path) -> list[str]:
    """Runs (name, code) blocks in order in one fresh interpreter; their stdouts."""
    src, dst = cwd / ".blocks.json", cwd / ".outputs.json"
    src.write_text(json.dumps(blocks))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    subprocess.run([sys.executable, "-c", _PY_DRIVER, str(src), str(dst)], cwd=cwd,
                   env=env, check=True, timeout=600)
    outputs: list[str] = json.loads(dst.read_text())
    src.unlink()
    dst.unlink()
    return outputs


def console_steps(code: str) -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"console block: output before any command: {line!r}")
    return [(cmd, "\n".join(out)) for cmd, out in steps]


def run_console(command: str, cwd: Path) -> str:
    """Runs one shell command with this interpreter first on PATH; stdout + stderr."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               MPLBACKEND="Agg", COLUMNS="88", REPO=str(REPO))
    run = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600)
    if run.returncode != 0:
        raise AssertionError(f"$ {command}\nexited with {run.returncode}\n"
                             f"{run.stdout}{run.stderr}")
    return run.stdout + run.stderr


def run_c_program(code: str, name: str, cwd: Path) -> str:
    """Compiles a whole C program with the core's sources and runs it; its stdout."""
    src = cwd / name
    src.write_text(code)
    exe = cwd / (src.stem + ".out")
    cc = os.environ.get("CC", "cc")
    sources = sorted(str(p) for p in (REPO / "csrc").glob("*.c"))
    build = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
                            f"-I{REPO / 'csrc'}", str(src), *sources, "-o", str(exe),
                            "-lm", "-lpthread"], capture_output=True, text=True)
    if build.returncode != 0:
        raise AssertionError(f"{name} does not compile:\n{build.stderr}")
    run = subprocess.run([str(exe)], cwd=cwd, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise AssertionError(f"{name} exited with {run.returncode}\n{run.stdout}{run.stderr}")
    return run.stdout


def check_page(path: Path) -> int:
    """Runs every block of a page and checks every Output; returns how many ran."""
    blocks = parse(path.read_text())
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    problems = [f"{where}:{b.line}: unknown block language {b.lang!r} (one of "
                f"{sorted(KNOWN)})" for b in blocks if b.lang not in KNOWN]
    problems += [f"{where}:{b.line}: a C fragment nothing compiles: title a whole "
                 f"program 'name.c', or include the source with --8<--"
                 for b in blocks if b.lang == "c" and not b.title.endswith(".c")
                 and not b.snippet_only]
    outputs_attached = {id(b.output) for b in blocks if b.output}
    problems += [f"{where}:{b.line}: an Output block that follows no python, console "
                 f"or C program" for b in blocks if b.is_output and id(b) not in
                 outputs_attached]
    if problems:
        raise AssertionError("\n".join(problems))

    ran = 0
    with tempfile.TemporaryDirectory(prefix="docs-") as tmp:
        cwd = Path(tmp)
        python = [b for b in blocks if b.lang == "python"]
        got = run_python([(f"{where}:{b.line}", expand_snippets(b.code)) for b in python],
                         cwd) if python else []
        results = dict(zip(map(id, python), got))
        for b in blocks:
            if b.lang == "console":
                for command, expected in console_steps(b.code):
                    out = run_console(command, cwd)
                    _compare(where, b, expected, out, f"$ {command}")
                    ran += 1
                continue
            if b.lang == "python":
                out = results[id(b)]
            elif b.lang == "c" and b.title.endswith(".c"):
                out = run_c_program(expand_snippets(b.code), b.title, cwd)
            else:
                continue
            ran += 1
            if b.output is not None:
                _compare(where, b, b.output.code, out, "")
            elif out.startswith("Traceback (most recent call last):"):
                raise AssertionError(f"{where}:{b.line}: the block raised and no Output "
                                     f"block shows it:\n{out}")
    return ran


def _compare(where: Path, block: Block, expected: str, got: str, what: str) -> None:
    if not output_matches(expected, got):
        raise AssertionError(f"{where}:{block.line}: {what or 'the block'} printed\n"
                             f"----\n{got}----\nbut the page shows\n----\n{expected}----")
