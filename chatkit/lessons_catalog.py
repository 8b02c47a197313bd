"""Find the numbered lesson scripts and read their titles.

Lessons live in the ``lessons`` package as ``NN_name.py`` files. They are scripts, not modules
(``01_sockets`` is not a valid module name), so they are found as package *resources* through
:mod:`importlib.resources`: that works from a source checkout and from an installed wheel alike.

A lesson's title is the first line of its module docstring, read with :mod:`ast`, so listing
the lessons never runs one. A leading ``"Lesson N:"`` and a trailing full stop are dropped:
``"Lesson 3: TCP is a byte stream."`` lists as ``TCP is a byte stream``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path

#: ``03_byte_stream.py`` -> number 3. Two digits keep the files sorted in a directory listing.
LESSON_FILE = re.compile(r"^(?P<number>\d{2})_(?P<slug>[a-z0-9_]+)\.py$")
_TITLE_PREFIX = re.compile(r"^Lesson\s+\d+\s*[:.-]\s*", re.IGNORECASE)


class UnknownLessonError(LookupError):
    """No lesson has the number asked for; the message lists the numbers that exist."""


@dataclass(frozen=True)
class Lesson:
    """One lesson script: its number, file name, title and where to read it."""

    number: int
    filename: str
    title: str
    resource: Traversable

    def source(self) -> str:
        """The script's source text."""
        return self.resource.read_text(encoding="utf-8")

    @contextmanager
    def path(self) -> Iterator[Path]:
        """A real file path for the script (extracted to a temporary file if it must be)."""
        with as_file(self.resource) as path:
            yield path


def lessons_root() -> Traversable:
    """The ``lessons`` package directory, wherever chatkit is installed."""
    return files("lessons")


def title_of(source: str, fallback: str) -> str:
    """The first line of the docstring, without ``Lesson N:`` and the final full stop."""
    try:
        docstring = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        docstring = None
    if not docstring:
        return fallback
    first_line = docstring.strip().splitlines()[0].strip()
    return _TITLE_PREFIX.sub("", first_line).rstrip(".") or fallback


def all_lessons(root: Traversable | None = None) -> list[Lesson]:
    """Every ``NN_name.py`` lesson under ``root`` (default: the installed package), by number."""
    root = lessons_root() if root is None else root
    found = []
    for entry in root.iterdir():
        match = LESSON_FILE.match(entry.name)
        if match is None or not entry.is_file():
            continue
        fallback = match["slug"].replace("_", " ").capitalize()
        title = title_of(entry.read_text(encoding="utf-8"), fallback)
        found.append(Lesson(int(match["number"]), entry.name, title, entry))
    return sorted(found, key=lambda lesson: lesson.number)


def find_lesson(number: int, root: Traversable | None = None) -> Lesson:
    """The lesson with this number, or :class:`UnknownLessonError` naming the valid ones."""
    lessons = all_lessons(root)
    for lesson in lessons:
        if lesson.number == number:
            return lesson
    numbers = ", ".join(str(lesson.number) for lesson in lessons) or "none installed"
    raise UnknownLessonError(f"There is no lesson {number}. Lessons: {numbers}.")
