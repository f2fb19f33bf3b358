"""Routing groups, path patterns and asset prefixes (mfe_proxy.config.routes): their errors, paths that
overlap between applications, prefixes that clash."""

import pytest

from helpers import error_of, load, two_apps

# -- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "where", "expected"),
    [
        ({}, "applications.docs.routing", "must be a list of routing groups"),
        (["/docs"], "applications.docs.routing[0]", "must be an object such as"),
        ([{"group": "g"}], "applications.docs.routing[0].paths", "is missing"),
        ([{"paths": "/docs"}], "applications.docs.routing[0].paths", "must be a list of path patterns"),
        ([{"paths": [None]}], "applications.docs.routing[0].paths[0]", "must be a path pattern string"),
        ([{"paths": ["/a", "/a"]}], "applications.docs.routing[0].paths[1]", "is listed twice"),
        # Vercel refuses a path listed twice in one application even in two groups.
        (
            [{"paths": ["/a"]}, {"paths": ["/a"]}],
            "applications.docs.routing[1].paths[0]",
            '"/a" is listed twice (also applications.docs.routing[0].paths[0])',
        ),
        ([{"paths": ["/a"], "flag": 1}], "applications.docs.routing[0].flag", "must be a string"),
        ([{"paths": ["/docs/"]}], "applications.docs.routing[0].paths[0]", "/docs/"),
        ([{"paths": ["/docs/:path?"]}], "applications.docs.routing[0].paths[0]", "/docs/:path?"),
    ],
)
def test_routing_errors(routing, where, expected):
    error = error_of(two_apps(docs={"routing": routing}))
    assert error.problems[0].where == where
    assert expected in error.problems[0].message


def test_routing_groups_keep_group_names_flags_and_order():
    docs = load(
        two_apps(
            docs={
                "routing": [
                    {"group": "main", "paths": ["/docs", "/docs/:path*"]},
                    {"flag": "beta", "paths": ["/beta"]},
                ]
            }
        )
    ).applications["docs"]
    assert [(r.group, r.flag, [p.source for p in r.paths]) for r in docs.routes] == [
        ("main", None, ["/docs", "/docs/:path*"]),
        (None, "beta", ["/beta"]),
    ]


def test_two_applications_claiming_the_same_path():
    error = error_of(
        {
            "applications": {
                "web": {},
                "docs": {"routing": [{"paths": ["/shared"]}]},
                "blog": {"routing": [{"paths": ["/blog", "/shared"]}]},
            }
        }
    )
    assert error.problems[0].where == "applications.blog.routing[0].paths[1]"
    assert (
        error.problems[0].message
        == '"/shared" is also claimed by docs (applications.docs.routing[0].paths[0])'
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/docs/:path*", "/docs/api"),
        ("/docs/api", "/docs/:path*"),
        ("/DOCS", "/docs"),
        ("/:lang(en|fr)/docs", "/en/docs"),
        ("/en/docs", "/:lang(en|fr)/docs"),
        ("/:slug", "/about"),
        ("/docs/:a", "/docs/:b"),
    ],
)
def test_overlapping_paths_of_two_applications_are_an_error(first, second):
    # Vercel's rule: one pattern, as a regex, matches the other's text.
    error = error_of(
        {
            "applications": {
                "web": {},
                "docs": {"routing": [{"paths": [first]}]},
                "api": {"routing": [{"paths": [second]}]},
            }
        }
    )
    (problem,) = error.problems
    assert problem.where == "applications.api.routing[0].paths[0]"
    assert f'"{second}" overlaps "{first}" of docs (applications.docs.routing[0].paths[0])' in problem.message


def test_overlaps_within_one_application_are_allowed():
    config = load(two_apps(docs={"routing": [{"paths": ["/docs/:path*", "/docs/api", "/docs"]}]}))
    assert len(config.applications["docs"].routes[0].paths) == 3


def test_disjoint_paths_of_many_applications_load():
    apps = {f"app{i}": {"routing": [{"paths": [f"/app{i}", f"/app{i}/:path*"]}]} for i in range(300)}
    config = load({"applications": {"web": {}, **apps}})
    assert len(config.applications) == 301


# -- asset prefixes ------------------------------------------------------------------------------


def test_custom_asset_prefix_comes_first_and_the_defaults_stay_routed():
    docs = load(
        two_apps(docs={"routing": [{"paths": ["/docs"]}], "assetPrefix": "docs-assets"})
    ).applications["docs"]
    assert docs.asset_prefixes == ("docs-assets", "vc-ap-e3e2a9", "vc-ap-docs")


# Vercel refuses these; it takes an empty one, which tests/config/test_parity.py covers.
@pytest.mark.parametrize("prefix", ["Docs", "1docs", "docs_assets", "docs-", "-docs", "docs/x"])
def test_bad_asset_prefixes(prefix):
    error = error_of(two_apps(docs={"routing": [{"paths": ["/docs"]}], "assetPrefix": prefix}))
    assert error.problems[0].where == "applications.docs.assetPrefix"


def test_the_default_application_has_no_asset_prefix():
    error = error_of(two_apps(web={"assetPrefix": "web-assets"}))
    assert "only child applications have an asset prefix" in error.problems[0].message


def test_two_applications_with_the_same_asset_prefix():
    error = error_of(
        {
            "applications": {
                "web": {},
                "docs": {"routing": [{"paths": ["/docs"]}], "assetPrefix": "shared"},
                "blog": {"routing": [{"paths": ["/blog"]}], "assetPrefix": "shared"},
            }
        }
    )
    assert error.problems[0].where == "applications.blog.assetPrefix"
    assert '"shared" is also one of docs\'s' in error.problems[0].message
