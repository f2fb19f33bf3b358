"""Fixtures of the end-to-end tests: proxies, stand-in dev servers and application processes, each
stopped at teardown; `engine` and `serve` for the tests shared by the proxy and the nginx export.
`mitmproxy_confdir` is in tests/conftest.py, the rest of the harness in harness.py and engines.py."""

import contextlib
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e.app_process import AppProcess
from e2e.engines import ENGINES, NginxEngine
from e2e.harness import (
    LAUNCHER,
    LEAK_PROBE,
    READY,
    START_TIMEOUT,
    Endpoint,
    ProxyProcess,
    Watched,
    explicit_port,
    proxy_command,
    spawn_proxy,
)
from e2e.upstream import Upstream
from e2e.ws_upstream import WsUpstream
from helpers import free_port
from mfe_proxy.config import parse_config
from mfe_proxy.errors import ConfigError


def write_config(path: Path, config: dict | str) -> None:
    """Write `config` (a dict as JSON, a str as it is) to `path`. A valid one is loaded here too, which
    records it for the nginx export's check of every config the suite uses (tests/conftest.py)."""
    text = config if isinstance(config, str) else json.dumps(config, indent=2)
    path.write_text(text)
    with contextlib.suppress(ConfigError):
        parse_config(text.encode(), str(path))


@pytest.fixture
def start_proxy(tmp_path: Path, mitmproxy_confdir: Path) -> Iterator:
    """`start_proxy(config, *args, tool="mitmdump", cwd=None, config_name="microfrontends.json",
    expect_ready=True) -> ProxyProcess`.

    `config` is written as JSON (a dict) or as it is (a str, for broken files) and passed as
    `mfe_config`; None passes no config (the proxy then looks in `cwd`, by default the test's temporary
    directory). A free `listen_port` is added unless `args` or `options.localProxyPort` give one. Waits
    for the readiness line unless `expect_ready` is false (a start-up that should fail)."""
    started: list[ProxyProcess] = []

    def start(
        config: dict | str | None,
        *args: str,
        tool: str = "mitmdump",
        cwd: Path | None = None,
        config_name: str = "microfrontends.json",
        expect_ready: bool = True,
    ) -> ProxyProcess:
        directory = tmp_path / f"proxy{len(started)}"
        directory.mkdir()
        command = proxy_command(tool, mitmproxy_confdir)
        if config is not None:
            config_file = directory / config_name
            write_config(config_file, config)
            command += ["--set", f"mfe_config={config_file}"]
        port = explicit_port(args)
        if port is None and isinstance(config, dict):
            port = config.get("options", {}).get("localProxyPort")
        if port is None:
            port = free_port()
            command += ["--set", f"listen_port={port}"]
        command += args
        proxy = spawn_proxy(command, cwd or directory, directory / "output.log", port)
        started.append(proxy)
        if expect_ready:
            proxy.wait_for(READY, START_TIMEOUT)
        return proxy

    yield start
    for proxy in started:
        proxy.terminate()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """What serves the config in a shared test: the addon in mitmdump, or nginx with the export."""
    return request.param


@pytest.fixture
def serve(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Endpoint]]:
    """`serve(config) -> Endpoint`: `config` served by `engine`, stopped at teardown. With mitmproxy it
    is `start_proxy(config)`, a `ProxyProcess`; with nginx, the export of the same file, `NginxEngine`."""
    if engine == "mitmproxy":
        yield request.getfixturevalue("start_proxy")
        return
    started: list[NginxEngine] = []

    def start(config: dict) -> NginxEngine:
        directory = tmp_path / f"nginx{len(started)}"
        directory.mkdir()
        config_file = directory / "microfrontends.json"
        write_config(config_file, config)
        server = NginxEngine(config_file)
        started.append(server)
        return server

    yield start
    for server in started:
        server.terminate()


@pytest.fixture
def launch(tmp_path: Path, mitmproxy_confdir: Path) -> Iterator:
    """`launch(config, *args, port=None, expect_ready=True, command=None) -> ProxyProcess`: the launcher
    as `python -O -m mfe_proxy` (what scripts/mfe-proxy runs), with `config` (a dict written
    as JSON, or a str written as it is) as mfe_config. `port` is where it is expected to listen
    (default: the config's localProxyPort)."""
    started: list[ProxyProcess] = []

    def start(
        config: dict | str,
        *args: str,
        port: int | None = None,
        expect_ready: bool = True,
        command: list[str] | None = None,
    ) -> ProxyProcess:
        directory = tmp_path / f"launch{len(started)}"
        directory.mkdir()
        config_file = directory / "microfrontends.json"
        write_config(config_file, config)
        if port is None and isinstance(config, dict):
            port = config.get("options", {}).get("localProxyPort")
        argv = [
            *(command or LAUNCHER),
            "--set",
            f"confdir={mitmproxy_confdir}",
            "--set",
            f"mfe_config={config_file}",
            *args,
        ]
        proxy = spawn_proxy(argv, directory, directory / "output.log", port or 0)
        started.append(proxy)
        if expect_ready:
            proxy.wait_for(READY, START_TIMEOUT)
        return proxy

    yield start
    for proxy in started:
        proxy.terminate()


@pytest.fixture
def upstream() -> Iterator:
    """`upstream(name, port=0, tls=None) -> Upstream`: a stand-in dev server answering as application
    `name` (on `port`, e.g. to bring an application back where it was, or a free one), over https with
    an `ssl.SSLContext` as `tls`."""
    started: list[Upstream] = []

    def start(name: str, port: int = 0, tls: ssl.SSLContext | None = None) -> Upstream:
        server = Upstream(name, port, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def ws_upstream() -> Iterator[Callable[..., WsUpstream]]:
    """`ws_upstream(compression=True) -> WsUpstream`, stopped at teardown."""
    started: list[WsUpstream] = []

    def start(compression: bool = True) -> WsUpstream:
        server = WsUpstream(compression)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def app_process(tmp_path: Path) -> Iterator[Callable[..., AppProcess]]:
    """`app_process(name, port=0, log_requests=False) -> AppProcess`, stopped at teardown."""
    started: list[AppProcess] = []

    def start(name: str, port: int = 0, log_requests: bool = False) -> AppProcess:
        app = AppProcess(name, tmp_path / f"{name}-{len(started)}.log", port, log_requests)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def watched(start_proxy) -> Callable[[dict], Watched]:
    """`watched(config, *args) -> Watched`: a proxy started with the leak probe."""

    def start(config: dict, *args: str) -> Watched:
        return Watched(start_proxy(config, "-s", str(LEAK_PROBE), *args))

    return start
