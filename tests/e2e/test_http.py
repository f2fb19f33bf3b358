"""HTTP through a real proxy, with each engine (the addon in mitmdump, nginx serving the export): routing
to each application, what the application receives, streaming, keep-alive across applications, and the
proxy's own answers."""

import hashlib
import time

import pytest

from e2e.engines import documented
from e2e.harness import received_headers, send
from e2e.upstream import CHUNK_INTERVAL, CHUNKS, SSE_EVENTS, SSE_INTERVAL, big_body, chunk, sse_event

MIB = 1024 * 1024


def three_apps(web, docs, api) -> dict:
    return {
        "applications": {
            "web": {"development": {"local": f"127.0.0.1:{web.port}"}},
            "docs": {
                "development": {"local": f"127.0.0.1:{docs.port}"},
                "routing": [
                    {"group": "docs", "paths": ["/docs", "/docs/:path*"]},
                    {"flag": "new-docs", "paths": ["/new-docs/:path*"]},
                ],
            },
            "api": {
                "development": {"local": f"127.0.0.1:{api.port}"},
                "routing": [{"paths": ["/api/:path*"]}],
            },
        }
    }


@pytest.fixture
def site(serve, upstream):
    """Three applications, all up, behind one proxy: (proxy, {"web": ..., "docs": ..., "api": ...})."""
    apps = {name: upstream(name) for name in ("web", "docs", "api")}
    proxy = serve(three_apps(**apps))
    return proxy, apps


def test_two_applications(serve, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": f"127.0.0.1:{web.port}"}},
                "docs": {
                    "development": {"local": f"127.0.0.1:{docs.port}"},
                    "routing": [{"paths": ["/docs", "/docs/:path*"]}],
                },
            }
        }
    )
    for target, app in [("/", "web"), ("/docs", "docs"), ("/docs/a/b", "docs"), ("/docsx", "web")]:
        response = proxy.get(target)
        assert response.status == 200, response
        assert response.json()["app"] == app, target
        assert response.json()["path"] == target
    assert [r["path"] for r in web.requests] == ["/", "/docsx"]
    assert [r["path"] for r in docs.requests] == ["/docs", "/docs/a/b"]


# (request target, extra headers, application that must serve it); the target must arrive unchanged.
ROUTES = [
    ("/", {}, "web"),
    ("/about/team?x=1", {}, "web"),
    ("/docs", {}, "docs"),
    ("/DOCS/Intro", {}, "docs"),
    ("/api", {}, "api"),
    ("/api/users/1?fields=a,b", {}, "api"),
    ("/apix", {}, "web"),
    # Matched as its URL pathname (/api/x) but forwarded exactly as sent.
    ("/docs/../api/x", {}, "api"),
    ("/%64ocs/x", {}, "web"),
    ("/vc-ap-e3e2a9/chunk.js", {}, "docs"),
    ("/anything", {"x-vercel-mfe-zone": "api"}, "api"),
    ("/new-docs/page", {}, "web"),  # a flagged route without a flag value: the default app decides
]


def test_three_applications(site):
    proxy, apps = site
    for target, headers, app in ROUTES:
        before = {name: len(server.requests) for name, server in apps.items()}
        response = proxy.get(target, headers)
        assert response.status == 200, (target, response)
        report = response.json()
        assert (report["app"], report["path"]) == (app, target)
        after = {name: len(server.requests) for name, server in apps.items()}
        assert after == {**before, app: before[app] + 1}, target


def test_application_sees_client_host_and_forwarded_headers(site):
    proxy, _ = site
    host = f"localhost:{proxy.port}"
    response = proxy.get("/docs/page", {"Host": host, "X-Custom": "kept as is", "Cookie": "a=1; b=2"})
    report = response.json()
    assert report["app"] == "docs"
    assert received_headers(report, "host") == [host]
    assert received_headers(report, "x-forwarded-host") == [host]
    assert received_headers(report, "x-forwarded-proto") == ["http"]
    assert received_headers(report, "x-forwarded-for") == ["127.0.0.1"]
    assert received_headers(report, "x-vercel-mfe-local-proxy-origin") == ["1"]
    assert received_headers(report, "x-custom") == ["kept as is"]
    assert received_headers(report, "cookie") == ["a=1; b=2"]


def test_forwarded_headers_from_a_tunnel_in_front_arrive_unchanged(site):
    # A tunnel (ngrok, cloudflared) or another proxy says where the browser really is; applications
    # build their URLs from that, so it reaches them as sent, as on Vercel. One it leaves out is added.
    proxy, _ = site
    sent = {
        "X-Forwarded-Host": "tunnel.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
    }
    report = proxy.get("/docs/page", sent).json()
    for name, value in sent.items():
        assert received_headers(report, name) == [value], name
    report = proxy.get("/docs/page", {"X-Forwarded-Proto": "https"}).json()
    assert received_headers(report, "x-forwarded-proto") == ["https"]
    assert received_headers(report, "x-forwarded-host") == [f"127.0.0.1:{proxy.port}"]
    assert received_headers(report, "x-forwarded-for") == ["127.0.0.1"]


def test_forwarded_for_without_a_client_value(site):
    proxy, _ = site
    report = proxy.get("/").json()
    assert received_headers(report, "x-forwarded-for") == ["127.0.0.1"]
    assert received_headers(report, "host") == [f"127.0.0.1:{proxy.port}"]


def test_method_path_query_and_large_body_unchanged(site):
    proxy, apps = site
    body = big_body(3 * MIB)
    target = "/api/upload/%7Bid%7D?a=1&b=%20x&a=2"
    response = proxy.request("POST", target, {"Content-Type": "application/octet-stream"}, body)
    assert response.status == 200, response
    report = response.json()
    assert (report["app"], report["method"], report["path"]) == ("api", "POST", target)
    assert report["body_length"] == len(body)
    assert report["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert received_headers(report, "content-type") == ["application/octet-stream"]
    assert apps["api"].requests[0]["body_sha256"] == report["body_sha256"]


def test_other_methods(site):
    proxy, _ = site
    for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        report = proxy.request(method, "/docs/item?v=2", body=b'{"x": 1}').json()
        assert (report["app"], report["method"], report["path"]) == ("docs", method, "/docs/item?v=2")
        assert report["body_sha256"] == hashlib.sha256(b'{"x": 1}').hexdigest(), method


def test_head_request(site):
    proxy, apps = site
    response = proxy.request("HEAD", "/api/x")
    assert response.status == 200
    assert response.body == b""
    assert apps["api"].requests[0]["method"] == "HEAD"


def test_one_keep_alive_connection_across_applications(site):
    proxy, apps = site
    connection = proxy.connection()
    sockets = set()
    cycle = [("/", "web"), ("/docs/page", "docs"), ("/api/items", "api")]
    try:
        for index in range(30):
            path, app = cycle[index % 3]
            target = f"{path}?n={index}"
            response = send(connection, "GET", target)
            assert response.status == 200, response
            assert (response.json()["app"], response.json()["path"]) == (app, target), index
            # http.client silently reconnects when the server closes; the local address shows it did not.
            sockets.add(connection.sock.getsockname())
    finally:
        connection.close()
    assert len(sockets) == 1
    assert [len(server.requests) for server in apps.values()] == [10, 10, 10]


def test_flag_value_becomes_a_header(site):
    proxy, _ = site
    on = proxy.get("/new-docs/page?a=1&vercel-mfe-flag-value=true").json()
    assert (on["app"], on["path"]) == ("docs", "/new-docs/page?a=1")
    assert received_headers(on, "x-vercel-mfe-flag-value") == ["true"]

    off = proxy.get("/new-docs/page?vercel-mfe-flag-value=false&b=2").json()
    assert (off["app"], off["path"]) == ("web", "/new-docs/page?b=2")
    assert received_headers(off, "x-vercel-mfe-flag-value") == ["false"]

    unset = proxy.get("/new-docs/page?b=2").json()
    assert (unset["app"], unset["path"]) == ("web", "/new-docs/page?b=2")
    assert received_headers(unset, "x-vercel-mfe-flag-value") == []


def test_server_sent_events_stream(site):
    """Each event reaches the client when the application sends it, not when the response ends."""
    proxy, _ = site
    connection = proxy.connection()
    try:
        started = time.monotonic()
        connection.request("GET", "/docs/sse", headers={"Accept": "text/event-stream"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("content-type") == "text/event-stream"
        arrivals = []
        for index in range(SSE_EVENTS):
            event = b""
            while not event.endswith(b"\n\n"):
                line = response.readline()
                assert line, f"the stream ended before event {index}"
                event += line
            arrivals.append(time.monotonic() - started)
            assert event == sse_event(index)
        assert response.read() == b""
    finally:
        connection.close()
    # The application sends the last event SSE_INTERVAL * (SSE_EVENTS - 1) s after the first.
    assert arrivals[0] < SSE_INTERVAL * 0.8, arrivals
    assert arrivals[-1] - arrivals[0] > SSE_INTERVAL * (SSE_EVENTS - 1) * 0.8, arrivals


def test_chunked_response_arrives_incrementally(site):
    proxy, apps = site
    connection = proxy.connection()
    try:
        started = time.monotonic()
        connection.request("GET", "/api/chunked")
        response = connection.getresponse()
        assert response.status == 200
        arrivals, body = [], b""
        while piece := response.read1(65536):
            arrivals.append(time.monotonic() - started)
            body += piece
    finally:
        connection.close()
    assert body == b"".join(chunk(i) for i in range(CHUNKS))
    assert apps["api"].requests[0]["path"] == "/api/chunked"
    assert arrivals[0] < CHUNK_INTERVAL * 0.8, arrivals
    assert arrivals[-1] - arrivals[0] > CHUNK_INTERVAL * (CHUNKS - 1) * 0.8, arrivals


def test_large_download(site):
    proxy, _ = site
    size = 20 * MIB
    response = proxy.get(f"/docs/big?bytes={size}")
    assert response.status == 200
    assert len(response.body) == size
    assert hashlib.sha256(response.body).digest() == hashlib.sha256(big_body(size)).digest()


def test_routing_endpoint(site):
    proxy, apps = site
    response = proxy.get("/.well-known/vercel/microfrontends/routing?x=1")
    assert response.status == 200
    assert response.headers.get_content_type() == "application/json"
    assert response.json() == {
        name: {"routing": {"host": "127.0.0.1", "port": server.port, "protocol": "http"}}
        for name, server in apps.items()
    }
    assert list(response.json()) == ["web", "docs", "api"]
    assert proxy.request("POST", "/.well-known/vercel/microfrontends/routing").status == 405
    assert all(not server.requests for server in apps.values())


# (request target, page in Referer, application that must serve it)
NEXTJS_ROUTES = [
    ("/__nextjs_original-stack-frame?file=x", "/docs/page", "docs"),
    ("/__nextjs_original-stack-frames", "/api/z", "api"),
    ("/__nextjs_original-stack-frame?file=x", "/about", "web"),
    ("/__nextjs_original-stack-frame?file=x", None, "web"),
    ("/_next/image?url=%2Fdocs%2Fimg.png&w=64&q=75", None, "docs"),
    ("/_next/image?url=%2Fvc-ap-e3e2a9%2Fimg.png&w=64", None, "docs"),
    ("/_next/image?url=%2Fhome.png&w=64", "/docs/page", "web"),
    # The first local application, the default one first.
    ("/__nextjs_source-map?filename=x", "/docs/page", "web"),
]


def test_nextjs_endpoints(site):
    proxy, _ = site
    for target, referer, app in NEXTJS_ROUTES:
        headers = {"Referer": f"http://localhost:{proxy.port}{referer}"} if referer else {}
        report = proxy.get(target, headers).json()
        assert (report["app"], report["path"]) == (app, target), referer


def test_repeated_slashes_redirect(site):
    proxy, apps = site
    for target, location in [
        ("//docs", "/docs"),
        ("/docs//x?y=//z", "/docs/x?y=//z"),
        ("//?x=1", "/?x=1"),
        ("/api\\\\x", "/api/x"),
    ]:
        response = proxy.get(target)
        assert (response.status, response.headers["Location"]) == (307, location), target
    assert all(not server.requests for server in apps.values())


def test_absolute_url_target_is_refused(site):
    """The proxy serves the configured applications only: a request meant for a forward proxy gets
    400, whatever its path, and reaches no application."""
    proxy, apps = site
    response = proxy.get(f"http://127.0.0.1:{apps['docs'].port}/docs/x")
    assert response.status == 400
    assert response.headers.get_content_type() == "text/plain"
    assert all(not server.requests for server in apps.values())


def test_connect_is_refused(site, engine):
    # In reverse mode mitmproxy itself refuses CONNECT (400, with its own page) after the addon's hook
    # ran; what matters is that no tunnel opens and no application sees it.
    proxy, apps = site
    response = proxy.request("CONNECT", f"127.0.0.1:{apps['web'].port}")
    assert response.status == 400
    if engine == "nginx":
        documented("`CONNECT`, `TRACE`")  # refused by nginx itself, with its own page
        assert b"400 Bad Request" in response.body
    else:
        assert b"CONNECT" in response.body
    assert all(not server.requests for server in apps.values())
