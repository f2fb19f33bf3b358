"""Routing decisions, checked against what Vercel's local proxy (@vercel/microfrontends 2.4.0) was
seen to do with the same config; where it differs on purpose, the test says so."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import load
from mfe_proxy.router import (
    FLAG_PARAMETER,
    Endpoint,
    Forward,
    Reason,
    Redirect,
    Reject,
    Router,
    forwarded_path,
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


@pytest.mark.parametrize("zone", ["nope", "Docs", "web"])
def test_a_zone_naming_no_child_application_goes_to_the_default_application(router, zone):
    # As on Vercel, whatever the path says; names are compared exactly.
    decision = forward(router, "/docs/x", {"x-vercel-mfe-zone": zone})
    assert (decision.application.name, decision.reason) == ("web", Reason.ZONE_HEADER)
    assert decision.label == "web: x-vercel-mfe-zone naming no application"


def test_an_empty_zone_is_no_zone(router):
    decision = forward(router, "/docs/x", {"x-vercel-mfe-zone": ""})
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


# -- measured for issue 11: docs/REFERENCE-BEHAVIOUR.md §8 ------------------------------------------


@pytest.mark.parametrize(
    ("target", "application", "forwarded"),
    [
        # The search is serialized anew without the parameter, as URLSearchParams does (§8.8).
        ("/docs/x?a=1%20b&vercel-mfe-flag-value=true&c", "docs", "/docs/x?a=1+b&c="),
        ("/docs/x?vercel-mfe-flag-value=tru%65", "docs", "/docs/x"),  # the value is decoded
        # The path becomes the WHATWG URL's (§7: `/docs/../api/x?vercel-mfe-flag-value=true` → `/api/x`).
        ("/docs/../api/x?vercel-mfe-flag-value=true", "api", "/api/x"),
        # Whichever application serves the request.
        ("/vc-ap-docs/a.js?vercel-mfe-flag-value=false", "docs", "/vc-ap-docs/a.js"),
    ],
)
def test_the_flag_parameter_leaves_every_request_as_vercel_serializes_it(
    router, target, application, forwarded
):
    decision = forward(router, target)
    assert (decision.application.name, decision.target) == (application, forwarded)
    decision = forward(router, target, {"x-vercel-mfe-zone": "api"})
    assert (decision.application.name, decision.target) == ("api", forwarded)


@pytest.mark.parametrize(
    ("target", "application", "reason"),
    [
        # Never redirected: routed by the WHATWG pathname, which keeps the doubled slashes (§8.9).
        ("//docs/x", "web", Reason.DEFAULT),
        ("/docs//x", "web", Reason.DEFAULT),
        ("/\\docs", "web", Reason.DEFAULT),
        ("/docs/../api/x", "api", Reason.PATH),
        ("/docs/x?y=//z", "docs", Reason.PATH),
    ],
)
def test_a_websocket_upgrade_is_never_redirected(router, target, application, reason):
    decision = router.route("GET", target, {}, upgrade=True)
    assert isinstance(decision, Forward), decision
    assert (decision.application.name, decision.reason, decision.target) == (application, reason, None)


def test_an_upgrade_uses_the_flag_value_but_keeps_its_target(router):
    decision = router.route("GET", "/preview/hmr?vercel-mfe-flag-value=true", {}, upgrade=True)
    assert isinstance(decision, Forward)
    assert (decision.application.name, decision.target, decision.flag_value) == ("docs", None, None)


@pytest.mark.parametrize(
    ("target", "forwarded"),
    [
        # node-http-proxy's url.parse and urlJoin, measured with Node 20 (§8.9).
        ("/docs#frag", "/docs"),
        ("/a\\b", "/a/b"),
        ("/\\docs", "/docs"),
        ("//docs/x", "/docs/x"),
        ("/docs//x?y=//z", "/docs/x?y=//z"),
        ("/a?b#c", "/a?b"),
        ("/a#b?c", "/a"),
        ("/docs/../api/x", "/docs/../api/x"),
        ("/a?b?c//d", "/a?b?c//d"),
        ("*", "*"),
    ],
)
def test_forwarded_path_is_what_vercels_proxy_sends_over_http(target, forwarded):
    assert forwarded_path(target) == forwarded


TOOLBAR = "/.well-known/vercel-toolbar/x"


@pytest.mark.parametrize(
    ("local", "target", "referer", "application"),
    [
        # §8.8's table.
        (None, TOOLBAR, "http://localhost:3024/docs/a", "docs"),
        (None, TOOLBAR + "?q=1", "http://localhost:3024/api/z?k=1", "api"),
        (None, TOOLBAR, None, "web"),
        (None, "/.well-known/vercel-toolbar", "http://localhost:3024/docs/a", "docs"),
        (None, TOOLBAR, "http://localhost:3024/zzz", "web"),
        (None, TOOLBAR, "https://other.example:8443/docs/a", "docs"),
        ({"web"}, TOOLBAR, "http://localhost:3024/docs/a", "web"),  # docs is not local: the only local one
        ({"docs", "api"}, TOOLBAR, "http://localhost:3024/docs/a", "docs"),
        ({"docs", "api"}, TOOLBAR, None, "web"),  # two local, no Referer: routed as any path
        ({"docs"}, TOOLBAR, None, "docs"),
        ({"docs"}, TOOLBAR, "http://localhost:3024/api/z", "docs"),
    ],
)
def test_the_vercel_toolbar_goes_to_the_local_application_whose_page_asked(
    local, target, referer, application
):
    router = Router(load(CONFIG), local)
    decision = forward(router, target, {"referer": referer} if referer else {})
    assert decision.application.name == application


def test_the_toolbar_beats_the_zone_header(router):
    decision = forward(
        router, TOOLBAR, {"referer": "http://localhost:3024/docs/a", "x-vercel-mfe-zone": "api"}
    )
    assert (decision.application.name, decision.reason) == ("docs", Reason.TOOLBAR)
    assert decision.label == "docs: /.well-known/vercel-toolbar by Referer"


def test_an_earlier_applications_path_beats_a_later_applications_asset_prefix():
    # Vercel tries each application in turn, asset prefixes and then paths (§8.2).
    config = load(
        {
            "applications": {
                "web": {},
                "a": {"routing": [{"paths": ["/:path((?!api).*)"]}]},
                "b": {"routing": [{"paths": ["/api/b"]}]},
            }
        }
    )
    router = Router(config)
    assert forward(router, "/vc-ap-b/x.js").application.name == "a"
    assert forward(router, "/vc-ap-a/x.js").reason == Reason.ASSET_PREFIX


def test_an_empty_asset_prefix_takes_the_root_as_on_vercel():
    config = load(
        {"applications": {"web": {}, "docs": {"assetPrefix": "", "routing": [{"paths": ["/docs"]}]}}}
    )
    router = Router(config)
    assert (forward(router, "/").application.name, forward(router, "/").reason) == (
        "docs",
        Reason.ASSET_PREFIX,
    )
    assert forward(router, "/about").application.name == "web"
