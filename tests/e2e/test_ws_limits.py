"""WebSocket limits through the real addon: the idle timeout closes with 1001 both ways, and upgrades
beyond mfe_ws_max_connections get 503 while the connections already open keep working."""

import http.client
import re
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from e2e.harness import DOCS_HMR, HMR, TIMEOUT, closed_line, opened_id, ws_connect
from helpers import DOCS_AND_BELOW, two_apps


@pytest.fixture
def apps(ws_upstream):
    return ws_upstream(), ws_upstream()


def test_idle_connection_is_closed_with_1001_both_ways(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "mfe_ws_idle_timeout=1"
    )
    with ws_connect(proxy, DOCS_HMR) as idle, ws_connect(proxy, HMR) as busy:
        idle_id = opened_id(proxy, "docs", DOCS_HMR, docs)
        idle.send("one")
        assert idle.recv(timeout=TIMEOUT) == "one"
        # The busy connection sends more often than the timeout and must stay open throughout.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            busy.send("tick")
            assert busy.recv(timeout=TIMEOUT) == "tick"
            if f"ws#{idle_id} closed" in proxy.output():
                break
            time.sleep(0.2)
        with pytest.raises(ConnectionClosed):
            idle.recv(timeout=TIMEOUT)
        assert idle.close_code == 1001
        (connection,) = docs.wait_connections(1)
        connection.wait_closed()
        assert connection.close_code == 1001
        busy.send("still there")
        assert busy.recv(timeout=TIMEOUT) == "still there"
    line = closed_line(proxy, idle_id)
    assert re.search(r'closed: docs, 1001 "idle" by the proxy after \d+\.\d+ s; client->app 1 message', line)
    assert f"ws#{idle_id} idle for 1 s (mfe_ws_idle_timeout): closing" in proxy.output()


def test_upgrades_beyond_the_limit_get_503(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "mfe_ws_max_connections=2"
    )
    with ws_connect(proxy, HMR) as first, ws_connect(proxy, DOCS_HMR) as second:
        opened_id(proxy, "docs", DOCS_HMR, docs)
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(proxy, HMR)
        assert refused.value.response.status_code == 503
        assert b"mfe_ws_max_connections" in refused.value.response.body
        for ws in (first, second):
            ws.send("ok")
            assert ws.recv(timeout=TIMEOUT) == "ok"
    # Closed connections free their places.
    deadline = time.monotonic() + TIMEOUT
    while proxy.output().count(" closed: ") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    with ws_connect(proxy, HMR) as third:
        third.send("again")
        assert third.recv(timeout=TIMEOUT) == "again"
    # Only the two accepted upgrades reached the applications.
    assert len(web.connections) == 2
    assert len(docs.connections) == 1


def test_plain_requests_are_not_counted_against_the_limit(start_proxy, apps, upstream):
    web_ws, docs = apps
    web = upstream("web")
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "mfe_ws_max_connections=0"
    )
    assert proxy.get("/page").status == 200
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(proxy, DOCS_HMR)
    assert refused.value.response.status_code == 503
    assert docs.connections == []
    assert web_ws.connections == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("mfe_ws_idle_timeout", "-1", "mfe_ws_idle_timeout must be 0 (off) or a number of seconds, not -1"),
        ("mfe_ws_idle_timeout", "soon", "mfe_ws_idle_timeout must be a whole number, not 'soon'"),
        ("mfe_ws_max_connections", "-5", "mfe_ws_max_connections must be 0 or more, not -5"),
        ("mfe_ws_max_connections", "1e3", "mfe_ws_max_connections must be a whole number, not '1e3'"),
    ],
)
def test_bad_limits_stop_start_up(start_proxy, apps, option, value, message):
    # mitmproxy on its own would drop the addon over a value it cannot convert and go on as a plain
    # proxy on every interface; the addon stops start-up instead.
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW),
        "--set",
        f"{option}={value}",
        expect_ready=False,
    )
    code, output = proxy.wait_exit()
    assert code == 1
    assert f"mfe-proxy cannot start: {message}" in output
    assert "Traceback" not in output


def test_a_quiet_websocket_outlives_tcp_timeout(start_proxy, apps, upstream):
    # mitmproxy closes connections idle for tcp_timeout; a WebSocket is closed only by
    # mfe_ws_idle_timeout, so a quiet HMR socket is not cut in the middle of a session.
    _, docs = apps
    web = upstream("web")
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "tcp_timeout=1")
    with ws_connect(proxy, DOCS_HMR) as ws:
        connection = proxy.connection()
        connection.request("GET", "/page")
        assert connection.getresponse().read()
        time.sleep(3)
        ws.send("after a quiet while")
        assert ws.recv(timeout=TIMEOUT) == "after a quiet while"
        # tcp_timeout still applies to everything else: the idle keep-alive connection is gone.
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
            connection.request("GET", "/page")
            connection.getresponse()
        connection.close()
