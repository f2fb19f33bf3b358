"""WebSockets through a real proxy: routing of upgrades, messages relayed unchanged, control frames,
permessage-deflate and a down application with each engine (the addon in mitmdump, nginx serving the
export); the addon's own lifecycle log lines, summary and memory bound."""

import http.client
import random
import re
import signal
import socket
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from e2e.engines import MITMPROXY_ONLY
from e2e.harness import DOCS_HMR, HMR, LOG_TIME, TIMEOUT, closed_line, opened_id, size, ws_connect
from e2e.ws_upstream import APP_CLOSE_REASON, WsUpstream, push_message
from helpers import DOCS_AND_BELOW, free_port, two_apps


def echo_all(ws: ClientConnection, messages: list[str | bytes]) -> None:
    """Send every message, then check each echo arrives unchanged, same type, in order."""
    for message in messages:
        ws.send(message)
    for message in messages:
        echo = ws.recv(timeout=TIMEOUT)
        assert type(echo) is type(message)
        assert echo == message


@pytest.fixture
def web(ws_upstream) -> WsUpstream:
    return ws_upstream()


@pytest.fixture
def docs(ws_upstream) -> WsUpstream:
    return ws_upstream()


@pytest.fixture
def proxy(serve, web, docs):
    """The two applications served by each engine."""
    return serve(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))


@pytest.mark.parametrize(
    ("path", "app"),
    [(HMR, "web"), (DOCS_HMR, "docs"), (DOCS_HMR + "?page=%2Fdocs%2Fintro", "docs"), ("/docs", "docs")],
)
def test_upgrade_reaches_the_app_of_its_path_with_the_clients_host(proxy, web, docs, path, app):
    target, other = (web, docs) if app == "web" else (docs, web)
    with ws_connect(proxy, path) as ws:
        echo_all(ws, ["hello"])
    (connection,) = target.wait_connections(1)
    assert connection.path == path
    assert connection.headers["Host"] == f"127.0.0.1:{proxy.port}"
    assert other.connections == []


def test_forwarded_headers_from_a_tunnel_reach_the_app_unchanged_on_an_upgrade(proxy, docs):
    sent = {
        "X-Forwarded-Host": "tunnel.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
    }
    with ws_connect(proxy, DOCS_HMR, additional_headers=sent) as ws:
        echo_all(ws, ["hello"])
    (connection,) = docs.wait_connections(1)
    for name, value in sent.items():
        assert connection.headers.get_all(name) == [value], name
    assert connection.headers["x-vercel-mfe-local-proxy-origin"] == "1"


def test_messages_arrive_byte_for_byte_with_their_type(proxy, docs):
    messages = [
        "plain ASCII",
        "non-ASCII: é ß 日本語 🚀 e\u0301 \u0000 \u2028",
        bytes(range(256)),
        "",
        b"",
        b"\x00" * 10,
        "x" * 70_000,  # more than 64 KiB: the longest length field of a frame
    ]
    with ws_connect(proxy, DOCS_HMR) as ws:
        echo_all(ws, messages)
    assert docs.wait_connections(1)[0].messages == messages


def test_a_5_mib_binary_message(proxy, docs):
    message = random.Random(5).randbytes(5 * 1024 * 1024)
    with ws_connect(proxy, DOCS_HMR, max_size=None) as ws:
        ws.send(message)
        assert ws.recv(timeout=10) == message
    assert docs.wait_connections(1)[0].messages == [message]


@pytest.mark.parametrize(
    "fragments", [["frag-1 ", "ü-2 ", "", "end"], [b"\x00\x01", b"\xff" * 1000, b"\x02"]]
)
def test_a_fragmented_message_arrives_whole(proxy, docs, fragments):
    whole = fragments[0][:0].join(fragments)
    with ws_connect(proxy, DOCS_HMR) as ws:
        ws.send(fragments)  # an iterable: one frame per fragment, one message
        ws.send("after")
        assert ws.recv(timeout=TIMEOUT) == whole
        assert ws.recv(timeout=TIMEOUT) == "after"
    assert docs.wait_connections(1)[0].messages == [whole, "after"]


def test_many_small_messages_keep_their_order(proxy, web):
    messages = [f"m{i}" for i in range(1000)]
    with ws_connect(proxy, HMR) as ws:
        echo_all(ws, messages)
    assert web.wait_connections(1)[0].messages == messages


def test_a_ping_from_the_client_reaches_the_app_and_gets_its_pong(proxy, docs):
    with ws_connect(proxy, DOCS_HMR) as ws:
        assert ws.ping(b"are-you-there").wait(TIMEOUT), "no pong"
    assert docs.wait_connections(1)[0].pings == [b"are-you-there"]


def test_the_app_sees_the_clients_close_code_and_reason(proxy, docs):
    with ws_connect(proxy, DOCS_HMR) as ws:
        echo_all(ws, ["hi"])
        ws.close(4001, "client-bye")
    (connection,) = docs.wait_connections(1)
    connection.wait_closed()
    assert (connection.close_code, connection.close_reason) == (4001, "client-bye")


def test_the_client_sees_the_apps_close_code_and_reason(proxy, docs):
    with ws_connect(proxy, "/docs/close/4002") as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None, "closed without a close frame"
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4002, APP_CLOSE_REASON)


@pytest.mark.parametrize(
    ("client_offers", "app_accepts", "negotiated"),
    [(True, True, True), (False, True, False), (True, False, False)],
    ids=["both", "client-without", "app-without"],
)
def test_permessage_deflate(serve, ws_upstream, client_offers, app_accepts, negotiated):
    web, docs = ws_upstream(), ws_upstream(compression=app_accepts)
    proxy = serve(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    compressible = "abc" * 10_000
    with ws_connect(proxy, DOCS_HMR, compression="deflate" if client_offers else None) as ws:
        echo_all(ws, [compressible, b"\x00" * 5000])
        client_extensions = [extension.name for extension in ws.protocol.extensions]
    (connection,) = docs.wait_connections(1)
    assert ("permessage-deflate" in connection.offered_extensions) == client_offers
    assert connection.extensions == (["permessage-deflate"] if negotiated else [])
    assert client_extensions == connection.extensions


@MITMPROXY_ONLY
def test_log_lines_of_a_connection_the_client_closes(proxy, docs):
    sent = ["hello", "wörld", b"\x00\x01\x02", ""]
    with ws_connect(proxy, DOCS_HMR) as ws:
        ws_id = opened_id(proxy, "docs", DOCS_HMR, docs)
        echo_all(ws, sent)
        ws.close(4001, "client-bye")
    counts = f"{len(sent)} messages {size(sent)} B"
    assert re.fullmatch(
        rf'{LOG_TIME}ws#{ws_id} closed: docs, 4001 "client-bye" by client after \d+(\.\d+)? s; '
        rf"client->app {counts}, app->client {counts}",
        closed_line(proxy, ws_id),
    )


@MITMPROXY_ONLY
def test_log_lines_of_a_connection_the_app_closes(proxy, docs):
    path = "/docs/close/4002?after=2"
    sent = ["ab", "€"]
    with ws_connect(proxy, path) as ws:
        ws_id = opened_id(proxy, "docs", path, docs)
        echo_all(ws, sent)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
    counts = f"{len(sent)} messages {size(sent)} B"
    assert re.fullmatch(
        rf'{LOG_TIME}ws#{ws_id} closed: docs, 4002 "{APP_CLOSE_REASON}" by app after \d+(\.\d+)? s; '
        rf"client->app {counts}, app->client {counts}",
        closed_line(proxy, ws_id),
    )


@MITMPROXY_ONLY
def test_summary_at_sigint_counts_connections_and_messages_per_app(proxy, web, docs):
    web_sent = [["one", b"\x01\x02"], ["three", "四"]]
    for messages in web_sent:
        with ws_connect(proxy, HMR) as ws:
            ws_id = opened_id(proxy, "web", HMR, web)
            echo_all(ws, messages)
        closed_line(proxy, ws_id)  # counted before the proxy stops
    pushes = [push_message(i) for i in range(3)]
    docs_sent = [["x"], ["yy", "zzz"]]
    for messages in docs_sent:
        path = "/docs/push?n=3"
        with ws_connect(proxy, path) as ws:
            ws_id = opened_id(proxy, "docs", path, docs)
            assert [ws.recv(timeout=TIMEOUT) for _ in pushes] == pushes
            echo_all(ws, messages)
        closed_line(proxy, ws_id)

    returncode, output = proxy.stop(signal.SIGINT)

    assert returncode == 0, output
    summary = output[output.index("mfe-proxy summary:") :]
    web_flat = [m for messages in web_sent for m in messages]
    docs_flat = [m for messages in docs_sent for m in messages]
    docs_received = pushes * len(docs_sent) + docs_flat
    # Each connection began as one HTTP request (the upgrade); there were no others.
    expected = [
        f"  web: 2 requests, 2 WebSocket connections; client->app {len(web_flat)} messages "
        f"{size(web_flat)} B, app->client {len(web_flat)} messages {size(web_flat)} B",
        f"  docs: 2 requests, 2 WebSocket connections; client->app {len(docs_flat)} messages "
        f"{size(docs_flat)} B, app->client {len(docs_received)} messages {size(docs_received)} B",
    ]
    for line in expected:
        assert line in summary.splitlines(), summary


RETAINED_PROBE = """
import logging


def websocket_end(flow):
    messages = flow.websocket.messages
    logging.info(f"retained={len(messages)} first={messages[0].text} last={messages[-1].text}")
"""


@pytest.mark.parametrize(
    ("options", "pairs", "retained", "first"),
    [
        (["--set", "mfe_ws_keep_messages=5"], 100, 5, "msg-097"),  # 200 messages: the 5 last
        ([], 150, 100, "msg-100"),  # 300 messages: the 100 last
    ],
    ids=["keep-5", "default"],
)
def test_only_the_last_messages_stay_in_the_flow(
    start_proxy, web, docs, tmp_path: Path, options, pairs, retained, first
):
    # The retained list lives inside the proxy: a probe addon loaded after the real one reports it.
    probe = tmp_path / "retained_probe.py"
    probe.write_text(RETAINED_PROBE)
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "-s", str(probe), *options)
    messages = [f"msg-{i:03d}" for i in range(pairs)]
    with ws_connect(proxy, DOCS_HMR) as ws:
        # In lockstep, so the flow holds msg-000 (client), msg-000 (app), msg-001 (client), ... in order.
        for message in messages:
            echo_all(ws, [message])
    output = proxy.wait_for("retained=", TIMEOUT)
    assert f"retained={retained} first={first} last={messages[-1]}" in output


def test_an_upgrade_to_a_down_app_gets_a_502_response(serve, web):
    down_port = free_port()
    proxy = serve(two_apps(web.port, down_port, docs_paths=DOCS_AND_BELOW))
    # A raw upgrade request: the answer must be a complete HTTP response, not a hang or a reset.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            f"GET {DOCS_HMR} HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read().decode()
    assert response.status == 502
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    for expected in ("docs", f"http://127.0.0.1:{down_port}", DOCS_HMR):
        assert expected in body

    with pytest.raises(InvalidStatus) as rejected:
        ws_connect(proxy, DOCS_HMR)
    assert rejected.value.response.status_code == 502
