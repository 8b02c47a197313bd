"""Each lesson script and its tutorial page belong together, and the path through them is whole.

A learner reads ``docs/lessons/NN-name.md`` next to ``lessons/NN_name.py``: the titles must
match, the page must show the real code (pymdownx.snippets), say how to run it, what to observe,
and end with exercises that each have a hint. Only the lessons about chatkit itself may import
more than the standard library, as the tutorial's overview promises.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from chatkit.lessons_catalog import LESSON_FILE, title_of

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted(path for path in (REPO / "lessons").glob("*.py") if LESSON_FILE.match(path.name))
DOCS = REPO / "docs"
#: The lessons that use chatkit itself; all others use the standard library only
#: (see docs/lessons/index.md).
USES_CHATKIT = {9, 14}


def number_of(lesson: Path) -> int:
    return int(lesson.name[:2])


def page_of(lesson: Path) -> Path:
    pages = sorted((DOCS / "lessons").glob(f"{lesson.name[:2]}-*.md"))
    assert len(pages) == 1, f"expected one page for {lesson.name}, found {pages}"
    return pages[0]


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def test_lessons_are_numbered_one_to_n_without_gaps() -> None:
    assert [number_of(lesson) for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_page_title_is_the_lesson_title(lesson: Path) -> None:
    title = title_of(lesson.read_text(encoding="utf-8"), "")
    first_line = page_of(lesson).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# Lesson {number_of(lesson)}: {title}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_page_shows_the_code_says_how_to_run_it_and_what_to_observe(lesson: Path) -> None:
    text = page_of(lesson).read_text(encoding="utf-8")
    assert f'--8<-- "lessons/{lesson.name}' in text, "the page must include the real code"
    assert f"python lessons/{lesson.name}" in section(text, "Run it")
    assert section(text, "What to observe").strip()


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_every_exercise_has_a_hint(lesson: Path) -> None:
    exercises = section(page_of(lesson).read_text(encoding="utf-8"), "Exercises")
    numbered = re.findall(r"^\d+\. ", exercises, re.M)
    hints = re.findall(r'^    \?\?\? tip "Hint"$', exercises, re.M)
    assert numbered, "a lesson ends with exercises"
    assert len(hints) == len(numbered), f"{len(numbered)} exercises, {len(hints)} hints"


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_page_and_docstring_link_the_previous_and_next_lesson(lesson: Path) -> None:
    number = number_of(lesson)
    header = page_of(lesson).read_text(encoding="utf-8").split("## ", 1)[0]
    docstring = ast.get_docstring(ast.parse(lesson.read_text(encoding="utf-8"))) or ""
    if number > 1:
        assert f"({page_of(LESSONS[number - 2]).name})" in header
        assert f"Read first: lesson {number - 1} " in docstring
    if number < len(LESSONS):
        assert f"({page_of(LESSONS[number]).name})" in header
        assert f"Next: lesson {number + 1}," in docstring


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_is_in_the_overview_and_the_site_navigation(lesson: Path) -> None:
    page = page_of(lesson).name
    assert f"]({page})" in (DOCS / "lessons" / "index.md").read_text(encoding="utf-8")
    assert f"lessons/{page}" in (REPO / "mkdocs.yml").read_text(encoding="utf-8")


STDLIB_LESSONS = [path for path in LESSONS if number_of(path) not in USES_CHATKIT]


@pytest.mark.parametrize("lesson", STDLIB_LESSONS, ids=[path.stem for path in STDLIB_LESSONS])
def test_lessons_use_the_standard_library_only(lesson: Path) -> None:
    tree = ast.parse(lesson.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    assert not outside, f"lesson {number_of(lesson)} imports {outside}"


def test_home_page_maps_every_learning_outcome_to_existing_lessons() -> None:
    outcomes = section((DOCS / "index.md").read_text(encoding="utf-8"), "Learning outcomes")
    pages = {path.name for path in (DOCS / "lessons").glob("*.md")}
    for outcome in (
        "Low-level network programming",
        "Concurrent client handling",
        "Thread synchronization basics",
        "Real-time communication",
    ):
        paragraph = outcomes.split(f"**{outcome}.**", 1)[1].split("\n\n", 1)[0]
        linked = re.findall(r"\(lessons/([0-9]{2}-[a-z-]+\.md)\)", paragraph)
        assert linked, f"'{outcome}' names no lesson"
        assert set(linked) <= pages, f"'{outcome}' links missing pages: {set(linked) - pages}"
