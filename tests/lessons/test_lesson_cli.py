"""``chatkit lesson list | show N | run N``, driven through Typer's CliRunner."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit import lessons_catalog
from chatkit.cli import app
from chatkit.lessons_catalog import all_lessons, find_lesson, title_of

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_lessons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lessons directory with two tiny scripts, so exit codes and arguments can be checked."""
    (tmp_path / "01_first.py").write_text(
        '"""Lesson 1: The first lesson.\n\nRun it.\n"""\nprint("first ran")\n'
    )
    (tmp_path / "02_echo_args.py").write_text(
        '"""Echo the arguments, exit 3."""\nimport sys\n'
        'open(sys.argv[1], "w").write(" ".join(sys.argv[2:]))\nsys.exit(3)\n'
    )
    (tmp_path / "notes.py").write_text('"""Not a lesson: no number."""\n')
    monkeypatch.setattr(lessons_catalog, "lessons_root", lambda: tmp_path)
    return tmp_path


def test_title_drops_lesson_prefix_and_full_stop() -> None:
    assert title_of('"""Lesson 3: TCP is a byte stream.\n\nMore."""', "x") == "TCP is a byte stream"
    assert title_of('"""Plain title"""', "x") == "Plain title"
    assert title_of('"""Lesson 15: on ``::`` and 0.0.0.0."""', "x") == "on :: and 0.0.0.0"
    assert title_of("print('no docstring')", "Fallback") == "Fallback"
    assert title_of("def broken(:", "Fallback") == "Fallback"


def test_catalog_finds_the_real_lessons_in_order() -> None:
    lessons = all_lessons()
    numbers = [lesson.number for lesson in lessons]
    assert numbers == sorted(numbers)
    assert numbers[0] == 1
    assert find_lesson(1).filename.startswith("01_")
    assert all(lesson.title for lesson in lessons)


def test_list_shows_every_lesson() -> None:
    result = runner.invoke(app, ["lesson", "list"], prog_name="chatkit", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for lesson in all_lessons():
        assert lesson.filename in result.output
        assert lesson.title in result.output


def test_list_skips_files_without_a_number(fake_lessons: Path) -> None:
    result = runner.invoke(app, ["lesson", "list"], prog_name="chatkit", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "The first lesson" in result.output
    assert "02_echo_args.py" in result.output
    assert "notes.py" not in result.output


def test_show_prints_the_source_with_line_numbers() -> None:
    result = runner.invoke(
        app, ["lesson", "show", "1"], prog_name="chatkit", env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    first_line = find_lesson(1).source().splitlines()[0]
    assert first_line in result.output
    assert "  1 " in result.output


@pytest.mark.parametrize("command", ["show", "run"])
def test_unknown_lesson_number_is_a_clear_error(command: str) -> None:
    result = runner.invoke(app, ["lesson", command, "99"], prog_name="chatkit")
    assert result.exit_code == 1
    assert "There is no lesson 99" in result.output
    assert "Traceback" not in result.output


def test_run_passes_arguments_and_returns_the_exit_code(fake_lessons: Path, tmp_path: Path) -> None:
    out = tmp_path / "args.txt"
    result = runner.invoke(
        app, ["lesson", "run", "2", str(out), "--check", "-x"], prog_name="chatkit"
    )
    assert result.exit_code == 3
    assert out.read_text() == "--check -x"


@pytest.mark.timeout(60)
def test_run_real_lesson_check_succeeds() -> None:
    result = runner.invoke(app, ["lesson", "run", "1", "--check"], prog_name="chatkit")
    assert result.exit_code == 0


def test_catalog_reads_lessons_through_resources_not_the_checkout(tmp_path: Path) -> None:
    """A zipped copy of the package: only importlib.resources can read it, no repo path will do.

    The catalog lists it, reads titles and sources, and hands ``lesson run`` a real file that
    runs; this is what keeps ``chatkit lesson`` working from an installed wheel.
    """
    archive = tmp_path / "lessons.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for lesson in all_lessons():
            zipped.writestr(f"lessons/{lesson.filename}", lesson.source())
    root = zipfile.Path(archive, "lessons/")
    zipped_lessons = all_lessons(root)
    assert [(x.number, x.title) for x in zipped_lessons] == [
        (x.number, x.title) for x in all_lessons()
    ]
    first = find_lesson(1, root)
    with first.path() as path:
        assert path.is_file() and not path.is_relative_to(REPO)
        result = subprocess.run(
            [sys.executable, str(path), "--check"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lessons_package_is_built_into_the_wheel_with_its_data_files() -> None:
    """The wheel target packages ``lessons``, and lesson 13's demo pair is a resource of it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "lessons" in config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    root = lessons_catalog.lessons_root()
    for name in ("13_tls_demo_cert.pem", "13_tls_demo_key.pem", "__init__.py"):
        assert (root / name).is_file(), name


@pytest.mark.parametrize("argument", ["abc", "-1", "1.5"])
def test_lesson_number_that_is_not_a_number_is_a_usage_error(argument: str) -> None:
    result = runner.invoke(app, ["lesson", "show", argument], prog_name="chatkit")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
