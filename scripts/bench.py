"""The benchmark: what the proxy costs, measured in one run against direct requests and bare mitmdump.

    scripts/bench [--write] [--duration SECONDS]
    python scripts/bench.py upstream --port N --name APP    (the upstream server the benchmark starts)

Setups: direct to an upstream, bare mitmdump in reverse mode, mitmdump with the addon (and the addon
with one application down). Measurements: requests/s over concurrent keep-alive connections, latency
of sequential requests, and a "page load" of many small requests over one connection. The load
generator (this process), the proxy and each upstream are separate processes. See docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mfe_proxy.smoke import free_ports

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
RESULTS_HEADING = "## Results"
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0

CONNECTIONS = 16
LATENCY_REQUESTS = 1000
PAGE_REQUESTS = 300
ROUNDS = 5  # samples per setup and measurement, taken in turns with the other setups
DOWN_APP = "docs"

# About 20 patterns, as a site split into three applications might have; `web` is the default.
CONFIG_ROUTES: dict[str, list[str]] = {
    "docs": [
        "/docs",
        "/docs/:path*",
        "/guides/:path*",
        "/reference/:slug",
        "/reference/:slug/:section",
        "/tutorials/:path*",
        "/changelog",
        "/changelog/:version",
        "/:lang(en|fr|de)/docs/:path*",
        "/search",
        "/assets/docs-:hash.js",
    ],
    "api": [
        "/api/:path*",
        "/graphql",
        "/auth/:path*",
        "/webhooks/:provider",
        "/health",
        "/v1/:path*",
        "/v2/:path*",
        "/uploads/:id",
        "/rpc/:method",
    ],
}
DOCS_ASSET_PREFIX = "docs-assets"


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    app: str  # the application the benchmark's config routes it to
    navigation: bool  # a browser navigation (Accept: text/html), so a down page comes as HTML

    @property
    def accept(self) -> str:
        return "text/html,application/xhtml+xml,*/*;q=0.8" if self.navigation else "*/*"

    def encode(self, port: int) -> bytes:
        return f"GET {self.path} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: {self.accept}\r\n\r\n".encode()


# One page's worth of requests, alternating applications: documents, scripts, API calls.
PAGE = (
    Request("/", "web", navigation=True),
    Request("/_next/static/chunks/main-1a2b3c.js", "web", navigation=False),
    Request("/docs/getting-started", "docs", navigation=True),
    Request(f"/{DOCS_ASSET_PREFIX}/_next/static/chunks/page-4d5e6f.js", "docs", navigation=False),
    Request("/api/session", "api", navigation=False),
    Request("/guides/deploy/preview", "docs", navigation=True),
    Request("/graphql", "api", navigation=False),
    Request("/favicon.ico", "web", navigation=False),
    Request("/reference/config", "docs", navigation=False),
    Request("/api/flags/new-nav?user=42", "api", navigation=False),
)
APPS = ("web", "docs", "api")


def body_of(app: str) -> bytes:
    """What the upstream of `app` answers: small and fixed, naming the app so routing can be checked."""
    return f"hello from {app}\n".encode()


class BenchError(Exception):
    """A failure worth one message (no traceback): a process that did not start, a wrong answer."""


# -- upstream server ---------------------------------------------------------------------------------


class UpstreamProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive with one fixed response per request head. The benchmark sends only
    bodiless GETs, so the end of a head is the end of a request."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        answers = self.buffer.count(b"\r\n\r\n")
        if answers:
            self.buffer = self.buffer[self.buffer.rindex(b"\r\n\r\n") + 4 :]
            self.transport.write(self.response * answers)


async def serve_upstream(port: int, app: str) -> None:
    body = body_of(app)
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(response), HOST, port)
    print(f"upstream {app} listening on {HOST}:{port}", flush=True)
    async with server:
        await server.serve_forever()


# -- HTTP client -------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection that sends a request and reads its whole response before the next."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> "Client":
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
        if length is None:
            raise BenchError(f"a response without Content-Length: {head[:200]!r}")
        body = await self.reader.readexactly(int(length[1]))
        return int(head[9:12]), body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@dataclass(frozen=True, slots=True)
class Target:
    """Where a setup listens and which upstream answers each application's requests there."""

    port: int
    serves: Mapping[str, str | None]  # app -> the upstream app that answers; None: the proxy's 502 page

    async def fetch(self, client: Client, request: Request, encoded: bytes) -> None:
        status, body = await client.get(encoded)
        answerer = self.serves[request.app]
        if answerer is None:
            if status != 502:
                raise BenchError(f"GET {request.path}: status {status}, expected the down page's 502")
        elif status != 200 or body != body_of(answerer):
            raise BenchError(f"GET {request.path}: {status} {body[:80]!r}, expected 200 from {answerer}")


# -- measurements: each function takes one sample of one setup ---------------------------------------


async def _throughput_builtin(target: Target, seconds: float) -> float:
    encoded = [request.encode(target.port) for request in PAGE]
    clients = [await Client.open(target.port) for _ in range(CONNECTIONS)]

    async def work(client: Client, offset: int, deadline: float) -> int:
        done = 0
        while time.perf_counter() < deadline:
            index = (offset + done) % len(PAGE)
            await target.fetch(client, PAGE[index], encoded[index])
            done += 1
        return done

    async def warm(client: Client) -> None:
        for request, raw in zip(PAGE, encoded, strict=True):
            await target.fetch(client, request, raw)

    try:
        # The proxy opens its upstream connections on each client connection's first request to each
        # application; that is not what requests/s should measure.
        await asyncio.gather(*(warm(client) for client in clients))
        start = time.perf_counter()
        counts = await asyncio.gather(*(work(client, i, start + seconds) for i, client in enumerate(clients)))
        return sum(counts) / (time.perf_counter() - start)
    finally:
        await asyncio.gather(*(client.close() for client in clients))


WRK_SCRIPT = """
local requests = {%s}
local i = 0
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


def _throughput_wrk(wrk: str, target: Target, seconds: float, workdir: Path) -> float:
    # wrk checks statuses only; the page loads of the same setups check who answered.
    requests = ", ".join(
        f"wrk.format('GET', {json.dumps(request.path)}, "
        f"{{['Host'] = 'localhost:{target.port}', ['Accept'] = {json.dumps(request.accept)}}})"
        for request in PAGE
    )
    script = workdir / "page.lua"
    script.write_text(WRK_SCRIPT % requests)
    argv = [
        wrk,
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(script),
        f"http://{HOST}:{target.port}/",
    ]
    output = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None or "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"wrk failed or got errors:\n{output}")
    return float(rate[1])


def throughput(target: Target, seconds: float, workdir: Path) -> float:
    """Requests per second over CONNECTIONS concurrent keep-alive connections, for `seconds`."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        return _throughput_wrk(wrk, target, seconds, workdir)
    return asyncio.run(_throughput_builtin(target, seconds))


async def _latencies(target: Target, count: int) -> list[float]:
    encoded = [request.encode(target.port) for request in PAGE]
    client = await Client.open(target.port)
    try:
        await target.fetch(client, PAGE[0], encoded[0])
        times = []
        for i in range(count):
            index = i % len(PAGE)
            start = time.perf_counter()
            await target.fetch(client, PAGE[index], encoded[index])
            times.append(time.perf_counter() - start)
        return times
    finally:
        await client.close()


def latencies(target: Target, count: int) -> list[float]:
    """Seconds each of `count` sequential requests on one connection took."""
    return asyncio.run(_latencies(target, count))


async def _page_load(target: Target) -> float:
    encoded = [request.encode(target.port) for request in PAGE]
    start = time.perf_counter()
    client = await Client.open(target.port)
    try:
        for i in range(PAGE_REQUESTS):
            index = i % len(PAGE)
            await target.fetch(client, PAGE[index], encoded[index])
        return time.perf_counter() - start
    finally:
        await client.close()


def page_load(target: Target) -> float:
    """Seconds for one page load: a new connection, then PAGE_REQUESTS requests in sequence on it."""
    return asyncio.run(_page_load(target))


def interleaved[T](targets: Mapping[str, Target], sample: Callable[[Target], T]) -> dict[str, list[T]]:
    """ROUNDS samples of every setup, taken round by round: load from elsewhere on the machine then
    spreads over all setups instead of skewing the one measured at that moment."""
    samples: dict[str, list[T]] = {name: [] for name in targets}
    for _ in range(ROUNDS):
        for name, target in targets.items():
            samples[name].append(sample(target))
    return samples


def measure(targets: Mapping[str, Target], duration: float, workdir: Path) -> dict[str, dict[str, float]]:
    """Every figure of every setup; the down setup only loads pages (it is about the down page)."""
    results: dict[str, dict[str, float]] = {name: {} for name in targets}
    up = {name: target for name, target in targets.items() if name != "down"}
    for name, rates in interleaved(up, lambda target: throughput(target, duration / ROUNDS, workdir)).items():
        results[name]["rps"] = statistics.median(rates)
    for name, runs in interleaved(up, lambda target: latencies(target, LATENCY_REQUESTS // ROUNDS)).items():
        percentiles = statistics.quantiles([seconds for run in runs for seconds in run], n=100)
        results[name]["p50"] = percentiles[49] * 1000
        results[name]["p99"] = percentiles[98] * 1000
    for target in targets.values():
        page_load(target)  # warm-up
    for name, times in interleaved(targets, page_load).items():
        results[name]["page"] = statistics.median(times) * 1000
    return results


# -- processes ---------------------------------------------------------------------------------------


def tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:]) or "    (no output)"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running(name: str, argv: list[str], log: Path, ready: Callable[[], bool]) -> Iterator[None]:
    """Run `argv` (output to `log`) until the block ends; the block starts once `ready()` holds."""
    with log.open("wb") as output:
        # A session of its own: Ctrl-C reaches only the benchmark, which then stops its children in order.
        try:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise BenchError(f"cannot start {name} ({argv[0]}): {error}") from None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if process.poll() is not None:
                raise BenchError(f"{name} exited with status {process.returncode} at start:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name} was not ready after {START_TIMEOUT:g} s:\n{tail(log)}")
            time.sleep(0.05)
        yield
    finally:
        stop(process)


def logged(log: Path, marker: str) -> Callable[[], bool]:
    return lambda: marker in log.read_text(errors="replace")


def answers(port: int) -> Callable[[], bool]:
    async def probe() -> bool:
        try:
            client = await Client.open(port)
        except OSError:
            return False
        try:
            status, _ = await client.get(PAGE[0].encode(port))
            return status == 200
        except (OSError, asyncio.IncompleteReadError):
            return False
        finally:
            await client.close()

    return lambda: asyncio.run(probe())


# -- setups (each yields the Target to measure) ------------------------------------------------------


@contextlib.contextmanager
def upstreams(workdir: Path) -> Iterator[dict[str, int]]:
    """One upstream process per application; yields their ports."""
    ports = dict(zip(APPS, free_ports(len(APPS)), strict=True))
    with contextlib.ExitStack() as stack:
        for app, port in ports.items():
            log = workdir / f"upstream-{app}.log"
            argv = [
                sys.executable,
                str(Path(__file__).resolve()),
                "upstream",
                "--port",
                str(port),
                "--name",
                app,
            ]
            stack.enter_context(running(f"upstream {app}", argv, log, logged(log, "listening")))
        yield ports


@contextlib.contextmanager
def direct(ports: Mapping[str, int]) -> Iterator[Target]:
    """Straight to the default application's upstream: every path is answered by it."""
    yield Target(ports["web"], dict.fromkeys(APPS, "web"))


def mitmdump(workdir: Path, *arguments: str) -> list[str]:
    # A confdir of its own: mitmproxy writes its CA there at start-up, not into the user's home.
    return [str(BIN / "mitmdump"), "--set", f"confdir={workdir / 'mitmproxy'}", *arguments]


@contextlib.contextmanager
def bare_mitmdump(ports: Mapping[str, int], workdir: Path) -> Iterator[Target]:
    """mitmdump in reverse mode to the default application, no addon: the floor mitmproxy sets."""
    [port] = free_ports(1)
    argv = mitmdump(
        workdir,
        "--mode",
        f"reverse:http://{HOST}:{ports['web']}@{port}",
        "--listen-host",
        HOST,
        "--set",
        "connection_strategy=lazy",
        "--set",
        "keep_host_header=true",
        "-q",
    )
    with running("bare mitmdump", argv, workdir / "bare-mitmdump.log", answers(port)):
        yield Target(port, dict.fromkeys(APPS, "web"))


def write_config(path: Path, ports: Mapping[str, int]) -> None:
    applications: dict[str, dict[str, object]] = {
        "web": {"packageName": "web", "development": {"local": f"{HOST}:{ports['web']}", "task": "dev"}}
    }
    for app, patterns in CONFIG_ROUTES.items():
        applications[app] = {
            "packageName": app,
            "development": {"local": f"{HOST}:{ports[app]}"},
            "routing": [{"group": app, "paths": patterns}],
        }
    applications["docs"]["assetPrefix"] = DOCS_ASSET_PREFIX
    path.write_text(json.dumps({"version": "1", "applications": applications}, indent=2))


@contextlib.contextmanager
def addon(ports: Mapping[str, int], workdir: Path, down: str | None = None) -> Iterator[Target]:
    """mitmdump with the addon and the benchmark's config; `down` names an application whose
    upstream refuses connections, so that its requests get the proxy's 502 page."""
    with contextlib.ExitStack() as stack:
        app_ports = dict(ports)
        if down is not None:
            # Bound but never listening: connections are refused, and no other process can take the port.
            closed = stack.enter_context(socket.socket())
            closed.bind((HOST, 0))
            app_ports[down] = closed.getsockname()[1]
        name = f"mitmdump with the addon{f' ({down} down)' if down else ''}"
        config = workdir / f"microfrontends-{down or 'up'}.json"
        write_config(config, app_ports)
        [port] = free_ports(1)
        log = workdir / f"addon-{down or 'up'}.log"
        argv = mitmdump(
            workdir,
            "-s",
            str(ROOT / "addon" / "mfe_router.py"),
            "--set",
            f"mfe_config={config}",
            "--set",
            f"listen_host={HOST}",
            "--set",
            f"listen_port={port}",
            # Not -q: that hides the readiness line too. flow_detail=0 keeps per-request output off.
            "--set",
            "termlog_verbosity=info",
            "--set",
            "flow_detail=0",
        )
        stack.enter_context(running(name, argv, log, logged(log, "mfe-proxy serving")))
        yield Target(port, {app: None if app == down else app for app in APPS})


# -- report ------------------------------------------------------------------------------------------

SETUPS = {
    "direct": "direct",
    "bare": "bare mitmdump",
    "addon": "mfe-proxy addon",
    "down": f"mfe-proxy addon, {DOWN_APP} down",
}
FIGURES = {
    "rps": (f"requests/s, {CONNECTIONS} connections", "{:,.0f}"),
    "p50": ("latency p50, 1 connection (ms)", "{:.3f}"),
    "p99": ("latency p99, 1 connection (ms)", "{:.3f}"),
    "page": (f"page load, {PAGE_REQUESTS} requests (ms)", "{:.1f}"),
}


def table(results: Mapping[str, Mapping[str, float]]) -> str:
    rows = [
        "| measurement | setup | value | vs bare mitmdump | vs direct |",
        "|---|---|--:|--:|--:|",
    ]
    for figure, (label, number) in FIGURES.items():
        for setup, setup_label in SETUPS.items():
            value = results[setup].get(figure)
            if value is None:
                continue
            ratios = [f"{value / results[ref][figure]:.2f}\u00d7" for ref in ("bare", "direct")]
            rows.append(f"| {label} | {setup_label} | {number.format(value)} | {' | '.join(ratios)} |")
            label = ""
    return "\n".join(rows)


def environment(load_generator: str) -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {len(os.sched_getaffinity(0))} CPUs ({cpu}), "
        f"Python {platform.python_version()}, mitmproxy {importlib.metadata.version('mitmproxy')}, "
        f"load generator: {load_generator}."
    )


def doc_lines() -> tuple[list[str], int, int]:
    """The lines of the benchmark document and where its results section's body starts and ends."""
    name = DOC.relative_to(ROOT)
    try:
        lines = DOC.read_text().splitlines()
    except OSError as error:
        raise BenchError(f"cannot read {name}: {error.strerror}") from None
    if RESULTS_HEADING not in lines:
        raise BenchError(f"{name} has no '{RESULTS_HEADING}' line to put the results under")
    start = lines.index(RESULTS_HEADING) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines, start, end


def write_doc(section: str) -> None:
    lines, start, end = doc_lines()
    following = ["", *lines[end:]] if end < len(lines) else []
    DOC.write_text("\n".join([*lines[:start], "", section, *following]) + "\n")


# -- main --------------------------------------------------------------------------------------------


def bench(duration: float) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="mfe-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        ports = stack.enter_context(upstreams(workdir))
        targets = {
            "direct": stack.enter_context(direct(ports)),
            "bare": stack.enter_context(bare_mitmdump(ports, workdir)),
            "addon": stack.enter_context(addon(ports, workdir)),
            "down": stack.enter_context(addon(ports, workdir, down=DOWN_APP)),
        }
        return measure(targets, duration, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"put the results into {DOC.relative_to(ROOT)}")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of the requests/s measurement, per setup"
    )
    commands = parser.add_subparsers(dest="command")
    upstream = commands.add_parser("upstream", help="run one upstream server (the benchmark starts these)")
    upstream.add_argument("--port", type=int, required=True)
    upstream.add_argument("--name", choices=APPS, required=True)
    args = parser.parse_args()

    if args.command == "upstream":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_upstream(args.port, args.name))
        return 0

    load_generator = "wrk" if shutil.which("wrk") else "built-in asyncio client"
    try:
        if args.write:
            doc_lines()  # a document that cannot take the results should fail now, not after the run
        print(f"benchmarking (load generator: {load_generator}) ...", file=sys.stderr)
        start = time.monotonic()
        results = bench(args.duration)
        section = f"{environment(load_generator)}\n\n{table(results)}"
        print(f"done in {time.monotonic() - start:.0f} s\n\n{section}")
        if args.write:
            write_doc(section)
            print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
