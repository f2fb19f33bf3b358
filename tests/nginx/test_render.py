"""The nginx export as a pure function: its options, its structure, the PCRE translation of path
patterns, and the rewriting chains, checked in Python against the proxy's own functions (the chains'
regexes mean the same in Python's `re` as in PCRE)."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import load
from mfe_proxy.model import Origin
from mfe_proxy.nginx.differences import markdown_table
from mfe_proxy.nginx.export import (
    DIFFERENCES,
    Difference,
    NginxExportError,
    parse_listen,
    parse_origin,
    parse_upstream,
    render,
)
from mfe_proxy.nginx.maps import (
    PATHNAME_STEPS,
    Rule,
    dot_segment_rules,
    flag_rules,
    quote,
    slash_rules,
    value,
)
from mfe_proxy.nginx.pages import _CHUNK, _pieces
from mfe_proxy.nginx.pcre import PcreError, to_pcre
from mfe_proxy.nginx.routing import asset_prefix_regex
from mfe_proxy.router import forwarded_path, pathname
from nginx import harness
from nginx.conftest import compiled
from nginx.test_routing_parity import CONFIG

THREE_APPS = {
    "applications": {
        "web": {"development": {"local": 3000}},
        "docs": {"development": {"local": 3001}, "routing": [{"paths": ["/docs/:path*"]}]},
    },
    "options": {"localProxyPort": 3999},
}


# -- the output ----------------------------------------------------------------------------------------


def test_by_default_the_output_is_blocks_for_an_existing_http_block():
    text = render(load(THREE_APPS))
    assert "server {" in text and "map $request_uri $mfe_uri {" in text and "upstream mfe_a1 {" in text
    assert not re.search(r"^(http|events) \{", text, re.MULTILINE)
    assert "listen 127.0.0.1:3999;" in text
    # The choice of maps over locations is explained at the top.
    header = text[: text.index("\n\n")]
    assert "`map` blocks over $request_uri, not with `location` blocks" in header


def test_standalone_is_a_whole_nginx_conf_with_its_files_under_the_prefix():
    text = render(load(THREE_APPS), standalone=True)
    for line in ("daemon off;", 'pid "nginx.pid";', 'error_log "error.log" notice;', "events {", "http {"):
        assert line in text
    assert 'client_body_temp_path "client_body_temp";' in text
    absolute = render(load(THREE_APPS), standalone=True, prefix="/srv/preview/")
    assert 'pid "/srv/preview/nginx.pid";' in absolute
    assert 'proxy_temp_path "/srv/preview/proxy_temp";' in absolute


def test_websockets_and_streaming_are_configured_as_nginx_documents():
    text = render(load(THREE_APPS))
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $mfe_connection_upgrade;",
        "map $http_upgrade $mfe_connection_upgrade {",
        "proxy_read_timeout 1d;",
        "proxy_send_timeout 1d;",
        "proxy_buffering off;",
    ):
        assert line in text


def test_listen_upstreams_and_server_names_are_options():
    text = render(
        load(THREE_APPS),
        listen=("::1", 8080),
        upstreams={"docs": "https://docs.preview.internal:8443", "web": Origin("http", "10.0.0.2", 80)},
        server_names=["preview.example.com", "*.pr.example.com"],
    )
    assert "listen [::1]:8080;" in text
    assert "server docs.preview.internal:8443 max_fails=0;" in text
    assert "server 10.0.0.2:80 max_fails=0;" in text
    assert "proxy_ssl_verify on;" in text
    assert "server_name localhost *.localhost 127.0.0.1 preview.example.com *.pr.example.com;" in text
    assert r"[a-z0-9][a-z0-9_.-]*\.pr\.example\.com" in text


def test_a_resolver_makes_nginx_resolve_remote_hosts_on_each_request():
    document = json.loads(json.dumps(THREE_APPS))
    document["applications"]["docs"]["development"]["fallback"] = "docs.example.com"
    text = render(load(document), resolver=["10.0.0.53"], trusted_certificates=None)
    assert "resolver 10.0.0.53;" in text
    assert "proxy_pass https://docs.example.com:443$mfe_target_tls;" in text
    assert "upstream mfe_a1_fallback" not in text
    assert "proxy_ssl_verify" not in text
    # Without one, nginx resolves the fallback's host once, when it starts.
    assert "server docs.example.com:443 max_fails=0;" in render(load(document))


def test_localhost_subdomains_are_served_from_loopback():
    document = json.loads(json.dumps(THREE_APPS))
    document["applications"]["docs"]["development"]["local"] = "docs.localhost:3001"
    text = render(load(document))
    assert "server 127.0.0.1:3001 max_fails=0;\n    server [::1]:3001 max_fails=0;" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"upstreams": {"nope": "http://x:1"}}, "has no application nope (it has web, docs)"),
        ({"upstreams": {"docs": "ftp://x"}}, "give an http:// or https:// origin"),
        ({"upstreams": {"docs": "http://x:1/path"}}, "without path"),
        ({"upstreams": {"docs": "http://x:99999"}}, "out of range"),
        ({"server_names": ["bad name"]}, "--server-name bad name"),
        ({"server_names": ["x.test:80"]}, "(no port)"),
    ],
)
def test_bad_options_are_refused_with_a_message(options, message):
    with pytest.raises(NginxExportError, match=re.escape(message)):
        render(load(THREE_APPS), **options)


def test_command_line_values_are_parsed():
    assert parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_listen("[::1]:3024") == ("::1", 3024)
    assert parse_listen("3024") == ("127.0.0.1", 3024)
    assert parse_upstream("docs=http://docs.internal:3000") == ("docs", Origin("http", "docs.internal", 3000))
    assert parse_upstream("docs=https://docs.internal") == ("docs", Origin("https", "docs.internal", 443))
    assert parse_origin("127.0.0.1:3001", "x") == Origin("http", "127.0.0.1", 3001)
    for bad in ("host:", ":0", "x:65536", "nothing"):
        with pytest.raises(NginxExportError, match="HOST:PORT"):
            parse_listen(bad)
    with pytest.raises(NginxExportError, match="NAME=URL"):
        parse_upstream("http://x:1")


def test_names_and_texts_from_the_config_cannot_break_the_configuration():
    document = {
        "applications": {
            "web": {"development": {"local": 3000}},
            'a$b"c\\d}; e\nf': {
                "routing": [{"paths": ["/x"]}],
                "packageName": "p$x",
                "development": {"task": "t"},
            },
        }
    }
    text = render(load(document), standalone=True)
    assert "${mfe_dollar}" in text
    for line in text.splitlines():
        # One directive per line: control characters are escaped in strings, replaced in comments.
        assert not line.strip() or line.lstrip().startswith("#") or line.endswith(("{", "}", ";")), line


def test_the_differences_are_a_table_for_the_readme():
    assert len(DIFFERENCES) >= 10
    for row in DIFFERENCES:
        assert isinstance(row, Difference)
        assert all(isinstance(cell, str) and cell.strip() for cell in row), row
    assert len({row.behaviour for row in DIFFERENCES}) == len(DIFFERENCES)
    table = markdown_table().splitlines()
    assert table[0] == "| what | proxy | exported nginx | why |"
    assert len(table) == len(DIFFERENCES) + 2
    assert all(line.count(" | ") == 3 for line in table)


# -- nginx syntax --------------------------------------------------------------------------------------


def test_strings_are_quoted_for_nginx():
    # nginx keeps a backslash it does not read as an escape: regexes keep theirs.
    assert quote('a"b\\c') == '"a\\"b\\c"'
    assert quote("\\\\d\\n\n\\") == '"\\\\\\d\\\\n\\n\\\\"'
    assert value("cost: $5") == '"cost: ${mfe_dollar}5"'


def test_long_bodies_are_cut_into_pieces_nginx_accepts_never_inside_a_variable():
    text = ("x" * 997 + "\0PATHNAME") * 10 + "$" * 500
    pieces = _pieces(text)
    assert len(pieces) > 1
    assert all(len(piece) <= _CHUNK for piece in pieces)
    joined = "".join(pieces)
    assert joined.count("${mfe_pathname}") == 10
    assert joined.count("${mfe_dollar}") == 500


# -- the PCRE translation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "pcre"),
    [
        ("/docs", r"^/docs[#/?]?\z"),
        ("/docs/:path*", r"^/docs(?:/((?:[^#/?]+?)(?:/(?:[^#/?]+?))*))?[#/?]?\z"),
        ("/:lang(en|fr)/docs", r"^(?:/(en|fr))/docs[#/?]?\z"),
        ("/:path((?!api|blog).*)", r"^(?:/((?!api|blog)[\x00-\xff]*))[#/?]?\z"),
        ("/assets/some-:hash.js", r"^/assets/some-([^#/?]+?)\.js[#/?]?\z"),
        ("/a\\:b", r"^/a:b[#/?]?\z"),
        ("/x\\(\\)", r"^/x\(\)[#/?]?\z"),
        ("/caf%C3%A9", r"^/caf(?:%C3|\xc3)(?:%A9|\xa9)[#/?]?\z"),
        ("/a%25b", r"^/a%25b[#/?]?\z"),
        ("/café", r"^/caf(?!)[#/?]?\z"),
        ('/a"b', r"^/a(?!)b[#/?]?\z"),
        ("/:p(a|b$)", r"^(?:/(a|b(?![\x00-\xff])))[#/?]?\z"),
        ("/:p(a|^b)", r"^(?:/(a|(?!)b))[#/?]?\z"),
        ("/:p(a|\\u00e9)", r"^(?:/(a|(?!)))[#/?]?\z"),
        ("/:p(a|[^a-c])", r"^(?:/(a|[^A-Ca-c]))[#/?]?\z"),
        ("/:p(\\bx|y)", r"^(?:/(\bx|y))[#/?]?\z"),
        ("/:a(en|fr)/:b(x|y\\1)", r"^(?:/(en|fr))(?:/(x|y(?:\g{1})))[#/?]?\z"),
        # Whitespace never stands raw in a pathname: a class of nothing else matches nothing.
        ("/:p(\\sa|b)", r"^(?:/((?!)a|b))[#/?]?\z"),
        ("/:p(a|b\\d)", r"^(?:/(a|b[0-9]))[#/?]?\z"),
    ],
)
def test_patterns_are_translated_to_pcre(source, pcre):
    assert to_pcre(compiled(source).pattern) == pcre


@pytest.mark.parametrize(
    "prefix", ["vc-ap-docs", "assets-1", "vc-ap-a.b", "vc-ap-x y", "vc-ap-ünï", "vc-ap-a:b(c)*+?"]
)
def test_asset_prefixes_are_compiled_as_the_router_compiles_them(prefix):
    # The router's `/<prefix>/:path*`, the prefix escaped for path-to-regexp.
    source = "/" + re.sub(r"([:()*+?{}\\])", r"\\\1", prefix) + "/:path*"
    assert asset_prefix_regex(prefix) == compiled(source).pattern


def test_an_unknown_construct_is_an_error_not_a_wrong_regex():
    with pytest.raises(PcreError, match=r"\\p"):
        to_pcre(r"^\p{L}\Z")


@given(st.text(alphabet="/abcAB.-%20:_~!", max_size=12))
@settings(max_examples=300, deadline=None)
def test_translated_patterns_match_printable_paths_as_the_originals(path):
    """On paths of characters that a pathname holds as they are, PCRE and Python agree; Python's `re`
    reads the translation's constructs (`\\z` aside) as PCRE does."""
    for source in ("/a", "/a/:p*", "/:x(ab|b)/:y+", "/:p((?!ab|b).*)", "/a-:h.b", "/%20:x", "/:p(a|[^a-c])"):
        original = compiled(source)
        translated = re.compile(
            to_pcre(original.pattern).replace(r"\z", r"\Z").replace(r"\g{", r"(?:\g<").replace("}", ">)"),
            re.IGNORECASE | re.ASCII,
        )
        assert bool(translated.match(path)) == bool(original.match(path)), (source, path)


# -- the rewriting chains, run in Python ----------------------------------------------------------------


def run(rules: list[Rule], text: str, steps: int, *, caseless: bool) -> str:
    """What a chain of maps makes of `text`: each step applies the first rule that matches."""
    for _ in range(steps):
        for rule in rules:
            found = re.match(rule.pcre, text, re.IGNORECASE if caseless else 0)
            if found:
                groups = ("", *(group or "" for group in found.groups()))
                text = re.sub(
                    r"\$(\d)", lambda reference, groups=groups: groups[int(reference[1])], rule.result
                )
                break
    return text


_SEGMENT = st.sampled_from(["a", "B", ".", "..", "%2e", "%2E%2e", ".%2e", "", "x.y", "...", "%2f"])
_PATHS = st.lists(st.tuples(st.sampled_from(["/", "/", "\\"]), _SEGMENT), min_size=1, max_size=6).map(
    lambda parts: "".join(separator + segment for separator, segment in parts)
)


@given(_PATHS)
@settings(max_examples=500, deadline=None)
def test_the_dot_segment_chain_resolves_paths_as_the_whatwg_parser(path):
    needed = len(re.findall(r"(?i)(?<=[/\\])(?:\.|%2e){1,2}(?=[/\\]|$)", path)) + path.count("\\")
    if needed <= PATHNAME_STEPS:
        assert run(dot_segment_rules(), path, PATHNAME_STEPS, caseless=True) == pathname(path)


@given(_PATHS, st.sampled_from(["", "?a=//b", "?x"]))
@settings(max_examples=300, deadline=None)
def test_the_slash_chains_collapse_as_the_proxy(path, query):
    target = path + query
    runs = len(re.findall(r"[/\\]{2,}|\\", path))
    cleaned = run(slash_rules(backslash_alone=True), target, runs, caseless=False)
    assert cleaned == forwarded_path(target)
    collapsed = run(slash_rules(backslash_alone=False), target, runs, caseless=False)
    assert collapsed == re.sub(r"[/\\]{2,}", "/", path) + query


@pytest.mark.parametrize(
    ("query", "stripped"),
    [
        ("vercel-mfe-flag-value=true", ""),
        ("a=1&vercel-mfe-flag-value=true", "a=1"),
        ("vercel-mfe-flag-value=true&b=2", "b=2"),
        ("a=1&vercel-mfe-flag-value=false&b=2", "a=1&b=2"),
        ("vercel-mfe-flag-value=true&vercel-mfe-flag-value=x&c", "c"),
        ("vercel-mfe-flag-valuex=1&vercel-mfe-flag-value", "vercel-mfe-flag-valuex=1"),
        ("xvercel-mfe-flag-value=1", "xvercel-mfe-flag-value=1"),
    ],
)
def test_the_flag_chain_takes_the_parameter_off_the_query(query, stripped):
    assert run(flag_rules("vercel-mfe-flag-value"), query, 3, caseless=False) == stripped


def test_the_parity_config_has_a_flagged_route_and_an_array_index_name():
    config = load(CONFIG)
    assert config.routing_order()[0].name == "2024"
    assert any(route.flag for app in config.applications.values() for route in app.routes)


def test_without_nginx_the_tests_fail_saying_what_to_install(monkeypatch):
    monkeypatch.delenv("MFE_NGINX", raising=False)
    monkeypatch.setattr(harness.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(pytest.fail.Exception, match=r"nginx is missing.*scripts/nginx.*nginx-light"):
        harness.nginx_binary()
    monkeypatch.setenv("MFE_NGINX", "/nonexistent/nginx")
    with pytest.raises(pytest.fail.Exception, match=r"MFE_NGINX=/nonexistent/nginx is not an executable"):
        harness.nginx_binary()
