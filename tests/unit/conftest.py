"""Fixtures for the core tests; the fake transport and harness live in ``fake_client``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_client import Harness, make_config


@pytest.fixture
def server() -> Iterator[Harness]:
    harness = Harness(make_config())
    yield harness
    assert not harness.violations(), harness.violations()
