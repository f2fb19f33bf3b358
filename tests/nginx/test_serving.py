"""nginx serving the export, with real HTTP peers, where the shared end-to-end tests (tests/e2e, which
run against both engines) do not reach: the 502 page and answers compared with what the proxy's own
modules produce for the same request, the Host allow-list, https fallbacks, and the rows of DIFFERENCES
about requests."""

import json

import pytest

from e2e.tls import server_context
from e2e.upstream import Upstream
from mfe_proxy import pages
from mfe_proxy.hosts import AllowedHosts
from mfe_proxy.model import Origin
from mfe_proxy.nginx.maps import PATHNAME_STEPS
from nginx.conftest import serving
from nginx.harness import raw_request, request

CONFIG = {
    "applications": {
        "web": {"development": {"local": 3000}},
        "docs": {
            "packageName": "docs-site",
            "development": {"local": 3001, "task": "start"},
            "routing": [{"paths": ["/docs", "/docs/:path*"]}],
        },
        "api": {"development": {"local": 3002}, "routing": [{"paths": ["/api/:path*"]}]},
    }
}


def report(response) -> dict:
    assert response.status == 200, response
    return json.loads(response.body)


def headers_of(report: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in report["headers"]:
        found.setdefault(name.lower(), []).append(value)
    return found


DOT_STEPS_MESSAGE = f"this nginx export resolves at most {PATHNAME_STEPS} dot segments and backslashes"


# -- applications that are down ------------------------------------------------------------------------


def test_an_application_answering_502_itself_is_not_sent_to_the_fallback(serve):
    fallback = Upstream("docs-fallback")
    try:
        document = json.loads(json.dumps(CONFIG))
        document["applications"]["docs"]["development"]["fallback"] = fallback.url
        served = serve(document)
        response = request(served.port, "GET", "/docs/status/502")
        assert (response.status, json.loads(response.body)["app"]) == (502, "docs")
        assert fallback.requests == []
    finally:
        fallback.stop()


@pytest.mark.parametrize(
    ("method", "accept"), [("GET", "*/*"), ("POST", "text/html"), ("DELETE", "text/html,*/*")]
)
def test_a_down_application_without_fallback_gets_the_proxys_502_page(serve, method, accept):
    served = serve(CONFIG, down=("docs",))
    app = served.config.applications["docs"]
    upstream = Origin("http", "127.0.0.1", int(served.conf.split("# docs: http://127.0.0.1:")[1].split()[0]))
    target = "/docs/a?x=<b>&y=1"
    response = request(served.port, method, target, {"accept": accept})
    expected = pages.application_down(
        app, upstream, method, target, served.config.file, "text/html" in accept
    )
    assert response.status == 502
    assert response.header("content-type") == expected.content_type
    assert response.header("cache-control") == "no-store"
    if "text/html" in accept:
        # The path is written only where it is safe in HTML; the page is otherwise the proxy's own.
        expected = pages.application_down(app, upstream, method, "(this path)", served.config.file, True)
    assert response.body == expected.body
    assert b"turbo run start --filter=docs-site" in response.body


def test_the_502_page_has_no_waiting_script_since_nginx_has_no_status_endpoint(serve):
    served = serve(CONFIG, down=("docs",))
    response = request(served.port, "GET", "/docs/a", {"accept": "text/html"})
    assert response.status == 502
    assert b"Application docs is not running." in response.body
    assert b"<script" not in response.body


# -- the proxy's own answers and refusals ----------------------------------------------------------------


HOSTS = [
    "localhost", "localhost:3024", "LOCALHOST:1", "localhost.", "127.0.0.1:80", "[::1]:3024", "[::1]",
    "app.localhost", "a.b.localhost:3", "x_y.localhost", "preview.example.com", "PREVIEW.example.com:443",
    "a.dev.example.test", "dev.example.test", "evil.example", "localhost.evil.example", "127.0.0.2",
    "[::2]", "evil.localhost.example", "localhost:0", "localhost:65536", "localhost:00080", "-x.localhost",
    "x-.localhost", "_x.localhost",
]  # fmt: skip


SERVER_NAMES = ["preview.example.com", "*.dev.example.test"]


@pytest.fixture(scope="module")
def named_served():
    with serving(CONFIG, server_names=SERVER_NAMES) as served:
        yield served


@pytest.mark.parametrize("host", HOSTS)
def test_hosts_are_allowed_as_by_the_proxy(named_served, host):
    refusal = AllowedHosts(SERVER_NAMES).check_host([host])
    response = request(named_served.port, "GET", "/docs/x", host=host)
    # The proxy's answer: a refusal with its status, or nothing (an older API: status 0) when allowed.
    status = getattr(refusal, "status", 0)
    assert response.status == (status or 200), response
    if status == 403:
        assert f"host {refusal.host}".encode() in response.body


def test_a_host_check_refusal_says_how_to_allow_the_host(serve):
    served = serve(CONFIG)
    response = request(served.port, "GET", "/docs/x", {"accept": "text/html"}, host="evil.example")
    assert (response.status, response.header("content-type")) == (403, "text/html; charset=utf-8")
    assert b"--server-name evil.example" in response.body
    assert request(served.port, "GET", "/docs/x", host=None).status == 400


def test_request_targets_naming_a_host_are_refused(serve):
    served = serve(CONFIG)
    for target in ("http://evil.example/docs/x", "http://localhost/docs/x", "https://localhost:1/"):
        response = request(served.port, "GET", target)
        assert (response.status, response.body) == (
            400,
            b"the request target must be a path starting with /\n",
        )
    assert served.upstreams["docs"].requests == []


def test_headers_the_proxy_writes_replace_the_clients(serve):
    served = serve(CONFIG)
    head = (
        b"GET /docs/x HTTP/1.1\r\nHost: localhost:3024\r\nx-vercel-mfe-local-proxy-origin: 0\r\n"
        b"x-vercel-mfe-local-proxy-origin: 2\r\nx-vercel-mfe-flag-value: true\r\nX_Under: kept"
    )
    sent = headers_of(report(raw_request(served.port, head)))
    assert sent["x-vercel-mfe-local-proxy-origin"] == ["1"]
    assert "x-vercel-mfe-flag-value" not in sent
    assert sent["host"] == ["localhost:3024"]
    assert sent["x-forwarded-host"] == ["localhost:3024"]
    assert sent["x_under"] == ["kept"]


ODD_NAMES = {
    "applications": {
        "web": {"development": {"local": 3000}},
        "x y": {"routing": [{"paths": ["/xy"]}], "packageName": "pkg$x", "development": {"task": 'de"v'}},
        "a$b": {"routing": [{"paths": ["/ab/:p+"]}]},
        'q"t\\z': {"routing": [{"paths": ["/qt"]}]},
        "Ünï": {"routing": [{"paths": ["/u"]}]},
        "default": {"routing": [{"paths": ["/default"]}]},
    }
}


def test_odd_application_names_route_and_show_as_in_the_proxy(serve):
    served = serve(ODD_NAMES, down=("x y",))
    for name in ("a$b", 'q"t\\z', "Ünï", "default"):
        head = f"GET /anything HTTP/1.1\r\nHost: localhost\r\nx-vercel-mfe-zone: {name}".encode()
        assert report(raw_request(served.port, head))["app"] == name
    assert report(request(served.port, "GET", "/ab/1"))["app"] == "a$b"
    assert report(request(served.port, "GET", "/xy", {"x-vercel-mfe-zone": "Default"}))["app"] == "web"
    response = request(served.port, "GET", "/xy")
    app = served.config.applications["x y"]
    upstream = Origin("http", "127.0.0.1", int(served.conf.split("# x y: http://127.0.0.1:")[1].split()[0]))
    expected = pages.application_down(app, upstream, "GET", "/xy", served.config.file, False)
    assert (response.status, response.body) == (502, expected.body)
    assert b'turbo run de"v --filter=pkg$x' in response.body


def test_a_routing_table_longer_than_nginx_strings_is_answered_whole(serve):
    document = {
        "applications": {
            "web": {"development": {"local": 3000}},
            **{f"application-{n}": {"routing": [{"paths": [f"/s{n}"]}]} for n in range(40)},
        }
    }
    served = serve(document)
    targets = {
        name: Origin("http", "127.0.0.1", upstream.port) for name, upstream in served.upstreams.items()
    }
    expected = pages.routing_table(targets).body
    assert len(expected) > 4096
    assert request(served.port, "GET", "/.well-known/vercel/microfrontends/routing").body == expected


# -- https fallbacks -----------------------------------------------------------------------------------


@pytest.fixture
def tls_fallback(tmp_path):
    """A deployment over https, and the file of its certificate (its own CA)."""
    server = Upstream("docs-deployment", tls=server_context(tmp_path))
    try:
        yield server, tmp_path / "fallback.crt"
    finally:
        server.stop()


def test_an_https_fallback_gets_its_host_and_its_redirects_come_back_through_nginx(serve, tls_fallback):
    server, cert_file = tls_fallback
    port = server.port
    document = json.loads(json.dumps(CONFIG))
    document["applications"]["docs"]["development"]["fallback"] = f"https://127.0.0.1:{port}"
    served = serve(document, down=("docs",), trusted_certificates=str(cert_file))
    received = report(request(served.port, "GET", "/docs/x?q=1", host="localhost:3024"))
    sent = headers_of(received)
    assert received["path"] == "/docs/x?q=1"
    assert sent["host"] == [f"127.0.0.1:{port}"]
    assert sent["x-forwarded-host"] == ["localhost:3024"]
    assert "x-vercel-mfe-local-proxy-origin" not in sent
    # As Vercel's proxy: a redirect from a deployment, to any origin or to a path, comes back here.
    for location, rewritten in (
        (f"https://127.0.0.1:{port}/docs/t?a=1", "http://localhost:3024/docs/t?a=1"),
        ("https://other.example/x#y", "http://localhost:3024/x#y"),
        ("/docs/relative", "http://localhost:3024/docs/relative"),
    ):
        response = request(served.port, "GET", f"/docs/redirect?to={location}", host="localhost:3024")
        assert (response.status, response.header("location")) == (307, rewritten)


def test_an_https_fallback_with_an_untrusted_certificate_is_not_used(serve, tls_fallback):
    server, _ = tls_fallback
    document = json.loads(json.dumps(CONFIG))
    document["applications"]["docs"]["development"]["fallback"] = server.url
    served = serve(document, down=("docs",))
    assert request(served.port, "GET", "/docs/x").status == 502
    assert server.requests == []


# -- documented differences --------------------------------------------------------------------------


def test_what_nginx_does_differently_is_what_the_differences_say(serve):
    """Rows of DIFFERENCES, checked: where nginx cannot do what the proxy does, it does this."""
    document = json.loads(json.dumps(CONFIG))
    document["applications"]["docs"]["routing"].append({"flag": "f", "paths": ["/flagged/:path*"]})
    served = serve(document)
    for target in ("/../docs", "/docs/%2e%2e/%2e%2e/x", "/a%2F..%2F..%2Fdocs", "/docs/%zz"):
        assert request(served.port, "GET", target).status == 400, target
    too_many = "/docs" + "/." * (PATHNAME_STEPS + 1)
    response = request(served.port, "GET", too_many)
    assert (response.status, response.body) == (400, f"{DOT_STEPS_MESSAGE}\n".encode())
    assert request(served.port, "GET", "/docs" + "/." * PATHNAME_STEPS).status == 200
    assert request(served.port, "OPTIONS", "*").status == 400
    assert request(served.port, "CONNECT", "localhost:443").status == 400
    assert request(served.port, "TRACE", "/docs").status == 405
    # The query goes as sent, less the parameter; URLSearchParams would write `a=%2Fb&c=`.
    received = report(request(served.port, "GET", "/flagged/x?a=/b&c&vercel-mfe-flag-value=true"))
    assert (received["app"], received["path"]) == ("docs", "/flagged/x?a=/b&c")
    # The proxy's own endpoints with live counters are not exported.
    response = request(served.port, "GET", "/.well-known/mfe-proxy/status")
    assert response.status == 404
    assert b"the status and metrics endpoints, with their live counters, are the proxy's own" in response.body
