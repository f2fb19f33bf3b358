"""The benchmark: what the proxy costs, measured in one run against direct requests and bare mitmdump.

    scripts/bench [--write] [--duration SECONDS] [--no-vercel]
    python scripts/bench.py upstream --port N --name APP    (the upstream server the benchmark starts)

Setups: direct to an upstream; bare mitmdump in reverse mode; bare mitmdump with the launcher's
tuning; mitmdump with the addon (and with one application down); the addon through the launcher
(scripts/mfe-proxy, the recommended way); Vercel's Node proxy when Node.js is installed. Measurements:
HTTP requests/s, latency and page loads, WebSocket round trips and messages/s, the proxy's memory over
a long WebSocket connection, start-up time, and micro-benchmarks of routing and config loading. The
load generator (this process), each proxy and each upstream are separate processes. See
docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.server import ServerProtocol

from mfe_proxy.config import load_config, parse_config
from mfe_proxy.results_doc import ResultsDocError, measured_on, results_section, write_results
from mfe_proxy.router import Router
from mfe_proxy.smoke import free_ports

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
LAUNCHER = ROOT / "scripts" / "mfe-proxy"
CACHE = ROOT / ".cache"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0

CONNECTIONS = 16
LATENCY_REQUESTS = 1000
PAGE_REQUESTS = 300
ROUNDS = 5  # samples per setup and measurement, taken in turns with the other setups
PAGE_ROUNDS = 15  # page loads are short: more of them steady the median
DOWN_APP = "docs"
WS_ROUND_TRIPS = 1000
WS_IN_FLIGHT = 64
WS_SIZES = (100, 16 * 1024)
WS_SMALL = WS_SIZES[0]
WS_MEMORY_MESSAGES = 100_000  # relayed by the proxy: half from the client, each echoed by the upstream
WS_WARM_UP = 1000
START_RUNS = 3
PATTERN_COUNTS = (10, 100, 1000)
CONFIG_APPLICATIONS = 1000
VERCEL_PACKAGE = "@vercel/microfrontends"
VERCEL_VERSION = "2.4.0"  # the version docs/REFERENCE-BEHAVIOUR.md measured

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
# A hot-module-reload socket of a child application, as Next.js opens one per page.
WS_PATH = "/docs/_next/webpack-hmr"
WS_APP = "docs"
APP_HEADER = "x-bench-app"  # the upstream's name in its WebSocket handshake response


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
    """HTTP/1.1 keep-alive with one fixed response per request head, and a WebSocket echo for an
    upgrade request. The benchmark sends only bodiless GETs, so the end of a head is the end of a
    request."""

    def __init__(self, app: str) -> None:
        self.app = app
        body = body_of(app)
        self.response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.websocket: ServerProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if self.websocket is not None:
            self.websocket.receive_data(data)
            self._echo()
            return
        self.buffer += data
        if b"pgrade" not in self.buffer:  # the fast path: no head here asks for a WebSocket
            answers = self.buffer.count(b"\r\n\r\n")
            if answers:
                self.buffer = self.buffer[self.buffer.rindex(b"\r\n\r\n") + 4 :]
                self.transport.write(self.response * answers)
            return
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            if b"\r\nupgrade: websocket" in head.lower():
                self.websocket = ServerProtocol(max_size=None)
                self.buffer = b""
                self.websocket.receive_data(head + b"\r\n\r\n" + rest)
                self._echo()
                return
            self.buffer = rest
            self.transport.write(self.response)

    def _echo(self) -> None:
        assert self.transport is not None and self.websocket is not None
        websocket = self.websocket
        for event in websocket.events_received():
            if isinstance(event, WsRequest):
                response = websocket.accept(event)
                response.headers[APP_HEADER] = self.app
                websocket.send_response(response)
            elif isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    websocket.send_text(event.data, fin=event.fin)
                elif event.opcode is Opcode.BINARY:
                    websocket.send_binary(event.data, fin=event.fin)
                elif event.opcode is Opcode.CONT:
                    websocket.send_continuation(event.data, fin=event.fin)
        for chunk in websocket.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                self.transport.close()  # the closing handshake is done


async def serve_upstream(port: int, app: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(app), HOST, port)
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
    """Where a setup listens, which upstream answers each application's requests there, and the
    process whose memory counts (None for direct)."""

    port: int
    serves: Mapping[str, str | None]  # app -> the upstream app that answers; None: the proxy's 502 page
    pid: int | None

    async def fetch(self, client: Client, request: Request, encoded: bytes) -> None:
        status, body = await client.get(encoded)
        answerer = self.serves[request.app]
        if answerer is None:
            if status != 502:
                raise BenchError(f"GET {request.path}: status {status}, expected the down page's 502")
        elif status != 200 or body != body_of(answerer):
            raise BenchError(f"GET {request.path}: {status} {body[:80]!r}, expected 200 from {answerer}")


# -- HTTP measurements: each function takes one sample of one setup ----------------------------------


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


# -- WebSocket measurements ----------------------------------------------------------------------------


def payload(size: int) -> bytes:
    return bytes(index % 251 for index in range(size))


@contextlib.asynccontextmanager
async def websocket(target: Target) -> Any:
    """A WebSocket to the echo of WS_APP's upstream (checked by the name in its handshake response)."""
    async with ws_connect(
        f"ws://{HOST}:{target.port}{WS_PATH}",
        compression=None,
        proxy=None,
        ping_interval=None,
        max_size=None,
        max_queue=4 * WS_IN_FLIGHT,
        open_timeout=START_TIMEOUT,
    ) as connection:
        assert connection.response is not None
        answerer = connection.response.headers.get(APP_HEADER)
        if answerer != target.serves[WS_APP]:
            raise BenchError(f"WebSocket {WS_PATH} answered by {answerer}, expected {target.serves[WS_APP]}")
        yield connection


async def _echoed(connection: ClientConnection, expected: bytes) -> None:
    reply = await connection.recv()
    if reply != expected:
        raise BenchError(
            f"a WebSocket echo of {len(expected)} bytes came back as {len(reply)} bytes, altered"
        )


async def pump(connection: ClientConnection, message: bytes, count: int) -> None:
    """Send `count` messages with WS_IN_FLIGHT of them unanswered at any time; check every echo."""
    in_flight = min(WS_IN_FLIGHT, count)
    for _ in range(in_flight):
        await connection.send(message)
    for sent in range(in_flight, count + in_flight):
        await _echoed(connection, message)
        if sent < count:
            await connection.send(message)


async def _ws_round_trips(target: Target, count: int) -> list[float]:
    message = payload(WS_SMALL)
    async with websocket(target) as connection:
        await pump(connection, message, 10)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            await connection.send(message)
            await _echoed(connection, message)
            times.append(time.perf_counter() - start)
        return times


def ws_round_trips(target: Target, count: int) -> list[float]:
    """Seconds each of `count` sequential small messages took to come back, on one connection."""
    return asyncio.run(_ws_round_trips(target, count))


async def _ws_rate(target: Target, size: int, seconds: float) -> tuple[float, int]:
    message = payload(size)
    async with websocket(target) as connection:
        await pump(connection, message, WS_IN_FLIGHT)
        for _ in range(WS_IN_FLIGHT):
            await connection.send(message)
        echoed = 0
        start = now = time.perf_counter()
        while now < start + seconds:
            await _echoed(connection, message)
            echoed += 1
            await connection.send(message)
            now = time.perf_counter()
        for _ in range(WS_IN_FLIGHT):
            await _echoed(connection, message)
        return echoed / (now - start), echoed + 2 * WS_IN_FLIGHT


def ws_rate(target: Target, size: int, seconds: float) -> tuple[float, float | None]:
    """Messages of `size` bytes echoed per second on one connection with WS_IN_FLIGHT unanswered, and
    the proxy's CPU time per message it relayed (two per echo)."""
    before = cpu_seconds(target.pid)
    rate, echoed = asyncio.run(_ws_rate(target, size, seconds))
    after = cpu_seconds(target.pid)
    return rate, None if before is None or after is None else (after - before) / (2 * echoed)


def cpu_seconds(pid: int | None) -> float | None:
    """The CPU time (user and system) process `pid` has used so far; None without a process or /proc.
    Counted in clock ticks (10 ms), so only sums over many requests mean anything."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_load_with_cpu(target: Target) -> tuple[float, float | None]:
    """`page_load`, and the proxy's CPU time during it."""
    before = cpu_seconds(target.pid)
    seconds = page_load(target)
    after = cpu_seconds(target.pid)
    return seconds, None if before is None or after is None else after - before


def cpu_per(samples: Sequence[float | None], count: int) -> float | None:
    """Microseconds of CPU per unit over all samples (None when a sample has no CPU figure)."""
    if any(sample is None for sample in samples):
        return None
    return sum(sample for sample in samples if sample is not None) / count * 1e6


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid`, from /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as error:
        raise BenchError(f"cannot read the memory of process {pid}: {error.strerror}") from None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    if found is None:
        raise BenchError(f"no VmRSS in /proc/{pid}/status")
    return int(found[1]) / 1024


async def _ws_memory(target: Target, pid: int, count: int) -> tuple[float, float]:
    message = payload(WS_SMALL)
    async with websocket(target) as connection:
        await pump(connection, message, WS_WARM_UP // 2)
        before = rss_mib(pid)
        await pump(connection, message, count // 2)
        return before, rss_mib(pid)


def ws_memory(target: Target, count: int) -> tuple[float, float]:
    """The proxy's RSS in MiB before and after relaying `count` small messages on one connection
    (half of them from the client, each echoed back by the upstream)."""
    assert target.pid is not None
    return asyncio.run(_ws_memory(target, target.pid, count))


def interleaved[T](
    targets: Mapping[str, Target], sample: Callable[[Target], T], rounds: int = ROUNDS
) -> dict[str, list[T]]:
    """`rounds` samples of every setup, taken round by round: load from elsewhere on the machine then
    spreads over all setups instead of skewing the one measured at that moment."""
    samples: dict[str, list[T]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, target in targets.items():
            samples[name].append(sample(target))
    return samples


def percentiles(runs: Sequence[Sequence[float]]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of every sample in `runs`."""
    cuts = statistics.quantiles([seconds for run in runs for seconds in run], n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def measure(
    targets: Mapping[str, Target], duration: float, workdir: Path, progress: Callable[[str], None]
) -> dict[str, dict[str, float]]:
    """Every figure of every setup; the down setup only loads pages (it is about the down page)."""
    results: dict[str, dict[str, float]] = {name: {} for name in targets}
    up = {name: target for name, target in targets.items() if name != "down"}
    progress("HTTP requests/s")
    for name, rates in interleaved(up, lambda target: throughput(target, duration / ROUNDS, workdir)).items():
        results[name]["rps"] = statistics.median(rates)
    progress("HTTP latency")
    for name, runs in interleaved(up, lambda target: latencies(target, LATENCY_REQUESTS // ROUNDS)).items():
        results[name]["p50"], results[name]["p99"] = percentiles(runs)
    progress("page loads")
    for target in targets.values():
        page_load(target)  # warm-up
    for name, samples in interleaved(targets, page_load_with_cpu, PAGE_ROUNDS).items():
        results[name]["page"] = statistics.median(seconds for seconds, _ in samples) * 1000
        cpu = cpu_per([cpu for _, cpu in samples], len(samples) * PAGE_REQUESTS)
        if cpu is not None:
            results[name]["cpu_request"] = cpu
    # Before the other WebSocket measurements: memory they leave behind would hide this one's growth.
    progress(f"proxy memory over {WS_MEMORY_MESSAGES:,} WebSocket messages")
    for name, target in up.items():
        if target.pid is not None:
            before, after = ws_memory(target, WS_MEMORY_MESSAGES)
            results[name]["rss_before"], results[name]["rss_growth"] = before, after - before
    progress("WebSocket round trips")
    for name, runs in interleaved(
        up, lambda target: ws_round_trips(target, WS_ROUND_TRIPS // ROUNDS)
    ).items():
        results[name]["ws_p50"], results[name]["ws_p99"] = percentiles(runs)
    for size in WS_SIZES:
        progress(f"WebSocket messages/s, {size} B")
        seconds = duration / ROUNDS
        for name, samples in interleaved(
            up, lambda target, size=size, seconds=seconds: ws_rate(target, size, seconds)
        ).items():
            results[name][f"ws_rate_{size}"] = statistics.median(rate for rate, _ in samples)
            cpus = [cpu for _, cpu in samples]
            if size == WS_SMALL and None not in cpus:
                results[name]["cpu_message"] = statistics.mean(cpu for cpu in cpus if cpu is not None) * 1e6
    return results


# -- micro-benchmarks of the pure core ---------------------------------------------------------------


def pattern_config(count: int) -> bytes:
    """A valid config with `count` path patterns over (up to) ten child applications: each pattern under a
    literal first segment of its own (the common case, which the router's index finds directly),
    plus two under a parameter (`/:lang(en|fr|de)/...`), which every lookup has to test."""
    children = [f"app{index}" for index in range(min(10, count - 2))]
    paths: dict[str, list[str]] = {name: [] for name in children}
    forms = ("/s{k}", "/s{k}/:slug", "/s{k}/:path*", "/s{k}/items/:id/edit")
    for k in range(count - 2):
        paths[children[k % len(children)]].append(forms[k % len(forms)].format(k=k))
    paths[children[0]].append("/:lang(en|fr|de)/guides/:path*")
    paths[children[1]].append("/:lang(en|fr|de)/blog/:slug")
    applications: dict[str, Any] = {"web": {"development": {"local": 3000}}}
    for index, name in enumerate(children):
        applications[name] = {"development": {"local": 4000 + index}, "routing": [{"paths": paths[name]}]}
    return json.dumps({"version": "1", "applications": applications}).encode()


def lookup_paths(count: int) -> list[str]:
    """Request paths for `pattern_config(count)`: matches spread over the whole pattern list, the
    parameter-led ones, and paths that only the default application serves."""
    forms = ("/s{k}", "/s{k}/intro", "/s{k}/a/b/c", "/s{k}/items/42/edit")
    step = max(1, (count - 2) // 40)
    paths = [forms[k % len(forms)].format(k=k) for k in range(0, count - 2, step)]
    paths += ["/fr/guides/setup", "/de/blog/launch", "/", "/products/shoes", "/s/unknown"]
    return paths


def route_lookup_us(count: int, repeat: int = 5) -> float:
    """Microseconds per routing decision (`Router.route`) with `count` path patterns; the best of
    `repeat` passes, since the machine's other load only ever adds time."""
    router = Router(parse_config(pattern_config(count), f"{count}-patterns.json"))
    paths = lookup_paths(count)
    headers: dict[str, str] = {}
    calls = max(1, 20_000 // len(paths))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            for path in paths:
                router.route("GET", path, headers)
        best = min(best, (time.perf_counter() - start) / (calls * len(paths)))
    return best * 1e6


def applications_config(count: int) -> bytes:
    """A config of `count` applications, each child with two path patterns."""
    applications: dict[str, Any] = {"web": {"development": {"local": 3000}}}
    for index in range(count - 1):
        applications[f"app{index}"] = {
            "development": {"local": 4000 + index, "fallback": f"app{index}.example.com"},
            "routing": [{"paths": [f"/a{index}", f"/a{index}/:path*"]}],
        }
    return json.dumps({"version": "1", "applications": applications}, indent=2).encode()


def config_load_ms(count: int, workdir: Path, repeat: int = 3) -> float:
    """Milliseconds to load (read, parse, validate) a config of `count` applications; best of `repeat`."""
    path = workdir / f"microfrontends-{count}-applications.json"
    path.write_bytes(applications_config(count))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        load_config(path)
        best = min(best, time.perf_counter() - start)
    return best * 1000


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
def running(
    name: str, argv: list[str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
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
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
        yield process
    finally:
        stop(process)


def logged(log: Path, marker: str) -> Callable[[], bool]:
    return lambda: marker in log.read_text(errors="replace")


async def _probe(port: int, request: Request, expected: str) -> bool:
    try:
        client = await Client.open(port)
    except OSError:
        return False
    try:
        status, body = await client.get(request.encode(port))
        return status == 200 and body == body_of(expected)
    except (OSError, asyncio.IncompleteReadError):
        return False
    finally:
        await client.close()


def answers(port: int, request: Request = PAGE[0], expected: str = "web") -> Callable[[], bool]:
    """Whether `request` to `port` gets the answer of `expected`'s upstream right now."""
    return lambda: asyncio.run(_probe(port, request, expected))


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
    yield Target(ports["web"], dict.fromkeys(APPS, "web"), None)


def mitmdump(workdir: Path, *arguments: str) -> list[str]:
    # A confdir of its own: mitmproxy writes its CA there at start-up, not into the user's home.
    return [str(BIN / "mitmdump"), "--set", f"confdir={workdir / 'mitmproxy'}", *arguments]


def bare_arguments(ports: Mapping[str, int], port: int) -> list[str]:
    """bare mitmdump's: reverse mode to the default application, lazy connections, the client's Host."""
    return [
        "--mode",
        f"reverse:http://{HOST}:{ports['web']}@{port}",
        "--listen-host",
        HOST,
        "--set",
        "connection_strategy=lazy",
        "--set",
        "keep_host_header=true",
        "-q",
    ]


# mitmdump with what the launcher changes in mitmproxy (-O, the event loop, the addon manager) and no
# addon: what the addon costs on top of mitmproxy as the launcher runs it.
TUNED_MITMDUMP = """
import sys
sys.path.insert(0, sys.argv.pop(1))
import mfe_launcher
from mitmproxy.tools import cmdline, main
mfe_launcher.use_uvloop()
main.run(mfe_launcher.LaunchedDumpMaster, cmdline.mitmdump, sys.argv[1:])
"""


@contextlib.contextmanager
def bare_mitmdump(ports: Mapping[str, int], workdir: Path, tuned: bool = False) -> Iterator[Target]:
    """mitmdump in reverse mode to the default application, no addon: the floor mitmproxy sets
    (with the launcher's tuning if `tuned`)."""
    [port] = free_ports(1)
    arguments = ["--set", f"confdir={workdir / 'mitmproxy'}", *bare_arguments(ports, port)]
    if tuned:
        argv = [sys.executable, "-O", "-c", TUNED_MITMDUMP, str(ROOT / "addon"), *arguments]
        name = "tuned mitmdump"
    else:
        argv, name = [str(BIN / "mitmdump"), *arguments], "bare mitmdump"
    with running(name, argv, workdir / f"{name.replace(' ', '-')}.log", answers(port)) as process:
        yield Target(port, dict.fromkeys(APPS, "web"), process.pid)


def write_config(
    path: Path, ports: Mapping[str, int], proxy_port: int | None = None, for_vercel: bool = False
) -> None:
    """The benchmark's config (3 applications, CONFIG_ROUTES). Vercel's proxy requires a fallback for
    the default application (never used: every application is up) and the asset prefix among the
    paths (which routes the same requests)."""
    web: dict[str, Any] = {
        "packageName": "web",
        "development": {"local": f"{HOST}:{ports['web']}", "task": "dev"},
    }
    if for_vercel:
        web["development"]["fallback"] = "web.example.com"
    applications: dict[str, dict[str, Any]] = {"web": web}
    for app, patterns in CONFIG_ROUTES.items():
        applications[app] = {
            "packageName": app,
            "development": {"local": f"{HOST}:{ports[app]}"},
            "routing": [{"group": app, "paths": patterns}],
        }
    applications["docs"]["assetPrefix"] = DOCS_ASSET_PREFIX
    if for_vercel:
        applications["docs"]["routing"][0]["paths"] = [*CONFIG_ROUTES["docs"], f"/{DOCS_ASSET_PREFIX}/:path*"]
    document: dict[str, Any] = {"version": "1", "applications": applications}
    if proxy_port is not None:
        document["options"] = {"localProxyPort": proxy_port}
    path.write_text(json.dumps(document, indent=2))


def addon_argv(workdir: Path, config: Path, port: int) -> list[str]:
    return mitmdump(
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


def launcher_argv(workdir: Path, config: Path) -> list[str]:
    """The recommended way: scripts/mfe-proxy with the config (which names the port) and nothing else."""
    return [str(LAUNCHER), "--set", f"confdir={workdir / 'mitmproxy'}", "--set", f"mfe_config={config}"]


@contextlib.contextmanager
def addon(
    ports: Mapping[str, int], workdir: Path, down: str | None = None, launcher: bool = False
) -> Iterator[Target]:
    """mitmdump with the addon and the benchmark's config, or the launcher with it; `down` names an
    application whose upstream refuses connections, so that its requests get the proxy's 502 page."""
    with contextlib.ExitStack() as stack:
        app_ports = dict(ports)
        if down is not None:
            # Bound but never listening: connections are refused, and no other process can take the port.
            closed = stack.enter_context(socket.socket())
            closed.bind((HOST, 0))
            app_ports[down] = closed.getsockname()[1]
        key = f"{'launcher' if launcher else 'addon'}-{down or 'up'}"
        [port] = free_ports(1)
        config = workdir / f"microfrontends-{key}.json"
        if launcher:
            write_config(config, app_ports, proxy_port=port)
            name, argv = "the launcher", launcher_argv(workdir, config)
        else:
            write_config(config, app_ports)
            name, argv = (
                f"mitmdump with the addon{f' ({down} down)' if down else ''}",
                addon_argv(workdir, config, port),
            )
        log = workdir / f"{key}.log"
        process = stack.enter_context(running(name, argv, log, logged(log, "mfe-proxy serving")))
        yield Target(port, {app: None if app == down else app for app in APPS}, process.pid)


# Vercel's proxy listens on every interface; this preload keeps it on loopback.
LOOPBACK_PRELOAD = """
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === "number") {
    return listen.call(this, port, "127.0.0.1", ...rest.filter((arg) => typeof arg === "function"));
  }
  return listen.call(this, port, ...rest);
};
"""


def vercel_cli(progress: Callable[[str], None]) -> Path | None:
    """Vercel's proxy CLI, installed from the npm registry into the git-ignored .cache/ on first use;
    None (and why) when Node.js or npm is missing or the install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        progress("Vercel's proxy skipped: node or npm is not on PATH")
        return None
    prefix = CACHE / "vercel-mfe"
    package = prefix / "node_modules" / VERCEL_PACKAGE
    try:
        installed = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        installed = None
    if installed != VERCEL_VERSION:
        progress(f"installing {VERCEL_PACKAGE}@{VERCEL_VERSION} into {prefix.relative_to(ROOT)}")
        CACHE.mkdir(exist_ok=True)
        (CACHE / ".gitignore").write_text("*\n")  # the cache never reaches git
        prefix.mkdir(exist_ok=True)
        command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"]
        result = subprocess.run(
            [*command, "--save-exact", f"{VERCEL_PACKAGE}@{VERCEL_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            progress(f"Vercel's proxy skipped: npm install failed:\n{result.stderr.strip()}")
            return None
    return package / "dist" / "bin" / "cli.cjs"


def vercel_argv(cli: Path, workdir: Path, config: Path, port: int) -> list[str]:
    preload = workdir / "loopback.cjs"
    preload.write_text(LOOPBACK_PRELOAD)
    return [
        "node",
        "-r",
        str(preload),
        str(cli),
        "proxy",
        str(config),
        "--port",
        str(port),
        "--local-apps",
        *APPS,
    ]


@contextlib.contextmanager
def vercel(cli: Path, ports: Mapping[str, int], workdir: Path) -> Iterator[Target]:
    """Vercel's `microfrontends proxy` (Node.js) with the same config, every application local."""
    [port] = free_ports(1)
    config = workdir / "microfrontends-vercel.json"
    write_config(config, ports, for_vercel=True)
    argv = vercel_argv(cli, workdir, config, port)
    with running("Vercel's proxy", argv, workdir / "vercel.log", answers(port, PAGE[2], "docs")) as process:
        yield Target(port, {app: app for app in APPS}, process.pid)


# -- start-up ------------------------------------------------------------------------------------------


def first_response_s(name: str, argv: list[str], port: int, expected: str, log: Path) -> float:
    """Seconds from starting `argv` to the first routed answer on `port` (a docs page, answered by
    `expected`'s upstream); the process is stopped afterwards."""
    probe = answers(port, PAGE[2], expected)
    start = time.perf_counter()
    with running(name, argv, log, probe):
        return time.perf_counter() - start


def start_times(
    ports: Mapping[str, int], workdir: Path, cli: Path | None, progress: Callable[[str], None]
) -> dict[str, float]:
    """The median of START_RUNS start-ups of each proxy setup, taken in turns."""
    progress("start to first routed response")

    def bare(run: int) -> float:
        [port] = free_ports(1)
        argv = mitmdump(workdir, *bare_arguments(ports, port))
        return first_response_s("bare mitmdump", argv, port, "web", workdir / f"start-bare-{run}.log")

    def plain_addon(run: int) -> float:
        [port] = free_ports(1)
        config = workdir / "microfrontends-start.json"
        write_config(config, ports)
        argv = addon_argv(workdir, config, port)
        return first_response_s(
            "mitmdump with the addon", argv, port, "docs", workdir / f"start-addon-{run}.log"
        )

    def launched(run: int) -> float:
        [port] = free_ports(1)
        config = workdir / f"microfrontends-start-{port}.json"
        write_config(config, ports, proxy_port=port)
        argv = launcher_argv(workdir, config)
        return first_response_s("the launcher", argv, port, "docs", workdir / f"start-launcher-{run}.log")

    starts: dict[str, Callable[[int], float]] = {"bare": bare, "addon": plain_addon, "launcher": launched}
    if cli is not None:

        def node(run: int) -> float:
            [port] = free_ports(1)
            config = workdir / "microfrontends-vercel.json"
            write_config(config, ports, for_vercel=True)
            argv = vercel_argv(cli, workdir, config, port)
            return first_response_s("Vercel's proxy", argv, port, "docs", workdir / f"start-vercel-{run}.log")

        starts["vercel"] = node
    samples: dict[str, list[float]] = {name: [] for name in starts}
    for run in range(START_RUNS):
        for name, start in starts.items():
            samples[name].append(start(run))
    return {name: statistics.median(times) for name, times in samples.items()}


# -- report ------------------------------------------------------------------------------------------

SETUPS = {
    "direct": "direct",
    "bare": "bare mitmdump",
    "tuned": "bare mitmdump, launcher's tuning",
    "addon": "mfe-proxy addon (mitmdump -s)",
    "down": f"mfe-proxy addon, {DOWN_APP} down",
    "launcher": "mfe-proxy, scripts/mfe-proxy",
    "vercel": f"Vercel's proxy {VERCEL_VERSION} (Node.js)",
}
FIGURES = {
    "rps": (f"HTTP requests/s, {CONNECTIONS} connections", "{:,.0f}"),
    "p50": ("HTTP latency p50, 1 connection (ms)", "{:.3f}"),
    "p99": ("HTTP latency p99, 1 connection (ms)", "{:.3f}"),
    "page": (f"page load, {PAGE_REQUESTS} requests (ms)", "{:.1f}"),
    "cpu_request": ("proxy CPU per request, in the page loads (\u00b5s)", "{:.0f}"),
    "ws_p50": (f"WebSocket round trip p50, {WS_SMALL} B (ms)", "{:.3f}"),
    "ws_p99": (f"WebSocket round trip p99, {WS_SMALL} B (ms)", "{:.3f}"),
    **{
        f"ws_rate_{size}": (f"WebSocket messages/s, {size:,} B, {WS_IN_FLIGHT} in flight", "{:,.0f}")
        for size in WS_SIZES
    },
    "cpu_message": (f"proxy CPU per WebSocket message relayed, {WS_SMALL} B (\u00b5s)", "{:.0f}"),
    "rss_before": (f"proxy RSS before {WS_MEMORY_MESSAGES:,} WebSocket messages (MiB)", "{:.1f}"),
    "rss_growth": (
        f"proxy RSS growth over {WS_MEMORY_MESSAGES:,} WebSocket messages, half each way (MiB)",
        "{:+.1f}",
    ),
    "start": ("start to first routed response (s)", "{:.2f}"),
}


def ratio(value: float, reference: float | None) -> str:
    """`value` over `reference` (`1.23` and a multiplication sign), or a dash when there is no reference."""
    if reference is None or reference == 0:
        return "\u2014"
    return f"{value / reference:.2f}\u00d7"


def table(results: Mapping[str, Mapping[str, float]]) -> str:
    rows = [
        "| measurement | setup | value | vs bare mitmdump | vs direct |",
        "|---|---|--:|--:|--:|",
    ]
    for figure, (label, number) in FIGURES.items():
        for setup, setup_label in SETUPS.items():
            value = results.get(setup, {}).get(figure)
            if value is None:
                continue
            ratios = [ratio(value, results.get(ref, {}).get(figure)) for ref in ("bare", "direct")]
            rows.append(f"| {label} | {setup_label} | {number.format(value)} | {' | '.join(ratios)} |")
            label = ""
    return "\n".join(rows)


def micro_table(routes: Mapping[int, float], config_ms: float) -> str:
    smallest = routes[min(routes)]
    rows = ["| measurement | value | vs 10 patterns |", "|---|--:|--:|"]
    rows += [
        f"| route lookup, {count:,} path patterns (\u00b5s) | {us:.2f} | {ratio(us, smallest)} |"
        for count, us in routes.items()
    ]
    rows.append(f"| config load, {CONFIG_APPLICATIONS:,} applications (ms) | {config_ms:.0f} | \u2014 |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Check:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def _compare(
    results: Mapping[str, Mapping[str, float]],
    setup: str,
    reference: str,
    figure: str,
    bound: float,
    higher: bool,
) -> tuple[str, bool | None]:
    value, base = results.get(setup, {}).get(figure), results.get(reference, {}).get(figure)
    if value is None or base is None:
        return "not measured", None
    share = value / base
    # Three decimals: two would show 0.969 as 0.97 next to "not met".
    return f"{share:.3f}\u00d7", share >= bound if higher else share <= bound


def checks(results: Mapping[str, Mapping[str, float]], routes: Mapping[int, float]) -> list[Check]:
    """The issue's targets, each with what this run measured and whether it holds."""
    found: list[Check] = []
    pairs = (
        ("addon", "bare", "addon vs bare mitmdump"),
        ("launcher", "tuned", "launcher vs its bare mitmdump"),
    )
    for setup, reference, label in pairs:
        for figure, bound, higher, what in (
            ("rps", 0.97, True, "HTTP requests/s >= 0.97\u00d7"),
            ("page", 1.03, False, "page load time <= 1.03\u00d7"),
            *(
                (f"ws_rate_{size}", 0.97, True, f"WebSocket messages/s ({size:,} B) >= 0.97\u00d7")
                for size in WS_SIZES
            ),
            ("p99", 1.05, False, "HTTP p99 latency <= 1.05\u00d7"),
        ):
            measured, met = _compare(results, setup, reference, figure, bound, higher)
            found.append(Check(f"{label}: {what}", measured, met))
    for setup in ("addon", "launcher"):
        growth = results.get(setup, {}).get("rss_growth")
        found.append(
            Check(
                f"{SETUPS[setup]}: RSS growth over {WS_MEMORY_MESSAGES:,} WebSocket messages < 5 MiB",
                "not measured" if growth is None else f"{growth:+.1f} MiB",
                None if growth is None else growth < 5,
            )
        )
    largest, smallest = routes[max(routes)], routes[min(routes)]
    found.append(
        Check(
            f"route lookup at {max(routes):,} patterns < 10 \u00b5s", f"{largest:.2f} \u00b5s", largest < 10
        )
    )
    growth = max(routes) / min(routes)
    found.append(
        Check(
            f"route lookup grows sub-linearly from {min(routes)} to {max(routes):,} patterns "
            f"(< {growth:.0f}\u00d7)",
            f"{largest / smallest:.2f}\u00d7",
            largest / smallest < growth,
        )
    )
    for setup in ("addon", "launcher"):
        start = results.get(setup, {}).get("start")
        found.append(
            Check(
                f"{SETUPS[setup]}: start to first routed response < 2 s",
                "not measured" if start is None else f"{start:.2f} s",
                None if start is None else start < 2,
            )
        )
    measured, met = _compare(results, "bare", "launcher", "page", 1.3, True)
    found.append(Check("launcher serves page loads >= 1.3\u00d7 faster than bare mitmdump", measured, met))
    if "vercel" in results:
        # No target, a gap to report: Vercel's page load time over the launcher's (above 1: ours is faster).
        measured, _ = _compare(results, "vercel", "launcher", "page", 1.0, True)
        found.append(
            Check("the gap to Vercel's proxy: its page load time over the launcher's", measured, None)
        )
    return found


def checks_table(found: Sequence[Check]) -> str:
    marks = {True: "met", False: "**not met**", None: "\u2014"}
    rows = ["| target | measured | |", "|---|--:|---|"]
    rows += [f"| {check.target} | {check.measured} | {marks[check.met]} |" for check in found]
    return "\n".join(rows)


def load_average() -> str:
    with contextlib.suppress(OSError, IndexError):
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def environment(load_generator: str, load_before: str, node: str | None) -> str:
    return (
        f"{measured_on()}, "
        f"{f'Node.js {node}, ' if node else ''}load generator: {load_generator}. "
        f"Load average (1, 5, 15 min) before the run: {load_before}; after: {load_average()}."
    )


# -- main --------------------------------------------------------------------------------------------


def bench(duration: float, with_vercel: bool, progress: Callable[[str], None]) -> tuple[str, str]:
    """Run everything; the report's sections (figures, then targets)."""
    with tempfile.TemporaryDirectory(prefix="mfe-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        progress("micro-benchmarks: route lookup, config load")
        routes = {count: route_lookup_us(count) for count in PATTERN_COUNTS}
        config_ms = config_load_ms(CONFIG_APPLICATIONS, workdir)
        cli = vercel_cli(progress) if with_vercel else None
        progress("starting the setups")
        ports = stack.enter_context(upstreams(workdir))
        targets = {
            "direct": stack.enter_context(direct(ports)),
            "bare": stack.enter_context(bare_mitmdump(ports, workdir)),
            "tuned": stack.enter_context(bare_mitmdump(ports, workdir, tuned=True)),
            "addon": stack.enter_context(addon(ports, workdir)),
            "down": stack.enter_context(addon(ports, workdir, down=DOWN_APP)),
            "launcher": stack.enter_context(addon(ports, workdir, launcher=True)),
        }
        if cli is not None:
            targets["vercel"] = stack.enter_context(vercel(cli, ports, workdir))
        results = measure(targets, duration, workdir, progress)
        for name, seconds in start_times(ports, workdir, cli, progress).items():
            results[name]["start"] = seconds
    figures = f"{table(results)}\n\nPure core, in this process:\n\n{micro_table(routes, config_ms)}"
    return figures, checks_table(checks(results, routes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"put the results into {DOC.relative_to(ROOT)}")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of each rate measurement, per setup (default 5)"
    )
    parser.add_argument("--no-vercel", action="store_true", help="leave Vercel's Node.js proxy out")
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
    load_before = load_average()
    started = time.monotonic()

    def progress(step: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {step}", file=sys.stderr, flush=True)

    try:
        if args.write:
            results_section(DOC)  # a document that cannot take the results should fail now, not after the run
        progress(f"benchmarking (load generator: {load_generator}; load average {load_before})")
        figures, targets = bench(args.duration, not args.no_vercel, progress)
        node = None
        if not args.no_vercel and shutil.which("node"):
            node = subprocess.run(
                ["node", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
        section = f"{environment(load_generator, load_before, node)}\n\n{figures}\n\nTargets:\n\n{targets}"
        print(f"done in {time.monotonic() - started:.0f} s\n\n{section}")
        if args.write:
            write_results(DOC, section)
            print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    except (BenchError, ResultsDocError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
