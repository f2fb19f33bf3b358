"""Load through the real addon in a real mitmdump, on loopback, in bounded loops: many WebSocket
connections at once, many keep-alive HTTP clients, a million messages over one connection, ten thousand
connections opened and closed. Every message and response is checked (content, type, order, which
application answered); the proxy's memory and file descriptors are read from /proc before and after.

The load generator is this process (asyncio: raw streams for HTTP, `websockets` for WebSocket); each
application is a process of its own (`app_process.py`), so that neither shares this process's CPU. The
proxy runs with `flow_detail=0`: mitmdump would otherwise print a line per request and per WebSocket
message, which measures the terminal, not the proxy (its own log lines, `ws#N closed` and the summary,
still print). Tests marked `reliability` take longer than the default suite should; scripts/reliability
runs them and writes their figures into docs/RELIABILITY.md."""

import asyncio
import json
import random
import resource
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from e2e.figures import record
from e2e.harness import Watched, size
from e2e.procinfo import MIB, open_fds, peak_rss, rss
from helpers import DOCS_AND_BELOW, two_apps

TIMEOUT = 30  # for any one step under load; a stuck connection fails the test instead of hanging it
QUIET = ("--set", "flow_detail=0")
APPS = ("web", "docs")
PATH_PREFIX = {"web": "", "docs": "/docs"}


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The load generator runs on uvloop (a dependency of the project): the client must not be the
    bottleneck."""
    return uvloop.run(coroutine)


def ensure_fd_limit(needed: int) -> None:
    """Raise this process's soft limit on open files to `needed` when it is lower (1024 is common): the
    proxy started after this inherits it. On this project's machines the limit is already far higher,
    and then nothing changes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def proxied(watched, app_process) -> Callable[..., Watched]:
    """`proxied(*args) -> Watched`: the applications `web` and `docs`, each a process, and a proxy for
    them with the leak probe and `flow_detail=0`."""

    def start(*args: str) -> Watched:
        web, docs = app_process("web"), app_process("docs")
        return watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW), *QUIET, *args)

    return start


def ws_url(proxy, app: str, name: str) -> str:
    return f"ws://127.0.0.1:{proxy.port}{PATH_PREFIX[app]}/hmr/{name}"


async def ws_open(url: str) -> ClientConnection:
    return await connect(
        url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None, max_size=None, max_queue=None
    )


def message(rng: random.Random, connection: int, index: int) -> str | bytes:
    """A message that can only be the echo of itself: it names its connection and index, has a random
    length and, every fifth time, is binary."""
    text = f"c{connection}-m{index}-" + "x" * rng.randrange(200)
    return text.encode() + rng.randbytes(rng.randrange(64)) if index % 5 == 4 else text


async def echo_checked(ws: ClientConnection, messages: list[str | bytes], window: int) -> int:
    """Send `messages` `window` at a time, checking each echo for content, type and order."""
    for start in range(0, len(messages), window):
        batch = messages[start : start + window]
        for item in batch:
            await ws.send(item)
        for index, item in enumerate(batch, start):
            echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
            assert type(echo) is type(item) and echo == item, f"message {index}: sent {item!r}, got {echo!r}"
    return len(messages)


def summary_line(app: str, requests: int, websockets: int, messages: list[str | bytes]) -> str:
    count = f"{len(messages)} {'message' if len(messages) == 1 else 'messages'} {size(messages)} B"
    return (
        f"  {app}: {requests} {'request' if requests == 1 else 'requests'}, {websockets} WebSocket "
        f"{'connection' if websockets == 1 else 'connections'}; client->app {count}, app->client {count}"
    )


class Sampler:
    """Samples the proxy's open fds every `interval` seconds while a load runs, for their peak (the
    peak of memory needs no sampling: the kernel keeps it, `peak_rss`)."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.fds_peak = open_fds(pid)

    async def run(self) -> None:
        while True:
            self.fds_peak = max(self.fds_peak, open_fds(self.pid))
            await asyncio.sleep(self.interval)

    async def around(self, work: Awaitable[Any]) -> Any:
        task = asyncio.ensure_future(self.run())
        try:
            return await work
        finally:
            task.cancel()


# -- many WebSockets at once -------------------------------------------------------------------------

WS_CONNECTIONS = 500
WS_MESSAGES = 200


@pytest.mark.reliability
@pytest.mark.timeout(300)
def test_500_websockets_over_two_apps_200_messages_each_every_echo_checked(proxied):
    ensure_fd_limit(4 * WS_CONNECTIONS + 256)
    watched = proxied()
    proxy = watched.proxy
    rss_before = rss(proxy.pid)
    rng = random.Random(500)
    sent = [[message(rng, c, i) for i in range(WS_MESSAGES)] for c in range(WS_CONNECTIONS)]
    sampler = Sampler(proxy.pid)
    held: list[int] = []

    async def load() -> None:
        opening = asyncio.Semaphore(50)  # handshakes at a time: the listen backlog is finite

        async def open_one(c: int) -> ClientConnection:
            async with opening:
                return await ws_open(ws_url(proxy, APPS[c % 2], str(c)))

        sockets = await asyncio.gather(*(open_one(c) for c in range(WS_CONNECTIONS)))
        held.append(len(sockets))  # all open at once before the first message
        await asyncio.gather(*(echo_checked(ws, sent[c], 20) for c, ws in enumerate(sockets)))
        await asyncio.gather(*(ws.close() for ws in sockets))

    started = time.monotonic()
    run(sampler.around(load()))
    seconds = time.monotonic() - started
    checked = sum(len(messages) for messages in sent)
    deadline = time.monotonic() + TIMEOUT
    while proxy.output().count(" closed: ") < WS_CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.1)
    for app in APPS:
        closed = proxy.output().count(f" closed: {app}, 1000 ")
        assert closed == WS_CONNECTIONS // 2, f"{closed} closed lines for {app}"
    rss_after = rss(proxy.pid)
    rss_peak = peak_rss(proxy.pid)
    fds_after = watched.assert_nothing_left()
    by_app = {app: [m for c in range(WS_CONNECTIONS) if APPS[c % 2] == app for m in sent[c]] for app in APPS}
    assert watched.summary()[:2] == [
        summary_line(app, WS_CONNECTIONS // 2, WS_CONNECTIONS // 2, by_app[app]) for app in APPS
    ]
    record(
        "500 WebSockets",
        f"{WS_CONNECTIONS} WebSocket connections open at once over 2 applications, {WS_MESSAGES} messages "
        "each (text and binary, 0.2 KB on average), every echo checked for content, type and order",
        connections=held[0],
        messages=checked,
        relayed=2 * checked,
        fds_before=watched.fds,
        fds_peak=sampler.fds_peak,
        fds_after=fds_after,
        rss_before=rss_before,
        rss_after=rss_after,
        rss_peak=rss_peak,
        seconds=seconds,
    )


# -- many keep-alive HTTP clients ---------------------------------------------------------------------

HTTP_CLIENTS = 200
HTTP_REQUESTS = 20


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, target: str) -> dict:
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status = head[9:12]
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
    assert status == b"200", (target, head, body)
    return json.loads(body)


def test_200_keep_alive_http_clients_alternating_apps_each_answered_by_its_app(proxied):
    ensure_fd_limit(4 * HTTP_CLIENTS + 256)
    watched = proxied()
    proxy = watched.proxy
    host = f"127.0.0.1:{proxy.port}"
    sampler = Sampler(proxy.pid, 0.2)

    async def client(c: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            for r in range(HTTP_REQUESTS):
                app = APPS[(c + r) % 2]
                target = f"{PATH_PREFIX[app]}/page/{c}/{r}?q={c * r}"
                assert await get(reader, writer, host, target) == {"app": app, "path": target}
        finally:
            writer.close()
            await writer.wait_closed()
        return HTTP_REQUESTS

    async def load() -> int:
        ready = asyncio.Event()

        async def started(c: int) -> int:
            await ready.wait()
            return await client(c)

        tasks = [asyncio.ensure_future(started(c)) for c in range(HTTP_CLIENTS)]
        ready.set()
        return sum(await asyncio.gather(*tasks))

    begun = time.monotonic()
    answered = run(sampler.around(load()))
    seconds = time.monotonic() - begun
    assert answered == HTTP_CLIENTS * HTTP_REQUESTS
    fds_after = watched.assert_nothing_left()
    summary = watched.summary()
    half = HTTP_CLIENTS * HTTP_REQUESTS // 2
    assert [line.split(";")[0] for line in summary[:2]] == [
        f"  {app}: {half} requests, 0 WebSocket connections" for app in APPS
    ]
    record(
        "200 keep-alive HTTP clients",
        f"{HTTP_CLIENTS} concurrent keep-alive HTTP clients, {HTTP_REQUESTS} requests each alternating "
        "between 2 applications, every response checked for status and answering application",
        connections=HTTP_CLIENTS,
        requests=answered,
        fds_before=watched.fds,
        fds_peak=sampler.fds_peak,
        fds_after=fds_after,
        seconds=seconds,
    )


# -- one long WebSocket --------------------------------------------------------------------------------

LONG_MESSAGES = 500_000  # each echoed: 1,000,000 messages through the proxy
RSS_GROWTH_LIMIT = 20 * MIB


@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_a_million_messages_over_one_websocket_grow_the_proxy_by_less_than_20_mib(proxied):
    watched = proxied()
    proxy = watched.proxy
    samples: list[int] = []

    async def load() -> int:
        ws = await ws_open(ws_url(proxy, "docs", "long"))
        # After the handshake: the connection's own buffers are part of the baseline.
        samples.append(rss(proxy.pid))
        checked = 0
        window = 1000
        for start in range(0, LONG_MESSAGES, window):
            batch = [f"{i}:{'m' * (i % 97)}" for i in range(start, min(start + window, LONG_MESSAGES))]
            checked += await echo_checked(ws, batch, window)
            if start % 50_000 == 0:
                samples.append(rss(proxy.pid))
        samples.append(rss(proxy.pid))
        await ws.close()
        return checked

    started = time.monotonic()
    checked = run(load())
    seconds = time.monotonic() - started
    rss_before, rss_after = samples[0], samples[-1]
    growth = rss_after - rss_before
    record(
        "1,000,000 messages over one WebSocket",
        f"{LONG_MESSAGES:,} messages sent over one WebSocket connection and each echoed back "
        f"({2 * LONG_MESSAGES:,} messages through the proxy), every echo checked; RSS sampled every "
        "50,000 messages",
        messages=2 * checked,
        rss_before=rss_before,
        rss_after=rss_after,
        rss_peak=max(samples),
        rss_growth=growth,
        seconds=seconds,
    )
    assert checked == LONG_MESSAGES
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.1f} MiB: {[s // MIB for s in samples]}"
    output = proxy.wait_for(" closed: docs, 1000 ", TIMEOUT)
    closed = next(line for line in output.splitlines() if " closed: docs, 1000 " in line)
    assert (
        f"client->app {LONG_MESSAGES} messages" in closed
        and f"app->client {LONG_MESSAGES} messages" in closed
    )
    watched.assert_nothing_left()


# -- many short connections ----------------------------------------------------------------------------

SHORT_CONNECTIONS = 10_000
SHORT_WORKERS = 32  # connections at a time


@pytest.mark.reliability
@pytest.mark.timeout(300)
def test_10000_connections_opened_and_closed_leave_the_proxys_fds_where_they_were(proxied):
    watched = proxied()
    proxy = watched.proxy
    host = f"127.0.0.1:{proxy.port}"
    kinds = {"http": 0, "websocket": 0, "no request": 0}
    sampler = Sampler(proxy.pid)

    async def one(index: int) -> None:
        app = APPS[index % 2]
        if index % 10 == 3:
            # Some connections are WebSockets: a different way in and out of the proxy.
            ws = await ws_open(ws_url(proxy, app, str(index)))
            await ws.send(str(index))
            assert await asyncio.wait_for(ws.recv(), TIMEOUT) == str(index)
            await ws.close()
            kinds["websocket"] += 1
            return
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            if index % 10 == 6:
                kinds["no request"] += 1  # a client that connects and leaves without a word
                return
            target = f"{PATH_PREFIX[app]}/short/{index}"
            assert await get(reader, writer, host, target) == {"app": app, "path": target}
            kinds["http"] += 1
        finally:
            writer.close()
            await writer.wait_closed()

    async def load() -> None:
        queue = iter(range(SHORT_CONNECTIONS))

        async def worker() -> None:
            for index in queue:
                await one(index)

        await asyncio.gather(*(worker() for _ in range(SHORT_WORKERS)))

    started = time.monotonic()
    run(sampler.around(load()))
    seconds = time.monotonic() - started
    assert sum(kinds.values()) == SHORT_CONNECTIONS
    fds_after = watched.assert_nothing_left()
    record(
        "10,000 connections",
        f"{SHORT_CONNECTIONS:,} connections opened and closed, {SHORT_WORKERS} at a time: "
        f"{kinds['http']:,} with one HTTP request, {kinds['websocket']:,} WebSockets with one echo, "
        f"{kinds['no request']:,} closed without a request",
        opened=SHORT_CONNECTIONS,
        connections=SHORT_WORKERS,
        fds_before=watched.fds,
        fds_peak=sampler.fds_peak,
        fds_after=fds_after,
        seconds=seconds,
    )
