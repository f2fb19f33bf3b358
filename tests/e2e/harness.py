"""The end-to-end harness: the real addon in a real mitmdump/mitmweb subprocess, stand-in dev servers on
real sockets, and small HTTP and WebSocket clients. Everything listens on 127.0.0.1, on ports the OS
hands out. The fixtures that start these are in tests/e2e/conftest.py."""

import http.client
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import NamedTuple

from websockets.sync.client import ClientConnection, connect

from e2e.figures import record
from e2e.procinfo import open_fds, wait_for_fds
from e2e.ws_upstream import WsUpstream
from helpers import ADDON, free_port
from mfe_tools.processes import Child

READY = "mfe-proxy serving"
START_TIMEOUT = 20
TIMEOUT = 5  # seconds for any single blocking step: a broken proxy fails a test instead of hanging it
HMR = "/_next/webpack-hmr"
DOCS_HMR = "/docs/_next/webpack-hmr"
LOG_TIME = r"(?:\[[\d:.]+\] )?"  # mitmdump starts the lines it logs with the time
PROBE_TIMEOUT = 30  # a proxy just out of a load test may take a while to get to the probe
LEAK_PROBE = Path(__file__).parent / "leak_probe.py"
LAUNCHER = [sys.executable, "-O", "-m", "mfe_proxy"]  # what scripts/mfe-proxy and `mfe-proxy` run

# -- HTTP clients ----------------------------------------------------------------------------------


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


# -- proxy processes -------------------------------------------------------------------------------


class Endpoint:
    """What the end-to-end tests talk to, whatever serves it: the port on 127.0.0.1, and HTTP clients
    for it. The proxy (`ProxyProcess`) and nginx serving the exported configuration (e2e/engines.py)
    both are one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

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


class ProxyProcess(Endpoint):
    """One mitmdump/mitmweb process running the addon, with its combined stdout and stderr in a file: the
    process helper's `Child`, plus the port it serves and an HTTP client for it. Failures to start or to
    stop raise `ProcessError` with the whole output."""

    def __init__(self, child: Child, port: int) -> None:
        super().__init__(port)
        self.child = child
        self.process = child.process
        self.pid = child.pid

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

    def terminate(self) -> None:
        """Teardown: SIGINT, then SIGKILL if the process is still there after 5 s."""
        self.child.stop(signal.SIGINT, grace=5)


def proxy_command(tool: str, confdir: Path) -> list[str]:
    """The command that starts `tool` (mitmdump or mitmweb) with the addon, and mitmproxy's files in
    `confdir`; with MFE_TEST_LAUNCHER=1, mitmdump through the launcher, as scripts/mfe-proxy runs it, so
    that the whole suite can run the recommended way."""
    program = [str(Path(sys.executable).parent / tool)]
    if tool == "mitmdump" and os.environ.get("MFE_TEST_LAUNCHER") == "1":
        program = LAUNCHER
    return [*program, "-s", str(ADDON), "--set", f"confdir={confdir}"]


def spawn_proxy(
    command: list[str], cwd: Path, log: Path, port: int, env: dict[str, str] | None = None
) -> ProxyProcess:
    """Start `command` with its output in `log`, and `env` added to the environment; the caller stops
    it (`terminate`)."""
    return ProxyProcess(Child("the proxy", command, log, cwd=cwd, env=env, report_lines=None), port)


def explicit_port(args: tuple[str, ...]) -> int | None:
    """The port that `args` set with `--set listen_port=P`, `-p P` or `--listen-port P`, if any."""
    for index, arg in enumerate(args):
        if arg.startswith("listen_port="):
            return int(arg.partition("=")[2])
        if arg in ("-p", "--listen-port") and index + 1 < len(args):
            return int(args[index + 1])
    return None


# -- WebSockets ------------------------------------------------------------------------------------


def ws_connect(proxy, path: str, **options) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{proxy.port}{path}",
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        ping_interval=None,  # no keepalive pings: the app must see only the pings a test sends
        **options,
    )


def size(messages: list[str | bytes]) -> int:
    """Bytes on the wire before compression: text counts its UTF-8 encoding."""
    return sum(len(m.encode() if isinstance(m, str) else m) for m in messages)


def opened_id(proxy, app: str, path: str, upstream: WsUpstream) -> str:
    """The id of the connection from its `opened` line, which must name the app, path and upstream."""
    line = f" opened: {app} {path} -> http://127.0.0.1:{upstream.port}"
    match = re.search(rf"^{LOG_TIME}ws#(\d+){re.escape(line)}$", proxy.wait_for(line, TIMEOUT), re.MULTILINE)
    assert match, line
    return match[1]


def closed_line(proxy, ws_id: str) -> str:
    """The `closed` line of connection `ws_id`, once the proxy has printed it."""
    prefix = f"ws#{ws_id} closed: "
    output = proxy.wait_for(prefix, TIMEOUT)
    return next(line for line in output.splitlines() if prefix in line)


# -- mitmweb ---------------------------------------------------------------------------------------


def web_api(port: int, token: str, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, (path, response.status, body[:500])
    return body


def start_mitmweb(start_proxy, config: dict, *args: str) -> tuple:
    """mitmweb with the addon and its web UI on a free port: the proxy, the UI's port and its token."""
    web_port = free_port()
    proxy = start_proxy(
        config, "--set", f"web_port={web_port}", "--set", "web_open_browser=false", *args, tool="mitmweb"
    )
    # Without web_password, mitmweb makes up a token and prints it in the URL it logs.
    output = proxy.wait_for(f"Web server listening at http://127.0.0.1:{web_port}/")
    token = re.search(r"Web server listening at \S+\?token=(\w+)", output).group(1)
    return proxy, web_port, token


# -- leaks -----------------------------------------------------------------------------------------


class Watched:
    """A proxy with the leak probe, and what it held when it had just started."""

    def __init__(self, proxy) -> None:
        self.proxy = proxy
        self.fds = open_fds(proxy.pid)
        self.counts = self.probe()

    def probe(self) -> dict[str, int]:
        """Ask the leak probe for the proxy's tasks, connections and flows right now."""
        before = self.proxy.output().count("leak-probe:")
        self.proxy.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + PROBE_TIMEOUT
        while (lines := re.findall(r"leak-probe: (.*)", self.proxy.output()))[before:] == []:
            assert time.monotonic() < deadline, "the leak probe did not answer"
            time.sleep(0.05)
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", lines[before])}

    def assert_nothing_left(self, name: str | None = None, tried: str = "", outcome: str = "") -> int:
        """File descriptors, tasks, connections and flows back to where they were at the start; with a
        `name`, the figures go to the reliability table, with what was tried and what the peers saw.
        Returns the fd count."""
        fds_after = wait_for_fds(self.proxy.pid, self.fds)
        assert fds_after == self.fds, f"the proxy holds {fds_after} fds, {self.fds} at the start"
        deadline = time.monotonic() + TIMEOUT
        while (counts := self.probe()) != self.counts and time.monotonic() < deadline:
            time.sleep(0.1)
        assert counts == self.counts, f"left behind: {counts}, at the start: {self.counts}"
        if name is not None:
            record(
                name,
                tried,
                outcome=outcome,
                fds_before=self.fds,
                fds_after=fds_after,
                tasks_before=self.counts["tasks"],
                tasks_after=counts["tasks"],
                flows_before=self.counts["flows"],
                flows_after=counts["flows"],
            )
        return fds_after

    def summary(self) -> list[str]:
        """Stop the proxy (SIGINT) and return the lines of its summary."""
        returncode, output = self.proxy.stop(signal.SIGINT)
        assert returncode == 0, output
        assert "Traceback" not in output, output
        return output[output.index("mfe-proxy summary:") :].splitlines()[1:]
