"""The status and metrics endpoints through the real addon: what they report about real applications and
real traffic, and that no application ever sees a request for them."""

import time

from e2e.harness import DOCS_HMR, TIMEOUT, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import free_port

STATUS = "/.well-known/mfe-proxy/status"
METRICS = "/.well-known/mfe-proxy/metrics"


def config(web_port: int, docs_port: int) -> dict:
    return {
        "applications": {
            "web": {"development": {"local": f"127.0.0.1:{web_port}", "fallback": "web.example.com"}},
            "docs": {
                "development": {"local": f"127.0.0.1:{docs_port}"},
                "routing": [{"paths": ["/docs", "/docs/:path*"]}],
            },
        }
    }


def status(proxy) -> dict:
    response = proxy.get(STATUS)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_status_reports_applications_and_counts_requests(start_proxy, upstream):
    web = upstream("web")
    docs_port = free_port()
    proxy = start_proxy(config(web.port, docs_port))
    for target in ("/", "/about", "/docs/a"):
        proxy.get(target)
    document = status(proxy)
    assert document["config"].endswith("microfrontends.json")
    assert document["applications"]["web"] == {
        "default": True,
        "local": True,
        "upstream": f"http://127.0.0.1:{web.port}",
        "fallback": "https://web.example.com",
        "reachable": True,
        "requests": 2,
        "websockets": {"open": 0, "total": 0},
        "messages": {"to_application": 0, "to_client": 0},
        "bytes": {"to_application": 0, "to_client": 0},
    }
    docs = document["applications"]["docs"]
    # docs is down and goes to the default application's fallback.
    assert (docs["reachable"], docs["requests"], docs["fallback"]) == (False, 1, "https://web.example.com")
    assert [request["path"] for request in web.requests] == ["/", "/about"]


def test_status_follows_an_application_that_starts(start_proxy, upstream):
    web = upstream("web")
    docs_port = free_port()
    proxy = start_proxy(config(web.port, docs_port))
    assert status(proxy)["applications"]["docs"]["reachable"] is False
    docs = upstream("docs", docs_port)
    deadline = time.monotonic() + TIMEOUT
    while not status(proxy)["applications"]["docs"]["reachable"]:
        assert time.monotonic() < deadline, "docs never became reachable"
        time.sleep(0.1)
    assert docs.requests == []  # found by a connection, not by a request


def test_websocket_counters_and_metrics(start_proxy):
    web, docs = WsUpstream(), WsUpstream()
    try:
        proxy = start_proxy(config(web.port, docs.port))
        with ws_connect(proxy, DOCS_HMR) as ws:
            for message in ("a", "bb", "ccc"):
                ws.send(message)
                assert ws.recv(timeout=TIMEOUT) == message
            counts = status(proxy)["applications"]["docs"]
            assert counts["websockets"] == {"open": 1, "total": 1}
            assert counts["messages"] == {"to_application": 3, "to_client": 3}
            assert counts["bytes"] == {"to_application": 6, "to_client": 6}
        docs.wait_connections(1)[0].wait_closed()
        deadline = time.monotonic() + TIMEOUT
        while status(proxy)["applications"]["docs"]["websockets"]["open"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        response = proxy.get(METRICS)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        lines = response.text.splitlines()
        assert 'mfe_proxy_websocket_connections_total{application="docs"} 1' in lines
        assert 'mfe_proxy_websocket_connections_open{application="docs"} 0' in lines
        assert 'mfe_proxy_websocket_messages_total{application="docs",direction="to_client"} 3' in lines
        assert 'mfe_proxy_websocket_bytes_total{application="docs",direction="to_application"} 6' in lines
        assert 'mfe_proxy_up{application="web"} 1' in lines
        assert 'mfe_proxy_requests_total{application="docs"} 1' in lines  # the upgrade request
        assert len(docs.connections) == 1
    finally:
        web.stop()
        docs.stop()


def test_endpoints_are_never_forwarded(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = start_proxy(config(web.port, docs.port))
    for target in (STATUS, METRICS, STATUS + "?x=1", "/.well-known/mfe-proxy/nope"):
        response = proxy.get(target)
        assert response.status in (200, 404), target
    assert proxy.get(STATUS, {"Host": "evil.test"}).status == 403
    assert web.requests == docs.requests == []


def test_the_endpoint_index_lists_the_proxys_endpoints(start_proxy, upstream):
    web = upstream("web")
    proxy = start_proxy(config(web.port, free_port()))
    response = proxy.get("/.well-known/mfe-proxy/", {"Accept": "text/html"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    for path in (STATUS, METRICS, "/.well-known/vercel/microfrontends/routing"):
        assert path in response.text, response.text
