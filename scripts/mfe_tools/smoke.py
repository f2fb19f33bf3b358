"""The scripted smoke run (`scripts/smoke`, CI): the demo apps and the proxy for real, checked through it.

Three demo applications (web, docs, api) and a fourth, `down`, whose port nobody listens on, all on
free ports of 127.0.0.1, behind mitmdump with the addon. Prints one `PASS <name>` or
`FAIL <name>: <why>` line per check, then `N passed, N failed`; exits 0 only if every check passed.
Everything it starts is stopped, and its temporary directory removed, however it ends.
"""

import http.client
import json
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from mfe_proxy.config import load_config
from mfe_proxy.errors import MfeError
from mfe_proxy.model import Application, Config
from mfe_proxy.router import ROUTING_ENDPOINT
from mfe_tools.demo import (
    APP_START_TIMEOUT,
    HMR_SEGMENT,
    PROXY_START_TIMEOUT,
    DemoError,
    base_path,
    interrupt_on_signals,
    start_app,
    start_proxy,
    stop_all,
    wait_apps,
)
from mfe_tools.processes import Child, ProcessError

HOST = "127.0.0.1"
TIMEOUT = 5.0
RUNNING_APPS = ("web", "docs", "api")
DOWN_APP = "down"
# A path per application that its page must name: the root, a nested path, a path with a query.
PAGE_PATHS = {"web": "/", "docs": "/docs/getting-started", "api": "/api/users?limit=2"}


class CheckFailed(Exception):
    """Why a check failed, in one line."""


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on: all bound at once, so the OS hands out different ones."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((HOST, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def smoke_config(ports: dict[str, int], proxy_port: int) -> dict:
    """configs/three-apps.jsonc on the given ports, plus `down`."""

    def development(name: str) -> dict:
        return {"local": f"{HOST}:{ports[name]}"}

    return {
        "applications": {
            "web": {"packageName": "web", "development": {**development("web"), "task": "dev"}},
            "docs": {
                "packageName": "docs",
                "development": development("docs"),
                "routing": [{"group": "docs", "paths": ["/docs", "/docs/:path*"]}],
            },
            "api": {
                "packageName": "api",
                "development": development("api"),
                "routing": [{"paths": ["/api/:path*"]}],
            },
            DOWN_APP: {
                "packageName": DOWN_APP,
                "development": development(DOWN_APP),
                "routing": [{"paths": ["/down/:path*"]}],
            },
        },
        "options": {"localProxyPort": proxy_port},
    }


def get(port: int, target: str, accept: str = "text/html") -> tuple[int, str, str]:
    """GET through the proxy: status, Content-Type and body text. http.client, not urllib, so that no
    HTTP_PROXY in the environment sends the request elsewhere."""
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        connection.request("GET", target, headers={"Accept": accept})
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, response.getheader("Content-Type", ""), body
    finally:
        connection.close()


def expect(condition: bool, why: str) -> None:
    if not condition:
        raise CheckFailed(why)


def check_page(proxy_port: int, name: str) -> None:
    path = PAGE_PATHS[name]
    status, content_type, body = get(proxy_port, path)
    expect(status == 200, f"GET {path}: status {status}, expected 200")
    expect(content_type.startswith("text/html"), f"GET {path}: Content-Type {content_type!r}")
    marker = f'<meta name="mfe-demo-app" content="{name}">'
    expect(marker in body, f"GET {path}: the page is not {name}'s: {_excerpt(body)}")
    expect(f"<code>{path}</code>" in body, f"GET {path}: the page does not name the path {path}")


def check_websocket(proxy_port: int, application: Application) -> None:
    name = application.name
    url = f"ws://{HOST}:{proxy_port}{base_path(application)}{HMR_SEGMENT}"
    text = f"smoke {name} {uuid.uuid4()}"
    echoed = ticked = False
    # proxy=None: never through a proxy from the environment, always straight to ours.
    with connect(url, proxy=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as websocket:
        websocket.send(text)
        deadline = time.monotonic() + TIMEOUT
        while not (echoed and ticked):
            remaining = deadline - time.monotonic()
            expect(remaining > 0, f"{url}: within {TIMEOUT:g} s, echo {echoed}, tick {ticked}")
            try:
                message = websocket.recv(timeout=remaining)
            except TimeoutError:
                continue  # the expectation above reports what is missing
            if message == text:
                echoed = True
            elif isinstance(message, str) and message.startswith("{"):
                tick = json.loads(message)
                expect(tick.get("app") == name, f"{url}: a tick from {tick.get('app')!r}, not {name}")
                ticked = tick.get("type") == "tick"
            else:
                raise CheckFailed(f"{url}: unexpected message {message!r}")


def check_down_page(proxy_port: int, down: Application) -> None:
    path = "/down/page"
    status, content_type, body = get(proxy_port, path)
    expect(status == 502, f"GET {path}: status {status}, expected 502")
    expect(content_type.startswith("text/html"), f"GET {path}: Content-Type {content_type!r}")
    for text in (DOWN_APP, down.upstream.url, f"turbo run dev --filter={DOWN_APP}"):
        expect(text in body, f"GET {path}: the page does not mention {text!r}: {_excerpt(body)}")


def check_routing_endpoint(proxy_port: int, config: Config) -> None:
    path = ROUTING_ENDPOINT
    status, content_type, body = get(proxy_port, path, accept="application/json")
    expect(status == 200, f"GET {path}: status {status}, expected 200")
    expect(content_type.startswith("application/json"), f"GET {path}: Content-Type {content_type!r}")
    try:
        table = json.loads(body)
    except ValueError:
        raise CheckFailed(f"GET {path}: not JSON: {_excerpt(body)}") from None
    expect(isinstance(table, dict), f"GET {path}: not a JSON object: {_excerpt(body)}")
    for name, application in config.applications.items():
        expected = {"host": HOST, "port": application.upstream.port, "protocol": "http"}
        actual = table.get(name, {}).get("routing") if isinstance(table.get(name), dict) else None
        expect(actual == expected, f"GET {path}: {name}: {actual!r}, expected {expected!r}")


def check_summary(proxy: Child) -> None:
    """The proxy stops on SIGINT with status 0 and prints its per-application summary."""
    status = proxy.stop()
    output = proxy.output().splitlines()
    last_line = proxy.tail(1).strip()
    expect(status == 0, f"the proxy exited with status {status} on SIGINT: {last_line}")
    # mitmdump puts a timestamp before the line.
    start = next((i for i, line in enumerate(output) if line.endswith("mfe-proxy summary:")), None)
    expect(start is not None, f"no 'mfe-proxy summary:' line after SIGINT: {last_line}")
    summary = output[start + 1 :]
    for name in RUNNING_APPS:
        expect(any(line.strip().startswith(f"{name}: ") for line in summary), f"no summary line for {name}")


def routes(port: int) -> bool:
    """Readiness as the README tells CI scripts to wait for it: the routing endpoint answers 200. An
    open port is not enough: the plain `mitmdump -s` start binds mitmproxy's own listener first."""
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        connection.request("GET", ROUTING_ENDPOINT, headers={"Host": f"localhost:{port}"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False  # not listening yet, or the listener being replaced
    finally:
        connection.close()


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, run: Callable[[], None]) -> bool:
        try:
            run()
        except CheckFailed as failure:
            self.fail(name, str(failure))
            return False
        except (OSError, WebSocketException, DemoError, ProcessError) as error:
            self.fail(name, f"{type(error).__name__}: {error}")
            return False
        self.passed += 1
        print(f"PASS {name}", flush=True)
        return True

    def fail(self, name: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {name}: {why}", flush=True)


def run(report: Report, directory: Path, children: list[Child]) -> None:
    web, docs, api, down, proxy_port = free_ports(5)
    config_file = directory / "microfrontends.json"
    ports = {"web": web, "docs": docs, "api": api, DOWN_APP: down}
    config_file.write_text(json.dumps(smoke_config(ports, proxy_port), indent=2))
    config = load_config(config_file)
    running = [config.applications[name] for name in RUNNING_APPS]

    def start() -> None:
        links = [(app.name, base_path(app)) for app in config.applications.values()]
        for app in running:
            children.append(start_app(app, links, echo=False))
        wait_apps(children, running, APP_START_TIMEOUT)
        # A confdir of its own: mitmproxy writes its CA there, not into the user's home.
        confdir = directory / "mitmproxy"
        # The plain `mitmdump -s` form, as CI scripts run it; the demo runs the launcher.
        children.append(start_proxy(config_file, ["--set", f"confdir={confdir}"], echo=False, launcher=False))
        children[-1].wait_for(lambda: routes(proxy_port), PROXY_START_TIMEOUT)

    if not report.check("start", start):
        return
    for app in running:
        report.check(f"http {app.name}", lambda app=app: check_page(proxy_port, app.name))
    for app in running:
        report.check(f"websocket {app.name}", lambda app=app: check_websocket(proxy_port, app))
    report.check("down page", lambda: check_down_page(proxy_port, config.applications[DOWN_APP]))
    report.check("routing endpoint", lambda: check_routing_endpoint(proxy_port, config))
    report.check("proxy summary", lambda: check_summary(children[-1]))


def main() -> int:
    interrupt_on_signals()
    report = Report()
    children: list[Child] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mfe-smoke-") as directory:
            try:
                run(report, Path(directory), children)
            finally:
                stop_all(children)
    except MfeError as error:
        report.fail("config", str(error))
    except KeyboardInterrupt:
        report.fail("run", "interrupted")
    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
