"""Malformed configs through a real mitmdump: a few cases of the malformed-config table
(tests/config/test_malformed.py), one per family. Start-up stops with exit code 1 and the loader's
message, and no traceback."""

import pytest

from config.test_malformed import CASES
from e2e.harness import READY

E2E = [
    "json-missing-comma",
    "yaml-tab-indentation",
    "proxy-port-string",
    "unknown-development-key",
    "paths-overlap",
    "local-ipv4-five-parts",
    "several-default-applications",
    "latin1-yaml",
    "lone-surrogate-in-name",
]
E2E_CASES = [case for case in CASES if case.id in E2E]


@pytest.mark.parametrize("case", E2E_CASES, ids=[case.id for case in E2E_CASES])
def test_malformed_config_stops_the_proxy_cleanly(start_proxy, tmp_path, case):
    config_dir = tmp_path / "site"
    config_dir.mkdir()
    path = case.write(config_dir)
    proxy = start_proxy(None, "--set", f"mfe_config={path}", expect_ready=False)
    returncode, output = proxy.wait_exit()
    assert returncode == 1, output
    assert "Traceback" not in output, output
    assert READY not in output
    expected = f"{path}: {case.where}: " if case.where else f"{path}: "
    assert expected in output, output
    assert case.fragment in output, output
