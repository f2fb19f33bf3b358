"""Fuzzing the pure core with hypothesis: the path matcher, the router, the config loader and the JSONC
reader get arbitrary and near-valid input. Whatever comes in, only the project's own errors come out
(`PathPatternError`, `ConfigError`, `JsoncSyntaxError`), with a message that can be printed; where a
real property exists (a generated path matches the pattern it was generated from, a decision names an
application and an upstream of the config, JSONC reads JSON unchanged), it is checked too.

How many examples each property runs is in `EXAMPLES`, keyed by test name; `MFE_FUZZ_SCALE=N` runs N
times as many (scripts/reliability may). `pytest tests/test_fuzz.py --hypothesis-show-statistics`
prints, per test, how many examples hypothesis actually ran ("N passing examples")."""

import json
import os
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import load
from mfe_proxy import jsonc
from mfe_proxy.config import load_config
from mfe_proxy.errors import ConfigError, PathPatternError, quote
from mfe_proxy.model import Config
from mfe_proxy.paths.expressions import PathPattern, compile_pattern
from mfe_proxy.paths.index import PatternIndex
from mfe_proxy.paths.overlap import find_overlap
from mfe_proxy.router import Endpoint, Forward, Reason, Redirect, Reject, Router, pathname

_SCALE = int(os.environ.get("MFE_FUZZ_SCALE", "1"))
# Examples per property, by test name: 11,700 in all at scale 1, about 20 s on two busy cores. The
# router's examples are configs, each routing 1 to 6 requests.
EXAMPLES = {
    "test_any_text_compiles_or_raises_a_path_pattern_error": 3000,
    "test_generated_paths_match_the_pattern_they_came_from": 500,
    "test_matching_any_path_against_valid_patterns_never_raises": 800,
    "test_overlap_of_any_two_valid_patterns_is_symmetric_and_never_raises": 400,
    "test_router_decides_any_request_within_the_config": 500,
    "test_any_bytes_in_any_config_file_raise_only_config_errors": 1200,
    "test_mutated_valid_configs_raise_only_config_errors": 800,
    "test_any_text_in_any_encoding_raises_only_config_errors": 800,
    "test_config_shaped_documents_load_alike_in_every_format": 200,
    "test_jsonc_reads_any_text_or_raises_its_syntax_error": 2000,
    "test_jsonc_reads_json_with_comments_and_trailing_commas_unchanged": 500,
    "test_strip_jsonc_keeps_length_and_lines": 1000,
}


def examples(test: str) -> settings:
    return settings(
        max_examples=EXAMPLES[test] * _SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def printable(message: str) -> None:
    """A message a person will read must survive being written to a UTF-8 terminal or log."""
    message.encode("utf-8")


# -- path patterns ---------------------------------------------------------------------------------

# Every character path-to-regexp or Vercel's rules treat specially, and some that no pathname holds.
_PATTERN_PIECES = [
    "/", ":", "p", "name", "(", ")", "*", "+", "?", "\\", "{", "}", "|", "(?!", ".", "-", "[", "]", "^",
    "$", "a", "A", "%", "%2F", " ", "é", "\x00", "\n", "\\d", "\\u00e9", "\\x41", "\\c", "\\b", "\\q",
    ".*", "(a|b)", "((?!api|blog).*)", ":lang(en|fr)", "[^a-z]", "[]", "[^]", "\\s", "#", "~", "\ud800",
]  # fmt: skip
_PATTERN_TEXT = st.one_of(
    st.text(),
    st.text(alphabet="/:*+?()[]{}\\|.-azAZ09!^$#%~_ \xe9", max_size=30),
    st.lists(st.sampled_from(_PATTERN_PIECES), max_size=12).map("".join),
    st.lists(st.sampled_from(_PATTERN_PIECES), max_size=12).map(lambda pieces: "/" + "".join(pieces)),
)


@examples("test_any_text_compiles_or_raises_a_path_pattern_error")
@given(_PATTERN_TEXT)
def test_any_text_compiles_or_raises_a_path_pattern_error(source):
    try:
        pattern = compile_pattern(source)
    except PathPatternError as error:
        message = str(error)
        assert message.startswith(quote(source) + " "), message
        printable(message)
    else:
        assert pattern.source == source
        assert source.startswith("/")
        assert pattern.matches(source.replace("\\", "")) in (True, False)


# Characters a pathname segment holds, and those a pattern must escape to mean them literally.
_SEGMENT_ALPHABET = "".join(c for c in string.printable[:94] if c not in "/#?")
_ESCAPE_IN_PATTERN = frozenset("\\*+?{}:()")
_WORDS = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=6)


def _escaped(text: str) -> str:
    return "".join("\\" + c if c in _ESCAPE_IN_PATTERN else c for c in text)


def _any_case(text: str, flips: int) -> str:
    """`text` with the case of its letters swapped where the bits of `flips` say (cycling)."""
    return "".join(c.swapcase() if flips >> (i % 16) & 1 else c for i, c in enumerate(text))


# Strategies are built once: building them inside a composite on every draw costs more than the test.
_KINDS = st.lists(st.sampled_from(["literal", "param", "choice", "not"]), max_size=4)
_LAST = st.sampled_from(["", "*", "+"])
_SEGMENT_TEXT = st.text(alphabet=_SEGMENT_ALPHABET, min_size=1, max_size=8)
_SEGMENT_TEXT_OR_EMPTY = st.text(alphabet=_SEGMENT_ALPHABET, max_size=8)
_MORE_SEGMENTS = st.lists(_SEGMENT_TEXT, max_size=3)
_CHOICES = st.lists(_WORDS, min_size=2, max_size=4, unique=True)
_EXCLUDED = st.lists(_WORDS, min_size=1, max_size=3, unique=True)
_SMALL = st.integers(0, 3)
_FLIPS = st.integers(0, 0xFFFF)


@st.composite
def _pattern_with_paths(draw: st.DrawFn) -> tuple[str, list[str], bool]:
    """A valid pattern, pathnames it must match, and whether it accepts more segments at its end."""
    kinds = draw(_KINDS)
    last = draw(_LAST)
    pieces: list[str] = []
    words: list[list[str]] = []
    for index, kind in enumerate(kinds):
        if kind == "literal":
            words.append([draw(_SEGMENT_TEXT)])
            pieces.append(_escaped(words[-1][0]))
        elif kind == "param":
            words.append([])
            pieces.append(f":p{index}")
        elif kind == "choice":
            words.append(draw(_CHOICES))
            pieces.append(f":p{index}({'|'.join(words[-1])})")
        else:
            words.append(draw(_EXCLUDED))
            pieces.append(f":p{index}((?!{'|'.join(words[-1])}).*)")
    if last:
        pieces.append(f":rest{last}")
    source = "/" + "/".join(pieces)
    paths = []
    for _ in range(1 + draw(_SMALL)):
        segments = []
        for kind, choices in zip(kinds, words, strict=True):
            if kind in ("literal", "choice"):
                segment = choices[draw(_SMALL) % len(choices)]
            elif kind == "param":
                segment = draw(_SEGMENT_TEXT)
            else:
                segment = draw(_SEGMENT_TEXT_OR_EMPTY)
                if segment.lower().startswith(tuple(choices)):
                    segment = "~" + segment  # words never hold "~"
            segments.append(_any_case(segment, draw(_FLIPS)))
        if last:
            segments += draw(_MORE_SEGMENTS) or (["x"] if last == "+" else [])
        path = "/" + "/".join(segments)
        if path != "/" and draw(st.booleans()):
            path += "/"
        paths.append(path)
    # A lookahead parameter's `.*` can take more segments, slashes included, wherever it is.
    open_ended = bool(last) or "not" in kinds
    return source, paths, open_ended


@examples("test_generated_paths_match_the_pattern_they_came_from")
@given(_pattern_with_paths())
def test_generated_paths_match_the_pattern_they_came_from(generated):
    source, paths, open_ended = generated
    pattern = compile_pattern(source)
    index = PatternIndex([(pattern, "app")])
    for path in paths:
        assert pattern.matches(path), (source, path)
        assert index.lookup(path) == (pattern, "app")
        if not open_ended:
            assert not pattern.matches(path.rstrip("/") + "/one-more-segment"), (source, path)
    # The overlap check runs both patterns as automata: exact, and the costliest part, so once.
    literal = paths[0].removesuffix("/") or "/"
    if literal == "/" or not literal.endswith("/"):
        assert find_overlap(pattern, compile_pattern(_escaped(literal))), (source, paths[0])


_VALID_SOURCES = st.sampled_from(
    [
        "/",
        "/docs",
        "/docs/:path*",
        "/docs/:path+",
        "/:lang(en|fr)/docs",
        "/:path((?!api|blog).*)",
        "/assets/some-:hash.js",
        "/a\\:b",
        "/file.:ext",
        "/:p",
        "/x/:id(x|\\d+)",
        "/v1.0/:rest*",
        "/:all((?!api).*)*",
        "/%20/:p",
        "/docs/api",
    ]
) | _pattern_with_paths().map(lambda generated: generated[0])
_VALID_PATTERNS = _VALID_SOURCES.map(compile_pattern)

_ANY_PATHS = st.one_of(
    st.text(),
    st.text(alphabet="/aAdDoOcCsSpPiIeEnNfFrR.-:%#?19\\\x00\n", max_size=24),
    st.binary(max_size=24).map(lambda data: "/" + data.decode("utf-8", "surrogateescape")),
)


@examples("test_matching_any_path_against_valid_patterns_never_raises")
@given(st.lists(_VALID_PATTERNS, min_size=1, max_size=5), st.lists(_ANY_PATHS, max_size=8))
def test_matching_any_path_against_valid_patterns_never_raises(patterns, paths):
    index = PatternIndex([(pattern, number) for number, pattern in enumerate(patterns)])
    for path in paths:
        first = next(((p, n) for n, p in enumerate(patterns) if p.matches(path)), None)
        assert index.lookup(path) == first


@examples("test_overlap_of_any_two_valid_patterns_is_symmetric_and_never_raises")
@given(_VALID_PATTERNS, _VALID_PATTERNS, st.lists(_ANY_PATHS, max_size=6))
def test_overlap_of_any_two_valid_patterns_is_symmetric_and_never_raises(a, b, paths):
    overlap = find_overlap(a, b)
    assert (overlap is None) is (find_overlap(b, a) is None)
    if overlap is not None and overlap.example is not None:
        assert a.matches(overlap.example) and b.matches(overlap.example)
    if any(a.matches(path) and b.matches(path) for path in paths if path.isascii()):
        assert overlap


# -- the router ------------------------------------------------------------------------------------

_APP_NAMES = ["docs", "api", "blog", "shop", "Ünï", "a.b", "x y"]


_CHILDREN = st.lists(st.sampled_from(_APP_NAMES), max_size=4, unique=True)
_CHILD_PATHS = st.lists(
    st.sampled_from(["/{top}", "/{top}/:path*", "/{top}/:p+", "/{top}/:lang(en|fr)", "/{top}/x.:ext"]),
    min_size=1,
    max_size=3,
    unique=True,
)
_PORTS = st.integers(1, 65535)
# What a child application has besides its paths: a flagged route, a fallback, an asset prefix.
_EXTRAS = st.tuples(st.booleans(), st.booleans(), st.booleans())


@st.composite
def _configs(draw: st.DrawFn) -> Config:
    """A valid config: a default application and children whose first segments differ (so their
    paths never overlap), with every kind of pattern, flags, fallbacks and asset prefixes."""
    names = draw(_CHILDREN)
    web: dict = {"development": {"local": draw(_PORTS)}}
    if draw(st.booleans()):
        web["development"]["fallback"] = "web.example.com"
    applications = {"web": web}
    for number, name in enumerate(names):
        top = f"s{number}"
        routing = [{"paths": [path.format(top=top) for path in draw(_CHILD_PATHS)]}]
        flagged, fallback, prefix = draw(_EXTRAS)
        if flagged:
            routing.append({"flag": f"flag-{number}", "paths": [f"/f{number}/:path*"]})
        app: dict = {"routing": routing, "development": {"local": f"127.0.0.1:{3001 + number}"}}
        if fallback:
            app["development"]["fallback"] = f"http://{top}.example.com:8080"
        if prefix:
            app["assetPrefix"] = f"assets-{number}"
        applications[name] = app
    if draw(st.booleans()):
        # A child whose negative lookahead claims everything but the other children's segments.
        others = "|".join(f"s{n}" for n in range(len(names))) or "none"
        applications["catch"] = {"routing": [{"paths": [f"/:path((?!{others}|f\\d|vc-ap-).*)"]}]}
    return load({"applications": applications})


# mitmproxy hands the router text decoded with "surrogateescape": undecodable bytes become lone
# surrogates U+DC80 to U+DCFF, and no other surrogate can occur.
_WIRE_TEXT = st.binary(max_size=30).map(lambda data: data.decode("utf-8", "surrogateescape"))
_HOSTS = ["evil.example", "127.0.0.1:1", "[::1]", "localhost", "a@b", "%65vil", ""]
_SCHEMES = ["http://", "https://", "ws://", "HTTP://", "//", "///", "\\\\", "/\\", "/%2F", "/%5C"]
_SEGMENTS = [
    "s0", "S0", "s1", "f0", "f1", "x.js", "en", "..", ".", "%2e", "%2E%2e", "vc-ap-docs", "assets-0",
    "ASSETS-1", ".well-known", "mfe-proxy", "vercel", "microfrontends", "routing", "_next", "image",
    "__nextjs_original-stack-frame", "__nextjs_source-map", "", "é", "\x00", "\t", "\udcff", "%00", "a b",
]  # fmt: skip
_QUERIES = [
    "", "?x=1", "?vercel-mfe-flag-value=true", "?vercel-mfe-flag-value=false", "?vercel-mfe-flag-value=",
    "?a=1&vercel-mfe-flag-value=true&b", "?url=/s0/x.png", "?url=//evil.example/x", "?url=%2Fs1",
    "?url=/_next/image?url=/s0", "#frag", "?",
]  # fmt: skip
_TARGETS = st.one_of(
    st.text(max_size=40),
    _WIRE_TEXT,
    _WIRE_TEXT.map(lambda text: "/" + text),
    st.text(alphabet="/\\.%2eE?&=#:@abcdsfx0-", max_size=30).map(lambda text: "/" + text),
    st.tuples(
        st.sampled_from(_SCHEMES), st.sampled_from(_HOSTS), st.text(alphabet="/.?&=x", max_size=10)
    ).map("".join),
    st.lists(st.integers(0, 255), max_size=8).map(lambda data: "/" + "".join(f"%{b:02x}" for b in data)),
    st.lists(st.sampled_from(_SEGMENTS), max_size=5).map(lambda segments: "/" + "/".join(segments)),
)
_METHODS = st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "CONNECT", "PUT", "DELETE"]) | _WIRE_TEXT
_HEADERS = st.dictionaries(
    st.sampled_from(["x-vercel-mfe-zone", "referer", "host", "x-other"]),
    st.one_of(
        st.sampled_from(["web", "docs", "api", "Docs", "catch", "", "\x00", "x y"]),
        _WIRE_TEXT,
        st.tuples(st.sampled_from(["http://localhost:3024", "http:", "//x", ""]), _TARGETS).map("".join),
    ),
    max_size=4,
)


def _unflagged_patterns(config: Config) -> Iterator[PathPattern]:
    for app in config.applications.values():
        for route in app.routes:
            if route.flag is None:
                yield from route.paths


_REQUESTS = st.lists(
    st.tuples(_METHODS, st.tuples(_TARGETS, st.sampled_from(_QUERIES)).map("".join), _HEADERS),
    min_size=1,
    max_size=6,
)


@examples("test_router_decides_any_request_within_the_config")
@given(_configs(), st.none() | st.lists(st.sampled_from(["web", *_APP_NAMES]), max_size=3), _REQUESTS)
def test_router_decides_any_request_within_the_config(config, local, requests):
    router = Router(config, local)
    for method, target, headers in requests:
        check_decision(config, method, target, headers, router.route(method, target, headers))


def check_decision(
    config: Config, method: str, target: str, headers: dict[str, str], decision: object
) -> None:
    match decision:
        case Forward():
            app = decision.application
            assert config.applications[app.name] is app
            assert decision.upstream == app.upstream
            assert decision.fallback == app.fallback
            # Only a path, or the asterisk of `OPTIONS *`, is ever forwarded: never an absolute URL.
            assert target.startswith("/") or (method, target) == ("OPTIONS", "*")
            forwarded = decision.target or target
            assert forwarded == "*" or (forwarded.startswith("/") and not forwarded.startswith("//"))
            name = pathname(forwarded)
            if decision.reason is Reason.PATH:
                assert any(
                    p.source == decision.detail and p.matches(name) for r in app.routes for p in r.paths
                )
            elif decision.reason is Reason.ASSET_PREFIX:
                assert name[1:].partition("/")[0].lower() in app.asset_prefixes
            elif decision.reason is Reason.ZONE_HEADER:
                # The application the zone names; a zone naming none goes to the default application.
                zone = headers["x-vercel-mfe-zone"]
                assert zone == app.name or (zone not in config.applications and app.is_default)
            # Next.js endpoints go by Referer or image URL, and to the default when those say nothing.
            elif decision.reason is Reason.DEFAULT and target.startswith("/") and "_next" not in name:
                assert app.is_default
                assert not any(p.matches(name) for p in _unflagged_patterns(config)), name
        case Redirect(location):
            # Collapsing repeated slashes must never make a protocol-relative URL for another host.
            assert location.startswith("/")
            assert not location.partition("?")[0].startswith(("//", "/\\"))
            assert location != target
        case Endpoint(endpoint):
            assert pathname(target).startswith("/.well-known/")
            assert endpoint
        case Reject(status, message):
            assert status in (400, 405)
            printable(message)
        case _:
            pytest.fail(f"not a decision: {decision!r}")


# -- the config loader -----------------------------------------------------------------------------

_EXTENSIONS = ["json", "jsonc", "yaml", "yml", "txt"]
_VALID_CONFIG = {
    "$schema": "https://openapi.vercel.sh/microfrontends.json",
    "version": "1",
    "options": {"localProxyPort": 3024, "disableOverrides": False},
    "applications": {
        "web": {"packageName": "web", "development": {"local": 3000, "fallback": "web.example.com"}},
        "docs": {
            "development": {"local": {"port": 3001, "host": "127.0.0.1"}, "task": "dev"},
            "routing": [
                {"group": "docs", "paths": ["/docs", "/docs/:path*"]},
                {"flag": "f", "paths": ["/b"]},
            ],
            "assetPrefix": "docs-assets",
        },
    },
}
_VALID_FILES = {
    "json": json.dumps(_VALID_CONFIG, indent=2).encode(),
    "jsonc": b"// site\n" + json.dumps(_VALID_CONFIG, indent=2).replace("}\n", "},\n", 1).encode(),
    "yaml": yaml.safe_dump(_VALID_CONFIG).encode(),
}


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzed-configs")


def load_or_error(path: Path) -> Config | ConfigError:
    """Load `path`; a ConfigError is returned, checked, and any other exception fails the test."""
    try:
        config = load_config(path)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(f"{path}: "), message
        assert error.problems
        assert all(problem.message for problem in error.problems)
        printable(message)
        return error
    assert config.file == str(path)
    assert config.default_application.is_default
    assert [app for app in config.applications.values() if app.is_default] == [config.default_application]
    for app in config.applications.values():
        assert 0 < app.upstream.port < 65536
        assert all(route.paths for route in app.routes)
    return config


@examples("test_any_bytes_in_any_config_file_raise_only_config_errors")
@given(st.binary(max_size=400), st.sampled_from(_EXTENSIONS))
def test_any_bytes_in_any_config_file_raise_only_config_errors(config_dir, data, extension):
    path = config_dir / f"bytes.{extension}"
    path.write_bytes(data)
    load_or_error(path)


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid config file with a few bytes replaced, inserted or deleted: mostly near-valid input."""
    extension = draw(st.sampled_from(["json", "jsonc", "yaml"]))
    data = bytearray(_VALID_FILES[extension])
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.integers(0, 255) | st.sampled_from(list(b'{}[],:"\\/*\n -#&!|>')))
        if action == "insert" or position == len(data):
            data.insert(position, byte)
        elif action == "replace":
            data[position] = byte
        else:
            del data[position]
    return extension, bytes(data)


@examples("test_mutated_valid_configs_raise_only_config_errors")
@given(_mutated())
def test_mutated_valid_configs_raise_only_config_errors(config_dir, mutated):
    extension, data = mutated
    path = config_dir / f"mutated.{extension}"
    path.write_bytes(data)
    load_or_error(path)


@examples("test_any_text_in_any_encoding_raises_only_config_errors")
@given(
    st.text(max_size=200) | st.text(alphabet='{}[],:"\\/*\n ab1\ud800\udc00\x00\ufeff', max_size=100),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252"]),
    st.sampled_from(_EXTENSIONS),
)
def test_any_text_in_any_encoding_raises_only_config_errors(config_dir, text, encoding, extension):
    path = config_dir / f"text.{extension}"
    # "surrogatepass" writes lone surrogates as the invalid UTF-8 a broken editor would.
    path.write_bytes(text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace"))
    load_or_error(path)


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["1", "/docs", "/docs/:path*", "localhost:3000", "http://[::1]:3001", "https://x.y", ""]),
)
_JSON_VALUES = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


def _maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    return values | _JSON_VALUES


_LOCALS = st.one_of(
    st.integers(-5, 70_000),
    st.sampled_from(
        ["3000", "docs.localhost", "127.0.0.1:3001", "[::1]:3001", "https://h:1", "h:0", "1.2.3.4.5"]
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "port": _maybe(st.integers(0, 70_000)),
            "host": _maybe(st.sampled_from(["127.0.0.1", "[::1]", "a b", "localhost"])),
            "protocol": _maybe(st.sampled_from(["http", "https", "ws"])),
        },
    ),
)
_APPLICATION = st.fixed_dictionaries(
    {},
    optional={
        "packageName": _maybe(st.just("pkg")),
        "development": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "local": _maybe(_LOCALS),
                    "fallback": _maybe(
                        st.sampled_from(["x.example.com", "http://x:1", "x.com/path", "ftp://x"])
                    ),
                    "task": _maybe(st.just("dev")),
                    "localPort": st.integers(1, 9999),
                },
            )
        ),
        "routing": _maybe(
            st.lists(
                _maybe(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "paths": _maybe(st.lists(_maybe(_PATTERN_TEXT | _VALID_SOURCES), max_size=3)),
                            "group": _maybe(st.just("g")),
                            "flag": _maybe(st.just("f")),
                        },
                    )
                ),
                max_size=3,
            )
        ),
        "assetPrefix": _maybe(st.sampled_from(["assets", "Bad_Prefix", "vc-ap-docs", "a-"])),
        "production": _JSON_VALUES,
        "surplus": _JSON_VALUES,
    },
)
_CONFIG_DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "$schema": _maybe(st.just("https://openapi.vercel.sh/microfrontends.json")),
        "version": _maybe(st.sampled_from(["1", "2"])),
        "options": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "localProxyPort": _maybe(st.integers(-1, 70_000)),
                    "disableOverrides": _maybe(st.booleans()),
                    "other": _JSON_VALUES,
                },
            )
        ),
        "applications": _maybe(
            st.dictionaries(
                st.sampled_from(["web", "docs", "api", "", " ", "x.y", "1"]), _maybe(_APPLICATION), max_size=4
            )
        ),
        "partOf": _JSON_VALUES,
        "extra": _JSON_VALUES,
    },
)


def _jsonc(draw: st.DrawFn, value: object) -> str:
    """`value` as JSONC: JSON with comments (holding quotes, commas and brackets) and trailing commas."""
    gaps = st.sampled_from(["", " ", "\n", '\t// a comment, with "quotes" and /* and } ]\n', "/* {, ] */"])

    def write(item: object) -> str:
        if isinstance(item, dict):
            parts = [
                f"{draw(gaps)}{json.dumps(k)}{draw(gaps)}:{draw(gaps)}{write(v)}" for k, v in item.items()
            ]
        elif isinstance(item, list):
            parts = [draw(gaps) + write(v) for v in item]
        else:
            return json.dumps(item, ensure_ascii=draw(st.booleans()))
        trailing = "," + draw(gaps) if parts and draw(st.booleans()) else draw(gaps)
        opening, closing = "{}" if isinstance(item, dict) else "[]"
        return opening + ",".join(parts) + trailing + closing

    return write(value)


def _summary(outcome: Config | ConfigError, path: Path) -> object:
    """What loading decided, without the file name, to compare formats."""
    if isinstance(outcome, ConfigError):
        return [(problem.where, problem.message.replace(str(path), "FILE")) for problem in outcome.problems]
    return (
        outcome.proxy_port,
        outcome.default_application.name,
        {
            name: (app.upstream, app.fallback, app.routes, app.asset_prefixes)
            for name, app in outcome.applications.items()
        },
    )


@examples("test_config_shaped_documents_load_alike_in_every_format")
@given(st.data(), _CONFIG_DOCUMENTS)
def test_config_shaped_documents_load_alike_in_every_format(config_dir, data, document):
    texts = {
        "json": json.dumps(document),
        "jsonc": _jsonc(data.draw, document),
        "yaml": yaml.safe_dump(document, allow_unicode=data.draw(st.booleans()), sort_keys=False),
    }
    # PyYAML's writer does not round-trip every string (a raw U+0085 in a key reads back as a space).
    assume(yaml.safe_load(texts["yaml"]) == document)
    outcomes = {}
    for extension, text in texts.items():
        path = config_dir / f"document.{extension}"
        path.write_text(text, encoding="utf-8")
        outcome = load_or_error(path)
        outcomes[extension] = _summary(outcome, path)
        if isinstance(outcome, ConfigError):
            # Each problem is at a field of the document, or at the top when something is missing there.
            for problem in outcome.problems:
                top = problem.where.partition(".")[0].partition("[")[0]
                assert top in document or top in ("", "applications"), problem
    assert outcomes["jsonc"] == outcomes["json"]
    assert outcomes["yaml"] == outcomes["json"]


# -- the JSONC reader ------------------------------------------------------------------------------

_JSONC_PIECES = [
    "{", "}", "[", "]", ",", ":", '"a"', '"\\', "1", "-", "true", "null", "NaN", "//", "/*", "*/", "\n", " ",
    '"\\u12', '"\\ud800"', "1e999", "1" + "0" * 5000,
]  # fmt: skip
_JSONC_TEXT = st.one_of(
    st.text(),
    st.text(alphabet='{}[],:"\\/* \n\tab1-.eE+tnrul', max_size=60),
    st.lists(st.sampled_from(_JSONC_PIECES), max_size=20).map("".join),
)


@examples("test_jsonc_reads_any_text_or_raises_its_syntax_error")
@given(_JSONC_TEXT)
def test_jsonc_reads_any_text_or_raises_its_syntax_error(text):
    try:
        jsonc.loads(text, object_pairs_hook=dict)
    except jsonc.JsoncSyntaxError as error:
        assert 1 <= error.line <= text.count("\n") + 1
        assert error.column >= 1
        assert error.message


@examples("test_jsonc_reads_json_with_comments_and_trailing_commas_unchanged")
@given(
    st.data(),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
        ),
        max_leaves=25,
    ),
)
def test_jsonc_reads_json_with_comments_and_trailing_commas_unchanged(data, value):
    assert jsonc.loads(json.dumps(value), object_pairs_hook=dict) == value
    assert jsonc.loads(_jsonc(data.draw, value), object_pairs_hook=dict) == value


@examples("test_strip_jsonc_keeps_length_and_lines")
@given(_JSONC_TEXT)
def test_strip_jsonc_keeps_length_and_lines(text):
    try:
        stripped = jsonc.strip_jsonc(text)
    except jsonc.JsoncSyntaxError:
        assume(False)
    assert len(stripped) == len(text)
    assert [i for i, c in enumerate(stripped) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]
