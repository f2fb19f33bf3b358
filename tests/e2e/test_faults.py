"""Faults with real processes: applications that die (SIGKILL) in the middle of a response, an event
stream or a WebSocket session, and come back on the same port; clients that go away mid-upload,
mid-download and mid-message, or send half a request and fall silent; the proxy stopped by SIGINT and
SIGTERM with WebSockets open.

Each case checks what the peer that is left sees (a prompt, well-formed end), that the proxy's counters
are final (the WebSocket `closed` lines, the summary at exit), and that nothing leaks: the proxy's open
file descriptors, its asyncio tasks, its client connections and its live flows return to what they were
before (the task, connection and flow counts come from `leak_probe.py`, loaded into the proxy)."""

import http.client
import re
import signal
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from e2e import raw
from e2e.app_process import download_body, sse_event
from e2e.figures import record
from helpers import DOCS_AND_BELOW, two_apps

TIMEOUT = 5  # seconds for any single step that should be prompt
LOG_TIME = r"(?:\[[\d:.]+\] )?"
# A WebSocket whose application dies must end with one of these (RFC 6455: 1011 "internal error",
# 1001 "going away"); 1006 is reserved for "no close frame" and must never be sent.
APP_GONE_CODES = (1001, 1011)
NO_MESSAGES = "client->app 0 messages 0 B, app->client 0 messages 0 B"


def ws_connect(proxy, path: str) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{proxy.port}{path}", open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None
    )


def closed_line(proxy, app: str) -> str:
    output = proxy.wait_for(f"closed: {app}, ", TIMEOUT)
    return next(line for line in output.splitlines() if f"closed: {app}, " in line)


def request_line(method: str, target: str, port: int, headers: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n".encode()


# -- an application dies -------------------------------------------------------------------------------


def test_app_killed_mid_body_the_proxy_buffers_gets_502(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    with raw.connect(proxy.proxy.port) as sock:
        sock.sendall(request_line("GET", "/cut?size=1000&send=500", proxy.proxy.port))
        web.wait_for("cut sent 500 of 1000")
        web.kill()
        reply = raw.read_reply(sock, TIMEOUT)
    # The body is under stream_large_bodies (1 MiB), so nothing had reached the client yet: mitmproxy
    # answers with its own 502 page and closes the connection.
    assert (reply.status, reply.closed) == (502, True), reply.data[:300]
    assert b"received 500 bytes, expected 1000" in reply.body
    proxy.assert_nothing_left(
        "app killed mid-body (buffered)",
        "an application killed (SIGKILL) after sending 500 of 1,000 bytes",
        "client: mitmproxy's 502 naming the cut (received 500 bytes, expected 1000), then a close",
    )
    assert proxy.summary()[0] == "  web: 1 request, 0 WebSocket connections; " + NO_MESSAGES


def test_app_killed_mid_streamed_body_cuts_the_client_short(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    size, sent = 5_000_000, 2_000_000
    with raw.connect(proxy.proxy.port) as sock:
        sock.sendall(request_line("GET", f"/cut?size={size}&send={sent}", proxy.proxy.port))
        web.wait_for(f"cut sent {sent} of {size}")
        web.kill()
        reply = raw.read_reply(sock, TIMEOUT)
    # Over 1 MiB the body streams: the client has the head and part of the body, and the connection
    # ends before Content-Length is reached, which is how HTTP/1.1 tells a client the body is cut.
    assert (reply.status, reply.closed) == (200, True), reply.data[:300]
    assert f"Content-Length: {size}".encode() in reply.data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    assert reply.body == download_body(0, sent)
    proxy.assert_nothing_left(
        "app killed mid-body (streamed)",
        f"an application killed after sending {sent:,} of {size:,} bytes (streamed: over 1 MiB)",
        f"client: the 200 head and the {sent:,} bytes, unaltered, then a close before Content-Length",
    )
    assert proxy.summary()[0] == "  web: 1 request, 0 WebSocket connections; " + NO_MESSAGES


def test_app_killed_mid_event_stream_ends_it_without_the_last_chunk(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    events = b"".join(b"%x\r\n%s\r\n" % (len(sse_event(i)), sse_event(i)) for i in range(3))
    with raw.connect(proxy.proxy.port) as sock:
        sock.sendall(request_line("GET", "/docs/sse", proxy.proxy.port, "Accept: text/event-stream\r\n"))
        received = b""
        while events not in received:
            received += sock.recv(65536)
        docs.kill()
        reply = raw.read_reply(sock, TIMEOUT)
    data = received + reply.data
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nTransfer-Encoding: chunked\r\n" in data
    assert reply.closed
    # No terminating zero-length chunk: the client can tell the stream was cut, not finished.
    assert not data.endswith(b"0\r\n\r\n")
    proxy.assert_nothing_left(
        "app killed mid-event-stream",
        "an application killed after 3 events of a server-sent event stream",
        "client: the 3 events, then a close without the terminating chunk",
    )
    assert proxy.summary()[1] == "  docs: 1 request, 0 WebSocket connections; " + NO_MESSAGES


def test_app_killed_mid_websocket_closes_the_client_with_1011_or_1001(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    messages = ["one", "two", "three"]
    with ws_connect(proxy.proxy, "/docs/hmr") as ws:
        for message in messages:
            ws.send(message)
            assert ws.recv(timeout=TIMEOUT) == message
        docs.kill()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    received = closed.value.rcvd
    assert received is not None, "the proxy dropped the connection without a close frame"
    # mitmproxy 12.3.1 sends 1000 (normal closure) with no reason here: wsproto turns the 1006 it
    # records for the dead application into 1000 on the wire, as if the application had finished.
    assert received.code in APP_GONE_CODES, received
    line = closed_line(proxy.proxy, "docs")
    assert re.search(
        r"by app after [\d.]+ s; client->app 3 messages 11 B, app->client 3 messages 11 B$", line
    )
    proxy.assert_nothing_left(
        "app killed mid-WebSocket",
        "an application killed after 3 WebSocket echoes",
        f"client: close frame {received.code}; closed line and summary: 3 messages each way",
    )
    assert proxy.summary()[1] == (
        "  docs: 1 request, 1 WebSocket connection; client->app 3 messages 11 B, app->client 3 messages 11 B"
    )


def test_app_restarted_on_the_same_port_is_served_again_without_restarting_the_proxy(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    port = proxy.proxy.port
    # A browser's keep-alive connection, held across the restart.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/docs/before")
        assert connection.getresponse().read() == b'{"app": "docs", "path": "/docs/before"}'
        docs.kill()
        connection.request("GET", "/docs/while-down")
        response = connection.getresponse()
        assert response.status == 502 and b"docs" in response.read()
        restarted = app_process("docs", docs.port)
        restarted_at = time.monotonic()
        # The proxy reuses a down answer for half a second; the restarted application must be served
        # once that has passed, on the same client connection.
        deadline = time.monotonic() + 3
        while True:
            connection.request("GET", "/docs/after")
            response = connection.getresponse()
            body = response.read()
            if response.status == 200 or time.monotonic() > deadline:
                break
            assert response.status == 502, body
            time.sleep(0.05)
        assert (response.status, body) == (200, b'{"app": "docs", "path": "/docs/after"}')
        served_after = time.monotonic() - restarted_at
    finally:
        connection.close()
    with ws_connect(proxy.proxy, "/docs/hmr") as ws:
        ws.send("back")
        assert ws.recv(timeout=TIMEOUT) == "back"
    restarted.wait_for("ws closed 1000 after 1 messages: /docs/hmr")
    proxy.assert_nothing_left(
        "app restarted on its port",
        "an application killed, then started again on the same port, the proxy left running",
        f"client: 502 while it was down, then 200 from the restarted application {served_after:.2f} s after "
        "it listened, on the same keep-alive connection; a WebSocket to it echoes",
    )


# -- a client goes away ------------------------------------------------------------------------------


def test_client_gone_mid_upload_ends_the_upload_at_the_app(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    size, sent = 10 * 1024 * 1024, 3 * 1024 * 1024
    with raw.connect(proxy.proxy.port) as sock:
        sock.sendall(request_line("POST", "/docs/upload", proxy.proxy.port, f"Content-Length: {size}\r\n"))
        sock.sendall(b"u" * sent)
        # Over 1 MiB the request body streams to the application as it comes.
        docs.wait_for(f"upload receiving {size}")
    output = docs.wait_for("upload aborted after ", TIMEOUT)
    received = int(re.search(rf"upload aborted after (\d+) of {size}", output)[1])
    assert received <= sent
    proxy.assert_nothing_left(
        "client gone mid-upload",
        "a client closing after sending 3 of 10 MiB of a request body",
        f"application: its read ended after {received:,} of {size:,} bytes",
    )
    assert proxy.summary()[1].startswith("  docs: 1 request, ")


def test_client_gone_mid_download_stops_the_app_sending(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    size = 200 * 1024 * 1024
    with raw.connect(proxy.proxy.port) as sock:
        sock.sendall(request_line("GET", f"/docs/download?size={size}", proxy.proxy.port))
        received = 0
        while received < 1024 * 1024:
            received += len(sock.recv(65536))
    output = docs.wait_for("download aborted after ", TIMEOUT)
    sent = int(re.search(r"download aborted after (\d+) of ", output)[1])
    # The application stopped long before the end: the proxy does not read the rest into memory.
    assert sent < size // 2, output
    proxy.assert_nothing_left(
        "client gone mid-download",
        "a client closing after reading 1 of 200 MiB of a response",
        f"application: its writes failed after {sent:,} of {size:,} bytes",
    )
    assert proxy.summary()[1].startswith("  docs: 1 request, ")


def test_client_gone_mid_websocket_message_closes_the_app_side(watched, app_process):
    web, docs = app_process("web"), app_process("docs")
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    port = proxy.proxy.port
    path = "/docs/hmr/half-message"
    with raw.connect(port) as sock:
        sock.sendall(raw.upgrade_request(f"127.0.0.1:{port}", path))
        assert raw.read_reply(sock, TIMEOUT, until_closed=False).status == 101
        # The first fragment of a message, then half of the next frame; then the client is gone.
        sock.sendall(raw.frame(0x2, b"first fragment", fin=False))
        sock.sendall(raw.frame(0x0, b"x" * 1000, fin=True)[:500])
        docs.wait_for(f"ws open {path}")
    output = docs.wait_for(f"messages: {path}", TIMEOUT)
    code, messages = re.search(rf"ws closed (\w+) after (\d+) messages: {re.escape(path)}", output).groups()
    # The half message never reaches the application.
    assert messages == "0"
    # The application must hear that the client went away (1001), not a normal closure: mitmproxy
    # 12.3.1 sends 1000 here (wsproto turns the 1006 it records into 1000 on the wire).
    assert code in {str(c) for c in APP_GONE_CODES}, output
    line = closed_line(proxy.proxy, "docs")
    assert re.search(r"by client after [\d.]+ s; " + re.escape(NO_MESSAGES) + "$", line), line
    proxy.assert_nothing_left(
        "client gone mid-WebSocket-message",
        "a client closing its TCP connection halfway through a fragmented WebSocket message",
        f"application: close frame {code}, no part of the message",
    )


def test_client_sending_half_a_request_then_nothing_holds_only_its_own_connection(watched, app_process):
    """The decision: a connection that sends part of a request head and falls silent is held, unanswered
    and not forwarded, until mitmproxy's `tcp_timeout` of inactivity (600 s by default; 2 s here), then
    closed without a response. Other clients are served meanwhile."""
    web, docs = app_process("web", log_requests=True), app_process("docs", log_requests=True)
    proxy = watched(two_apps(web, docs, docs_paths=DOCS_AND_BELOW), "--set", "tcp_timeout=2")
    port = proxy.proxy.port
    with raw.connect(port) as silent:
        silent.sendall(b"GET /docs/silent HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Half: " % port)
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        served = 0
        try:
            # Served while the silent connection is open, on one keep-alive connection.
            while time.monotonic() - started < 1:
                for target, app in (("/docs/other", "docs"), ("/other", "web")):
                    connection.request("GET", target)
                    response = connection.getresponse()
                    assert (response.status, response.read()) == (
                        200,
                        b'{"app": "%s", "path": "%s"}' % (app.encode(), target.encode()),
                    )
                    served += 1
        finally:
            connection.close()
        reply = raw.read_reply(silent, 10)
        held = time.monotonic() - started
    assert served >= 2
    assert (reply.data, reply.closed) == (b"", True)
    assert "/docs/silent" not in docs.output() + web.output()
    assert "Client closed connection before completing request headers" in proxy.proxy.output()
    proxy.assert_nothing_left(
        "half a request, then silence",
        "a client silent after half a request head (tcp_timeout=2)",
        f"{served} requests of another client served meanwhile; the silent connection closed after "
        f"{held:.1f} s without a response; nothing forwarded",
    )


# -- the proxy stops -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_closes_open_websockets_with_1001_and_prints_the_summary(start_proxy, app_process, sig):
    web, docs = app_process("web"), app_process("docs")
    proxy = start_proxy(two_apps(web, docs, docs_paths=DOCS_AND_BELOW))
    with ws_connect(proxy, "/hmr") as web_ws, ws_connect(proxy, "/docs/hmr") as docs_ws:
        for ws, message in ((web_ws, "w1"), (docs_ws, "d-1"), (docs_ws, "d-2")):
            ws.send(message)
            assert ws.recv(timeout=TIMEOUT) == message
        proxy.process.send_signal(sig)
        for ws in (web_ws, docs_ws):
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=TIMEOUT)
            assert closed.value.rcvd is not None, "no close frame"
            assert closed.value.rcvd.code == 1001, closed.value.rcvd
    returncode, output = proxy.wait_exit(TIMEOUT * 2)
    assert returncode == 0, output
    assert "Traceback" not in output, output
    web.wait_for("ws closed 1001 after 1 messages: /hmr")
    docs.wait_for("ws closed 1001 after 2 messages: /docs/hmr")
    for app, counts in (("web", "1 message 2 B"), ("docs", "2 messages 6 B")):
        line = closed_line(proxy, app)
        assert re.search(rf"1001 .* after [\d.]+ s; client->app {counts}, app->client {counts}$", line), line
    summary = output[output.index("mfe-proxy summary:") :].splitlines()
    assert summary[1:3] == [
        "  web: 1 request, 1 WebSocket connection; client->app 1 message 2 B, app->client 1 message 2 B",
        "  docs: 1 request, 1 WebSocket connection; client->app 2 messages 6 B, app->client 2 messages 6 B",
    ]
    # The summary comes after every connection's closed line: the counters it prints are final.
    assert output.index("mfe-proxy summary:") > max(
        output.index(closed_line(proxy, app)) for app in ("web", "docs")
    )
    record(
        f"stopped by {sig.name}",
        f"the proxy stopped by {sig.name} with 2 WebSockets open",
        outcome="both clients and both applications: close frame 1001; the closed lines, then the "
        "summary; exit code 0",
    )
