"""Malformed HTTP and WebSocket traffic and request-smuggling shapes, sent over raw sockets to a real
mitmdump with the addon. Each case gets a clean end of that one connection, asserted exactly: a 400 and a
close, a close without a response, or a WebSocket close frame with its code; nothing that was refused
reaches an application (the default application is a `RecordingUpstream` that keeps every byte the proxy
sends it); no traceback appears in the proxy's output; and a parallel client, one HTTP keep-alive
connection and one WebSocket opened before the case, is still served after it.

One proxy serves the whole module, so that some fifty cases take seconds, not minutes."""

import contextlib
import http.client
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from e2e import raw
from e2e.app_process import AppProcess
from e2e.figures import record
from e2e.harness import READY, START_TIMEOUT, ProxyProcess, proxy_command, spawn_proxy
from helpers import free_port

TIMEOUT = 5
# How long a case waits for an end that should come at once. Cases that currently hang (see the report
# in each id's comment) fail after this long instead of hanging the suite.
PROMPT = 5
tried: Counter[str] = Counter()


@pytest.fixture(scope="module")
def web() -> Iterator[raw.RecordingUpstream]:
    server = raw.RecordingUpstream()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    app = AppProcess("docs", tmp_path_factory.mktemp("docs") / "docs.log")
    yield app
    app.stop()


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, mitmproxy_confdir: Path, web, docs
) -> Iterator[ProxyProcess]:
    """The conftest's `start_proxy` is per test; this is the same proxy, started once per module."""
    directory = tmp_path_factory.mktemp("proxy")
    config = directory / "microfrontends.json"
    applications = {
        "web": {"development": {"local": f"127.0.0.1:{web.port}"}},
        "docs": {
            "development": {"local": f"127.0.0.1:{docs.port}"},
            "routing": [{"paths": ["/docs/:path*"]}],
        },
    }
    config.write_text(json.dumps({"applications": applications}))
    port = free_port()
    command = proxy_command("mitmdump", mitmproxy_confdir)
    command += ["--set", f"mfe_config={config}", "--set", f"listen_port={port}"]
    server = spawn_proxy(command, directory, directory / "output.log", port)
    try:
        server.wait_for(READY, START_TIMEOUT)
        yield server
    finally:
        server.terminate()
    record(
        "malformed traffic",
        "malformed HTTP requests, request-smuggling shapes and malformed WebSocket handshakes and frames "
        "over raw sockets, each beside a parallel HTTP and WebSocket client",
        scope="tests/e2e/test_raw_traffic.py",
        inputs=sum(tried.values()),
        http_inputs=tried["http"],
        smuggling_inputs=tried["smuggling"],
        websocket_inputs=tried["websocket"],
    )


@pytest.fixture
def host(proxy) -> str:
    return f"127.0.0.1:{proxy.port}"


@pytest.fixture
def bystanders(proxy) -> Iterator[None]:
    """A keep-alive HTTP client and a WebSocket client of `docs`, open across the case: both must still be
    served after it, and the proxy's output during the case must hold no traceback."""
    log_start = len(proxy.output())
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    url = f"ws://127.0.0.1:{proxy.port}/docs/bystander"
    with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None) as ws:
        try:
            _check_bystanders(connection, ws, "before")
            yield
            _check_bystanders(connection, ws, "after")
        finally:
            connection.close()
    assert proxy.process.poll() is None, "the proxy exited"
    output = proxy.output()[log_start:]
    assert "Traceback" not in output and "has crashed" not in output, output


def _check_bystanders(connection: http.client.HTTPConnection, ws: ClientConnection, when: str) -> None:
    connection.request("GET", f"/docs/bystander-{when}")
    response = connection.getresponse()
    assert (response.status, response.read()) == (
        200,
        b'{"app": "docs", "path": "/docs/bystander-%s"}' % when.encode(),
    )
    ws.send(f"still here {when}")
    assert ws.recv(timeout=TIMEOUT) == f"still here {when}"


def refused_and_not_forwarded(proxy, web, request: bytes) -> raw.Reply:
    """Send `request` and return the reply once the proxy has closed the connection (or PROMPT seconds
    have passed), after checking that not one byte of the request reached `web`."""
    before = len(web.received())
    with raw.connect(proxy.port) as sock:
        raw.send(sock, request)
        reply = raw.read_reply(sock, PROMPT, until_closed=False)
        forwarded = web.received()[before:]
        assert forwarded == b"", f"forwarded {forwarded[:300]!r}; the client got {reply.data[:300]!r}"
        if reply.closed or reply.status is None:
            return reply
        rest = raw.read_reply(sock, PROMPT)
    return raw.Reply(reply.status, reply.data + rest.data, rest.closed)


# -- request smuggling -------------------------------------------------------------------------------

H = "Host: {host}\r\n"
SMUGGLED = "GET /smuggled HTTP/1.1\r\n" + H + "\r\n"

# Every shape is refused with 400 and the connection closed, and nothing reaches the application.
# mitmproxy 12.3.1 refuses all of these itself except the ones marked PASSES THROUGH, which the
# addon refuses (mfe_proxy.addons.admission._malformed).
SMUGGLING = {
    "content-length-and-transfer-encoding": (
        "POST / HTTP/1.1\r\n"
        + H
        + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        + SMUGGLED
    ),
    "transfer-encoding-and-content-length": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
        "5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n"
    ),
    "two-different-content-lengths": (
        "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 30\r\n\r\nhello" + SMUGGLED
    ),
    "two-equal-content-lengths": "POST / HTTP/1.1\r\n"
    + H
    + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "content-length-list": "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\nhello",
    "content-length-with-sign": "POST / HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello",
    "content-length-hex": "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x5\r\n\r\nhello",
    "space-before-colon": "POST / HTTP/1.1\r\n" + H + "Content-Length : 5\r\n\r\nhello",
    # PASSES THROUGH: forwarded with the fold intact; a server that unfolds reads another header.
    "obsolete-line-folding": "GET / HTTP/1.1\r\n" + H + "X-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n",
    "folded-transfer-encoding": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\nhello"
    ),
    "folded-content-length": "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n 5\r\n\r\nhello",
    "first-header-line-folded": "GET / HTTP/1.1\r\n X-Folded: b\r\n" + H + "\r\n",
    "transfer-encoding-chunked-identity": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ),
    "transfer-encoding-identity-chunked": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: identity, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ),
    "transfer-encoding-xchunked": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ),
    "transfer-encoding-xchunked-and-content-length": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello"
    ),
    "transfer-encoding-twice": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n"
    ),
    "transfer-encoding-trailing-comma": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ),
    "transfer-encoding-quoted": (
        "POST / HTTP/1.1\r\n" + H + 'Transfer-Encoding: "chunked"\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
    ),
    "transfer-encoding-empty-and-content-length": (
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: \r\nContent-Length: 5\r\n\r\nhello"
    ),
    "transfer-encoding-gzip": "POST / HTTP/1.1\r\n"
    + H
    + "Transfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "transfer-encoding-in-http-1.0": (
        "POST / HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ),
    # PASSES THROUGH: forwarded whole (mitmproxy has no limit on the size of a request head).
    "one-header-of-1-mib": "GET / HTTP/1.1\r\n" + H + "X-Big: " + "a" * (1024 * 1024) + "\r\n\r\n",
    # PASSES THROUGH.
    "20000-headers": "GET / HTTP/1.1\r\n"
    + H
    + "".join(f"X-Header-{i}: value\r\n" for i in range(20_000))
    + "\r\n",
    # PASSES THROUGH.
    "request-target-of-1-mib": "GET /" + "a" * (1024 * 1024) + " HTTP/1.1\r\n" + H + "\r\n",
}


@pytest.mark.parametrize("shape", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_smuggling_shape_is_refused_with_400_and_never_forwarded(proxy, web, host, bystanders, shape):
    tried["smuggling"] += 1
    reply = refused_and_not_forwarded(proxy, web, shape.replace("{host}", host).encode("latin-1"))
    assert (reply.status, reply.closed) == (400, True), reply.data[:300]


# -- malformed HTTP ----------------------------------------------------------------------------------

# Refused with 400 and the connection closed, nothing forwarded.
MALFORMED_400 = {
    "garbage-request-line": "GARBAGE\r\n\r\n",
    "http-0.9-request-line": "GET /\r\n\r\n",
    "header-without-colon": "GET / HTTP/1.1\r\n" + H + "NoColonHere\r\n\r\n",
    "space-in-header-name": "GET / HTTP/1.1\r\n" + H + "Bad Name: v\r\n\r\n",
    "empty-header-name": "GET / HTTP/1.1\r\n" + H + ": v\r\n\r\n",
    "space-in-request-target": "GET /a b HTTP/1.1\r\n" + H + "\r\n",
    "cr-in-request-target": "GET /a\rb HTTP/1.1\r\n" + H + "\r\n",
    # PASSES THROUGH: forwarded with the NUL.
    "nul-in-request-target": "GET /a\x00b HTTP/1.1\r\n" + H + "\r\n",
    # PASSES THROUGH.
    "control-character-in-request-target": "GET /a\x01b HTTP/1.1\r\n" + H + "\r\n",
    # PASSES THROUGH.
    "nul-in-header-value": "GET / HTTP/1.1\r\n" + H + "X-Nul: a\x00b\r\n\r\n",
    # PASSES THROUGH: a bare CR, which some servers read as a line end.
    "bare-cr-in-header-value": "GET / HTTP/1.1\r\n" + H + "X-Cr: a\rTransfer-Encoding: chunked\r\n\r\n",
    # PASSES THROUGH.
    "control-character-in-header-value": "GET / HTTP/1.1\r\n" + H + "X-Ctl: a\x01b\r\n\r\n",
    # PASSES THROUGH.
    "del-in-header-value": "GET / HTTP/1.1\r\n" + H + "X-Del: a\x7fb\r\n\r\n",
}


# A body that is not valid chunked encoding: mitmproxy has already read the head, and closes the
# connection without a response; nothing is forwarded (connection_strategy=lazy: the upstream is only
# connected once the request is complete).
MALFORMED_CHUNKED = {
    "chunk-size-not-hex": "zz\r\nhello\r\n0\r\n\r\n",
    "chunk-size-negative": "-5\r\nhello\r\n0\r\n\r\n",
    "chunk-longer-than-its-size": "3\r\nhello\r\n0\r\n\r\n",
    "chunk-size-with-space-inside": "5 5\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", MALFORMED_400.values(), ids=MALFORMED_400.keys())
def test_malformed_request_gets_400_and_is_not_forwarded(proxy, web, host, bystanders, request_bytes):
    tried["http"] += 1
    reply = refused_and_not_forwarded(proxy, web, request_bytes.replace("{host}", host).encode("latin-1"))
    assert (reply.status, reply.closed) == (400, True), reply.data[:300]


@pytest.mark.parametrize("body", MALFORMED_CHUNKED.values(), ids=MALFORMED_CHUNKED.keys())
def test_malformed_chunked_body_closes_the_connection_without_forwarding(proxy, web, host, bystanders, body):
    tried["http"] += 1
    head = f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = refused_and_not_forwarded(proxy, web, (head + body).encode())
    # mitmproxy answers 400 when it finds the error while it still owes the response, else just closes.
    assert reply.status in (None, 400), reply.data[:300]
    assert reply.closed


def test_unknown_http_version_gets_505(proxy, web, host, bystanders):
    tried["http"] += 1
    reply = refused_and_not_forwarded(proxy, web, f"GET / HTTP/9.9\r\nHost: {host}\r\n\r\n".encode())
    assert (reply.status, reply.closed) == (505, True), reply.data[:300]


def test_a_chunk_size_beyond_64_bits_holds_only_its_connection(proxy, web, host, bystanders):
    """Parsers with 64-bit chunk sizes read this one as another size (request smuggling). mitmproxy
    reads a chunked body whole and writes it out with chunk sizes of its own (see the well-formed
    neighbours below), so no application ever parses a client's chunk size: this one is a body still on
    its way, which holds only its own connection and forwards nothing."""
    tried["http"] += 1
    head = f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
    before = len(web.received())
    with raw.connect(proxy.port) as sock:
        raw.send(sock, (head + "FFFFFFFFFFFFFFFFF5\r\nhello\r\n0\r\n\r\n").encode())
        reply = raw.read_reply(sock, 1, until_closed=False)
        assert (reply.data, web.received()[before:]) == (b"", b"")


def test_chunk_lines_ended_by_lf_hold_only_their_connection(proxy, web, host, bystanders):
    """Chunk lines must end with CRLF; a body whose lines end with LF alone never completes, so the
    proxy waits for the rest like for any silent client (until tcp_timeout), forwarding nothing, while
    it goes on serving everyone else (the bystanders)."""
    tried["http"] += 1
    head = f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
    before = len(web.received())
    with raw.connect(proxy.port) as sock:
        raw.send(sock, (head + "5\nhello\n0\n\n").encode())
        reply = raw.read_reply(sock, 1, until_closed=False)
        assert (reply.data, web.received()[before:]) == (b"", b"")


# Well-formed shapes close to the refused ones: forwarded once, as the application must receive them.
# They show that the refusals above are the proxy's checks, not a proxy that forwards nothing.
WELL_FORMED = {
    "chunked-body": (
        "POST /chunked HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /chunked HTTP/1.1\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    # Trailer fields, which mitmproxy cannot relay (it stopped serving the connection): dropped, as an
    # intermediary may.
    "chunked-body-with-trailer": (
        "POST /trailer HTTP/1.1\r\n"
        + H
        + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"POST /trailer HTTP/1.1\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    # The application gets chunk sizes of mitmproxy's own, never the client's.
    "chunk-size-with-leading-zeros": (
        "POST /zeros HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n00000005\r\nhello\r\n0\r\n\r\n",
        b"POST /zeros HTTP/1.1\r\n",
        b"\r\n5\r\nhello\r\n0\r\n\r\n",
    ),
    "chunked-with-extension": (
        "POST /ext HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n",
        b"POST /ext HTTP/1.1\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    "transfer-encoding-after-a-tab": (
        "POST /tab HTTP/1.1\r\n" + H + "Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /tab HTTP/1.1\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    "transfer-encoding-upper-case": (
        "POST /upper HTTP/1.1\r\n" + H + "Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /upper HTTP/1.1\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    "content-length-body": (
        "POST /length HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello",
        b"POST /length HTTP/1.1\r\n",
        b"\r\n\r\nhello",
    ),
    "header-of-8-kib": (
        "GET /cookie HTTP/1.1\r\n" + H + "Cookie: " + "c" * 8192 + "\r\n\r\n",
        b"GET /cookie HTTP/1.1\r\n",
        b"Cookie: " + b"c" * 8192 + b"\r\n",
    ),
    # Lines ended by LF alone, which RFC 9112 lets a recipient accept: forwarded with CRLF.
    "head-lines-ended-by-lf": (
        "GET /lf HTTP/1.1\n" + H.replace("\r\n", "\n") + "\n",
        b"GET /lf HTTP/1.1\r\n",
        b"",
    ),
}


@pytest.mark.parametrize(("request_text", "line", "expected"), WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_neighbour_is_forwarded_once(proxy, web, host, request_text, line, expected):
    before = len(web.received())
    with raw.connect(proxy.port) as sock:
        sock.sendall(request_text.replace("{host}", host).encode("latin-1"))
        reply = raw.read_reply(sock, TIMEOUT, until_closed=False)
    assert (reply.status, reply.body) == (200, b"ok"), reply.data[:300]
    # The recorder answers as soon as it has a request head; the body may still be on its way.
    deadline = time.monotonic() + TIMEOUT
    while expected not in (forwarded := web.received()[before:]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert forwarded.startswith(line), forwarded[:200]
    assert forwarded.count(b" HTTP/1.1\r\n") == 1, forwarded[:500]
    assert expected in forwarded


# -- malformed WebSocket traffic -----------------------------------------------------------------------

# Upgrade requests the application refuses: the proxy relays its answer and the connection ends.
BAD_UPGRADES = {
    "no-sec-websocket-key": ("Sec-WebSocket-Version: 13\r\n", 400),
    "sec-websocket-version-8": (f"Sec-WebSocket-Key: {raw.WS_KEY}\r\nSec-WebSocket-Version: 8\r\n", 400),
    "short-sec-websocket-key": ("Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", 400),
    "two-sec-websocket-keys": (
        f"Sec-WebSocket-Key: {raw.WS_KEY}\r\n" * 2 + "Sec-WebSocket-Version: 13\r\n",
        400,
    ),
}


@pytest.mark.parametrize(("headers", "status"), BAD_UPGRADES.values(), ids=BAD_UPGRADES.keys())
def test_bad_upgrade_gets_the_applications_refusal(proxy, docs, host, bystanders, request, headers, status):
    tried["websocket"] += 1
    path = f"/docs/upgrade/{request.node.callspec.id}"
    reply = raw.exchange(proxy.port, raw.upgrade_request(host, path, headers), PROMPT)
    assert (reply.status, reply.closed) == (status, True), reply.data[:300]
    assert b"Failed to open a WebSocket connection" in reply.body
    docs.wait_for(f"ws refused {status} {path}")


def test_upgrade_without_connection_header_is_plain_http(proxy, docs, host, bystanders):
    tried["websocket"] += 1
    path = "/docs/upgrade/no-connection-header"
    request_bytes = raw.upgrade_request(host, path).replace(b"Connection: Upgrade\r\n", b"")
    reply = raw.exchange(proxy.port, request_bytes, PROMPT)
    # Not an upgrade without `Connection: upgrade`: relayed as a GET, which the application refuses.
    assert (reply.status, reply.closed) == (426, True), reply.data[:300]
    docs.wait_for(f"ws refused 426 {path}")


LONG = b"x" * 126
# Frames a client must not send, after a valid handshake. The proxy answers each with a close frame of
# the code RFC 6455 names (1002 protocol error, 1007 invalid data), closes the connection, and closes
# the application's side with the same code.
BAD_FRAMES = {
    "unmasked-frame": (raw.frame(0x1, b"hello", mask=False), 1002),
    "invalid-utf-8-text": (raw.frame(0x1, b"\xff\xfe"), 1007),
    "invalid-utf-8-across-fragments": (
        raw.frame(0x1, b"ab\xe2", fin=False) + raw.frame(0x0, b"\x28\xa1"),
        1007,
    ),
    "ping-over-125-bytes": (raw.frame(0x9, LONG), 1002),
    "close-over-125-bytes": (raw.frame(0x8, b"\x03\xe8" + LONG), 1002),
    "fragmented-ping": (raw.frame(0x9, b"x", fin=False), 1002),
    "fragmented-close": (raw.frame(0x8, b"\x03\xe8", fin=False), 1002),
    "reserved-bit-without-extension": (raw.frame(0x1, b"hello", rsv=4), 1002),
    "reserved-opcode": (raw.frame(0x3, b"hello"), 1002),
    "continuation-without-start": (raw.frame(0x0, b"hello"), 1002),
    "new-message-inside-fragmented-one": (raw.frame(0x1, b"a", fin=False) + raw.frame(0x1, b"b"), 1002),
    "64-bit-length-with-top-bit-set": (
        b"\x81\xff" + (1 << 63).to_bytes(8, "big") + b"\x00" * 4 + b"hello",
        1002,
    ),
    "length-not-minimally-encoded": (b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello", 1002),
    "close-with-1-byte-payload": (raw.frame(0x8, b"\x03"), 1002),
    "close-with-reserved-code-1005": (raw.frame(0x8, (1005).to_bytes(2, "big")), 1002),
    "close-with-invalid-utf-8-reason": (raw.frame(0x8, b"\x03\xe8\xff"), 1007),
}


@pytest.mark.parametrize(("frames", "code"), BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_bad_frame_closes_both_sides_with_its_code(proxy, docs, host, bystanders, request, frames, code):
    tried["websocket"] += 1
    path = f"/docs/frames/{request.node.callspec.id}"
    with raw.connect(proxy.port) as sock:
        sock.sendall(raw.upgrade_request(host, path))
        handshake = raw.read_reply(sock, TIMEOUT, until_closed=False)
        # The 101 response has no body: anything after its head is already a frame.
        assert handshake.status == 101, handshake.data[:300]
        sock.sendall(frames)
        reply = raw.read_reply(sock, PROMPT)
    received = raw.close_code(raw.parse_frames(handshake.body + reply.data))
    assert received is not None, f"no close frame, got {reply.data!r}"
    assert (received[0], reply.closed) == (code, True), received
    docs.wait_for(f"ws closed {code} after 0 messages: {path}")


def test_silent_frame_header_promising_more_holds_only_its_own_connection(proxy, docs, host, bystanders):
    """A frame that declares 100 bytes and sends 5 is not an error yet: the proxy waits for the rest,
    forwards nothing of it, and serves everyone else meanwhile (the bystanders); the connection ends
    when the client goes."""
    tried["websocket"] += 1
    path = "/docs/frames/truncated"
    with raw.connect(proxy.port) as sock:
        sock.sendall(raw.upgrade_request(host, path))
        assert raw.read_reply(sock, TIMEOUT, until_closed=False).status == 101
        sock.sendall(raw.frame(0x1, b"hello", length=100))
        reply = raw.read_reply(sock, 1)
        assert (reply.data, reply.closed) == (b"", False)
    docs.wait_for(f"after 0 messages: {path}")


def test_response_trailers_from_an_application_are_dropped_and_the_body_relayed(start_proxy):
    """An application answering with a chunked body that ends in trailer fields (mitmproxy alone stops
    serving the connection and leaves the browser waiting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        # The proxy's reachability checks connect and send nothing: only requests are answered.
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                with connection:
                    if connection.recv(65536):
                        connection.sendall(
                            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                            b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n"
                        )
                        connection.recv(65536)  # until the proxy closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proxy = start_proxy({"applications": {"web": {"development": {"local": f"127.0.0.1:{port}"}}}})
        response = proxy.get("/with-trailers")
        assert (response.status, response.body) == (200, b"hello world")
        assert "has crashed" not in proxy.output()
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(TIMEOUT)
