"""Exact parity: every request of a table goes through a real nginx serving the export, and lands where
`Router.route` says the proxy sends it, with the target and headers the proxy forwards.

The expectation is computed, not written down: for each request the router decides (application,
redirect, endpoint or refusal), and nginx must do the same, byte for byte in the forwarded target."""

import json

import pytest

from helpers import load
from mfe_proxy.router import Endpoint, Forward, Redirect, Reject, Router, forwarded_path
from nginx.conftest import Served, serving
from nginx.harness import Response, request

# Every kind of pattern the compiler accepts, flags, asset prefixes and an application whose name is
# an array index (which Vercel tries first).
CONFIG = {
    "applications": {
        "web": {"development": {"local": 3000}},
        "docs": {
            "development": {"local": 3001},
            "routing": [
                {"paths": ["/docs", "/docs/:path*"]},
                {"group": "preview", "flag": "docs-preview", "paths": ["/preview", "/preview/:path*"]},
            ],
        },
        "api": {
            "development": {"local": 3002},
            "routing": [{"paths": ["/api/:path*"]}],
            "assetPrefix": "api-assets",
        },
        "i18n": {
            "development": {"local": 3003},
            "routing": [
                {"paths": ["/:lang(en|fr)/help", "/:lang(en|fr)/help/:path+"]},
                {"flag": "beta", "paths": ["/beta/:page"]},
            ],
        },
        "shop": {
            "development": {"local": 3004},
            "routing": [
                {"paths": ["/shop/:id(new|\\d+)", "/assets/some-:hash.js", "/a\\:b", "/caf%C3%A9"]},
                {"paths": ["/landing/:rest((?!admin|internal).*)"]},
            ],
        },
        "2024": {"development": {"local": 3005}, "routing": [{"paths": ["/archive/:path*"]}]},
    }
}

PATHS = [
    "/",
    "/docs",
    "/docs/",
    "/DOCS/Intro",
    "/docs/a/b",
    "/docsx",
    "/docs//",
    "/docs/../api/x",
    "/docs/%2e%2e/api",
    "/docs/%2E%2e/api/",
    "/api/../docs",
    "/./docs",
    "/docs/.",
    "/docs/..",
    "/docs/a/./b/../c",
    "/docs/.%2e/shop/12",
    "/a/b/c/../../../docs/x",
    "/%64ocs/x",
    "/docs?x=1",
    "/docs?next=/api/x",
    "/api",
    "/api/",
    "/apix",
    "/vc-ap-docs/chunk.js",
    "/VC-AP-DOCS/chunk.js",
    "/api-assets/app.css",
    "/vc-ap-api/app.css",
    "/vc-ap-x/unknown.js",
    "/docs/caf%C3%A9",
    "/docs;x",
    "/docs/a%2Fb",
    "/docs%2Fa",
    "/docs/x?u=http://a//b",
    "/docs\\intro",
    "/docs/a\\..\\..\\api",
    "/docs#frag",
    "/docs/x?y=1#frag",
    "//docs/x",
    "/docs//x",
    "/\\docs",
    "/docs//x?y=//z",
    "//?x=1",
    "/a//b//c//d",
    "/preview",
    "/preview/x",
    "/preview/x?vercel-mfe-flag-value=true",
    "/preview/x?a=1&vercel-mfe-flag-value=false",
    "/preview/x?vercel-mfe-flag-value=true&b=2",
    "/preview/x?a=1&vercel-mfe-flag-value=true&b=2",
    "/preview/x?vercel-mfe-flag-value=maybe",
    "/preview/x?vercel-mfe-flag-value=x&vercel-mfe-flag-value=true",
    "/preview/x?vercel-mfe-flag-value",
    "/preview/x?vercel-mfe-flag-value=true&vercel-mfe-flag-value=false",
    "/docs/x?vercel-mfe-flag-value=false",
    "/docs/../api/x?vercel-mfe-flag-value=true",
    "/nowhere?vercel-mfe-flag-value=true",
    "/?vercel-mfe-flag-value=true",
    "/en/help",
    "/FR/help/",
    "/de/help",
    "/en/help/a/b",
    "/en/helpx",
    "/beta/page",
    "/beta/page?vercel-mfe-flag-value=true",
    "/beta/page/x?vercel-mfe-flag-value=true",
    "/shop/new",
    "/shop/123",
    "/shop/12a",
    "/shop/NEW/",
    "/assets/some-abc.js",
    "/assets/some-.js",
    "/assets/some-a/b.js",
    "/a:b",
    "/A:B/",
    "/caf%C3%A9",
    "/caf%c3%a9",
    "/landing/page",
    "/landing/admin",
    "/landing/Admin/x",
    "/landing/administrator",
    "/landing/x/internal",
    "/landing",
    "/archive",
    "/archive/2024/01",
    "/vc-ap-2024/x",
    "/.well-known/vercel/microfrontends/routing",
    "/.well-known/vercel/microfrontends/routing?x=1",
    "/.well-known/vercel/microfrontends/routing/",
    "/.well-known/vercel/microfrontends/../microfrontends/routing",
    "/.well-known/Vercel/microfrontends/routing",
    "/.well-known/mfe-proxy/status",
    "/.well-known/mfe-proxy/nope",
    "/.well-known/other",
    "/__nextjs_source-map?filename=x",
    "/__NEXTJS_source-map/",
    "/__nextjs_original-stack-frame?file=x",
    "/_next/image?url=%2Fdocs%2Fimg.png&w=64&q=75",
    "/_next/image?url=%2Fvc-ap-api%2Fimg.png&w=64",
    "/_next/image?url=%2Fhome.png&w=64",
    "/_next/image?url=/api/a.png",
    "/_next/image?w=1&url=%252Fdocs%252Fa.png",
    "/_next/image?url=%2Fpreview%2Fa.png",
    "/_next/image?url=https%3A%2F%2Fcdn.example%2Fdocs%2Fa.png",
    "/_next/image?url=",
    "/_next/image?url=%2Fdocs%2F..%2Fapi%2Fa.png",
    "/_next/image?url=%2Fdocs%3Fx%2F",
    "/_next/image?curl=%2Fdocs%2Fa.png",
    "/_next/IMAGE/?url=%2Fdocs%2Fa.png",
    "/_next/image/x?url=%2Fdocs%2Fa.png",
    "/.well-known/vercel-toolbar/x",
    "/.well-known/vercel-toolbarx",
]

HEADERS = [
    (
        {"referer": "http://localhost:3024/docs/a"},
        ["/.well-known/vercel-toolbar/x", "/.well-known/vercel-toolbar"],
    ),
    ({"referer": "http://localhost:3024/api/z?k=1"}, ["/.well-known/vercel-toolbar/x?q=1"]),
    ({"referer": "http://localhost:3024/zzz"}, ["/.well-known/vercel-toolbar/x"]),
    ({"referer": "https://other.example:8443/docs/a"}, ["/.well-known/vercel-toolbar/x"]),
    (
        {"referer": "http://localhost/preview/a"},
        ["/.well-known/vercel-toolbar", "/__nextjs_original-stack-frame"],
    ),
    (
        {"referer": "http://localhost:3024/docs/../api/x"},
        ["/__nextjs_original-stack-frames", "/.well-known/vercel-toolbar"],
    ),
    (
        {"referer": "http://localhost:3024/docs/a"},
        ["/__nextjs_original-stack-frame?file=x", "/__NEXTJS_original-stack-frames/"],
    ),
    ({"referer": "http://localhost:3024/api/x"}, ["/__nextjs_original-stack-frames"]),
    (
        {"referer": "http://localhost:3024/zzz"},
        ["/__nextjs_original-stack-frame", "/__nextjs_original-stack-frame/x"],
    ),
    ({"referer": "/docs/a"}, ["/__nextjs_original-stack-frame", "/.well-known/vercel-toolbar"]),
    ({"referer": "http://localhost:3024/en/help/x"}, ["/__nextjs_original-stack-frames"]),
    ({"x-vercel-mfe-zone": "docs"}, ["/anything", "/api/x", "/.well-known/vercel-toolbar"]),
    ({"x-vercel-mfe-zone": "web"}, ["/docs/a"]),
    ({"x-vercel-mfe-zone": "nope"}, ["/docs/a", "/x"]),
    ({"x-vercel-mfe-zone": "DOCS"}, ["/x"]),
    ({"x-vercel-mfe-zone": "2024"}, ["/x"]),
    ({"x-vercel-mfe-zone": "api"}, ["/vc-ap-docs/a.js", "/_next/image?url=%2Fdocs%2Fa.png"]),
    (
        {"x-vercel-mfe-zone": "docs", "referer": "http://localhost:3024/api/a"},
        ["/.well-known/vercel-toolbar"],
    ),
    (
        {"upgrade": "websocket"},
        ["//docs/x", "/docs//x", "/\\docs", "/docs/x?y=//z", "///x", "/docs/../api/x"],
    ),
    (
        {"upgrade": "websocket"},
        ["/preview/x?vercel-mfe-flag-value=true&b=1", "/preview/x", "/api/x?vercel-mfe-flag-value=false"],
    ),
    ({"x-forwarded-host": "tunnel.example", "x-forwarded-proto": "https"}, ["/docs/x"]),
    ({"x-vercel-mfe-local-proxy-origin": "0", "x-vercel-mfe-flag-value": "true"}, ["/preview/x", "/docs/x"]),
]

CASES = (
    [("GET", path, {}) for path in PATHS]
    + [("GET", path, headers) for headers, paths in HEADERS for path in paths]
    + [
        ("POST", "/.well-known/vercel/microfrontends/routing", {}),
        ("HEAD", "/.well-known/vercel/microfrontends/routing", {}),
        ("DELETE", "/.well-known/mfe-proxy/status", {}),
        ("POST", "/docs/form", {}),
        ("PUT", "/preview/x?vercel-mfe-flag-value=true", {}),
        ("HEAD", "/api/x", {}),
        ("GET", "http://evil.example/docs/x", {}),
        ("GET", "HTTP://localhost/", {}),
    ]
)


@pytest.fixture(scope="module")
def served() -> Served:
    with serving(CONFIG) as served:
        yield served


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load(CONFIG))


def test_the_table_covers_every_application(router):
    reached = {
        decision.application.name
        for method, target, headers in CASES
        if isinstance(decision := router.route(method, target, headers, "upgrade" in headers), Forward)
    }
    assert reached == set(CONFIG["applications"])


@pytest.mark.parametrize(("method", "target", "headers"), CASES, ids=lambda value: str(value)[:60])
def test_nginx_routes_as_the_router(served, router, method, target, headers):
    decision = router.route(method, target, headers, "upgrade" in headers)
    body = b"form=1" if method in ("POST", "PUT") else b""
    response = request(served.port, method, target, headers, body)
    expect(served, decision, method, target, headers, response)


def expect(
    served: Served, decision: object, method: str, target: str, headers: dict, response: Response
) -> None:
    """Assert that `response`, what nginx answered to the request, is what the proxy's `decision` gives."""
    where = f"{method} {target} {headers}: nginx answered {response.status} {response.body[:300]!r}"
    if isinstance(decision, Redirect):
        assert (response.status, response.header("location")) == (decision.status, decision.location), where
        return
    if isinstance(decision, Reject):
        assert response.status == decision.status, where
        return
    if isinstance(decision, Endpoint):
        if decision.name != "routing":
            assert response.status == 404, where
        elif method == "HEAD":
            assert (response.status, response.body) == (200, b""), where
        else:
            assert response.status == 200, where
            table = {
                name: {"routing": {"host": "127.0.0.1", "port": upstream.port, "protocol": "http"}}
                for name, upstream in served.upstreams.items()
            }
            assert json.loads(response.body) == table, where
        return
    assert isinstance(decision, Forward)
    assert response.status == 200, where
    report = served.upstreams[decision.application.name].requests[-1]
    received = {name.lower(): value for name, value in report["headers"]}
    assert report["app"] == decision.application.name, where
    assert report["method"] == method, where
    assert report["path"] == forwarded_path(decision.target or target), where
    flag = None if decision.flag_value is None else str(decision.flag_value).lower()
    assert received.get("x-vercel-mfe-flag-value") == flag, where
    assert received.get("x-vercel-mfe-local-proxy-origin") == "1", where
    assert received.get("host") == "localhost", where
    assert received.get("x-forwarded-host") == headers.get("x-forwarded-host", "localhost"), where
    assert received.get("x-forwarded-proto") == headers.get("x-forwarded-proto", "http"), where
    assert received.get("x-forwarded-for") == "127.0.0.1", where
    for name in ("referer", "x-vercel-mfe-zone"):
        assert received.get(name) == headers.get(name), where
