"""mfe-proxy as a user gets it: installed with pip into a fresh virtual environment (no `-e`, no
extras), as `mfe-proxy` and as `mitmdump -s "$(mfe-proxy addon-path)"`; started from a scratch
checkout with scripts/mfe-proxy, which sets up the proxy alone (no test tools, no system packages);
and the one line the addon gives when mitmdump's Python lacks what it needs."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.harness import READY, START_TIMEOUT, TIMEOUT, ProxyProcess, spawn_proxy, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import ADDON, ROOT, free_port, local, two_apps

INSTALL_TIMEOUT = 600  # a real install from the package index
# What a checkout of the proxy consists of, for the scratch copies: the package, its metadata, and
# the scripts that run it (scripts/browser to show that starting the proxy leaves it alone).
SOURCE = ("pyproject.toml", "README.md", "addon")
SCRIPTS = ("bootstrap", "mfe-proxy", "browser")


def copy_checkout(destination: Path, scripts: tuple[str, ...] = ()) -> Path:
    destination.mkdir(parents=True)
    for name in SOURCE:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
            shutil.copytree(ROOT / name, destination / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, destination / name)
    for name in scripts:
        (destination / "scripts").mkdir(exist_ok=True)
        shutil.copy(ROOT / "scripts" / name, destination / "scripts" / name)
    return destination


def run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding `pip install <checkout>` and nothing else."""
    base = tmp_path_factory.mktemp("installed")
    source = copy_checkout(base / "source")
    environment = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", environment], check=True, timeout=120)
    installed = subprocess.run(
        [
            environment / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            source,
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return environment


@pytest.fixture
def site(tmp_path: Path, upstream) -> Iterator[tuple[dict, WsUpstream]]:
    """A config of web, docs (/docs/...) and hmr (/_hmr, a WebSocket echo), and the WebSocket peer."""
    hmr = WsUpstream()
    config = two_apps(upstream("web"), upstream("docs"), proxy_port=free_port())
    config["applications"]["hmr"] = {"development": {"local": local(hmr)}, "routing": [{"paths": ["/_hmr"]}]}
    yield config, hmr
    hmr.stop()


def start(
    command: list[str | Path],
    config: dict,
    directory: Path,
    confdir: Path,
    ready_within: float = START_TIMEOUT,
    **env: str,
) -> ProxyProcess:
    """`command` with the config written to `directory`, where it runs; waits `ready_within` seconds
    for the readiness line."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "microfrontends.json").write_text(json.dumps(config))
    argv = [str(part) for part in command] + ["--set", f"confdir={confdir}"]
    proxy = spawn_proxy(
        argv, directory, directory / "output.log", config["options"]["localProxyPort"], env=env or None
    )
    try:
        proxy.wait_for(READY, ready_within)
    except BaseException:
        proxy.terminate()
        raise
    return proxy


def assert_routes(proxy: ProxyProcess, hmr: WsUpstream) -> None:
    assert proxy.get("/docs/intro").json()["app"] == "docs"
    assert proxy.get("/pricing").json()["app"] == "web"
    with ws_connect(proxy, "/_hmr") as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "hello"
    [seen] = hmr.wait_connections(1)
    assert seen.path == "/_hmr"


# -- pip install <checkout> ------------------------------------------------------------------------


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_installed_command_answers_help_and_version(venv):
    command = venv / "bin" / "mfe-proxy"
    helped = run(command, "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: mfe-proxy [--web]")
    assert "--set mfe_config=" in helped.stdout
    version = run(command, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("mfe-proxy 0.1.0 (mitmproxy 12.3.")


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_installed_package_holds_the_addon_and_no_test_tools(venv):
    printed = run(venv / "bin" / "mfe-proxy", "addon-path")
    assert printed.returncode == 0, printed.stderr
    addon = Path(printed.stdout.strip())
    assert addon.is_file() and addon.name == "mfe_router.py"
    assert addon.is_relative_to(venv) and "site-packages" in addon.parts
    assert ROOT not in addon.parents  # a copy in the environment, not a link into the checkout
    for tool in ("pytest", "hypothesis", "playwright"):
        assert run(venv / "bin" / "python", "-c", f"import {tool}").returncode != 0, tool


@pytest.mark.timeout(INSTALL_TIMEOUT)
@pytest.mark.parametrize("how", ["mfe-proxy", "mitmdump -s addon-path"])
def test_installed_proxy_routes_requests_and_websockets(venv, site, tmp_path, mitmproxy_confdir, how):
    config, hmr = site
    if how == "mfe-proxy":
        command: list[str | Path] = [venv / "bin" / "mfe-proxy"]
    else:
        addon = run(venv / "bin" / "mfe-proxy", "addon-path").stdout.strip()
        command = [venv / "bin" / "mitmdump", "-s", addon]
    proxy = start(command, config, tmp_path / "site", mitmproxy_confdir)
    try:
        assert_routes(proxy, hmr)
    finally:
        proxy.terminate()


# -- scripts/mfe-proxy from a checkout: the proxy's set-up, nothing more ---------------------------

RECORDING_APT_GET = """#!/bin/sh
echo "$*" >>"{calls}"
exit 100
"""


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_starting_from_a_checkout_sets_up_the_proxy_alone(site, tmp_path, mitmproxy_confdir):
    config, hmr = site
    checkout = copy_checkout(tmp_path / "checkout", SCRIPTS)
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    calls = tmp_path / "apt-get.calls"
    for name in ("apt-get", "apt"):
        (fake_bin / name).write_text(RECORDING_APT_GET.format(calls=calls))
        (fake_bin / name).chmod(0o755)
    env = {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "MFE_CHROMIUM": str(tmp_path / "no-chromium-here"),  # a machine without chromium
        "MFE_PYTHON": os.path.realpath(sys.executable),
    }
    command = [checkout / "scripts" / "mfe-proxy"]

    # The first start sets .venv up: a real install.
    first = start(command, config, tmp_path / "site", mitmproxy_confdir, INSTALL_TIMEOUT, **env)
    try:
        assert_routes(first, hmr)
    finally:
        first.terminate()
    output = first.output()
    assert "bootstrap: ready" in output
    stamp = checkout / ".venv" / ".mfe-bootstrap"
    stamped = stamp.stat().st_mtime_ns

    second = start(command, config, tmp_path / "again", mitmproxy_confdir, **env)
    second.terminate()
    assert "bootstrap" not in second.output()  # a fast check: nothing installed, nothing said
    assert stamp.stat().st_mtime_ns == stamped

    assert not calls.exists(), calls.read_text()
    for text in (output, second.output()):
        assert "chromium" not in text.lower() and "browser" not in text.lower(), text
    python = checkout / ".venv" / "bin" / "python"
    for tool in ("pytest", "playwright", "hypothesis"):
        assert run(python, "-c", f"import {tool}").returncode != 0, tool


# -- mitmdump whose Python lacks mfe-proxy's dependencies ------------------------------------------

BLOCK_YAML = """
import sys

class NoYaml:
    def find_spec(self, name, path=None, target=None):
        if name == "yaml" or name.startswith("yaml."):
            raise ModuleNotFoundError("No module named 'yaml'", name="yaml")
        return None

sys.meta_path.insert(0, NoYaml())
"""


def test_missing_dependency_is_one_line_with_the_command_that_adds_it(tmp_path, mitmproxy_confdir):
    """A stock mitmproxy install: mitmdump's Python has no PyYAML (made so here by a sitecustomize)."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_YAML)
    mitmdump = Path(sys.executable).parent / "mitmdump"
    result = run(
        mitmdump,
        "-s",
        ADDON,
        "--set",
        f"confdir={mitmproxy_confdir}",
        "--set",
        f"listen_port={free_port()}",
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    expected = (
        "mfe-proxy cannot start: this mitmdump's Python lacks yaml; add mfe-proxy to it: "
        f"{sys.executable} -m pip install {ROOT}"
    )
    assert expected in output, output
    assert "ModuleNotFoundError" not in output
