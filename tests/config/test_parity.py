"""Configs that Vercel's proxy runs start here, and configs it refuses are refused with its rule, or start
with a warning carrying its reason when this proxy can serve them (docs/REFERENCE-BEHAVIOUR.md)."""

import pytest
import yaml

from helpers import load
from mfe_proxy.config import parse_config
from mfe_proxy.errors import ConfigError
from mfe_proxy.router import Router

FALLBACK = {"fallback": "web.example.com"}


def site(*children: tuple[str, dict], web: dict | None = None, **top: object) -> dict:
    """A config whose default application `web` satisfies Vercel's schema, plus `children`."""
    return {
        **top,
        "applications": {"web": web if web is not None else {"development": FALLBACK}, **dict(children)},
    }


def routed(name: str, *paths: str, **extra: object) -> tuple[str, dict]:
    return name, {"routing": [{"paths": list(paths)}], **extra}


# (id, config, file name, where the one warning points, fragments of it)
STARTS_WITH_A_WARNING = [
    (
        "non-ascii-path",
        site(routed("docs", "/caf\u00e9")),
        "microfrontends.json",
        "applications.docs.routing[0].paths[0]",
        ['"/caf\u00e9" contains "\u00e9" (U+00E9)', 'write "/caf%C3%A9"', "never matches"],
    ),
    (
        "space-in-path",
        site(routed("docs", "/hello world")),
        "microfrontends.json",
        "applications.docs.routing[0].paths[0]",
        ['write "/hello%20world"'],
    ),
    (
        "javascript-reading-of-a-regex",
        site(routed("docs", "/:x(en|fr$)")),
        "microfrontends.json",
        "applications.docs.routing[0].paths[0]",
        ['"$" as the end of the path'],
    ),
    (
        "routing-empty",
        site(("docs", {"routing": []})),
        "microfrontends.json",
        "applications.docs.routing",
        ["is empty, so docs serves no paths", "as on Vercel"],
    ),
    (
        "paths-empty",
        site(("docs", {"routing": [{"paths": []}]})),
        "microfrontends.json",
        "applications.docs.routing[0].paths",
        ["is empty, so this group routes no paths"],
    ),
    (
        "asset-prefix-without-its-path",
        site(routed("docs", "/docs/:path*", assetPrefix="docs-assets")),
        "microfrontends.json",
        "applications.docs.assetPrefix",
        ['"/docs-assets/:path*" is not among', "must be added the routing paths", "a deploy with it fails"],
    ),
    (
        "asset-prefix-path-only-behind-a-flag",
        site(("docs", {"assetPrefix": "da", "routing": [{"flag": "f", "paths": ["/da/:path*"]}]})),
        "microfrontends.json",
        "applications.docs.assetPrefix",
        ['"/da/:path*" is not among the application\'s unflagged paths'],
    ),
    (
        "asset-prefix-empty",
        site(routed("docs", "/docs", assetPrefix="")),
        "microfrontends.json",
        "applications.docs.assetPrefix",
        ['is empty, so "/" goes to docs, as on Vercel'],
    ),
    (
        "default-without-development",
        site(routed("docs", "/docs"), web={}),
        "microfrontends.json",
        "applications.web",
        ["has no `development`", "Property 'development' is required in field applications/web"],
    ),
    (
        "default-without-fallback",
        site(routed("docs", "/docs"), web={"development": {"local": 3000}}),
        "microfrontends.json",
        "applications.web.development",
        ["has no `fallback`", "Property 'fallback' is required in field applications/web/development"],
    ),
    (
        "version-2",
        site(routed("docs", "/docs"), version="2"),
        "microfrontends.json",
        "version",
        ['"2" is read as "1"', "Vercel refuses this config"],
    ),
    (
        "turborepo-local-object",
        site(("docs", {"development": {"local": {"port": 3001}}, "routing": [{"paths": ["/docs"]}]})),
        "microfrontends.json",
        "applications.docs.development.local",
        ["the object form is Turborepo's", "Vercel refuses this config"],
    ),
    (
        "turborepo-production-key",
        site(routed("docs", "/docs", production={"host": "docs.example.com"})),
        "microfrontends.jsonc",
        "applications.docs.production",
        ["Property 'production' is not allowed in field applications/docs"],
    ),
    (
        "yaml-file",
        site(routed("docs", "/docs")),
        "microfrontends.yaml",
        "",
        ["Vercel and Turborepo read only microfrontends.json or microfrontends.jsonc"],
    ),
    (
        "default-port-in-local-url",
        site(
            ("docs", {"development": {"local": "https://docs.localhost:443"}, "routing": [{"paths": ["/d"]}]})
        ),
        "microfrontends.json",
        "applications.docs.development.local",
        ["Vercel reads as no port at all", "generated from its name, 6955"],
    ),
    (
        "overlap-vercel-misses",
        site(routed("labs", "/:lang(en|fr)/labs"), routed("en", "/en/:path*")),
        "microfrontends.json",
        "applications.en.routing[0].paths[0]",
        [
            '"/en/:path*" and "/:lang(en|fr)/labs" of labs (applications.labs.routing[0].paths[0])',
            "both match paths such as /en/labs; those go to labs, whose paths Vercel tries first",
            "Vercel's own check misses this overlap",
        ],
    ),
]


@pytest.mark.parametrize(
    ("config", "file", "where", "fragments"),
    [case[1:] for case in STARTS_WITH_A_WARNING],
    ids=[case[0] for case in STARTS_WITH_A_WARNING],
)
def test_what_vercel_or_turborepo_runs_starts_with_one_warning(config, file, where, fragments):
    if file.endswith(".yaml"):
        config = parse_config(yaml.safe_dump(config).encode(), file)
    else:
        config = load(config, file)
    (warning,) = config.warnings
    assert warning.startswith(f"{where}: " if where else "Vercel"), warning
    for fragment in fragments:
        assert fragment in warning, warning
    assert file not in warning  # the proxy's log line names the file once, in front


def test_a_clean_config_has_no_warning():
    config = load(site(routed("docs", "/docs/:path*", "/docs-assets/:path*", assetPrefix="docs-assets")))
    assert config.warnings == ()


# Vercel's overlap rule (dist/config.js `validateConfigPaths`): two applications' paths are refused
# when one pattern, as a case-insensitive regex, matches the other pattern's text.
@pytest.mark.parametrize(
    ("docs", "api", "fragment"),
    [
        ("/shared", "/shared", '"/shared" is also claimed by docs'),
        ("/docs/:path*", "/docs/api", '"/docs/api" overlaps "/docs/:path*" of docs'),
        ("/:lang(en|fr)/docs", "/en/docs", '"/en/docs" overlaps "/:lang(en|fr)/docs" of docs'),
        ("/docs/:a", "/docs/:b", '"/docs/:b" overlaps "/docs/:a" of docs'),
        ("/Docs", "/docs", '"/docs" overlaps "/Docs" of docs'),
        ("/caf\u00e9", "/CAF\u00c9", '"/CAF\u00c9" overlaps "/caf\u00e9" of docs'),
    ],
)
def test_vercels_overlap_rule_refuses(docs, api, fragment):
    with pytest.raises(ConfigError) as caught:
        load(site(routed("docs", docs), routed("api", api)))
    (problem,) = caught.value.problems
    assert problem.where == "applications.api.routing[0].paths[0]"
    assert fragment in problem.message
    assert "applications.docs.routing[0].paths[0]" in problem.message


def test_vercel_refuses_a_path_listed_twice_in_one_application():
    document = site(("docs", {"routing": [{"paths": ["/docs"]}, {"group": "g", "paths": ["/docs"]}]}))
    with pytest.raises(ConfigError) as caught:
        load(document)
    (problem,) = caught.value.problems
    assert problem.where == "applications.docs.routing[1].paths[0]"
    assert problem.message == '"/docs" is listed twice (also applications.docs.routing[0].paths[0])'


def test_overlaps_within_one_application_need_no_warning():
    config = load(site(routed("docs", "/docs/:path*", "/:lang(en|fr)/docs", "/en/:rest*")))
    assert config.warnings == ()


@pytest.mark.parametrize(
    ("names", "order"),
    [
        (["labs", "2024", "blog", "10", "9"], ["9", "10", "2024", "labs", "blog"]),
        # Not array indices: a leading zero, a sign, a fraction, beyond 2**32 - 2.
        (
            ["b", "02", "-1", "1.5", "4294967295", "4294967294", "0"],
            ["0", "4294967294", "b", "02", "-1", "1.5", "4294967295"],
        ),
    ],
)
def test_routing_order_is_javascripts_key_order(names, order):
    config = load(site(*(routed(name, f"/p{index}") for index, name in enumerate(names))))
    assert [app.name for app in config.routing_order()] == order


@pytest.mark.parametrize(
    ("children", "winner"),
    [
        ((routed("labs", "/:lang(en|fr)/labs"), routed("en", "/en/:path*")), "labs"),
        ((routed("en", "/en/:path*"), routed("labs", "/:lang(en|fr)/labs")), "en"),
        # Names that are array indices come first whatever the file's order.
        ((routed("labs", "/:lang(en|fr)/labs"), routed("2024", "/en/:path*")), "2024"),
    ],
)
def test_a_path_two_applications_match_goes_where_vercel_tries_first(children, winner):
    config = load(site(*children))
    (warning,) = config.warnings
    assert f"those go to {winner}, whose" in warning
    decision = Router(config).route("GET", "/en/labs", {})
    assert decision.application.name == winner


def test_the_overlap_warning_names_a_third_application_that_serves_the_example_first():
    config = load(
        site(
            routed("labs", "/:lang(en|fr)/labs"),
            routed("en", "/en/:path*"),
            routed("9", "/:x(en|de)/labs"),
        )
    )
    assert len(config.warnings) == 3  # each pair overlaps on /en/labs
    assert all("such as /en/labs; those go to 9," in warning for warning in config.warnings)
