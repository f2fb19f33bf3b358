"""Fixtures of the whole suite. Shared helpers are in tests/helpers.py; the end-to-end harness is in
tests/e2e/."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mitmproxy_confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mitmproxy writes its CA into its confdir at start-up: one for the session, not the user's home."""
    return tmp_path_factory.mktemp("mitmproxy-confdir")
