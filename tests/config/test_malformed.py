"""Malformed configs, one table: syntax errors in JSON, JSONC and YAML, a wrong type in every field,
unknown keys, bad, duplicate and overlapping paths, bad hosts and ports, no or several default
applications, empty files, binary garbage and wrong encodings. Each is loaded from a file on disk and
must raise `ConfigError` (nothing else) whose message names the file, the field (or the line and
column of a syntax error) and what is wrong. A few, one per family, go through a real mitmdump
(tests/e2e/test_malformed_config.py): start-up stops with exit code 1 and the same message, and no
traceback."""

import json
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from mfe_proxy.config import load_config
from mfe_proxy.errors import ConfigError


class Case(NamedTuple):
    id: str
    file: str  # the file name, whose extension picks the format
    content: bytes | str | dict | list  # an object or list is written as JSON, or YAML for .yaml/.yml
    where: str  # the field path, "line L, column C", or "" for a problem with the whole file
    fragment: str  # a piece of the explanation

    def write(self, directory: Path) -> Path:
        path = directory / self.file
        if isinstance(self.content, bytes):
            path.write_bytes(self.content)
        elif isinstance(self.content, str):
            path.write_text(self.content, encoding="utf-8")
        elif self.file.endswith((".yaml", ".yml")):
            path.write_text(yaml.safe_dump(self.content, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(json.dumps(self.content, indent=2), encoding="utf-8")
        return path


def site(web: dict | None = None, docs: dict | None = None, **top: object) -> dict:
    """A valid config of two applications, `web` (the default) and `docs`, with the parts given."""
    return {
        **top,
        "applications": {
            "web": web if web is not None else {},
            "docs": docs if docs is not None else {"routing": [{"paths": ["/docs/:path*"]}]},
        },
    }


def local(value: object) -> dict:
    return site(web={"development": {"local": value}})


def fallback(value: object) -> dict:
    return site(web={"development": {"fallback": value}})


def routing(value: object) -> dict:
    return site(docs={"routing": value})


def paths(*patterns: object) -> dict:
    return routing([{"paths": list(patterns)}])


def two_children(docs_paths: list[str], blog_paths: list[str]) -> dict:
    return {
        "applications": {
            "web": {},
            "docs": {"routing": [{"paths": docs_paths}]},
            "blog": {"routing": [{"paths": blog_paths}]},
        }
    }


DOCS = "applications.docs"
WEB_DEV = "applications.web.development"
LOCAL = f"{WEB_DEV}.local"
PATH0 = f"{DOCS}.routing[0].paths[0]"
ORIGIN_ONLY = "write an origin only"

SYNTAX = [
    Case(
        "json-missing-comma",
        "microfrontends.json",
        '{\n  "applications": {\n    "web": {}\n    "docs": {}\n  }\n}',
        "line 4, column 5",
        "JSON syntax error: Expecting ',' delimiter",
    ),
    Case(
        "json-unclosed-object",
        "microfrontends.json",
        '{"applications": {"web": {}}',
        "line 1, column 29",
        "JSON syntax error: Expecting ',' delimiter",
    ),
    Case(
        "json-single-quotes",
        "microfrontends.json",
        "{'applications': {'web': {}}}",
        "line 1, column 2",
        "Expecting property name enclosed in double quotes",
    ),
    Case(
        "json-unquoted-key",
        "microfrontends.json",
        '{\n  applications: {"web": {}}\n}',
        "line 2, column 3",
        "Expecting property name enclosed in double quotes",
    ),
    Case(
        "json-trailing-garbage",
        "microfrontends.json",
        '{"applications": {"web": {}}}\n}',
        "line 2, column 1",
        "Extra data",
    ),
    Case(
        "json-bad-escape",
        "microfrontends.json",
        '{"applications": {"w\\q": {}}}',
        "line 1, column 21",
        "Invalid \\escape",
    ),
    Case(
        "json-raw-tab-in-string",
        "microfrontends.json",
        '{"applications": {"we\tb": {}}}',
        "line 1, column 22",
        "Invalid control character",
    ),
    Case(
        "json-comma-without-value",
        "microfrontends.json",
        '{"applications": {,}}',
        "line 1, column 19",
        "Expecting property name enclosed in double quotes",
    ),
    Case(
        "json-number-too-long",
        "microfrontends.json",
        '{"options": {\n  "localProxyPort": 1' + "0" * 5000 + '}, "applications": {"web": {}}}',
        "line 2, column 21",
        "a number has too many digits",
    ),
    Case(
        "jsonc-unterminated-comment",
        "microfrontends.jsonc",
        '{"applications": {"web": {}}}\n/* never closed\n',
        "line 2, column 1",
        "unterminated /* comment",
    ),
    Case(
        "jsonc-comment-hides-brace",
        "microfrontends.jsonc",
        '{"applications": {"web": {}} // }\n',
        "line 2, column 1",
        "Expecting ',' delimiter",
    ),
    Case(
        "jsonc-double-trailing-comma",
        "microfrontends.jsonc",
        '{\n  "applications": {"web": {}},,\n}',
        "line 2, column 31",
        "Expecting property name enclosed in double quotes",
    ),
    Case(
        "jsonc-leading-comma-in-list",
        "microfrontends.jsonc",
        '{"applications": {"web": {}, "docs": {"routing": [, {"paths": ["/d"]}]}}}',
        "line 1, column 51",
        "Expecting value",
    ),
    Case(
        "yaml-unclosed-list",
        "microfrontends.yaml",
        "applications:\n  web: {}\n  docs: [unclosed\n",
        "line 4, column 1",
        "YAML syntax error",
    ),
    Case(
        "yaml-tab-indentation",
        "microfrontends.yaml",
        "applications:\n\tweb: {}\n",
        "line 2, column 1",
        "found character '\\t' that cannot start any token",
    ),
    Case(
        "yaml-bad-indentation",
        "microfrontends.yaml",
        "applications:\n    web: {}\n  docs: {}\n",
        "line 3, column 3",
        "YAML syntax error: expected <block end>, but found '<block mapping start>'",
    ),
    Case(
        "yaml-two-documents",
        "microfrontends.yml",
        "applications: {web: {}}\n---\napplications: {}\n",
        "line 2, column 1",
        "but found another document",
    ),
    Case(
        "yaml-python-tag",
        "microfrontends.yaml",
        "applications: !!python/object:os.system {}\n",
        "line 1, column 15",
        "could not determine a constructor for the tag",
    ),
    Case(
        "yaml-unclosed-quote",
        "microfrontends.yaml",
        'applications:\n  "web: {}\n',
        "line 3, column 1",
        "found unexpected end of stream",
    ),
    Case(
        "yaml-list-as-key",
        "microfrontends.yaml",
        "applications:\n  ? [web, docs]\n  : {}\n",
        "line 2, column 5",
        "a key must be a name, not a list or mapping",
    ),
    Case(
        "yaml-number-too-large",
        "microfrontends.yaml",
        "options:\n  localProxyPort: 0b" + "1" * 40 + "\napplications: {web: {}}\n",
        "line 2, column 19",
        "a number of more than 32 characters is too large",
    ),
    Case(
        "yaml-invalid-date",
        "microfrontends.yaml",
        "version: 2024-02-30\napplications: {web: {}}\n",
        "",
        "not valid YAML: day is out of range for month",
    ),
]

WRONG_TYPES = [
    Case(
        "top-level-list",
        "microfrontends.json",
        [{"applications": {}}],
        "",
        "the top level must be an object, not a list",
    ),
    Case("top-level-null", "microfrontends.json", "null", "", "the top level must be an object, not null"),
    Case("schema-number", "microfrontends.json", site(**{"$schema": 1}), "$schema", "must be a string"),
    Case(
        "version-list",
        "microfrontends.json",
        site(version=["1"]),
        "version",
        'must be a string such as "1", not a list',
    ),
    Case("version-boolean", "microfrontends.yaml", site(version=True), "version", "not a boolean"),
    Case("options-list", "microfrontends.json", site(options=[]), "options", "must be an object, not a list"),
    Case(
        "proxy-port-string",
        "microfrontends.json",
        site(options={"localProxyPort": "3024"}),
        "options.localProxyPort",
        "must be a port number, not a string",
    ),
    Case(
        "proxy-port-decimal",
        "microfrontends.json",
        site(options={"localProxyPort": 3024.5}),
        "options.localProxyPort",
        "must be a port number, not a decimal number",
    ),
    Case(
        "disable-overrides-string",
        "microfrontends.json",
        site(options={"disableOverrides": "yes"}),
        "options.disableOverrides",
        "must be true or false, not a string",
    ),
    Case(
        "applications-list",
        "microfrontends.json",
        {"applications": ["web"]},
        "applications",
        "must be an object of application names, not a list",
    ),
    Case(
        "applications-string",
        "microfrontends.yaml",
        {"applications": "web"},
        "applications",
        "must be an object of application names, not a string",
    ),
    Case(
        "application-number",
        "microfrontends.json",
        site(web=3),
        "applications.web",
        "must be an object, not a number",
    ),
    Case(
        "application-null",
        "microfrontends.yaml",
        "applications:\n  web:\n  docs: {routing: [{paths: [/docs]}]}\n",
        "applications.web",
        "must be an object, not null",
    ),
    Case(
        "package-name-number",
        "microfrontends.json",
        site(web={"packageName": 5}),
        "applications.web.packageName",
        "must be a string, not a number",
    ),
    Case(
        "development-string",
        "microfrontends.json",
        site(web={"development": "3000"}),
        WEB_DEV,
        "must be an object, not a string",
    ),
    Case("local-boolean", "microfrontends.json", local(True), LOCAL, 'a URL or {"port": ...}, not a boolean'),
    Case("local-decimal", "microfrontends.json", local(3000.5), LOCAL, "not a decimal number"),
    Case("local-list", "microfrontends.json", local(["localhost"]), LOCAL, "not a list"),
    Case(
        "local-date",
        "microfrontends.yaml",
        "applications:\n  web: {development: {local: 2024-01-01}}\n",
        LOCAL,
        "not date",
    ),
    Case(
        "local-port-string",
        "microfrontends.json",
        local({"port": "3000"}),
        f"{LOCAL}.port",
        "must be a port number, not a string",
    ),
    Case(
        "local-host-number",
        "microfrontends.json",
        local({"host": 127}),
        f"{LOCAL}.host",
        "must be a string, not a number",
    ),
    Case(
        "local-protocol-boolean",
        "microfrontends.json",
        local({"protocol": True}),
        f"{LOCAL}.protocol",
        "must be a string, not a boolean",
    ),
    Case(
        "fallback-number",
        "microfrontends.json",
        fallback(3000),
        f"{WEB_DEV}.fallback",
        'must be a host or URL such as "my-app.vercel.app", not a number',
    ),
    Case(
        "task-list",
        "microfrontends.json",
        site(web={"development": {"task": ["dev"]}}),
        f"{WEB_DEV}.task",
        "must be a string, not a list",
    ),
    Case(
        "routing-object",
        "microfrontends.json",
        routing({"paths": ["/docs"]}),
        f"{DOCS}.routing",
        "must be a list of routing groups, not an object",
    ),
    Case(
        "routing-group-string",
        "microfrontends.json",
        routing(["/docs"]),
        f"{DOCS}.routing[0]",
        'must be an object such as {"paths": ["/docs/:path*"]}, not a string',
    ),
    Case(
        "paths-string",
        "microfrontends.json",
        routing([{"paths": "/docs"}]),
        f"{DOCS}.routing[0].paths",
        "must be a list of path patterns, not a string",
    ),
    Case(
        "path-number", "microfrontends.json", paths(5), PATH0, "must be a path pattern string, not a number"
    ),
    Case(
        "group-number",
        "microfrontends.json",
        routing([{"group": 5, "paths": ["/docs"]}]),
        f"{DOCS}.routing[0].group",
        "must be a string, not a number",
    ),
    Case(
        "flag-boolean",
        "microfrontends.yaml",
        routing([{"flag": True, "paths": ["/docs"]}]),
        f"{DOCS}.routing[0].flag",
        "must be a string, not a boolean",
    ),
    Case(
        "asset-prefix-number",
        "microfrontends.json",
        site(docs={"routing": [{"paths": ["/docs"]}], "assetPrefix": 5}),
        f"{DOCS}.assetPrefix",
        "must be a string, not a number",
    ),
    Case(
        "part-of-list",
        "microfrontends.json",
        {"partOf": ["web"]},
        "partOf",
        "this is a child config: the routing lives in the microfrontends.json of the package that partOf "
        "names (a list here)",
    ),
]

UNKNOWN_KEYS = [
    Case(
        "unknown-top-level-key",
        "microfrontends.json",
        site(extra=1),
        "extra",
        "unknown key (expected one of: $schema, applications, options, version)",
    ),
    Case(
        "unknown-option",
        "microfrontends.yaml",
        site(options={"port": 3024}),
        "options.port",
        "unknown key (expected one of: disableOverrides, localProxyPort)",
    ),
    Case(
        "unknown-application-key",
        "microfrontends.json",
        site(web={"colour": "red"}),
        "applications.web.colour",
        "unknown key (expected one of: assetPrefix, development, packageName, routing)",
    ),
    Case(
        "unknown-development-key",
        "microfrontends.json",
        site(web={"development": {"lokal": 3000}}),
        f"{WEB_DEV}.lokal",
        "unknown key (expected one of: fallback, local, task)",
    ),
    Case(
        "unknown-local-key",
        "microfrontends.json",
        local({"port": 3000, "path": "/"}),
        f"{LOCAL}.path",
        "unknown key (expected one of: host, port, protocol)",
    ),
    Case(
        "unknown-routing-key",
        "microfrontends.json",
        routing([{"paths": ["/docs"], "flags": "x"}]),
        f"{DOCS}.routing[0].flags",
        "unknown key (expected one of: flag, group, paths)",
    ),
    Case(
        "renamed-local-port",
        "microfrontends.json",
        site(web={"development": {"localPort": 3000}}),
        f"{WEB_DEV}.localPort",
        "was renamed to `local`",
    ),
    Case(
        "child-config",
        "microfrontends.json",
        {"partOf": "web"},
        "partOf",
        'this is a child config: the routing lives in the microfrontends.json of the package "web"',
    ),
    Case(
        "repeated-key-json",
        "microfrontends.json",
        '{"applications": {"web": {}, "web": {"packageName": "w"}}}',
        "applications.web",
        "appears more than once; keep one",
    ),
    Case(
        "repeated-key-yaml",
        "microfrontends.yaml",
        "applications:\n  web: {}\n  docs:\n    routing: [{paths: [/d]}]\n    routing: [{paths: [/e]}]\n",
        f"{DOCS}.routing",
        "appears more than once; keep one",
    ),
]

PATHS = [
    Case(
        "path-without-slash",
        "microfrontends.json",
        paths("docs"),
        PATH0,
        'must start with "/" (write "/docs")',
    ),
    Case(
        "path-trailing-slash",
        "microfrontends.json",
        paths("/docs/"),
        PATH0,
        'must not end with "/": write "/docs"',
    ),
    Case(
        "path-optional-parameter", "microfrontends.json", paths("/docs/:path?"), PATH0, "optional parameter"
    ),
    Case(
        "path-optional-group",
        "microfrontends.json",
        paths("/docs{/:x}"),
        PATH0,
        'has an optional group "{...}"',
    ),
    Case("path-unnamed-group", "microfrontends.json", paths("/docs/(.*)"), PATH0, "has the unnamed group"),
    Case(
        "path-unsupported-regex",
        "microfrontends.json",
        paths("/docs/:id(\\d+)"),
        PATH0,
        "a regex that Vercel does not support",
    ),
    Case(
        "path-modifier-not-last",
        "microfrontends.json",
        paths("/docs/:a*/b"),
        PATH0,
        "modifiers are only allowed on the last part of the path",
    ),
    Case(
        "path-two-parameters-in-a-segment",
        "microfrontends.json",
        paths("/docs/:a-:b"),
        PATH0,
        "Vercel allows only one parameter per path segment",
    ),
    Case(
        "path-unclosed-group",
        "microfrontends.json",
        paths("/:p(a|b"),
        PATH0,
        'has a "(" that is never closed',
    ),
    Case(
        "paths-missing",
        "microfrontends.json",
        routing([{"group": "docs"}]),
        f"{DOCS}.routing[0].paths",
        "is missing: list the path patterns this group routes",
    ),
    Case(
        "path-listed-twice",
        "microfrontends.json",
        paths("/docs", "/docs"),
        f"{DOCS}.routing[0].paths[1]",
        '"/docs" is listed twice',
    ),
    Case(
        "path-claimed-twice",
        "microfrontends.json",
        two_children(["/docs"], ["/docs"]),
        "applications.blog.routing[0].paths[0]",
        '"/docs" is also claimed by docs (applications.docs.routing[0].paths[0])',
    ),
    Case(
        "paths-overlap",
        "microfrontends.json",
        two_children(["/docs/:path*"], ["/docs/api"]),
        "applications.blog.routing[0].paths[0]",
        '"/docs/api" overlaps "/docs/:path*" of docs (applications.docs.routing[0].paths[0])',
    ),
    Case(
        "paths-overlap-by-case",
        "microfrontends.yaml",
        two_children(["/Docs"], ["/docs"]),
        "applications.blog.routing[0].paths[0]",
        '"/docs" overlaps "/Docs" of docs',
    ),
    Case(
        "asset-prefix-invalid",
        "microfrontends.json",
        site(docs={"routing": [{"paths": ["/docs"]}], "assetPrefix": "Docs_Assets"}),
        f"{DOCS}.assetPrefix",
        "must be lowercase letters, digits and hyphens",
    ),
    Case(
        "asset-prefix-shared",
        "microfrontends.json",
        {
            "applications": {
                "web": {},
                "docs": {"routing": [{"paths": ["/docs"]}], "assetPrefix": "shared"},
                "blog": {"routing": [{"paths": ["/blog"]}], "assetPrefix": "shared"},
            }
        },
        "applications.blog.assetPrefix",
        'the asset prefix "shared" is also one of docs\'s',
    ),
]

HOSTS_AND_PORTS = [
    Case("local-port-zero", "microfrontends.json", local(0), LOCAL, "0 is not a port number (1 to 65535)"),
    Case("local-port-too-high", "microfrontends.json", local("70000"), LOCAL, "70000 is not a port number"),
    Case(
        "local-port-thousands-of-digits",
        "microfrontends.json",
        local("1" + "0" * 5000),
        LOCAL,
        "is not a port number (1 to 65535)",
    ),
    Case(
        "local-port-out-of-range", "microfrontends.json", local("localhost:99999"), LOCAL, "Port out of range"
    ),
    Case(
        "local-negative-port",
        "microfrontends.json",
        local("localhost:-1"),
        LOCAL,
        "is not a valid host or URL",
    ),
    Case(
        "local-host-with-space",
        "microfrontends.json",
        local("bad host:3000"),
        LOCAL,
        "has no valid host name",
    ),
    Case(
        "local-ipv4-five-parts",
        "microfrontends.json",
        local("127.0.0.1.1:3000"),
        LOCAL,
        "has no valid host name",
    ),
    Case(
        "local-ipv4-out-of-range",
        "microfrontends.json",
        local("http://999.0.0.1:3000"),
        LOCAL,
        "has no valid host name",
    ),
    Case(
        "local-brackets-not-ip",
        "microfrontends.json",
        local("http://[localhost]:3000"),
        LOCAL,
        "'localhost' does not appear to be an IPv4 or IPv6 address",
    ),
    Case(
        "local-brackets-ip-future",
        "microfrontends.json",
        local("http://[v1.x]:3000"),
        LOCAL,
        "has no valid host name",
    ),
    Case(
        "local-object-brackets-not-ipv6",
        "microfrontends.json",
        local({"host": "[localhost]"}),
        f"{LOCAL}.host",
        '"[localhost]" is not a host name or IP address',
    ),
    Case("local-unclosed-bracket", "microfrontends.json", local("[::1:3000"), LOCAL, "Invalid IPv6 URL"),
    Case(
        "local-protocol-ftp",
        "microfrontends.json",
        local("ftp://localhost:21"),
        LOCAL,
        'the protocol must be http or https, not "ftp"',
    ),
    Case(
        "local-with-path",
        "microfrontends.json",
        local("localhost:3000/docs"),
        LOCAL,
        f'has a path; {ORIGIN_ONLY}, like "http://localhost:3000"',
    ),
    Case(
        "local-with-credentials",
        "microfrontends.json",
        local("http://u:p@localhost:3000"),
        LOCAL,
        "has credentials",
    ),
    Case(
        "local-object-bad-host",
        "microfrontends.json",
        local({"host": "a b"}),
        f"{LOCAL}.host",
        '"a b" is not a host name or IP address',
    ),
    Case(
        "local-object-bad-protocol",
        "microfrontends.json",
        local({"protocol": "ws"}),
        f"{LOCAL}.protocol",
        'must be "http" or "https", not "ws"',
    ),
    Case(
        "local-object-port-zero",
        "microfrontends.yaml",
        local({"port": 0}),
        f"{LOCAL}.port",
        "0 is not a port number",
    ),
    Case(
        "fallback-with-path",
        "microfrontends.json",
        fallback("example.com/docs"),
        f"{WEB_DEV}.fallback",
        "has a path",
    ),
    Case(
        "fallback-with-fragment",
        "microfrontends.json",
        fallback("https://example.com/#top"),
        f"{WEB_DEV}.fallback",
        "has a fragment",
    ),
    Case(
        "fallback-empty",
        "microfrontends.json",
        fallback(""),
        f"{WEB_DEV}.fallback",
        '"" has no valid host name',
    ),
    Case(
        "fallback-port-zero",
        "microfrontends.json",
        fallback("https://example.com:0"),
        f"{WEB_DEV}.fallback",
        "0 is not a port number",
    ),
    Case(
        "proxy-port-zero",
        "microfrontends.json",
        site(options={"localProxyPort": 0}),
        "options.localProxyPort",
        "0 is not a port number (1 to 65535)",
    ),
    Case(
        "proxy-port-too-high",
        "microfrontends.yaml",
        site(options={"localProxyPort": 65536}),
        "options.localProxyPort",
        "65536 is not a port number",
    ),
]

DEFAULT_APPLICATION = [
    Case(
        "no-default-application",
        "microfrontends.json",
        {"applications": {"docs": {"routing": [{"paths": ["/docs"]}]}}},
        "applications",
        "no default application: exactly one application must have no `routing`",
    ),
    Case(
        "several-default-applications",
        "microfrontends.json",
        {"applications": {"web": {}, "blog": {}, "docs": {"routing": [{"paths": ["/docs"]}]}}},
        "applications",
        "2 applications have no `routing` (web, blog)",
    ),
    Case("applications-empty", "microfrontends.json", {"applications": {}}, "applications", "is empty"),
    Case("applications-missing", "microfrontends.json", {"options": {}}, "applications", "is missing"),
    Case(
        "application-name-blank",
        "microfrontends.json",
        {"applications": {"web": {}, " ": {"routing": [{"paths": ["/x"]}]}}},
        'applications[" "]',
        "an application name must not be empty",
    ),
    Case(
        "default-application-with-asset-prefix",
        "microfrontends.json",
        site(web={"assetPrefix": "web-assets"}),
        "applications.web.assetPrefix",
        "only child applications have an asset prefix",
    ),
]

UNREADABLE = [
    Case("empty-json", "microfrontends.json", b"", "", "the file is empty"),
    Case("blank-jsonc", "microfrontends.jsonc", b" \n\t\r\n", "", "the file is empty"),
    Case("byte-order-mark-only", "microfrontends.json", b"\xef\xbb\xbf", "", "the file is empty"),
    Case("empty-yaml", "microfrontends.yaml", b"", "", "the file is empty"),
    Case("yaml-comment-only", "microfrontends.yml", b"# applications: {web: {}}\n", "", "the file is empty"),
    Case(
        "png-as-json",
        "microfrontends.json",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "",
        "not UTF-8 text (byte 0",
    ),
    Case("elf-as-yaml", "microfrontends.yaml", b"\x7fELF\x02\x01\x01\x00", "", "the character U+007F"),
    Case(
        "nul-bytes-as-yaml", "microfrontends.yml", b"\x00\x00\x00\x00", "", "is the file binary, or not UTF-8"
    ),
    Case(
        "gzip-as-jsonc",
        "microfrontends.jsonc",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
        "",
        "not UTF-8 text (byte 1",
    ),
    Case(
        "nul-after-json",
        "microfrontends.json",
        b'{"applications": {"web": {}}}\x00',
        "line 1, column 30",
        "Extra data",
    ),
    Case(
        "utf16-json",
        "microfrontends.json",
        '{"applications": {"web": {}}}'.encode("utf-16"),
        "",
        "not UTF-8 text (byte 0 cannot be decoded); save the file as UTF-8",
    ),
    Case(
        "latin1-json",
        "microfrontends.json",
        '{"applications": {"web": {"packageName": "café"}}}'.encode("latin-1"),
        "",
        "not UTF-8 text (byte 45 cannot be decoded)",
    ),
    Case(
        "latin1-yaml",
        "microfrontends.yaml",
        "applications:\n  web: {packageName: café}\n".encode("latin-1"),
        "",
        "not UTF-8 text (byte 38 cannot be decoded); save the file as UTF-8",
    ),
    Case(
        "utf32-yaml",
        "microfrontends.yaml",
        "applications:\n  web: {}\n".encode("utf-32"),
        "",
        "the character U+0000",
    ),
    Case(
        "lone-surrogate-in-name",
        "microfrontends.json",
        '{"applications": {"web": {}, "\\ud800": {"routing": [{"paths": ["/x"]}]}}}',
        'applications["\\ud800"]',
        'the key "\\ud800" holds a lone surrogate escape, which is not valid Unicode text',
    ),
    Case(
        "lone-surrogate-in-host",
        "microfrontends.yaml",
        'applications:\n  web: {development: {local: "\\udc00host"}}\n',
        LOCAL,
        '"\\udc00host" holds a lone surrogate escape',
    ),
]

FAMILIES = {
    "syntax": SYNTAX,
    "wrong types": WRONG_TYPES,
    "unknown keys": UNKNOWN_KEYS,
    "paths": PATHS,
    "hosts and ports": HOSTS_AND_PORTS,
    "default application": DEFAULT_APPLICATION,
    "empty, binary and wrongly encoded files": UNREADABLE,
}
CASES = [case for cases in FAMILIES.values() for case in cases]


def test_the_table_is_large_and_unambiguous():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_config_is_one_clear_config_error(tmp_path, case):
    path = case.write(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    message = str(error)
    # Exactly the problem this case is about: no other, and no crash on the way to reporting it.
    assert [problem.where for problem in error.problems] == [case.where], message
    assert case.fragment in error.problems[0].message, message
    line = f"{case.where}: {error.problems[0].message}" if case.where else error.problems[0].message
    assert message == f"{path}: {line}"
    assert "Traceback" not in message
    message.encode("utf-8")  # printable, whatever the file held
