"""Fixtures of the addons' tests; their harness is in harness.py."""

from collections.abc import Iterator

import pytest

from helpers import busy_port


@pytest.fixture
def listening() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them without an accept call)."""
    with busy_port(backlog=64) as port:
        yield port
