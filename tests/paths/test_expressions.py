"""Path expressions (mfe_proxy.paths.expressions): what a pattern matches, the regex it compiles to, the
expressions it rejects and why, its literal prefix.

Every expected match and every accepted or rejected expression below was checked against
path-to-regexp 6.3.0 (`pathToRegexp(expression).test(pathname)`) and the `validatePathExpression`
of @vercel/microfrontends 2.4.0 when this file was written; CI has no Node, so the outcomes are
written down here. The few expressions that Vercel accepts and this module rejects on purpose are
marked in REJECTIONS.
"""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfe_proxy.errors import PathPatternError
from mfe_proxy.paths.expressions import PathPattern, compile_pattern
from mfe_proxy.paths.index import PatternIndex
from paths.strategies import PATHNAMES, path_patterns

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
    # A glob's star: what path-to-regexp would write first, then the escape.
    ("/docs/*", ['"*" (position 6)', 'for any path below it write "/docs/:path*", or escape it as "\\\\*"']),
    ("/docs/**", ['write "/docs/:path*"']),
    ("/docs/+", ['write "/docs/:path+"']),
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


@settings(max_examples=150, deadline=None)
@given(path_patterns(), st.one_of(st.text(), PATHNAMES))
def test_matching_never_raises(pattern, pathname):
    assert pattern.matches(pathname) in (True, False)
    assert PatternIndex([(pattern, 1)]).lookup(pathname) in (None, (pattern, 1))
