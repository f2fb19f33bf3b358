"""Security through the real addon in a real mitmdump: loopback-only listening, DNS-rebinding protection
(Host allow-list), WebSocket Origin checks, and requests that try to reach an upstream outside the config.
Each refused request is checked to have reached no application. The Origin checks and the requests for
another upstream run with each engine (nginx serving the export too); tests/nginx checks its Host
allow-list."""

import socket
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from e2e.harness import DOCS_HMR, TIMEOUT, received_headers, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import DOCS_AND_BELOW, free_port, two_apps

HTML_ACCEPT = "text/html,*/*;q=0.8"


def raw(port: int, request: bytes) -> bytes:
    """Send `request` as it is and read until the proxy closes or 2 s pass without data."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        sock.settimeout(2)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, read from the kernel's tables."""
    found = set()
    for table, width in ((Path("/proc/net/tcp"), 8), (Path("/proc/net/tcp6"), 32)):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address if len(address) == width else "?")
    return found


@pytest.fixture
def apps(upstream):
    return upstream("web"), upstream("docs")


def test_listens_on_loopback_only(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    assert listening_addresses(proxy.port) == {"0100007F"}  # 127.0.0.1, and nothing else
    assert f"(listening on 127.0.0.1:{proxy.port})" in proxy.output()


def test_listens_elsewhere_only_when_asked(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "listen_host=0.0.0.0"
    )
    assert listening_addresses(proxy.port) == {"00000000"}
    assert proxy.get("/docs/x").status == 200


@pytest.mark.parametrize("host", ["evil.test", "localhost.evil.test", "192.168.1.5:80", "127.0.0.2"])
def test_other_hosts_get_403_and_reach_no_application(start_proxy, apps, host):
    web, docs = apps
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    for target in ("/", "/docs/page"):
        response = proxy.get(target, {"Host": host, "Accept": HTML_ACCEPT})
        assert response.status == 403
        name = host.split(":")[0]
        assert f"Host {name} is not allowed" in response.text
        assert f"--set mfe_allowed_hosts={name}" in response.text
    assert web.requests == docs.requests == []


@pytest.mark.parametrize("host", ["localhost", "localhost:3024", "docs.localhost", "[::1]:1", "127.0.0.1"])
def test_local_hosts_are_served(start_proxy, apps, host):
    web, docs = apps
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    response = proxy.get("/docs/page", {"Host": host})
    assert response.status == 200
    assert response.json()["app"] == "docs"
    assert received_headers(docs.requests[0], "host") == [host]


def test_allowed_hosts_option(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW),
        "--set",
        "mfe_allowed_hosts=myapp.test,*.dev.test",
    )
    for host in ("myapp.test:3024", "a.dev.test", "localhost"):
        assert proxy.get("/docs/x", {"Host": host}).status == 200, host
    assert proxy.get("/docs/x", {"Host": "dev.test"}).status == 403
    assert len(docs.requests) == 3


def test_a_bad_allowed_hosts_option_stops_start_up(start_proxy, apps):
    web, docs = apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW),
        "--set",
        "mfe_allowed_hosts=localhost:3000",
        expect_ready=False,
    )
    code, output = proxy.wait_exit()
    assert code == 1
    assert "mfe-proxy cannot start: mfe_allowed_hosts: 'localhost:3000' is not a host name" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "head",
    [
        b"GET /docs/x HTTP/1.1\r\n",  # no Host at all
        b"GET /docs/x HTTP/1.0\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: localhost\r\nHost: evil.test\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: localhost@evil.test\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: localhost:99999\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: \r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: local host\r\n",
        b"GET /docs/x HTTP/1.1\r\nHost: <script>alert(1)</script>\r\n",
    ],
)
def test_missing_duplicate_or_malformed_host_gets_400(start_proxy, apps, head):
    web, docs = apps
    proxy = start_proxy(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    answer = raw(proxy.port, head + b"Connection: close\r\n\r\n")
    assert status_of(answer) == 400
    assert b"mfe-proxy cannot serve a request with" in answer or b"Bad Request" in answer
    # Plain text and never sniffed as HTML, so an echoed value cannot run as script.
    assert b"text/html" not in answer.partition(b"\r\n\r\n")[0].lower()
    assert web.requests == docs.requests == []


@pytest.mark.parametrize(
    "target",
    [
        b"http://evil.test/docs/x",
        b"http://localhost/docs/x",  # even naming an allowed host: the target must be a path
        b"https://evil.test:443/",
        b"//evil.test/docs/x",
    ],
)
def test_targets_naming_a_host_stay_on_configured_upstreams(serve, apps, target):
    web, docs = apps
    proxy = serve(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    answer = raw(proxy.port, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    if target.startswith(b"//"):
        # Repeated slashes are folded, as Vercel does, by a redirect to a path on the proxy's origin:
        # a browser following it stays here.
        assert status_of(answer) == 307
        assert b"\r\nLocation: /evil.test/docs/x\r\n" in answer
    else:
        assert status_of(answer) == 400
    assert web.requests == docs.requests == []


def test_connect_is_refused(serve, apps):
    web, docs = apps
    proxy = serve(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    answer = raw(proxy.port, f"CONNECT 127.0.0.1:{docs.port} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    assert status_of(answer) >= 400
    assert web.requests == docs.requests == []


@pytest.mark.parametrize(
    "path",
    ["/docs/@evil.test/x", "/docs/..%2f..%2f@evil.test", "/docs/%2F%2Fevil.test", "/docs/x?@evil.test"],
)
def test_paths_do_not_change_a_fallbacks_host(start_proxy, upstream, path):
    web = upstream("web")
    deployment = upstream("docs-deployment")
    config = two_apps(web.port, free_port(), docs_paths=DOCS_AND_BELOW)
    config["applications"]["docs"]["development"]["fallback"] = f"http://127.0.0.1:{deployment.port}"
    proxy = start_proxy(config, "--set", "mfe_local_apps=web")
    response = proxy.get(path)
    assert response.status == 200
    assert response.json()["app"] == "docs-deployment"
    (report,) = deployment.requests
    assert received_headers(report, "host") == [f"127.0.0.1:{deployment.port}"]
    assert report["path"] == path
    assert web.requests == []


def test_a_double_slash_path_is_folded_before_any_fallback(start_proxy, upstream):
    web = upstream("web")
    deployment = upstream("docs-deployment")
    config = two_apps(web.port, free_port(), docs_paths=DOCS_AND_BELOW)
    config["applications"]["docs"]["development"]["fallback"] = f"http://127.0.0.1:{deployment.port}"
    proxy = start_proxy(config, "--set", "mfe_local_apps=web")
    response = proxy.get("/docs//evil.test/x")
    assert response.status == 307
    assert response.headers["Location"] == "/docs/evil.test/x"
    assert deployment.requests == web.requests == []


@pytest.fixture
def ws_apps():
    started = [WsUpstream(), WsUpstream()]
    yield started
    for server in started:
        server.stop()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://localhost:3024", True),
        ("http://docs.localhost:3024", True),
        ("https://app.localhost", True),
        ("http://127.0.0.1", True),
        ("https://evil.test", False),
        ("http://localhost.evil.test", False),
        ("null", False),
    ],
)
def test_websocket_origin(serve, ws_apps, origin, allowed):
    web, docs = ws_apps
    proxy = serve(two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW))
    headers = {"Origin": origin} if origin else {}
    if allowed:
        with ws_connect(proxy, DOCS_HMR, origin=origin) as ws:
            ws.send("hi")
            assert ws.recv(timeout=TIMEOUT) == "hi"
        assert len(docs.wait_connections(1)) == 1
        return
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(proxy, DOCS_HMR, additional_headers=headers)
    assert refused.value.response.status_code == 403
    assert b"refuses WebSocket connections from pages on" in refused.value.response.body
    assert docs.connections == []


def test_allowed_hosts_also_allow_websocket_origins(start_proxy, ws_apps):
    web, docs = ws_apps
    proxy = start_proxy(
        two_apps(web.port, docs.port, docs_paths=DOCS_AND_BELOW), "--set", "mfe_allowed_hosts=myapp.test"
    )
    with ws_connect(proxy, DOCS_HMR, origin="https://myapp.test") as ws:
        ws.send("hi")
        assert ws.recv(timeout=TIMEOUT) == "hi"
