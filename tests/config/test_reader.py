"""Reading a config file (mfe_proxy.config.reader): finding it, JSON, JSONC and YAML, syntax errors named
with their line and column, and bytes that are no config at all."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ROOT, error_of, load, two_apps, with_local
from mfe_proxy.config import load_config, parse_config
from mfe_proxy.config.reader import CONFIG_FILE_NAMES, find_config
from mfe_proxy.errors import ConfigError
from mfe_proxy.model import Origin

CONFIGS = ROOT / "configs"


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
        web = load(text, file).applications["web"]
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


def test_repeated_keys_are_reported_in_json_and_yaml():
    error = error_of('{"applications": {"web": {}, "web": {"packageName": "w"}}}')
    assert error.problems[0].where == "applications.web"
    assert "appears more than once" in error.problems[0].message
    error = error_of(
        "applications:\n  web: {}\n  docs:\n    routing: []\n    routing: []\n", "microfrontends.yaml"
    )
    assert error.problems[0].where == "applications.docs.routing"


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


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(["microfrontends.json", "microfrontends.yaml"]))
def test_arbitrary_bytes_raise_only_config_errors(data, file):
    try:
        parse_config(data, file)
    except ConfigError as error:
        assert str(error).startswith(file)
