"""Every code block of the documentation runs, and every output it shows is true.

The rules pages follow are in tests/docs_blocks.py. The site itself (strict MkDocs
build, generated pictures and C API page, browser check) is built by .ci/docs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from docs_blocks import REPO, check_page, output_matches, parse

PAGES = sorted(p for p in (REPO / "docs").rglob("*.md") if "_tools" not in p.parts)


def _page(page: Path) -> Any:
    """A page whose code imports torch needs it (conftest.py: --without-torch skips it)."""
    if re.search(r"^(import|from) torch\b", page.read_text(), re.M):
        return pytest.param(page, marks=pytest.mark.needs_torch)
    return page


@pytest.mark.parametrize("page", [_page(p) for p in PAGES],
                         ids=lambda p: str(p.relative_to(REPO / "docs")))
def test_every_block_of_the_page_runs_and_prints_what_it_shows(page: Path) -> None:
    check_page(page)


def test_the_tutorial_has_all_eleven_chapters_with_running_code() -> None:
    chapters = sorted((REPO / "docs" / "tutorial").glob("[0-9][0-9]-*.md"))
    assert [p.name[:2] for p in chapters] == [f"{i:02d}" for i in range(1, 12)]
    for chapter in chapters:
        assert any(b.lang in ("python", "console", "c") for b in parse(chapter.read_text())), (
            f"{chapter.name} runs no code")


def test_output_check_is_exact_but_for_ellipsis() -> None:
    assert output_matches("a\nb = 1\n", "a\nb = 1  \n\n")
    assert not output_matches("b = 1\n", "b = 2\n")
    assert output_matches("Traceback (most recent call last):\n  ...\nValueError: x\n",
                          "Traceback (most recent call last):\n  ...\nValueError: x\n")
    assert output_matches("took ... ms\n", "took 3.2 ms\n")


def test_a_wrong_output_fails_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('```python\nprint(1 + 1)\n```\n\n```text title="Output"\n3\n```\n')
    with pytest.raises(AssertionError, match="printed"):
        check_page(page)
    page.write_text('```python\nraise ValueError("no")\n```\n')
    with pytest.raises(AssertionError, match="raised"):
        check_page(page)
    page.write_text("```c\nint x;\n```\n")
    with pytest.raises(AssertionError, match="C fragment"):
        check_page(page)
