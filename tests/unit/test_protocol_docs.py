"""``docs/protocol.md`` must stay true to the code: every numeric, command, capability and
ISUPPORT token the server can send is documented, and nothing the server cannot send is.

The numerics are checked both ways against :mod:`chatkit.numerics`, and that module is checked
against the core's code, so a numeric cannot be added, dropped or renamed in one place only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chatkit
from chatkit import numerics
from chatkit.commands import COMMANDS
from chatkit.commands.capabilities import SUPPORTED_CAPS
from chatkit.commands.server_info import isupport_tokens
from chatkit.config import ServerConfig

PACKAGE = Path(chatkit.__file__).parent
PROTOCOL_PAGE = (PACKAGE.parent / "docs" / "protocol.md").read_text()
CORE_SOURCES = [PACKAGE / "core.py", *sorted((PACKAGE / "commands").glob("*.py"))]

#: Every ``NAME = "123"`` in chatkit/numerics.py.
NUMERICS = {
    name: value
    for name, value in vars(numerics).items()
    if re.fullmatch(r"(RPL|ERR)_[A-Z]+", name) and isinstance(value, str)
}
#: Rows of the numerics table in the page: ``| 433 | ERR_NICKNAMEINUSE | when |``.
DOCUMENTED = dict(
    (name, code)
    for code, name in re.findall(r"^\| (\d{3}) \| ((?:RPL|ERR)_[A-Z]+) \|", PROTOCOL_PAGE, re.M)
)


def test_every_numeric_is_documented_with_its_code() -> None:
    assert DOCUMENTED == NUMERICS


@pytest.mark.parametrize("name", sorted(NUMERICS))
def test_every_numeric_is_sent_somewhere_in_the_core(name: str) -> None:
    # numerics.py lists only what the server sends; a name no command uses must go.
    uses = f"rpl.{name}"
    assert any(uses in path.read_text() for path in CORE_SOURCES), f"{name} is never sent"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_section(command: str) -> None:
    headings = re.findall(r"^### (.+)$", PROTOCOL_PAGE, re.M)
    assert any(command in heading.replace(",", " ").split() for heading in headings)


@pytest.mark.parametrize("capability", SUPPORTED_CAPS)
def test_every_capability_is_in_the_table(capability: str) -> None:
    assert f"| `{capability}` |" in PROTOCOL_PAGE


@pytest.mark.parametrize("token", isupport_tokens(ServerConfig()))
def test_every_isupport_token_is_in_the_table_with_its_default(token: str) -> None:
    name, _, value = token.partition("=")
    row = re.search(rf"^\| `{name}` \| ([^|]+) \|", PROTOCOL_PAGE, re.M)
    assert row is not None, f"{name} is not in the ISUPPORT table"
    assert row.group(1).strip().strip("`") == value
