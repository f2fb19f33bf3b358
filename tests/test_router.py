"""Routing decisions, checked against what Vercel's local proxy (@vercel/microfrontends 2.4.0) was
seen to do with the same config; where it differs on purpose, the test says so."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfe_proxy.config import Config, parse_config
from mfe_proxy.router import (
    FLAG_PARAMETER,
    Endpoint,
    Forward,
    Reason,
    Redirect,
    Reject,
    Router,
    pathname,
)

CONFIG = {
    "applications": {
        "web": {"development": {"local": 3000, "fallback": "web.example.com"}},
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
    }
}


def load(document: dict) -> Config:
    return parse_config(json.dumps(document).encode(), "microfrontends.json")


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load(CONFIG))


def forward(
    router: Router, target: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> Forward:
    decision = router.route(method, target, headers or {})
    assert isinstance(decision, Forward), decision
    return decision


@pytest.mark.parametrize(
    ("target", "application", "reason"),
    [
        ("/", "web", Reason.DEFAULT),
        ("/docs", "docs", Reason.PATH),
        ("/docs/", "docs", Reason.PATH),
        ("/DOCS/Intro", "docs", Reason.PATH),
        ("/docs/a/b", "docs", Reason.PATH),
        ("/docsx", "web", Reason.DEFAULT),
        ("/docs/../api/x", "api", Reason.PATH),
        ("/docs/%2e%2e/api", "api", Reason.PATH),
        ("/api/../docs", "docs", Reason.PATH),
        ("/./docs", "docs", Reason.PATH),
        ("/docs/.", "docs", Reason.PATH),
        ("/%64ocs/x", "web", Reason.DEFAULT),
        ("/docs?x=1", "docs", Reason.PATH),
        ("/docs?next=/api/x", "docs", Reason.PATH),
        ("/api", "api", Reason.PATH),
        ("/api/", "api", Reason.PATH),
        ("/apix", "web", Reason.DEFAULT),
        ("/vc-ap-e3e2a9/chunk.js", "docs", Reason.ASSET_PREFIX),
        ("/vc-ap-docs/chunk.js", "docs", Reason.ASSET_PREFIX),
        ("/VC-AP-DOCS/chunk.js", "docs", Reason.ASSET_PREFIX),
        ("/vc-ap-e3e2a9", "docs", Reason.ASSET_PREFIX),
        ("/api-assets/app.css", "api", Reason.ASSET_PREFIX),
        ("/vc-ap-api/app.css", "api", Reason.ASSET_PREFIX),
        ("/vc-ap-x/unknown.js", "web", Reason.DEFAULT),
        ("/docs/caf%C3%A9", "docs", Reason.PATH),
        ("/docs/café", "docs", Reason.PATH),
        ("/docs;x", "web", Reason.DEFAULT),
        ("/docs/a%2Fb", "docs", Reason.PATH),
        ("/docs%2Fa", "web", Reason.DEFAULT),
        ("/docs/x?u=http://a//b", "docs", Reason.PATH),
        ("/preview/x", "web", Reason.FLAG_UNSET),
        ("/preview", "web", Reason.FLAG_UNSET),
        ("/.well-known/other", "web", Reason.DEFAULT),
    ],
)
def test_decisions_match_vercels_proxy(router, target, application, reason):
    decision = forward(router, target)
    assert (decision.application.name, decision.reason) == (application, reason)
    assert decision.target is None  # forwarded exactly as the client sent it
    assert decision.flag_value is None


def test_a_decision_carries_upstream_fallback_and_a_label(router):
    docs = forward(router, "/docs/intro")
    assert docs.upstream.url == "http://localhost:3001"
    assert docs.fallback is not None and docs.fallback.url == "https://web.example.com"  # the default's
    assert docs.label == "docs: /docs/:path*"
    assert forward(router, "/").label == "web: default"
    assert forward(router, "/vc-ap-docs/a.js").label == "docs: /vc-ap-docs/"
    assert forward(router, "/preview/x").label == "web: flag docs-preview"


def test_first_pattern_in_config_order_is_the_reason():
    router = Router(
        load({"applications": {"web": {}, "docs": {"routing": [{"paths": ["/docs/:path*", "/docs"]}]}}})
    )
    assert forward(router, "/docs").detail == "/docs/:path*"


@pytest.mark.parametrize(
    ("target", "application", "forwarded", "flag_value"),
    [
        ("/preview/x?vercel-mfe-flag-value=true", "docs", "/preview/x", True),
        ("/preview/x?a=1&vercel-mfe-flag-value=false", "web", "/preview/x?a=1", False),
        ("/docs/x?vercel-mfe-flag-value=true&b=2", "docs", "/docs/x?b=2", True),
        ("/docs/x?vercel-mfe-flag-value=false", "docs", "/docs/x", False),
        ("/?vercel-mfe-flag-value=true&vercel-mfe-flag-value=false", "web", "/", True),
    ],
)
def test_flag_parameter_opens_or_closes_flagged_paths(router, target, application, forwarded, flag_value):
    decision = forward(router, target)
    assert decision.application.name == application
    assert decision.target == forwarded
    assert decision.flag_value is flag_value


@pytest.mark.parametrize("value", ["1", "TRUE", ""])
def test_other_flag_values_are_left_alone(router, value):
    decision = forward(router, f"/preview/x?{FLAG_PARAMETER}={value}")
    assert (decision.application.name, decision.reason, decision.target) == ("web", Reason.FLAG_UNSET, None)


def test_a_flagged_path_overlapped_by_an_unflagged_one_of_the_same_application():
    router = Router(
        load(
            {
                "applications": {
                    "web": {},
                    "docs": {"routing": [{"flag": "f", "paths": ["/docs/new"]}, {"paths": ["/docs/:path*"]}]},
                }
            }
        )
    )
    assert forward(router, "/docs/new").reason == Reason.FLAG_UNSET  # the first match decides
    decision = forward(router, "/docs/new?vercel-mfe-flag-value=false")
    assert (decision.application.name, decision.detail) == ("docs", "/docs/:path*")


def test_zone_header_overrides_everything_else(router):
    assert forward(router, "/anything", {"x-vercel-mfe-zone": "docs"}).application.name == "docs"
    decision = forward(router, "/vc-ap-e3e2a9/a.js", {"x-vercel-mfe-zone": "api"})
    assert (decision.application.name, decision.reason) == ("api", Reason.ZONE_HEADER)
    assert forward(router, "/docs", {"x-vercel-mfe-zone": "web"}).application.name == "web"


def test_unknown_zone_values_are_ignored(router):
    # Vercel's proxy sends these to the default application; routing them normally is the sound thing.
    decision = forward(router, "/docs/x", {"x-vercel-mfe-zone": "nope"})
    assert (decision.application.name, decision.reason) == ("docs", Reason.PATH)


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("//docs/x", "/docs/x"),
        ("/docs//x", "/docs/x"),
        ("/docs//x?y=//z", "/docs/x?y=//z"),
        ("//?x=1", "/?x=1"),
        ("/\\docs", "/docs"),
        ("/docs\\\\x", "/docs/x"),
        ("/docs///", "/docs/"),
    ],
)
def test_repeated_slashes_redirect_to_the_collapsed_path(router, target, location):
    assert router.route("GET", target, {}) == Redirect(location, 307)


def test_proxy_endpoints(router):
    assert router.route("GET", "/.well-known/vercel/microfrontends/routing", {}) == Endpoint("routing")
    assert router.route("HEAD", "/.well-known/vercel/microfrontends/routing?x=1", {}) == Endpoint("routing")
    assert router.route("GET", "/.well-known/mfe-proxy/status", {}) == Endpoint("status")
    # Reserved even for the zone header: the proxy's own endpoints never reach an application.
    assert router.route("GET", "/.well-known/mfe-proxy/x", {"x-vercel-mfe-zone": "docs"}) == Endpoint("x")
    rejected = router.route("POST", "/.well-known/mfe-proxy/status", {})
    assert isinstance(rejected, Reject) and rejected.status == 405


@pytest.mark.parametrize(
    ("method", "target", "status"),
    [
        ("GET", "http://other.example/", 400),
        ("CONNECT", "other.example:443", 405),
        ("GET", "*", 400),
        ("GET", "", 400),
    ],
)
def test_targets_that_are_not_paths_are_rejected(router, method, target, status):
    decision = router.route(method, target, {})
    assert isinstance(decision, Reject) and decision.status == status


def test_options_asterisk_goes_to_the_default_application(router):
    assert forward(router, "*", method="OPTIONS").reason == Reason.DEFAULT


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/docs", "/docs"),
        ("/docs?x=1", "/docs"),
        ("/docs/../api/x", "/api/x"),
        ("/docs/%2E%2e/api", "/api"),
        ("/a/./b/.", "/a/b/"),
        ("/..", "/"),
        ("/docs/café", "/docs/caf%C3%A9"),
        (b"/docs/\xff\xfe".decode("utf-8", "surrogateescape"), "/docs/%FF%FE"),  # as mitmproxy decodes it
        ("/a b", "/a%20b"),
        ("/a\\b", "/a/b"),
        ("/%64ocs", "/%64ocs"),
        ("/docs#frag", "/docs"),
        ("/chunk.js", "/chunk.js"),
    ],
)
def test_pathname_is_the_whatwg_url_pathname(target, expected):
    assert pathname(target) == expected


def test_many_applications_route_by_pattern():
    apps = {f"app{i}": {"routing": [{"paths": [f"/app{i}/:path*"]}]} for i in range(200)}
    router = Router(load({"applications": {"web": {}, **apps}}))
    for i in (0, 57, 199):
        assert forward(router, f"/app{i}/x/y").application.name == f"app{i}"
    assert forward(router, "/app200/x").application.name == "web"


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["GET", "POST", "OPTIONS", "CONNECT", "HEAD"]),
    st.text(max_size=40)
    | st.text(alphabet="/\\.%2e?&=#abcdocsvc-ap-", max_size=40).map(lambda t: "/" + t)
    | st.binary(max_size=40).map(lambda b: "/" + b.decode("utf-8", "surrogateescape")),
    st.dictionaries(st.sampled_from(["x-vercel-mfe-zone", "referer"]), st.text(max_size=10), max_size=2),
)
def test_route_never_raises_and_always_decides(router, method, target, headers):
    decision = router.route(method, target, headers)
    assert isinstance(decision, Forward | Redirect | Endpoint | Reject)
