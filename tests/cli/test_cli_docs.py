"""``docs/cli.md`` documents every command, option and environment variable of ``chatkit``.

The reference is written by hand, for people; this test keeps it honest. It walks the real
command tree (the objects ``--help`` is printed from) and names what the page is missing: a
command, an option or switch, a short form, an environment variable, an argument, or a default
that changed. It also fails when an options table lists an option that no longer exists.

Each top-level command has its own section, ``## chatkit NAME``; the root options live above the
first section.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main

from chatkit.cli import app

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

#: ``--help`` exists on every command without being one of its parameters.
IMPLICIT_OPTIONS = {"--help"}


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree with its path: (), ("serve",), ("lesson", "run") ..."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def _sections(doc: str) -> dict[str, str]:
    """The page cut at its level-2 headings: "" for the text above the first one, then
    "serve", "join" ... for the ``## chatkit NAME`` sections."""
    parts = re.split(r"^## ", doc, flags=re.MULTILINE)
    sections = {"": parts[0]}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        match = re.fullmatch(r"chatkit (\w+)", heading.strip())
        if match:
            sections[match.group(1)] = body
    return sections


def _mentions(text: str, word: str) -> bool:
    """``word`` appears in code quotes, at the start: `--port` or `--port INTEGER` count."""
    return re.search("`" + re.escape(word) + r"(?![\w-])", text) is not None


def _table_row(text: str, word: str) -> str | None:
    """The table row whose first cell names ``word``."""
    for line in text.splitlines():
        first_cell = re.match(r"\|(.*?)(?<!\\)\|", line)
        if first_cell and _mentions(first_cell.group(1), word):
            return line
    return None


def _default_text(default: Any) -> str | None:
    """How a default shows in the page, or None when there is nothing to check (flags, None)."""
    if default is None or isinstance(default, bool):
        return None
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(default, list | tuple):
        return None
    return str(default)


def undocumented(doc: str) -> list[str]:
    """What the real command line has and ``doc`` does not say, in readable phrases."""
    sections = _sections(doc)
    missing: list[str] = []
    for path, command in _walk(typer.main.get_command(app)):
        name = "chatkit " + " ".join(path) if path else "chatkit"
        if path and path[0] not in sections:
            missing.append(f"a section '## chatkit {path[0]}'")
            continue
        text = sections[path[0] if path else ""]
        if len(path) > 1 and not _mentions(text, name):
            missing.append(f"the command `{name}`")
        for param in command.params:
            if param.param_type_name == "argument":
                metavar = param.name.upper()
                if not _mentions(text, metavar):
                    missing.append(f"the argument {metavar} of {name}")
                if param.envvar and not _mentions(text, param.envvar):
                    missing.append(f"{param.envvar} (for {metavar} of {name})")
                continue
            for option in [*param.opts, *param.secondary_opts]:
                if not _mentions(text, option):
                    missing.append(f"the option {option} of {name}")
            if param.envvar and not _mentions(text, param.envvar):
                missing.append(f"{param.envvar} (for {param.opts[0]} of {name})")
            default = _default_text(param.default)
            row = _table_row(text, param.opts[0])
            if default is not None and (row is None or f"`{default}`" not in row):
                missing.append(f"the default `{default}` of {param.opts[0]} in {name}'s table")
    return missing


def stale(doc: str) -> list[str]:
    """Options that ``doc``'s option tables list but the command (no longer) has."""
    sections = _sections(doc)
    found: list[str] = []
    for path, command in _walk(typer.main.get_command(app)):
        if len(path) > 1:
            continue  # subcommands are documented in their parent's section
        real = set(IMPLICIT_OPTIONS)
        for _, sub in _walk(command):
            for param in sub.params:
                real.update(getattr(param, "opts", ()), getattr(param, "secondary_opts", ()))
        for line in sections.get(path[0] if path else "", "").splitlines():
            first_cell = re.match(r"\|(.*?)(?<!\\)\|", line)
            if first_cell is None:
                continue
            for option in re.findall(r"`(--?[a-z][\w-]*)", first_cell.group(1)):
                if option not in real:
                    found.append(f"{option} in the table of chatkit {' '.join(path)}".rstrip())
    return found


def test_every_command_option_and_variable_is_documented() -> None:
    assert undocumented(CLI_DOC.read_text(encoding="utf-8")) == []


def test_no_option_is_documented_that_does_not_exist() -> None:
    assert stale(CLI_DOC.read_text(encoding="utf-8")) == []


def test_the_checks_notice_drift() -> None:
    """The two checks above can fail: a renamed option, a lost variable, a changed default."""
    doc = CLI_DOC.read_text(encoding="utf-8")
    assert "the option --sendq of chatkit serve" in undocumented(
        doc.replace("| `--sendq INTEGER` | `CHATKIT_SENDQ`", "| `--send-queue INTEGER` |")
    )
    assert "CHATKIT_NICK (for --nick of chatkit join)" in undocumented(
        doc.replace("CHATKIT_NICK", "NICK")
    )
    assert "the default `6` of --attempts in chatkit join's table" in undocumented(
        doc.replace("| `6` |", "| `5` |")
    )
    assert "the command `chatkit lesson run`" in undocumented(
        doc.replace("`chatkit lesson run", "`chatkit lesson start")
    )
    assert "--send-queue in the table of chatkit serve" in stale(
        doc.replace("`--sendq INTEGER`", "`--send-queue INTEGER`")
    )
