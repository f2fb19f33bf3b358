"""Fixtures of the whole suite. Shared helpers are in tests/helpers.py; the end-to-end harness is in
tests/e2e/."""

import json
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

import mfe_proxy.config
from helpers import SUITE_CONFIGS
from mfe_proxy.model import Config

AFTER_THE_REST = "after_the_rest"


@pytest.fixture(scope="session")
def mitmproxy_confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mitmproxy writes its CA into its confdir at start-up: one for the session, not the user's home."""
    return tmp_path_factory.mktemp("mitmproxy-confdir")


@pytest.fixture(scope="session", autouse=True)
def _record_valid_configs() -> Iterator[None]:
    """Every valid config document the suite loads in this process, once each, in `SUITE_CONFIGS`: the
    nginx export is checked on all of them (tests/nginx/test_syntax.py). Hypothesis' generated ones
    are left out: their shapes are the fuzz tests' own, and they number in the thousands."""
    validate = mfe_proxy.config.validate

    def recording(document: object, file: str) -> Config:
        config = validate(document, file)
        if not hypothesis.currently_in_test_context():
            SUITE_CONFIGS.setdefault(json.dumps(document, sort_keys=True, default=str), config)
        return config

    mfe_proxy.config.validate = recording  # parse_config and load_config look it up on each call
    yield
    mfe_proxy.config.validate = validate


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_the_rest` run last: they check what the others left behind."""
    items.sort(key=lambda item: item.get_closest_marker(AFTER_THE_REST) is not None)
