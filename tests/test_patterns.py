"""Tests of mfe_proxy.patterns.

Every expected match and every accepted or rejected expression below was checked against
path-to-regexp 6.3.0 (`pathToRegexp(expression).test(pathname)`) and the `validatePathExpression`
of @vercel/microfrontends 2.4.0 when this file was written; CI has no Node, so the outcomes are
written down here. The few expressions that Vercel accepts and this module rejects on purpose are
marked in REJECTIONS.
"""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfe_proxy.errors import PathPatternError
from mfe_proxy.paths.expressions import PathPattern, compile_pattern
from mfe_proxy.paths.index import PatternIndex
from mfe_proxy.paths.overlap import Overlap, find_overlap

# (expression, pathname, whether path-to-regexp v6 matches)
MATCHES = [
    ("/docs", "/docs", True),
    ("/docs", "/DOCS", True),
    ("/docs", "/Docs/", True),
    ("/docs", "/docs//", False),
    ("/docs", "/docs/x", False),
    ("/docs", "/doc", False),
    ("/docs", "/docsx", False),
    ("/docs", "docs", False),
    ("/docs", "", False),
    ("/docs", "//docs", False),
    ("/docs", "/docs\n", False),
    ("/docs", "/docs#", True),
    ("/", "/", True),
    ("/", "//", True),
    ("/", "", False),
    ("/", "/a", False),
    ("/a/b", "/a/b", True),
    ("/a/b", "/a//b", False),
    ("/a//b", "/a//b", True),
    ("/a//b", "/a/b", False),
    ("/docs/../admin", "/docs/../admin", True),
    ("/docs/../admin", "/admin", False),
    ("/./x", "/./x", True),
    ("/./x", "/x", False),
    ("/a.b", "/a.b", True),
    ("/a.b", "/axb", False),
    ("/caf%C3%A9", "/caf%C3%A9", True),
    ("/caf%C3%A9", "/caf%c3%a9", True),
    ("/caf%C3%A9", "/café", False),
    ("/a%20b", "/a%20b", True),
    ("/a%20b", "/a b", False),
    ("/:slug", "/anything", True),
    ("/:slug", "/a/", True),
    ("/:slug", "/", False),
    ("/:slug", "/a/b", False),
    ("/blog/:slug", "/blog/hello-world", True),
    ("/blog/:slug", "/BLOG/X", True),
    ("/blog/:slug", "/blog/a%2Fb", True),
    ("/blog/:slug", "/blog", False),
    ("/blog/:slug", "/blog/", False),
    ("/blog/:slug/edit", "/blog/x/edit", True),
    ("/blog/:slug/edit", "/blog//edit", False),
    ("/docs/:path*", "/docs", True),
    ("/docs/:path*", "/docs/", True),
    ("/docs/:path*", "/docs/a", True),
    ("/docs/:path*", "/docs/a/b/c", True),
    ("/docs/:path*", "/docs/a/b/", True),
    ("/docs/:path*", "/Docs/A", True),
    ("/docs/:path*", "/docs//a", False),
    ("/docs/:path*", "/docs/a//b", False),
    ("/docs/:path*", "/docsx", False),
    ("/docs/:path+", "/docs", False),
    ("/docs/:path+", "/docs/", False),
    ("/docs/:path+", "/docs/a", True),
    ("/docs/:path+", "/docs/a/b", True),
    ("/:path*", "/", True),
    ("/:path*", "", True),
    ("/:path*", "/a/b", True),
    ("/:lang(en|fr)/docs", "/en/docs", True),
    ("/:lang(en|fr)/docs", "/FR/docs", True),
    ("/:lang(en|fr)/docs", "/de/docs", False),
    ("/:lang(en|fr)/docs", "/en", False),
    ("/:lang(en|fr)/docs", "/eng/docs", False),
    ("/:lang(en|fr)/:path*", "/fr", True),
    ("/:lang(en|fr)/:path*", "/fr/a/b", True),
    ("/:v(v1\\.0|v2)", "/v1.0", True),
    ("/:v(v1\\.0|v2)", "/v1x0", False),
    ("/:x(a|\\d+)", "/123", True),
    ("/:x(a|\\d+)", "/12a", False),
    ("/:x(a|b.*)", "/b/c/d", True),
    ("/:x(a|.)", "/b", True),
    ("/:x(a|.)", "/\r", False),
    ("/:x(a|[Z-a])", "/_", True),
    ("/:x(a|[Z-a])", "/z", True),
    ("/:x(a|[^a-z])", "/B", False),
    ("/:x(a|[^a-z])", "/A", True),
    ("/:path((?!api|blog).*)", "/home", True),
    ("/:path((?!api|blog).*)", "/x/y/z", True),
    ("/:path((?!api|blog).*)", "/a/api", True),
    ("/:path((?!api|blog).*)", "/blo", True),
    ("/:path((?!api|blog).*)", "/", True),
    ("/:path((?!api|blog).*)", "/api", False),
    ("/:path((?!api|blog).*)", "/apix", False),
    ("/:path((?!api|blog).*)", "/API/x", False),
    ("/docs/:rest((?!internal).*)", "/docs/guide", True),
    ("/docs/:rest((?!internal).*)", "/docs/internal/x", False),
    ("/some-:hash.js", "/some-abc.js", True),
    ("/some-:hash.js", "/some-a.b.js", True),
    ("/some-:hash.js", "/SOME-X.JS", True),
    ("/some-:hash.js", "/some-.js", False),
    ("/some-:hash.js", "/some-a/b.js", False),
    ("/file.:ext", "/file.txt", True),
    ("/file.:ext", "/file.tar.gz", False),
    ("/file.:ext", "/file.", False),
    ("/file.:ext", "/file", False),
    ("/:name.json", "/data.json", True),
    ("/:name.json", "/.json", False),
    ("/assets/v1.:ext+", "/assets/v1.js.map", True),
    ("/assets/v1.:ext+", "/assets/v1", False),
    ("/a\\:b", "/a:b", True),
    ("/a\\:b", "/a/b", False),
    ("/a\\(b\\)", "/a(b)", True),
    ("/a\\*", "/a*", True),
    ("/a\\*", "/aaa", False),
    ("/v1\\.0", "/v1.0", True),
    ("/v1\\.0", "/v1x0", False),
]


@pytest.mark.parametrize(("expression", "pathname", "expected"), MATCHES)
def test_matches_like_path_to_regexp(expression, pathname, expected):
    assert compile_pattern(expression).matches(pathname) is expected


def test_the_table_covers_enough_cases():
    assert len(MATCHES) >= 80


# pathToRegexp(expression).source, with the final `$` written `\Z` (Python's `$` also matches
# before a trailing newline).
SOURCES = [
    ("/docs/:path*", r"^\/docs(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))?[\/#\?]?\Z"),
    ("/docs/:path+", r"^\/docs(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))[\/#\?]?\Z"),
    ("/:lang(en|fr)/docs", r"^(?:\/(en|fr))\/docs[\/#\?]?\Z"),
    ("/some-:hash.js", r"^\/some-([^\/#\?]+?)\.js[\/#\?]?\Z"),
    ("/file.:ext", r"^\/file(?:\.((?:(?!\.)[^\/#\?])+?))[\/#\?]?\Z"),
    ("/x.:e*", r"^\/x(?:\.((?:(?:(?!\.)[^\/#\?])+?)(?:\.(?:(?:(?!\.)[^\/#\?])+?))*))?[\/#\?]?\Z"),
    ("/a\\:b", r"^\/a\:b[\/#\?]?\Z"),
    ("/a)", r"^\/a\)[\/#\?]?\Z"),
    ("/", r"^\/[\/#\?]?\Z"),
    ("/:a/:b", r"^(?:\/([^\/#\?]+?))(?:\/([^\/#\?]+?))[\/#\?]?\Z"),
]


@pytest.mark.parametrize(("expression", "source"), SOURCES)
def test_regex_is_the_one_path_to_regexp_generates(expression, source):
    pattern = compile_pattern(expression)
    assert pattern.regex.pattern == source
    assert pattern.regex.flags & re.IGNORECASE
    assert pattern.regex.flags & re.ASCII


def test_javascript_regex_syntax_is_translated():
    # JavaScript's `.` skips "\r" and its `\s` is Unicode whitespace; `[]` matches nothing.
    assert compile_pattern("/:x((?!api|blog).*)").regex.pattern == (
        r"^(?:\/((?!api|blog)[^\n\r\u2028-\u2029]*))[\/#\?]?\Z"
    )
    assert compile_pattern("/:x(a|[])").matches("/a")
    assert not compile_pattern("/:x(a|b[])").matches("/b")
    assert compile_pattern("/:x(a|[^])").matches("/\n")
    assert compile_pattern("/:x(a|[\\d-z])").matches("/-")
    assert compile_pattern("/:x(a|\\x41)").matches("/A")
    assert compile_pattern("/:x(a|b\\s)").matches("/b\u00a0")


# (expression, fragments of the error message)
REJECTIONS = [
    ("docs", ['must start with "/"', '"/docs"']),
    ("", ['must start with "/"']),
    ("/docs/", ['must not end with "/"', 'write "/docs"']),
    ("/docs//", ['must not end with "/"']),
    ("/docs/:path?", ["optional parameter", '":path?"']),
    ("/docs{/:path}", ["optional group", "position 5"]),
    ("/docs/{x}?", ["optional group"]),
    ("/a}", ['unmatched "}"', '"\\\\}"']),
    ("/(.*)", ["unnamed group", '"(.*)"', '":path(.*)"']),
    ("/docs/(en|fr)", ["unnamed group", '":path(en|fr)"']),
    ("/:path*/edit", ['"*"', '":path*"', "only allowed on the last part"]),
    ("/:a+/b", ['"+"', '":a+"', "last part"]),
    ("/:path*.js", ['":path*"', "last part"]),
    ("/docs-:path*", ['repeats ":path*"', 'without a "/" or "."', '"/:path*"']),
    ("/:a:b", ['":a"', '":b"', "nothing between them"]),
    ("/:a-:b", ['":a"', '":b"', "same path segment"]),
    ("/x/:a.:b", ['":a"', '":b"', "same path segment"]),
    ("/:id(\\d+)", ['":id(\\\\d+)"', "Vercel does not support", '":lang(en|fr)"', '":path((?!api|blog).*)"']),
    ("/:path(.*)", ['":path(.*)"', "Vercel does not support"]),
    ("/:lang(en)", ['":lang(en)"', "Vercel does not support"]),
    ("/:x((?:a|b).*)", ["Vercel does not support"]),
    ("/:x(a|b?)", ['":x(a|b?)"', '"?"', "position 7"]),
    ("/:x(a|b{2})", ['"{"', "counted repetition"]),
    ("/:x(a|b$*)", ['"*" cannot repeat the assertion before it']),
    ("/:x(a|\\b+)", ['"+" cannot repeat the assertion before it']),
    ("/:x(a|[z-a])", ['range "z-a" is out of order', "position 6"]),
    ("/:x(a|[ab)", ['"[" is never closed']),
    ("/:x(a|*b)", ['"*" has nothing before it to repeat']),
    ("/:x(a|b**)", ['"*" has nothing before it to repeat']),
    ("/(?!api)", ['group starting with "?"', "position 1"]),
    ("/:x((a)|b)", ["capturing group", "position 4"]),
    ("/:x(a", ['"(" that is never closed', "position 3"]),
    ("/:x()", ['empty group "()"']),
    ("/:/x", ['":" with no parameter name', "position 1", '"\\\\:"']),
    ("/a*", ['"*" (position 2)', "does not follow a parameter", '"\\\\*"']),
    ("/a?", ['"?" (position 2)', "does not follow a parameter"]),
    ("/:a*+", ['"+" (position 4)']),
]


@pytest.mark.parametrize(("expression", "fragments"), REJECTIONS)
def test_rejections_say_what_is_wrong(expression, fragments):
    with pytest.raises(PathPatternError) as raised:
        compile_pattern(expression)
    message = str(raised.value)
    assert message.startswith(json.dumps(expression, ensure_ascii=False) + " ")
    for fragment in fragments:
        assert fragment in message


# Vercel accepts these; each is read as JavaScript reads it, and noted for a warning:
# (expression, fragments of the note, pathnames it matches, pathnames it does not).
JAVASCRIPT_READINGS = [
    # Pathnames are percent-encoded: a raw character never matches, its encoding does elsewhere.
    ("/caf\u00e9", ["U+00E9", "position 4", 'write "/caf%C3%A9"', "percent-encoded"], [], ["/caf%C3%A9"]),
    ("/a b", ["U+0020", 'write "/a%20b"'], [], ["/a%20b"]),
    ("/a\tb", ["U+0009", 'write "/a%09b"'], [], ["/a%09b"]),
    ("/\u65e5\u672c/:path*", ["U+65E5", 'write "/%E6%97%A5%E6%9C%AC/:path*"'], [], ["/%E6%97%A5%E6%9C%AC/x"]),
    ("/:x(a|b$)", ['"$" as the end of the path', "position 7"], ["/a", "/b"], ["/b/"]),
    ("/:x(a|^b)", ['"^" as the start of the whole path', "never matches"], ["/a"], ["/b"]),
    ("/:x(a|b\\q)", ['reads "\\\\q" as "q"', "position 7"], ["/bq"], ["/b\\q"]),
    ("/:x(a|b\\x4)", ['reads "\\\\x" not followed by 2 hexadecimal digits as "x"'], ["/bx4"], ["/b\x04"]),
    ("/:x(a|b\\u12)", ['"\\\\u" not followed by 4'], ["/bu12"], []),
    ("/:x(a|b\\1)", ['"\\\\1" as nothing: group 1 has not matched yet'], ["/b"], ["/b1"]),
    ("/:y/:x(a|b\\1)", ['"\\\\1" as the text parameter 1 matched'], ["/q/bq", "/Q/bq"], ["/q/b", "/q/bz"]),
    ("/:x(a|b\\3)", ['"\\\\3" as the character U+0003'], ["/b\x03"], ["/b3"]),
    ("/:x(a|b\\9)", ['"\\\\9" as "9"'], ["/b9"], []),
    ("/:x(a|b\\c)", ['"\\\\c" without a letter as a backslash and a "c"'], ["/b\\c"], ["/bc"]),
    ("/a\\", ["lone backslash, which path-to-regexp ignores"], ["/a"], ["/a\\"]),
]


@pytest.mark.parametrize(("expression", "fragments", "matching", "other"), JAVASCRIPT_READINGS)
def test_what_vercel_accepts_is_read_as_javascript_reads_it_and_noted(expression, fragments, matching, other):
    pattern = compile_pattern(expression)
    note = " ".join(pattern.notes)
    for fragment in fragments:
        assert fragment in note
    for pathname in matching:
        assert pattern.matches(pathname), pathname
    for pathname in other:
        assert not pattern.matches(pathname), pathname


def test_plain_javascript_needs_no_note():
    # A word boundary, a control escape, "\0" and escaped punctuation mean the same to everyone.
    for expression in ("/:x(a|\\bb)", "/:x(a|b\\cJ)", "/:x(a|b\\0)", "/:x(a|b\\.)", "/caf%C3%A9"):
        assert compile_pattern(expression).notes == (), expression
    assert compile_pattern("/:x(a|\\bb)").matches("/b")
    assert compile_pattern("/:x(a|[\\c_])").matches("/\x1f")


LITERAL_PREFIXES = [
    ("/docs/:path*", ("docs",)),
    ("/docs", ("docs",)),
    ("/Docs/API/:x", ("docs", "api")),
    ("/", ()),
    ("/:path*", ()),
    ("/:lang(en|fr)/docs", ()),
    ("/docs-:x", ()),
    ("/a/b.:ext", ("a",)),
    ("/a//b", ("a", "", "b")),
    ("/a\\:b/c", ("a:b", "c")),
    ("/x/a\\#b/c", ("x",)),
    ("/a\\?b", ()),
]


@pytest.mark.parametrize(("expression", "prefix"), LITERAL_PREFIXES)
def test_literal_prefix(expression, prefix):
    assert compile_pattern(expression).literal_prefix == prefix


# (a, b, a pathname both match, or None when none does)
OVERLAPS = [
    ("/docs/:path*", "/docs/api", "/docs/api"),
    ("/docs/:path*", "/docs", "/docs"),
    ("/docs", "/DOCS", "/docs"),
    ("/docs", "/docs/:path*", "/docs/"),
    ("/:lang(en|fr)/docs", "/en/:path*", "/en/docs"),
    ("/:lang(en|fr)/docs", "/:lang(de|fr)/:rest*", "/fr/docs"),
    ("/:path((?!api|blog).*)", "/ap", "/ap"),
    ("/:path((?!api|blog).*)", "/x/api", "/x/api"),
    ("/:path((?!api|blog).*)", "/:p((?!docs).*)", "/home"),
    ("/:path((?!api|blog).*)", "/", "/"),
    ("/:slug", "/:other", "/x"),
    ("/:a/:b", "/x/:c*", "/x/y"),
    ("/some-:hash.js", "/some-x.:ext", "/some-x.js"),
    ("/file.:ext", "/file.:x(tar|gz)", "/file.gz"),
    ("/a\\:b", "/:x", "/a:b"),
    ("/en/:p*", "/:lang(en|fr)/:q*", "/en"),
    ("/", "/:p*", "/"),
    ("/:p+", "/:q((?!x).*)", "/y"),
    ("/:x(a|b.*)", "/b/c/:rest+", "/b/c/d"),
    ("/:x(a|\\d+)", "/:y(b|[0-9]+)", "/42"),
    ("/docs/:path+", "/docs", None),
    ("/docs", "/doc", None),
    ("/docs", "/docs-:v", None),
    ("/:lang(en|fr)/docs", "/de/:path*", None),
    ("/:lang(en|fr)/docs", "/:lang(de|it)/:rest*", None),
    ("/:path((?!api|blog).*)", "/api/:path*", None),
    ("/:path((?!api|blog).*)", "/apis", None),
    ("/:path((?!api|blog).*)", "/BLOG2", None),
    ("/:path((?!api|blog).*)", "/:section(api|blog)/:rest*", None),
    ("/:slug", "/a/:b", None),
    ("/some-:hash.js", "/some-:hash.css", None),
    ("/file.:ext", "/file.tar.gz", None),
    ("/x/:p*", "/:lang(en|fr)/:q*", None),
    ("/a/b/:p*", "/a/c", None),
    ("/", "/:p+", None),
]


@pytest.mark.parametrize(("a", "b", "witness"), OVERLAPS)
def test_overlap(a, b, witness):
    first, second = compile_pattern(a), compile_pattern(b)
    found = find_overlap(first, second)
    assert (found is not None) is (witness is not None)
    assert (find_overlap(second, first) is not None) is (witness is not None)
    if witness is not None:
        assert first.matches(witness) and second.matches(witness)
        # The example is a real pathname both match, and the shortest there is.
        assert first.matches(found.example) and second.matches(found.example)
        assert len(found.example) <= len(witness)


@pytest.mark.parametrize(
    ("a", "b", "example"),
    [
        ("/:lang(en|fr)/labs", "/en/:path*", "/en/labs"),
        ("/docs/:path*", "/docs/api", "/docs/api"),
        ("/:slug", "/:other", "/a"),
        ("/docs/:p+", "/:x((?!api).*)", "/docs/a"),
        # Back-references and word boundaries are over-approximated, then checked with the regexes.
        ("/:a/:b(x|y\\1)", "/q/:c", "/q/x"),
        ("/:a(x|\\bz)", "/:b", "/x"),
    ],
)
def test_overlap_example_is_the_shortest_pathname_both_match(a, b, example):
    assert find_overlap(compile_pattern(a), compile_pattern(b)) == Overlap(example)


def test_overlap_not_confirmed_by_the_regexes_is_no_overlap():
    # The automaton reads "\\1" as any text; only "/q/yq" matches both, which the check confirms,
    # while "/q/yz" does not: the first pattern needs "y" then the first segment again.
    assert find_overlap(compile_pattern("/:a/:b(x|y\\1)"), compile_pattern("/q/yq")) == Overlap("/q/yq")
    assert find_overlap(compile_pattern("/:a/:b(x|y\\1)"), compile_pattern("/q/yz")) == Overlap(None)


def test_overlap_search_gives_up_saying_they_may_overlap():
    # Telling these apart needs an automaton with thousands of states; the search stops and
    # reports a possible overlap, without an example, rather than run long.
    a = compile_pattern("/:x(q|.*a" + "[a-z]" * 10 + ")")
    b = compile_pattern("/:y(r|.*b" + "[a-z]" * 10 + ")")
    assert find_overlap(a, b) == Overlap(None)
    small_a = compile_pattern("/:x(q|.*a" + "[a-z]" * 3 + ")")
    small_b = compile_pattern("/:y(r|.*b" + "[a-z]" * 3 + ")")
    assert find_overlap(small_a, small_b) is None


def _index(*sources):
    return PatternIndex((compile_pattern(source), source) for source in sources)


def _found(index, pathname):
    entry = index.lookup(pathname)
    return None if entry is None else entry[1]


def test_index_returns_the_first_match_in_entry_order():
    assert _found(_index("/docs/:path*", "/docs/api"), "/docs/api") == "/docs/:path*"
    assert _found(_index("/docs/api", "/docs/:path*"), "/docs/api") == "/docs/api"
    # A pattern without a literal prefix is a candidate everywhere and keeps its place in the order.
    assert _found(_index("/:lang(en|fr)/docs", "/en/docs"), "/EN/docs") == "/:lang(en|fr)/docs"
    assert _found(_index("/en/docs", "/:lang(en|fr)/docs"), "/EN/docs") == "/en/docs"
    assert _found(_index("/a/:p*", "/:p*", "/a/b"), "/a/b") == "/a/:p*"
    assert _found(_index("/a/b", "/:p*", "/a/:p*"), "/a/b/c") == "/:p*"


LOOKUPS = [
    ("/DOCS/Guide", "/docs/:path*"),
    ("/docs/", "/docs/:path*"),
    ("/docs#", "/docs/:path*"),
    ("/docs/api?", "/docs/api"),
    ("/docs//x", None),
    ("//docs", None),
    ("docs", None),
    ("", None),
    ("/", "/"),
    ("//", "/"),
    ("/a#b/c", "/a\\#b/c"),
    ("/a:b", "/a\\:b"),
    ("/x//y", "/x//y"),
    ("/blog/post", "/blog/:slug"),
    ("/blog/post/", "/blog/:slug"),
    ("/blog", None),
]


@pytest.mark.parametrize(("pathname", "expected"), LOOKUPS)
def test_index_keys_never_hide_a_match(pathname, expected):
    index = _index("/docs/api", "/docs/:path*", "/", "/a\\#b/c", "/a\\:b", "/x//y", "/blog/:slug")
    assert _found(index, pathname) == expected


def test_index_with_many_patterns():
    count = 1000
    apps = [(compile_pattern(f"/app{i}/:path*"), i) for i in range(count)]
    shared = [(compile_pattern(f"/docs/p{i}/:path*"), i) for i in range(count)]
    catch_all = (compile_pattern("/:path*"), -1)
    for entries in (apps, shared):
        index = PatternIndex([*entries, catch_all])
        for i in (0, 1, 499, 998, 999):
            pathname = entries[i][0].source.replace(":path*", "a/B")
            assert index.lookup(pathname) == entries[i]
            assert index.lookup(pathname.upper()) == entries[i]
        assert index.lookup("/app1000/x") == catch_all
        assert index.lookup("/docs/p1000") == catch_all
    assert PatternIndex([]).lookup("/") is None


# --- Properties -----------------------------------------------------------------------------------

_SPECIAL_TEXT = st.text(alphabet="/:*+?()[]{}\\|.-azAZ09!^$#%~_ \xe9", max_size=24)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), _SPECIAL_TEXT, _SPECIAL_TEXT.map(lambda t: "/" + t)))
def test_compile_raises_only_path_pattern_error(source):
    try:
        pattern = compile_pattern(source)
    except PathPatternError as error:
        assert str(error).startswith('"')
    else:
        assert isinstance(pattern, PathPattern)


_SEGMENTS = [
    "docs", "Docs", "api", "a", "en", "v1.0", "%20", "..", "x-y", "a\\:b",
    ":p", ":lang(en|fr)", ":rest((?!api|blog).*)", ":v(a|b.*)", ":id(x|\\d+)",
    "pre-:p", ":p.json", "file.:ext",
]  # fmt: skip
_LAST_SEGMENTS = [":p*", ":p+", "x.:e+", ":all((?!api).*)*"]


@st.composite
def _patterns(draw):
    segments = draw(st.lists(st.sampled_from(_SEGMENTS), max_size=3))
    if draw(st.booleans()):
        segments.append(draw(st.sampled_from(_LAST_SEGMENTS)))
    return compile_pattern("/" + "/".join(segments))


_PATHNAMES = st.one_of(
    st.text(alphabet="/aAdDoOcCsSpPiIeEnNfFrRxX.-:%#?19", max_size=16),
    st.lists(
        st.sampled_from(
            ["docs", "DOCS", "api", "en", "fr", "x", "", "a", "v1.0", "pre-x", "y.json", "file.txt", "apix"]
        ),
        max_size=4,
    ).map(lambda segments: "/" + "/".join(segments)),
)


@settings(max_examples=150, deadline=None)
@given(_patterns(), st.one_of(st.text(), _PATHNAMES))
def test_matching_never_raises(pattern, pathname):
    assert pattern.matches(pathname) in (True, False)
    assert PatternIndex([(pattern, 1)]).lookup(pathname) in (None, (pattern, 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_patterns(), max_size=8), st.lists(_PATHNAMES, max_size=12))
def test_index_agrees_with_a_linear_scan(patterns, pathnames):
    entries = [(pattern, i) for i, pattern in enumerate(patterns)]
    index = PatternIndex(entries)
    for pathname in pathnames:
        expected = next((entry for entry in entries if entry[0].matches(pathname)), None)
        assert index.lookup(pathname) == expected


_LITERAL_PATHNAMES = (
    st.text(alphabet="/aAbBeEnNpPiIsS.-:%#?x1()*", max_size=12)
    .map(lambda t: "/" + t)
    .filter(lambda s: s == "/" or not s.endswith("/"))
)


@settings(max_examples=250, deadline=None)
@given(_patterns(), _LITERAL_PATHNAMES)
def test_overlap_with_a_literal_is_exact(pattern, pathname):
    # A literal expression matches its text in any case plus one optional trailing delimiter.
    literal = compile_pattern("/" + "".join(c if c.isalnum() or c == "/" else "\\" + c for c in pathname[1:]))
    expected = any(pattern.matches(pathname + end) for end in ("", "/", "#", "?"))
    assert (find_overlap(pattern, literal) is not None) is expected
    assert (find_overlap(literal, pattern) is not None) is expected


@settings(max_examples=150, deadline=None)
@given(_patterns(), _patterns(), st.lists(_PATHNAMES, max_size=10))
def test_overlap_is_sound(a, b, pathnames):
    overlap = find_overlap(a, b)
    assert (overlap is None) is (find_overlap(b, a) is None)
    if overlap is not None and overlap.example is not None:
        assert a.matches(overlap.example) and b.matches(overlap.example)
    if any(a.matches(p) and b.matches(p) for p in pathnames if p.isascii()):
        assert overlap
