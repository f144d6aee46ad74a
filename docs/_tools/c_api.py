"""The C API reference page, generated from the public headers (csrc/mg.h, mg_nn.h).

The headers are the contract; this page only arranges them for reading: each header's
opening comment as prose, then each ``/* ---- section ---- */`` of it as a heading, the
rest of that comment (when it goes on past the dashes) as the section's prose, and its
declarations and their comments, verbatim, as C; and an index of every function. Nothing
is written by hand, so the page cannot disagree with the code.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
HEADERS = ["mg.h", "mg_nn.h"]

_SECTION = re.compile(r"^/\* -+ (.+?) -+\s*(.*)$")
_FUNCTION = re.compile(r"^[A-Za-z_][\w \*]*?\**\b(mg_\w+)\s*\(", re.M)


def _opening_comment(text: str) -> tuple[str, str]:
    """Splits the header's leading /* ... */ block (as plain text) from the rest."""
    end = text.index("*/") + 2
    lines = text[:end].splitlines()[1:-1]
    prose = "\n".join(re.sub(r"^ \* ?", "", line) for line in lines)
    prose = re.sub(r"(^|\n\n)([A-Z][a-z]+)\. ", r"\1**\2.** ", prose)  # "Ownership." leads
    return prose, text[end:]


def _sections(body: str) -> list[tuple[str, str, str]]:
    """(title, prose, code) for each ``/* ---- title ---- */`` section of the header body.

    A section's comment may go on after the dashes, up to its ``*/``: that is prose
    about the whole section, not code (as code, its tail would be shown without its
    ``/*`` and highlighted as C).
    """
    body = re.sub(r"#ifndef \w+_H\n#define \w+_H\n", "", body)
    body = body.replace('#ifdef __cplusplus\nextern "C" {\n#endif\n', "")
    body = body.replace("#ifdef __cplusplus\n}\n#endif\n", "")
    body = re.sub(r"#endif /\* \w+_H \*/\s*$|#endif\s*$", "", body.rstrip()) + "\n"
    sections, title, prose, lines = [], "Types and constants", [], []
    in_prose = False
    for line in body.splitlines():
        m = _SECTION.match(line)
        if m:
            sections.append((title, " ".join(prose), "\n".join(lines).strip("\n")))
            title, prose, lines = m.group(1).strip(), [], []
            in_prose = not m.group(2).strip().endswith("*/")
        elif in_prose:
            prose.append(line.replace("*/", "").strip())
            in_prose = "*/" not in line
        else:
            lines.append(line)
    sections.append((title, " ".join(prose), "\n".join(lines).strip("\n")))
    return [(t, p.strip(), code) for t, p, code in sections if code.strip()]


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def render() -> str:
    """The whole page as Markdown."""
    out = ["# C API reference", "",
           "Generated from the public headers when the site builds: what you read here "
           "is `csrc/mg.h` and `csrc/mg_nn.h`, comment for comment. How to build, link "
           "and own things is told as a story in [Embedding the C core]"
           "(../embedding.md).", ""]
    index: list[tuple[str, str, str]] = []
    for header in HEADERS:
        text = (REPO / "csrc" / header).read_text()
        prose, body = _opening_comment(text)
        first, _, rest = prose.partition("\n")
        out += [f"## {header}", "", f"*{first.split('--', 1)[-1].strip()}*", "",
                rest.strip(), ""]
        for title, section_prose, code in _sections(body):
            heading = f"{header}: {title}"
            out += [f"### {heading} {{#{_anchor(heading)}}}", ""]
            if section_prose:
                out += [section_prose, ""]
            out += ["```c", code, "```", ""]
            for name in _FUNCTION.findall(code):
                index.append((name, header, _anchor(heading)))
    out += ["## Index of functions", "", "| function | header, section |", "|---|---|"]
    for name, header, anchor in sorted(set(index)):
        out.append(f"| `{name}` | [{header}](#{anchor}) |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render())
