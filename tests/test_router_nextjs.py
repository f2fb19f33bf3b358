"""Next.js dev endpoints a page requests at the root, whichever application served it: the error
overlay's stack frames (by Referer), the image optimizer (by its `url`) and source maps (the first
local application). Compared with Vercel's local proxy, docs/REFERENCE-BEHAVIOUR.md §6-7."""

import copy

import pytest

from helpers import load
from mfe_proxy.model import Config
from mfe_proxy.router import Forward, Reason, Router
from test_router import CONFIG as ROUTER_CONFIG

# test_router's config, with a fallback of api's own to tell it from the default application's.
CONFIG = copy.deepcopy(ROUTER_CONFIG)
CONFIG["applications"]["api"]["development"]["fallback"] = "api.example.com"

STACK_FRAME = "/__nextjs_original-stack-frame"
STACK_FRAMES = "/__nextjs_original-stack-frames"
PAGE = "http://localhost:3024"


@pytest.fixture(scope="module")
def config() -> Config:
    return load(CONFIG)


@pytest.fixture(scope="module")
def router(config) -> Router:
    return Router(config)


def forward(
    router: Router, target: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> Forward:
    decision = router.route(method, target, headers or {})
    assert isinstance(decision, Forward), decision
    return decision


def routed(decision: Forward) -> tuple[str, Reason]:
    return decision.application.name, decision.reason


# -- stack frames, by Referer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "referer", "application"),
    [
        # §7, measured
        (STACK_FRAME + "?file=x", PAGE + "/docs/page", "docs"),
        (STACK_FRAMES, PAGE + "/api/z", "api"),
        # more
        (STACK_FRAME, PAGE + "/docs", "docs"),
        (STACK_FRAMES, PAGE + "/DOCS/Intro?tab=1#top", "docs"),
        (STACK_FRAME, "https://elsewhere.example/api/x", "api"),  # only the Referer's path counts
        (STACK_FRAME, PAGE + "/docs/../api/x", "api"),  # dot segments resolved, as WHATWG URL does
        (STACK_FRAME, PAGE + "/vc-ap-e3e2a9/chunk.js", "docs"),  # a Referer on an asset prefix path
        (STACK_FRAMES, PAGE + "/API-ASSETS/app.css", "api"),
        (STACK_FRAME + "/", PAGE + "/docs", "docs"),  # path-to-regexp: one optional trailing "/"
        ("/__NextJS_Original-Stack-Frame", PAGE + "/docs", "docs"),  # and any case
    ],
)
def test_stack_frames_go_to_the_application_of_the_referring_page(router, target, referer, application):
    decision = forward(
        router, target, {"referer": referer}, method="POST" if target == STACK_FRAMES else "GET"
    )
    assert routed(decision) == (application, Reason.NEXTJS)
    name = target.partition("?")[0]
    assert decision.detail == f"{name} by Referer"
    assert decision.label == f"{application}: {name} by Referer"
    assert decision.target is None  # forwarded as sent
    assert decision.flag_value is None


def test_a_stack_frame_carries_the_applications_upstream_and_fallback(router, config):
    decision = forward(router, STACK_FRAME, {"referer": PAGE + "/api/x"})
    assert decision.upstream == config.applications["api"].upstream
    assert decision.upstream.url == "http://localhost:3002"
    assert decision.fallback is not None and decision.fallback.url == "https://api.example.com"
    decision = forward(router, STACK_FRAME, {"referer": PAGE + "/docs/x"})
    assert decision.upstream.url == "http://localhost:3001"
    assert (
        decision.fallback is not None and decision.fallback.url == "https://web.example.com"
    )  # the default's


@pytest.mark.parametrize(
    "headers",
    [
        {},  # §7: no Referer → web
        {"referer": "not a url"},  # Vercel's proxy throws on these three (§8.8); routed as any path here
        {"referer": "/docs/page"},  # relative: not a URL on its own
        {"referer": "http://[oops/docs/x"},
        {"referer": ""},
        # A page of no child application: routed as any path, so to the default (§8.8).
        {"referer": PAGE + "/"},
        {"referer": PAGE},
        {"referer": PAGE + "/about"},
        {"referer": PAGE + "/%64ocs/x"},  # not percent-decoded
    ],
)
def test_a_stack_frame_no_child_application_claims_is_routed_as_any_path(router, headers):
    decision = forward(router, STACK_FRAME, headers)
    assert routed(decision) == ("web", Reason.DEFAULT)
    assert decision.label == "web: default"


def test_a_stack_frame_is_routed_as_any_path_by_the_child_that_claims_it():
    config = load(
        {
            "applications": {
                "web": {},
                "catch": {"routing": [{"paths": ["/:path((?!docs).*)"]}]},
                "docs": {"routing": [{"paths": ["/docs/:path*"]}]},
            }
        }
    )
    assert routed(forward(Router(config), STACK_FRAME)) == ("catch", Reason.PATH)
    assert routed(forward(Router(config), STACK_FRAME, {"referer": PAGE + "/docs/x"})) == (
        "docs",
        Reason.NEXTJS,
    )


def test_a_referer_on_a_flagged_path_is_routed_as_any_path(router):
    # Vercel's proxy matches the Referer's path with no flag value, so a flagged path finds no child;
    # the frame is then routed by its own path: the default application's (whose middleware decides).
    for referer in (PAGE + "/preview/x", PAGE + "/preview/x?vercel-mfe-flag-value=true"):
        decision = forward(router, STACK_FRAME, {"referer": referer})
        assert routed(decision) == ("web", Reason.DEFAULT)


def test_the_zone_header_beats_the_referer(router):
    decision = forward(router, STACK_FRAME, {"referer": PAGE + "/docs/x", "x-vercel-mfe-zone": "api"})
    assert routed(decision) == ("api", Reason.ZONE_HEADER)


@pytest.mark.parametrize(
    "target",
    [
        "/__nextjs_original-stack-framez",
        "/docs/__nextjs_original-stack-frame",
        "/__nextjs_original-stack-frame-x",
    ],
)
def test_other_paths_are_not_stack_frames(router, target):
    decision = forward(router, target, {"referer": PAGE + "/api/x"})
    assert decision.reason in (Reason.DEFAULT, Reason.PATH)
    assert decision.application.name == ("docs" if target.startswith("/docs/") else "web")


def test_a_stack_frame_path_is_matched_as_a_pathname(router):
    # Dot segments resolved, as for every other path.
    decision = forward(router, "/x/../__nextjs_original-stack-frame", {"referer": PAGE + "/docs/a"})
    assert routed(decision) == ("docs", Reason.NEXTJS)


# -- the image optimizer, by its url -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "application"),
    [
        # §7, measured
        ("/_next/image?url=%2Fdocs%2Fimg.png&w=64&q=75", "docs"),
        ("/_next/image?url=%2Fvc-ap-e3e2a9%2Fimg.png&w=64", "docs"),
        # more
        ("/_next/image?url=/docs/img.png&w=64", "docs"),
        ("/_next/image?w=64&url=%2Fapi%2Flogo.svg", "api"),
        ("/_next/image?url=%2Fapi-assets%2Flogo.svg", "api"),  # custom asset prefix
        ("/_next/image?url=%252Fdocs%252Fimg.png", "docs"),  # decoded once more, as Vercel's proxy does
        ("/_next/image?url=%2FDOCS%2Fimg.png%3Fv%3D2", "docs"),  # the image's own query is not its path
        ("/_next/image?url=%2Fdocs%2F..%2Fapi%2Fx.png", "api"),  # dot segments resolved
        ("/_next/image?url=/docs/a+b.png", "docs"),
        ("/_next/image/?url=/docs/a.png", "docs"),
        ("/_NEXT/Image?url=/docs/a.png", "docs"),
    ],
)
def test_images_go_to_the_application_that_serves_the_image(router, target, application):
    decision = forward(router, target)
    assert routed(decision) == (application, Reason.NEXTJS)
    assert decision.detail == "/_next/image by its url"
    assert decision.label == f"{application}: /_next/image by its url"
    assert decision.target is None


@pytest.mark.parametrize(
    "target",
    [
        "/_next/image?url=https%3A%2F%2Fcdn.example.com%2Fdocs%2Fimg.png&w=64",  # absolute URL
        "/_next/image?url=//docs/img.png",  # scheme-relative
        "/_next/image?url=%2F%2Fdocs%2Fimg.png",
        "/_next/image?url=docs/img.png",  # read as "http://example.comdocs/img.png", as by Vercel
        "/_next/image?url=",
        "/_next/image?w=64",  # no url at all
        "/_next/image",
        "/_next/image?url=%2Fhome.png&w=64",  # a default application's image (§7)
        "/_next/image?url=%2Fpreview%2Fx.png",  # flagged: no child claims it
        "/_next/image?url=%25ZZ",  # Vercel's decodeURIComponent throws on these (§8.8)
        "/_next/image?url=%25C3%2528",
    ],
)
def test_images_no_child_application_claims_are_routed_as_any_path(router, target):
    decision = forward(router, target)
    assert routed(decision) == ("web", Reason.DEFAULT)


def test_only_the_root_image_optimizer_is_routed_by_url(router):
    # A child's own /docs/_next/image is the child's, by its path.
    assert routed(forward(router, "/docs/_next/image?url=%2Fapi%2Fx.png")) == ("docs", Reason.PATH)
    assert routed(forward(router, "/_next/images?url=%2Fapi%2Fx.png")) == ("web", Reason.DEFAULT)


def test_the_zone_header_beats_the_image_url(router):
    decision = forward(router, "/_next/image?url=%2Fdocs%2Fimg.png", {"x-vercel-mfe-zone": "api"})
    assert routed(decision) == ("api", Reason.ZONE_HEADER)


# -- source maps, to the first local application -----------------------------------------------------


@pytest.mark.parametrize(
    ("local", "application"),
    [
        (None, "web"),  # §7: all local → web (the default application first)
        (frozenset({"web", "docs", "api"}), "web"),
        (frozenset({"docs", "api"}), "docs"),  # then config order
        (frozenset({"api", "docs"}), "docs"),
        (frozenset({"api"}), "api"),
        (frozenset({"api", "web"}), "web"),
        (["api"], "api"),  # any collection of names
    ],
)
def test_source_maps_go_to_the_first_local_application(config, local, application):
    router = Router(config, local)
    for target in ("/__nextjs_source-map", "/__nextjs_source-map?filename=x"):
        decision = forward(router, target)
        assert routed(decision) == (application, Reason.NEXTJS)
        assert decision.label == f"{application}: /__nextjs_source-map (first local application)"
        assert decision.upstream == config.applications[application].upstream
        assert decision.fallback == config.applications[application].fallback
        assert decision.target is None


def test_source_maps_are_routed_as_any_path_when_no_application_is_local(config):
    decision = forward(Router(config, frozenset({"nope"})), "/__nextjs_source-map")
    assert routed(decision) == ("web", Reason.DEFAULT)


def test_the_default_application_comes_first_wherever_the_config_lists_it():
    # Vercel's getAllApplications(): [default, ...children in config order].
    reordered = load({"applications": dict(reversed(list(CONFIG["applications"].items())))})
    assert list(reordered.applications) == ["api", "docs", "web"]
    for local, application in [
        (None, "web"),
        (frozenset({"api", "web"}), "web"),
        (frozenset({"docs", "api"}), "api"),  # children in config order
    ]:
        decision = forward(Router(reordered, local), "/__nextjs_source-map")
        assert decision.application.name == application, local


def test_local_applications_change_only_source_maps(config):
    # Routing by path, Referer and image url is the same whichever applications run locally.
    router = Router(config, frozenset({"api"}))
    assert routed(forward(router, "/docs/x")) == ("docs", Reason.PATH)
    assert routed(forward(router, "/")) == ("web", Reason.DEFAULT)
    assert routed(forward(router, STACK_FRAME, {"referer": PAGE + "/docs/x"})) == ("docs", Reason.NEXTJS)
    assert routed(forward(router, "/_next/image?url=%2Fdocs%2Fa.png")) == ("docs", Reason.NEXTJS)


def test_reason_text():
    assert str(Reason.NEXTJS) == "Next.js dev endpoint"
