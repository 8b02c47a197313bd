"""Every lesson proves its point: ``python lessons/NN_name.py --check`` must exit 0.

Each lesson's ``--check`` runs its servers and clients in-process on port 0 and fails if the
behaviour it teaches does not really happen (a stall that does not stall, a fix that does not
fix). The lessons run as subprocesses, exactly as a learner runs them, with a hard timeout.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from chatkit.lessons_catalog import LESSON_FILE

REPO = Path(__file__).resolve().parents[2]
LESSON_FILES = sorted(
    path for path in (REPO / "lessons").glob("*.py") if LESSON_FILE.match(path.name)
)
#: A check should take a few seconds; this bound only stops a hung lesson from hanging the suite.
CHECK_TIMEOUT = 40


def test_lessons_are_found() -> None:
    assert LESSON_FILES, "no lessons/NN_name.py files found"


@pytest.mark.timeout(CHECK_TIMEOUT + 10)
@pytest.mark.parametrize("lesson", LESSON_FILES, ids=[path.stem for path in LESSON_FILES])
def test_lesson_self_check_passes(lesson: Path) -> None:
    try:
        result = subprocess.run(
            [sys.executable, str(lesson), "--check"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{lesson.name} --check did not finish in {CHECK_TIMEOUT} s:\n{expired.stdout}")
    assert result.returncode == 0, (
        f"{lesson.name} --check exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


@pytest.mark.parametrize("lesson", LESSON_FILES, ids=[path.stem for path in LESSON_FILES])
def test_lesson_docstring_says_how_to_run_it(lesson: Path) -> None:
    docstring = ast.get_docstring(ast.parse(lesson.read_text(encoding="utf-8")))
    assert docstring, f"{lesson.name} has no module docstring"
    assert docstring.splitlines()[0].strip(), "the first docstring line is the lesson's title"
    assert f"lessons/{lesson.name}" in docstring, "the docstring should say how to run the lesson"
    assert "--check" in docstring, "the docstring should mention the --check self-check"


@pytest.mark.timeout(CHECK_TIMEOUT + 10)
def test_tls_lesson_works_with_its_shipped_demo_certificate(tmp_path: Path) -> None:
    """Without an ``openssl`` command, lesson 13 falls back to the pair shipped next to it."""
    result = subprocess.run(
        [sys.executable, str(REPO / "lessons" / "13_tls.py")],
        cwd=tmp_path,
        env={"PATH": str(tmp_path)},  # an empty directory: no openssl to be found
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert "the demo pair shipped with the lesson" in result.stdout
