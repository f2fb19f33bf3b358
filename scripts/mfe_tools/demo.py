"""Demo dev servers, and the `run` command that starts one per application behind the proxy.

    python -m mfe_tools.demo app --name docs --port 3001 [--host 127.0.0.1] [--base /docs]
    python -m mfe_tools.demo run [--config configs/microfrontends.json]

A demo application answers every GET path with a page naming itself and the path, and at
`<base>/_hmr` accepts a WebSocket that stands in for a dev server's hot-reload channel: it pushes a
JSON tick now and every few seconds and echoes every message back unchanged. The page opens that
WebSocket on its own origin, so through the proxy it shows the proxy relaying both ways.

`run` starts a demo application on every application's upstream port, then mitmdump with the addon,
and stops them all on Ctrl-C or SIGTERM.
"""

import argparse
import asyncio
import errno
import hashlib
import html
import json
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from pathlib import Path
from types import FrameType

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from mfe_proxy.config import load_config
from mfe_proxy.errors import ConfigError
from mfe_proxy.model import Application
from mfe_tools import ROOT
from mfe_tools.processes import Child, ProcessError, pythonpath_env

ADDON_SCRIPT = ROOT / "addon" / "mfe_router.py"
HMR_SEGMENT = "/_hmr"
PROXY_READY = "mfe-proxy serving"
TICK_SECONDS = 3.0
# The proxy's first start writes mitmproxy's CA (key generation), and CI machines are slow.
PROXY_START_TIMEOUT = 30.0
APP_START_TIMEOUT = 10.0
# Headers the proxy adds or rewrites; the page shows them so a reader sees what the app received.
SHOWN_HEADERS = (
    "host",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-for",
    "x-vercel-mfe-local-proxy-origin",
    "x-vercel-mfe-flag-value",
)


class DemoError(Exception):
    """A problem to report as one line, without a traceback."""


def base_path(application: Application) -> str:
    """Where the application's pages live: the static prefix of its first path pattern (`/docs/:path*`
    -> `/docs`); "" for the default application or a pattern that starts with a parameter."""
    if application.is_default:
        return ""
    prefix = application.routes[0].paths[0].literal_prefix
    return "".join(f"/{segment}" for segment in prefix)


def app_ready_line(name: str) -> str:
    return f"demo app {name}: serving"


# ---------------------------------------------------------------------------------------------------
# One demo application.


def _script_json(value: object) -> str:
    """JSON safe to place inside a <script> element (no `</script>` or `<!--` can appear)."""
    return json.dumps(value).replace("<", "\\u003c")


def _hue(name: str) -> int:
    """A stable colour per application, so moving between applications is visible at a glance."""
    return int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:4], 16) % 360


_PAGE_SCRIPT = """
const status = document.getElementById("status");
const list = document.getElementById("messages");
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const socket = new WebSocket(scheme + location.host + HMR_PATH);
function show(direction, text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${direction} ${text}`;
  list.prepend(item);
  while (list.children.length > 50) list.lastChild.remove();
}
socket.onopen = () => { status.textContent = `open: ${socket.url}`; };
socket.onmessage = (event) => show("\\u2190", event.data);
socket.onclose = (event) => {
  status.textContent = `closed: code ${event.code} ${event.reason}`;
};
document.getElementById("send").onsubmit = (event) => {
  event.preventDefault();
  const text = event.target.elements.text.value;
  socket.send(text);
  show("\\u2192", text);
};
"""


def render_page(name: str, base: str, path: str, headers: Headers, links: Sequence[tuple[str, str]]) -> str:
    escape = html.escape
    hmr = base + HMR_SEGMENT
    rows = "\n".join(
        f"<tr><th>{escape(header)}</th><td>{escape(headers.get(header, '-'))}</td></tr>"
        for header in SHOWN_HEADERS
    )
    nav = " ".join(f'<a href="{escape(href or "/")}">{escape(label)}</a>' for label, href in links)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="mfe-demo-app" content="{escape(name)}">
<title>{escape(name)} - mfe-proxy demo</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem 2rem;
       border-top: 0.6rem solid hsl({_hue(name)} 65% 45%); }}
nav a {{ margin-right: 1rem; }}
th {{ text-align: left; padding-right: 1rem; font-weight: normal; color: #555; }}
code, td {{ font-family: ui-monospace, monospace; }}
#messages {{ font-family: ui-monospace, monospace; font-size: 0.9rem; }}
</style>
</head>
<body>
<nav>{nav}</nav>
<h1>{escape(name)}</h1>
<p>Served by the demo application <strong>{escape(name)}</strong>
for the path <code>{escape(path)}</code>.</p>
<table>
{rows}
</table>
<h2>WebSocket <code>{escape(hmr)}</code></h2>
<p id="status">connecting...</p>
<form id="send"><input name="text" value="hello" aria-label="message"> <button>send</button></form>
<ol id="messages" reversed></ol>
<script>
const HMR_PATH = {_script_json(hmr)};
{_PAGE_SCRIPT}</script>
</body>
</html>
"""


class DemoApp:
    def __init__(self, name: str, base: str, tick_seconds: float, links: Sequence[tuple[str, str]]) -> None:
        self.name = name
        self.base = base
        self.hmr = base + HMR_SEGMENT
        self.tick_seconds = tick_seconds
        self.links = links

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP gets the page; only an upgrade at the HMR path goes on to the WebSocket handshake."""
        path = request.path.partition("?")[0]
        is_upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        if is_upgrade:
            if path.lower() == self.hmr.lower():
                return None
            return connection.respond(HTTPStatus.NOT_FOUND, f"{self.name}: no WebSocket at {path}\n")
        page = render_page(self.name, self.base, request.path, request.headers, self.links)
        response = connection.respond(HTTPStatus.OK, page)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        return response

    async def handle(self, websocket: ServerConnection) -> None:
        ticker = asyncio.create_task(self._tick(websocket))
        try:
            async for message in websocket:
                await websocket.send(message)
        except ConnectionClosed:
            pass  # the client went away abruptly; nothing to answer
        finally:
            ticker.cancel()

    async def _tick(self, websocket: ServerConnection) -> None:
        n = 0
        try:
            while True:
                n += 1
                await websocket.send(
                    json.dumps({"app": self.name, "type": "tick", "n": n}, separators=(",", ":"))
                )
                await asyncio.sleep(self.tick_seconds)
        except ConnectionClosed:
            pass  # the read loop in `handle` ends the connection

    async def serve(self, host: str, port: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            server = await serve(self.handle, host, port, process_request=self.process_request)
        except OSError as error:
            raise DemoError(f"demo app {self.name}: {listen_problem(host, port, error)}") from None
        async with server:
            shown = f"[{host}]" if ":" in host else host
            print(
                f"{app_ready_line(self.name)} http://{shown}:{port}{self.base or '/'} (WebSocket {self.hmr})",
                flush=True,
            )
            await stop.wait()


def listen_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} is busy ({host}:{port} is already in use)"
    reason = error.strerror or str(error)
    return f"cannot listen on {host}:{port}: {reason}"


def _link(text: str) -> tuple[str, str]:
    label, sep, href = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH")
    return label, href


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds above 0")
    return value


def _port(text: str) -> int:
    if not text.isdecimal() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number (1 to 65535)")
    return int(text)


def _base(text: str) -> str:
    if text and (not text.startswith("/") or text.endswith("/")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected '' or a path like /docs (no trailing slash)")
    return text


def run_app(args: argparse.Namespace) -> int:
    app = DemoApp(args.name, args.base, args.tick_seconds, args.link)
    try:
        asyncio.run(app.serve(args.host, args.port))
    except DemoError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------------
# Child processes: the demo applications and the proxy, for `run` and the smoke test. Each in a process
# group of its own: Ctrl-C in a terminal reaches only us, and we stop them in order (`stop_all`).


def wait_apps(children: Sequence[Child], applications: Sequence[Application], timeout: float) -> None:
    """Wait until each demo app (started together) printed its readiness line, within `timeout` seconds
    in all; ProcessError if one exits or is late."""
    deadline = time.monotonic() + timeout
    for child, application in zip(children, applications, strict=True):
        child.wait_for(app_ready_line(application.name), max(0.0, deadline - time.monotonic()))


def stop_all(children: Sequence[Child]) -> None:
    """Stop in start order reversed: the proxy first, so its summary does not count apps going away."""
    # A second Ctrl-C must not cut the clean-up short and leave children running.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for child in reversed(children):
        child.stop()


def interrupt_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP all end us the way Ctrl-C does, so `finally` blocks stop the children.
    SIGINT too, explicitly: a shell starts background jobs with SIGINT ignored, and Python then never
    turns it into KeyboardInterrupt."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def app_command(application: Application, links: Sequence[tuple[str, str]]) -> list[str]:
    upstream = application.upstream
    command = [sys.executable, "-m", "mfe_tools.demo", "app", "--name", application.name]
    command += ["--host", upstream.host, "--port", str(upstream.port), "--base", base_path(application)]
    for label, href in links:
        command += ["--link", f"{label}={href}"]
    return command


def start_app(application: Application, links: Sequence[tuple[str, str]], *, echo: bool) -> Child:
    return Child(
        f"demo app {application.name}",
        app_command(application, links),
        env=pythonpath_env(),
        echo=echo,
        own_group=True,
    )


def proxy_command(config_file: Path, extra: Sequence[str] = (), *, launcher: bool) -> list[str]:
    """The proxy as `mfe-proxy` runs it (`launcher`), or as the plain `mitmdump -s` script."""
    options = ["--set", f"mfe_config={config_file}", *extra]
    if launcher:
        return [sys.executable, "-O", "-m", "mfe_proxy", *options]
    mitmdump = Path(sys.executable).parent / "mitmdump"
    if not mitmdump.exists():
        raise DemoError(f"{mitmdump} not found; run scripts/bootstrap to install mitmproxy")
    if not ADDON_SCRIPT.exists():
        raise DemoError(f"the addon {ADDON_SCRIPT} is missing")
    return [str(mitmdump), "-s", str(ADDON_SCRIPT), *options]


def start_proxy(config_file: Path, extra: Sequence[str] = (), *, echo: bool, launcher: bool) -> Child:
    argv = proxy_command(config_file, extra, launcher=launcher)
    return Child("the proxy", argv, env=pythonpath_env(), echo=echo, own_group=True)


# ---------------------------------------------------------------------------------------------------
# `run`


def _port_problem(host: str, port: int) -> str | None:
    """Why nothing could listen on host:port now, or None. Binds the way asyncio's servers do
    (SO_REUSEADDR), so a port with connections in TIME_WAIT does not count as busy."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot listen on {host}:{port}: {error.strerror}"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                return listen_problem(host, port, error)
    return None


def check_startable(applications: Sequence[Application], proxy_port: int, config_file: Path) -> None:
    """Refuse, before starting anything, what would make a child fail: https upstreams, a port used
    twice, busy ports."""
    users: dict[int, str] = {proxy_port: "the proxy"}
    for application in applications:
        upstream = application.upstream
        if upstream.scheme != "http":
            raise DemoError(
                f"application {application.name}: its upstream {upstream.url} uses {upstream.scheme}, "
                "and demo apps serve http only"
            )
        user = f"application {application.name}"
        if (other := users.setdefault(upstream.port, user)) != user:
            raise DemoError(
                f"{user} and {other} both use port {upstream.port}; give each its own in {config_file}"
            )
    for application in applications:
        upstream = application.upstream
        if problem := _port_problem(upstream.host, upstream.port):
            raise DemoError(
                f"application {application.name} ({upstream.url}): {problem}; stop what uses it "
                f"or change applications.{application.name}.development.local in {config_file}"
            )
    # The proxy listens on 127.0.0.1 (the addon's default listen host).
    if problem := _port_problem("127.0.0.1", proxy_port):
        raise DemoError(
            f"the proxy: {problem}; stop what uses it or change options.localProxyPort in {config_file}"
        )


def _urls(applications: Iterable[Application], proxy_port: int) -> list[str]:
    origin = f"http://localhost:{proxy_port}"
    rows = [(app.name, f"{origin}{base_path(app) or '/'}", _claim(app)) for app in applications]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"mfe-proxy demo: open {origin}/"]
    lines += [f"  {name.ljust(width)}  {url}  ({claim})" for name, url, claim in rows]
    lines.append("Press Ctrl-C to stop.")
    return lines


def _claim(application: Application) -> str:
    if application.is_default:
        return "default application"
    return ", ".join(pattern.source for route in application.routes for pattern in route.paths)


def run_demo(args: argparse.Namespace) -> int:
    interrupt_on_signals()
    children: list[Child] = []
    try:
        config_file = Path(args.config).resolve()
        config = load_config(config_file)
        proxy_port = args.port or config.proxy_port
        applications = list(config.applications.values())
        check_startable(applications, proxy_port, config_file)
        links = [(app.name, base_path(app)) for app in applications]
        for application in applications:
            children.append(start_app(application, links, echo=True))
        wait_apps(children, applications, APP_START_TIMEOUT)
        extra = ["--set", f"listen_port={args.port}"] if args.port else []
        children.append(start_proxy(config_file, extra, echo=True, launcher=True))
        children[-1].wait_for(PROXY_READY, PROXY_START_TIMEOUT)
        print("\n".join(_urls(applications, proxy_port)), flush=True)
        while not (gone := [child for child in children if child.returncode is not None]):
            time.sleep(0.2)
        raise DemoError(f"{gone[0].label} exited with status {gone[0].returncode}; stopping the demo")
    except (ConfigError, DemoError, ProcessError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(children)


# ---------------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mfe_tools.demo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    app = commands.add_parser("app", help="serve one demo application")
    app.add_argument("--name", required=True, help="the application's name, shown on its pages")
    app.add_argument("--port", type=int, required=True)
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--base", type=_base, default="", help="path prefix of its pages, e.g. /docs")
    app.add_argument("--tick-seconds", type=_positive, default=TICK_SECONDS, help="WebSocket tick interval")
    app.add_argument(
        "--link", type=_link, action="append", default=[], metavar="NAME=PATH", help="a link on the page"
    )
    app.set_defaults(run=run_app)

    run = commands.add_parser("run", help="start a demo app per application, and the proxy")
    run.add_argument(
        "--config",
        default=str(ROOT / "configs" / "microfrontends.json"),
        help="the microfrontends config (relative to the current folder); default: the repository's "
        "configs/microfrontends.json",
    )
    run.add_argument(
        "--port", type=_port, default=0, help="the proxy's port; default: the config's localProxyPort"
    )
    run.set_defaults(run=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
