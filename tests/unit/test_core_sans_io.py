"""The core stays sans-I/O: no module of it imports a network or concurrency library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chatkit

PACKAGE = Path(chatkit.__file__).parent
CORE_MODULES = [
    "core.py",
    "session.py",
    "room.py",
    "lines.py",
    "casemap.py",
    "numerics.py",
    "protocol.py",
    "config.py",
    *(f"commands/{path.name}" for path in (PACKAGE / "commands").glob("*.py")),
]
FORBIDDEN = {"socket", "selectors", "threading", "asyncio", "ssl", "select"}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_no_io(module: str) -> None:
    source = (PACKAGE / module).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
    assert "monotonic" not in source  # time comes in as ``now``
