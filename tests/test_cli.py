"""The `mfe-proxy` command's own flags (mfe_proxy.cli): --help and --version answer without starting
anything, addon-path names the mitmproxy script, and the launcher's flags are told from mitmdump's."""

import subprocess
import sys

from mitmproxy import version

from helpers import ADDON
from mfe_proxy import cli
from mfe_proxy.addons import declared_options


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfe_proxy", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_describes_the_tool_its_flags_and_options_and_exits_0():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("usage: mfe-proxy [--web]")
    for flag in ("--web", "addon-path", "--version"):
        assert flag in text
    for option in declared_options():
        assert f"--set {option.name}=" in text, option.name
    assert "--set mfe_ws_keep_messages=100" in text
    assert "--set mfe_request_log=true" in text
    assert "Every other argument is mitmdump's" in text
    assert "mitmdump --help" in text
    assert run_cli("-h").stdout == text
    assert run_cli("--web", "--help").stdout == text  # wherever the flag is


def test_version_names_mfe_proxy_and_mitmproxy():
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mfe-proxy 0.1.0 (")
    assert f"mitmproxy {version.VERSION}" in result.stdout


def test_addon_path_prints_the_mitmproxy_script():
    result = run_cli("addon-path")
    assert (result.returncode, result.stdout.strip()) == (0, str(ADDON))
    assert cli.ADDON == ADDON and ADDON.is_file()


def test_help_into_a_closed_pipe_is_no_traceback():
    # `mfe-proxy --help | head -1`
    head = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    result = subprocess.run(
        [sys.executable, "-m", "mfe_proxy", "--help"], stdout=head.stdin, stderr=subprocess.PIPE, timeout=60
    )
    head.stdin.close()
    head.wait(10)
    assert result.returncode == 0
    assert b"Traceback" not in result.stderr
