"""End-to-end harness: the real addon in a real mitmdump/mitmweb subprocess, stand-in dev servers on
real sockets, and a small HTTP client. Everything listens on 127.0.0.1, on ports the OS hands out."""

import http.client
import json
import os
import signal
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from e2e.upstream import Upstream
from mfe_tools.processes import Child

ROOT = Path(__file__).parent.parent
ADDON = ROOT / "addon" / "mfe_router.py"
READY = "mfe-proxy serving"
START_TIMEOUT = 20


def free_port() -> int:
    """A port nothing listens on right now (also the way to get a port that refuses connections)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Response(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def send(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """One request on `connection` (kept open for the next one, if the server keeps it alive). The
    target goes on the wire exactly as given; http.client adds Host and Accept-Encoding: identity."""
    connection.request(method, target, body=body, headers=headers or {})
    response = connection.getresponse()
    return Response(response.status, response.headers, response.read())


def received_headers(report: dict, name: str) -> list[str]:
    """The values of header `name` (any case) in an upstream's report of one request."""
    return [value for key, value in report["headers"] if key.lower() == name.lower()]


class ProxyProcess:
    """One mitmdump/mitmweb process running the addon, with its combined stdout and stderr in a file: the
    process helper's `Child`, plus the port it serves and an HTTP client for it. Failures to start or to
    stop raise `ProcessError` with the whole output."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.process = child.process
        self.pid = child.pid
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.child.output()

    def wait_for(self, text: str, timeout: float = 10) -> str:
        """Wait until the output contains `text`; return the whole output."""
        return self.child.wait_for(text, timeout)

    def wait_exit(self, timeout: float = START_TIMEOUT) -> tuple[int, str]:
        """For a proxy expected to exit on its own (a start-up error): its return code and output."""
        return self.child.wait_exit(timeout), self.output()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10) -> tuple[int, str]:
        """Send `sig` and wait for the exit; return the return code and the whole output."""
        self.process.send_signal(sig)
        return self.wait_exit(timeout)

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """One request on a connection of its own."""
        connection = self.connection()
        try:
            return send(connection, method, target, headers, body)
        finally:
            connection.close()

    def get(self, target: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", target, headers)

    def terminate(self) -> None:
        """Teardown: SIGINT, then SIGKILL if the process is still there after 5 s."""
        self.child.stop(signal.SIGINT, grace=5)


def proxy_command(tool: str, confdir: Path) -> list[str]:
    """The command that starts `tool` (mitmdump or mitmweb) with the addon, and mitmproxy's files in
    `confdir`; with MFE_TEST_LAUNCHER=1, mitmdump through the launcher, as scripts/mfe-proxy runs it, so
    that the whole suite can run the recommended way."""
    program = [str(Path(sys.executable).parent / tool)]
    if tool == "mitmdump" and os.environ.get("MFE_TEST_LAUNCHER") == "1":
        program = [sys.executable, "-O", str(ADDON.with_name("mfe_launcher.py"))]
    return [*program, "-s", str(ADDON), "--set", f"confdir={confdir}"]


def spawn_proxy(
    command: list[str], cwd: Path, log: Path, port: int, env: dict[str, str] | None = None
) -> ProxyProcess:
    """Start `command` with its output in `log`, and `env` added to the environment; the caller stops
    it (`terminate`)."""
    return ProxyProcess(Child("the proxy", command, log, cwd=cwd, env=env, report_lines=None), port)


def _explicit_port(args: tuple[str, ...]) -> int | None:
    """The port that `args` set with `--set listen_port=P`, `-p P` or `--listen-port P`, if any."""
    for index, arg in enumerate(args):
        if arg.startswith("listen_port="):
            return int(arg.partition("=")[2])
        if arg in ("-p", "--listen-port") and index + 1 < len(args):
            return int(args[index + 1])
    return None


@pytest.fixture(scope="session")
def mitmproxy_confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mitmproxy writes its CA into its confdir at start-up: one for the session, not the user's home."""
    return tmp_path_factory.mktemp("mitmproxy-confdir")


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
            config_file.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))
            command += ["--set", f"mfe_config={config_file}"]
        port = _explicit_port(args)
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
