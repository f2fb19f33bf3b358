"""Config loading and validation: every form, default and error of microfrontends.json."""

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfe_proxy.config import load_config, parse_config
from mfe_proxy.config.reader import CONFIG_FILE_NAMES, find_config
from mfe_proxy.errors import ConfigError, quote
from mfe_proxy.model import Origin, default_asset_prefix, generated_port

CONFIGS = Path(__file__).parent.parent / "configs"


def parse(document: object | str, file: str = "microfrontends.json"):
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_config(text.encode(), file)


def error_of(document: object | str, file: str = "microfrontends.json") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(document, file)
    return caught.value


def two_apps(web: dict | None = None, docs: dict | None = None, **top: object) -> dict:
    return {
        "applications": {
            "web": web if web is not None else {},
            "docs": docs if docs is not None else {"routing": [{"paths": ["/docs/:path*"]}]},
        },
        **top,
    }


def with_local(local: object, name: str = "docs") -> dict:
    return {
        "applications": {"web": {}, name: {"development": {"local": local}, "routing": [{"paths": ["/x"]}]}}
    }


# -- derived values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "port"), [("web", 5588), ("docs", 6955), ("blog", 4850), ("test-450", 7724)]
)
def test_generated_port_matches_the_references(name, port):
    assert generated_port(name) == port


def test_generated_port_wraps_like_javascript_for_long_and_non_ascii_names():
    for name in ("a" * 200, "ünïcødé-app", "😀-emoji", ""):
        assert 3000 <= generated_port(name) < 8000
    assert generated_port("") == 3000


@pytest.mark.parametrize(("name", "prefix"), [("docs", "vc-ap-e3e2a9"), ("blog", "vc-ap-126ac9")])
def test_default_asset_prefix_is_md5_based(name, prefix):
    assert default_asset_prefix(name) == prefix


# -- discovery and formats -----------------------------------------------------------------------


def test_discovery_prefers_json_then_jsonc_then_yaml(tmp_path):
    for name in reversed(CONFIG_FILE_NAMES):
        (tmp_path / name).write_text(json.dumps(two_apps()))
        assert find_config(tmp_path) == tmp_path / name
    assert load_config(directory=tmp_path).file == str(tmp_path / "microfrontends.json")


def test_discovery_without_a_config_names_the_directory_and_the_option(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(directory=tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "microfrontends.json" in message
    assert "mfe_config" in message


def test_unreadable_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.json")


def test_the_three_example_formats_describe_the_same_routing():
    loaded = [load_config(CONFIGS / name) for name in ("three-apps.jsonc", "three-apps.yaml")]
    summaries = [
        {
            name: (app.upstream, [[p.source for p in r.paths] for r in app.routes], app.package_name)
            for name, app in config.applications.items()
        }
        for config in loaded
    ]
    assert summaries[0] == summaries[1]
    assert summaries[0]["api"][1] == [["/api/:path*"]]
    assert all(config.default_application.name == "web" for config in loaded)
    two = load_config(CONFIGS / "microfrontends.json")
    assert two.applications["docs"].upstream == Origin("http", "localhost", 3001)
    assert two.proxy_port == 3024


def test_jsonc_comments_and_trailing_commas_in_any_json_file():
    text = """
    // leading comment
    {
      /* block
         comment */
      "applications": {
        "web": {"development": {"local": "http://localhost:3000", "task": "dev // kept /* kept */"},},
        "docs": {"routing": [{"paths": ["/docs/:path*",],},],}, // trailing commas
      },
    }
    """
    for file in ("microfrontends.json", "microfrontends.jsonc", "custom-name.txt"):
        web = parse(text, file).applications["web"]
        assert web.upstream == Origin("http", "localhost", 3000)
        assert web.task == "dev // kept /* kept */"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "applications": {\n    "web": {}\n    "docs": {}\n  }\n}', 4, 5),
        ('{"applications": {"web": {}}', 1, 29),
        ("{\n  /* never closed\n", 2, 3),
        ('{\n  "applications": {"web": {}},\n  , \n}', 3, 3),
    ],
)
def test_json_syntax_errors_name_file_line_and_column(text, line, column):
    error = error_of(text, "/repo/microfrontends.jsonc")
    message = str(error)
    assert message.startswith("/repo/microfrontends.jsonc: ")
    assert f"line {line}, column {column}" in message
    assert "syntax error" in message


def test_yaml_syntax_errors_name_file_line_and_column():
    message = str(error_of("applications:\n  web: {}\n  docs: [unclosed\n", "microfrontends.yaml"))
    assert message.startswith("microfrontends.yaml: line 4, column 1: YAML syntax error")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"   \n\t", "the file is empty"),
        (b"\xff\xfe\x00garbage\x80", "not UTF-8 text"),
        (b"[]", "the top level must be an object, not a list"),
        (b'"text"', "the top level must be an object, not a string"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "JSON syntax error"),
    ],
)
def test_unusable_json_files(data, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config(data, "microfrontends.json")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"# only a comment\n", "the file is empty"),
        (b"- a\n- b\n", "the top level must be an object, not a list"),
        (b"\x00\x01binary", "YAML syntax error"),
        (b"a: &x [*x]\napplications: {web: {}}", "a: "),  # a recursive alias under an unknown key
    ],
)
def test_unusable_yaml_files(data, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config(data, "microfrontends.yml")


# -- top-level fields ----------------------------------------------------------------------------


def test_defaults():
    config = parse(two_apps())
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
    config = parse(
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
    config = parse(two_apps(web={"development": {"fallback": "web.example.com"}}, version=version))
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
    assert parse(document).applications["web"].upstream.port == 5588


def test_repeated_keys_are_reported_in_json_and_yaml():
    error = error_of('{"applications": {"web": {}, "web": {"packageName": "w"}}}')
    assert error.problems[0].where == "applications.web"
    assert "appears more than once" in error.problems[0].message
    error = error_of(
        "applications:\n  web: {}\n  docs:\n    routing: []\n    routing: []\n", "microfrontends.yaml"
    )
    assert error.problems[0].where == "applications.docs.routing"


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


# -- development.local ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "origin"),
    [
        (3001, ("http", "localhost", 3001)),
        ("3002", ("http", "localhost", 3002)),
        (" 3003 ", ("http", "localhost", 3003)),
        ("my.localhost.me", ("http", "my.localhost.me", 6955)),
        ("my.localhost.me:8080", ("http", "my.localhost.me", 8080)),
        ("127.0.0.1:4000", ("http", "127.0.0.1", 4000)),
        ("[::1]:4000", ("http", "::1", 4000)),
        ("http://docs.localhost:4001", ("http", "docs.localhost", 4001)),
        ("https://docs.localhost:4002", ("https", "docs.localhost", 4002)),
        ("https://docs.localhost", ("https", "docs.localhost", 6955)),
        # Vercel's URL parser drops a scheme's default port, so the generated one applies (warned).
        ("https://docs.localhost:443", ("https", "docs.localhost", 6955)),
        ("docs.localhost:80", ("http", "docs.localhost", 6955)),
        ("docs.localhost:443", ("http", "docs.localhost", 443)),
        ("http://Docs.LocalHost:4003/", ("http", "docs.localhost", 4003)),
        ({"port": 3005}, ("http", "localhost", 3005)),
        ({"port": 3006, "host": "127.0.0.1", "protocol": "https"}, ("https", "127.0.0.1", 3006)),
        ({"host": "[::1]"}, ("http", "::1", 6955)),
        ({}, ("http", "localhost", 6955)),
    ],
)
def test_development_local_forms(local, origin):
    assert parse(with_local(local)).applications["docs"].upstream == Origin(*origin)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (0, "0 is not a port number"),
        ("70000", "70000 is not a port number"),
        ("localhost:99999", '"localhost:99999" is not a valid host or URL: Port out of range'),
        ("localhost:0", "0 is not a port number"),
        ("ftp://localhost:21", "the protocol must be http or https"),
        (
            "localhost:3000/docs",
            '"localhost:3000/docs" has a path; write an origin only, like "http://localhost:3000"',
        ),
        ("http://user:pw@localhost:3000", "has credentials; write an origin only"),
        ("http://localhost:3000?x=1", "has a query; write an origin only"),
        ("http://", "has no valid host name"),
        ("bad host:3000", "has no valid host name"),
        (True, "must be a port, a host, host:port, a URL"),
        (3000.5, "must be a port, a host, host:port, a URL"),
        (["localhost"], "must be a port, a host, host:port, a URL"),
        ({"port": "3000"}, "must be a port number, not a string"),
        ({"port": 3000, "protocol": "ws"}, 'must be "http" or "https"'),
        ({"host": "a b"}, "is not a host name or IP address"),
    ],
)
def test_development_local_errors(local, expected):
    error = error_of(with_local(local))
    assert error.problems[0].where.startswith("applications.docs.development.local")
    assert expected in error.problems[0].message


# -- development.fallback ------------------------------------------------------------------------


def test_fallback_forms_and_inheritance():
    config = parse(
        {
            "applications": {
                "web": {"development": {"fallback": "web.example.com"}},
                "docs": {
                    "development": {"fallback": "http://docs.example.com:8080/"},
                    "routing": [{"paths": ["/d"]}],
                },
                "api": {"routing": [{"paths": ["/api/:path*"]}]},
            }
        }
    )
    apps = config.applications
    assert apps["web"].fallback == Origin("https", "web.example.com", 443)
    assert apps["web"].fallback.url == "https://web.example.com"
    assert apps["docs"].fallback == Origin("http", "docs.example.com", 8080)
    assert apps["docs"].fallback.url == "http://docs.example.com:8080"
    assert apps["api"].fallback == apps["web"].fallback


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        ("example.com/docs", "has a path"),
        ("example.com?x=1", "has a query"),
        ("https://example.com/#top", "has a fragment"),
        ("https://user:pw@example.com", "has credentials"),
        ("https://user@example.com/x", "has a path and credentials"),
        ("ftp://example.com", "the protocol must be http or https"),
        (3000, "must be a host or URL"),
    ],
)
def test_fallback_errors(fallback, expected):
    error = error_of(two_apps(web={"development": {"fallback": fallback}}))
    assert error.problems[0].where == "applications.web.development.fallback"
    assert expected in error.problems[0].message


def test_origin_formats_ipv6_and_default_ports():
    assert Origin("http", "::1", 3000).url == "http://[::1]:3000"
    assert Origin("http", "localhost", 80).url == "http://localhost"
    assert Origin("https", "example.com", 8443).netloc == "example.com:8443"


# -- the default application and routing ---------------------------------------------------------


def test_no_default_application():
    error = error_of({"applications": {"docs": {"routing": [{"paths": ["/docs"]}]}}})
    assert error.problems[0].where == "applications"
    assert "no default application" in error.problems[0].message


def test_several_default_applications_are_named():
    error = error_of({"applications": {"web": {}, "blog": {}, "docs": {"routing": [{"paths": ["/d"]}]}}})
    assert "2 applications have no `routing` (web, blog)" in error.problems[0].message


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
    docs = parse(
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
    config = parse(two_apps(docs={"routing": [{"paths": ["/docs/:path*", "/docs/api", "/docs"]}]}))
    assert len(config.applications["docs"].routes[0].paths) == 3


def test_disjoint_paths_of_many_applications_load():
    apps = {f"app{i}": {"routing": [{"paths": [f"/app{i}", f"/app{i}/:path*"]}]} for i in range(300)}
    config = parse({"applications": {"web": {}, **apps}})
    assert len(config.applications) == 301


# -- asset prefixes ------------------------------------------------------------------------------


def test_custom_asset_prefix_comes_first_and_the_defaults_stay_routed():
    docs = parse(
        two_apps(docs={"routing": [{"paths": ["/docs"]}], "assetPrefix": "docs-assets"})
    ).applications["docs"]
    assert docs.asset_prefixes == ("docs-assets", "vc-ap-e3e2a9", "vc-ap-docs")


# Vercel refuses these; it takes an empty one, which tests/test_config_parity.py covers.
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


# -- bugs found by fuzzing and the malformed-config table ----------------------------------------

_DOCS_LOCAL = "applications.docs.development.local"


@pytest.mark.parametrize(
    ("data", "file", "where", "expected"),
    [
        # A lone surrogate escape crashed the default asset prefix's md5, and made messages unprintable.
        (
            b'{"applications": {"web": {}, "\\ud800": {"routing": [{"paths": ["/a"]}]}}}',
            "microfrontends.json",
            'applications["\\ud800"]',
            'the key "\\ud800" holds a lone surrogate escape',
        ),
        (
            b'applications: {web: {packageName: "\\udc80"}}',
            "microfrontends.yaml",
            "applications.web.packageName",
            '"\\udc80" holds a lone surrogate escape',
        ),
        # partOf holding a YAML date, set or recursive list crashed the message that quotes it.
        (b"partOf: 2024-01-01", "microfrontends.yaml", "partOf", "the package that partOf names (date here)"),
        (b"partOf: &x [*x]", "microfrontends.yaml", "partOf", "(a list here)"),
        # YAML's binary, hexadecimal and base-60 integers could exceed what int-to-text converts.
        (b"options: {localProxyPort: 0x" + b"f" * 4000 + b"}", "m.yaml", "line 1, column 27", "too large"),
        (
            b"applications: {web: {development: {local: 1" + b":59" * 3000 + b"}}}",
            "m.yml",
            "line 1, column 43",
            "too large",
        ),
        # So could a port written as thousands of digits.
        (
            json.dumps(with_local("1" + "0" * 5000)).encode(),
            "microfrontends.json",
            _DOCS_LOCAL,
            "is not a port number (1 to 65535)",
        ),
        # A JSON integer past Python's limit: the message named sys.set_int_max_str_digits, at 1:1.
        (
            b'{"options":\n {"localProxyPort": 1' + b"0" * 5000 + b"}}",
            "microfrontends.json",
            "line 2, column 21",
            "a number has too many digits",
        ),
        # A YAML key that is a list or mapping loaded as an application named "[]".
        (
            b"applications: {? [a, b] : {}}",
            "microfrontends.yaml",
            "line 1, column 18",
            "a key must be a name",
        ),
        # `{,}` and `[,]` read as `{}` and `[]`: a comma after "{" or "[" is no trailing comma.
        (b"{,}", "microfrontends.json", "line 1, column 2", "JSON syntax error: Expecting property name"),
        (
            b'{"applications": [,]}',
            "microfrontends.jsonc",
            "line 1, column 19",
            "JSON syntax error: Expecting value",
        ),
        # A JSON file holding `null` was reported as empty.
        (b"null", "microfrontends.json", "", "the top level must be an object, not null"),
        # $schema of any type was accepted; the reference says it is a string.
        (
            json.dumps(two_apps(**{"$schema": 5})).encode(),
            "microfrontends.json",
            "$schema",
            "must be a string",
        ),
        # "must be a port number, not a number" for 3024.5.
        (
            json.dumps(two_apps(options={"localProxyPort": 3024.5})).encode(),
            "microfrontends.json",
            "options.localProxyPort",
            "must be a port number, not a decimal number",
        ),
        # Hosts that end in a number are IPv4 addresses to the URL standard, and brackets hold IPv6.
        (
            json.dumps(with_local("127.0.0.1.1:3000")).encode(),
            "m.json",
            _DOCS_LOCAL,
            "has no valid host name",
        ),
        (
            json.dumps(with_local("http://999.1.1.1")).encode(),
            "m.json",
            _DOCS_LOCAL,
            "has no valid host name",
        ),
        (
            json.dumps(with_local("http://[v1.x]:3000")).encode(),
            "m.json",
            _DOCS_LOCAL,
            "has no valid host name",
        ),
        (
            json.dumps(with_local({"host": "[localhost]"})).encode(),
            "m.json",
            f"{_DOCS_LOCAL}.host",
            '"[localhost]" is not a host name or IP address',
        ),
        # PyYAML's text called bytes it could not decode "unacceptable characters", over two lines.
        (
            "web: café".encode("latin-1"),
            "microfrontends.yaml",
            "",
            "not UTF-8 text (byte 8 cannot be decoded)",
        ),
        (b"\x00", "microfrontends.yaml", "", "the character U+0000 (character 0 of the file) is not allowed"),
        (b"version: 2024-02-30", "microfrontends.yaml", "", "not valid YAML: day is out of range for month"),
    ],
)
def test_inputs_that_crashed_or_misled_the_loader(data, file, where, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(data, file)
    error = caught.value
    assert [problem.where for problem in error.problems] == [where], str(error)
    assert expected in error.problems[0].message
    assert "\n" not in str(error)
    str(error).encode("utf-8")


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


def test_quote_keeps_lone_surrogates_escaped_and_other_text_readable():
    assert quote("caf\u00e9 \ud800") == '"café \\ud800"'
    quote("\udcff").encode("utf-8")


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
@given(st.binary(max_size=300), st.sampled_from(["microfrontends.json", "microfrontends.yaml"]))
def test_arbitrary_bytes_raise_only_config_errors(data, file):
    try:
        parse_config(data, file)
    except ConfigError as error:
        assert str(error).startswith(file)


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
