"""The load generators and what they measure, one sample of one setup per call: HTTP requests/s
(through wrk when installed, else an asyncio client), latency and page loads, WebSocket round trips,
messages/s and the proxy's memory, and the proxy's CPU time from /proc."""

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from mfe_tools.bench.workload import (
    APP_HEADER,
    CONNECTIONS,
    HOST,
    PAGE,
    PAGE_REQUESTS,
    START_TIMEOUT,
    WS_APP,
    WS_IN_FLIGHT,
    WS_PATH,
    WS_SMALL,
    WS_WARM_UP,
    BenchError,
    Request,
    body_of,
)

# -- HTTP client -------------------------------------------------------------------------------------

_CLOSING = re.compile(rb"\r\nconnection:\s*close\r\n", re.IGNORECASE)


class Client:
    """One keep-alive connection that sends a request and reads its whole response before the next."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.reader = reader
        self.writer = writer
        self.ended = False  # the server said it closes the connection

    @classmethod
    async def open(cls, port: int) -> "Client":
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(port, reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        if self.ended:
            # As a browser does after `Connection: close` (nginx ends a connection after
            # `keepalive_requests`): the next request on a new connection.
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.ended = False
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
        if length is None:
            raise BenchError(f"a response without Content-Length: {head[:200]!r}")
        body = await self.reader.readexactly(int(length[1]))
        self.ended = _CLOSING.search(head) is not None
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
