"""Validating a config document (mfe_proxy.config.validate): top-level fields, defaults, versions, the
field path of every error, the default application."""

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import error_of, load, two_apps
from mfe_proxy.config import parse_config
from mfe_proxy.errors import ConfigError
from mfe_proxy.model import Origin

# -- top-level fields ----------------------------------------------------------------------------


def test_defaults():
    config = load(two_apps())
    assert config.proxy_port == 3024
    assert config.version is None
    # Vercel's schema wants the default application's development, fallback included.
    (warning,) = config.warnings
    assert warning.startswith("applications.web: the default application has no `development`")
    web, docs = config.applications["web"], config.applications["docs"]
    assert config.default_application is web
    assert web.is_default and not docs.is_default
    assert web.upstream == Origin("http", "localhost", 5588)
    assert docs.upstream == Origin("http", "localhost", 6955)
    assert web.fallback is None and docs.fallback is None
    assert web.asset_prefixes == ()
    assert docs.asset_prefixes == ("vc-ap-e3e2a9", "vc-ap-docs")


def test_schema_version_and_options():
    config = load(
        two_apps(
            web={"development": {"fallback": "web.example.com"}},
            **{
                "$schema": "https://x",
                "version": "1",
                "options": {"localProxyPort": 4100, "disableOverrides": True},
            },
        )
    )
    assert config.proxy_port == 4100
    assert config.version == "1"
    assert config.warnings == ()


@pytest.mark.parametrize("version", ["2", 2, "yolo"])
def test_other_versions_are_read_with_a_warning(version):
    config = load(two_apps(web={"development": {"fallback": "web.example.com"}}, version=version))
    (warning,) = config.warnings
    # The field path once; the file name is the logger's to add.
    assert warning.startswith(f'version: "{version}" is read as "1"; Vercel refuses this config')
    assert "microfrontends.json" not in warning


def test_yaml_number_version_one_needs_no_version_warning():
    config = parse_config(b"version: 1\napplications:\n  web: {}\n", "microfrontends.yaml")
    assert config.version == "1"
    assert not [warning for warning in config.warnings if warning.startswith("version")]


def test_child_config_points_to_the_package_with_the_real_config():
    message = str(error_of({"partOf": "web"}))
    assert "partOf: this is a child config" in message
    assert '"web"' in message


@pytest.mark.parametrize(
    ("document", "where", "expected"),
    [
        ({**two_apps(), "extra": 1}, "extra", "unknown key"),
        (two_apps(options={"port": 1}), "options.port", "unknown key"),
        (two_apps(web={"colour": "red"}), "applications.web.colour", "unknown key"),
        (two_apps(web={"development": {"lokal": 3}}), "applications.web.development.lokal", "unknown key"),
        (
            two_apps(docs={"routing": [{"paths": ["/d"], "flags": "x"}]}),
            "applications.docs.routing[0].flags",
            "unknown key",
        ),
        (
            two_apps(web={"development": {"local": {"port": 1, "path": "/"}}}),
            "applications.web.development.local.path",
            "unknown key",
        ),
        (
            two_apps(web={"development": {"localPort": 3000}}),
            "applications.web.development.localPort",
            "renamed to `local`",
        ),
        (two_apps(options=[]), "options", "must be an object, not a list"),
        (
            two_apps(options={"localProxyPort": "3024"}),
            "options.localProxyPort",
            "must be a port number, not a string",
        ),
        (two_apps(options={"localProxyPort": 70000}), "options.localProxyPort", "70000 is not a port number"),
        (two_apps(options={"localProxyPort": True}), "options.localProxyPort", "not a boolean"),
        (two_apps(options={"disableOverrides": "yes"}), "options.disableOverrides", "must be true or false"),
        (two_apps(version=["1"]), "version", 'must be a string such as "1"'),
        ({"applications": []}, "applications", "must be an object of application names, not a list"),
        ({"applications": {}}, "applications", "is empty"),
        ({"options": {}}, "applications", "is missing"),
        ({"applications": {"web": {}, " ": {}}}, 'applications[" "]', "must not be empty"),
        ({"applications": {"web": 3}}, "applications.web", "must be an object, not a number"),
        (two_apps(web={"packageName": 5}), "applications.web.packageName", "must be a string"),
        (two_apps(web={"packageName": ""}), "applications.web.packageName", "must not be empty"),
        (two_apps(web={"development": "3000"}), "applications.web.development", "must be an object"),
        (
            two_apps(web={"development": {"task": ["dev"]}}),
            "applications.web.development.task",
            "must be a string",
        ),
    ],
)
def test_field_errors_name_the_field(document, where, expected):
    error = error_of(document)
    assert len(error.problems) == 1, error.problems
    assert error.problems[0].where == where
    assert expected in error.problems[0].message
    assert str(error) == f"microfrontends.json: {where}: {error.problems[0].message}"


def test_keys_for_other_tools_are_accepted_and_ignored():
    document = two_apps(web={"production": {"host": "x.com"}, "vercel": {"projectId": "p"}, "projectId": "p"})
    assert load(document).applications["web"].upstream.port == 5588


def test_every_problem_is_reported_together():
    error = error_of(
        {
            "applications": {
                "web": {"development": {"local": "ftp://x"}},
                "docs": {"routing": [{"paths": ["docs", "/ok", 3]}], "assetPrefix": "Bad_Prefix"},
            },
            "options": {"localProxyPort": 0},
        }
    )
    wheres = [p.where for p in error.problems]
    assert wheres == [
        "options.localProxyPort",
        "applications.web.development.local",
        "applications.docs.routing[0].paths[0]",
        "applications.docs.routing[0].paths[2]",
        "applications.docs.assetPrefix",
    ]
    assert str(error).startswith("microfrontends.json: 5 problems:\n  - options.localProxyPort: ")


# -- the default application ---------------------------------------------------------------------


def test_no_default_application():
    error = error_of({"applications": {"docs": {"routing": [{"paths": ["/docs"]}]}}})
    assert error.problems[0].where == "applications"
    assert "no default application" in error.problems[0].message


def test_several_default_applications_are_named():
    error = error_of({"applications": {"web": {}, "blog": {}, "docs": {"routing": [{"paths": ["/d"]}]}}})
    assert "2 applications have no `routing` (web, blog)" in error.problems[0].message


@pytest.mark.parametrize(
    ("web", "docs", "where"),
    [
        (3, {"routing": [{"paths": ["/d"]}]}, "applications.web"),
        ({}, {"routing": {}}, "applications.docs.routing"),
        ({}, {"routing": [{"group": "docs"}]}, "applications.docs.routing[0].paths"),
    ],
)
def test_a_broken_application_is_not_also_a_missing_or_extra_default(web, docs, where):
    # These also reported "no default application" or "2 applications have no `routing`".
    error = error_of({"applications": {"web": web, "docs": docs}})
    assert [problem.where for problem in error.problems] == [where]


# -- properties ----------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
_config_like = st.fixed_dictionaries(
    {},
    optional={
        "applications": st.dictionaries(
            st.sampled_from(["web", "docs", "api", "", "x.y"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "development": st.fixed_dictionaries(
                        {},
                        optional={
                            "local": _json_values | st.integers(-5, 70000),
                            "fallback": _json_values | st.text(),
                        },
                    ),
                    "routing": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "paths": st.lists(st.text(max_size=15) | _json_values, max_size=3),
                                "flag": _json_values,
                            },
                        ),
                        max_size=3,
                    ),
                    "assetPrefix": _json_values,
                    "packageName": _json_values,
                },
            )
            | _json_values,
            max_size=4,
        ),
        "options": _json_values,
        "version": _json_values,
        "partOf": _json_values,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_config_like, st.sampled_from(["json", "yaml"]))
def test_config_shaped_documents_raise_only_config_errors(document, fmt):
    text = json.dumps(document) if fmt == "json" else yaml.safe_dump(document)
    try:
        config = parse_config(text.encode(), f"microfrontends.{fmt}")
    except ConfigError as error:
        assert error.problems
        assert all(isinstance(p.message, str) and p.message for p in error.problems)
    else:
        assert config.default_application.is_default
