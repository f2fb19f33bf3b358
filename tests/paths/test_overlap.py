"""Whether two path patterns share a pathname (mfe_proxy.paths.overlap), and the shortest one they share.
Checked against path-to-regexp 6.3.0 as tests/paths/test_expressions.py says."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfe_proxy.paths.expressions import compile_pattern
from mfe_proxy.paths.overlap import Overlap, find_overlap
from paths.strategies import PATHNAMES, path_patterns

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


# --- Properties -----------------------------------------------------------------------------------


_LITERAL_PATHNAMES = (
    st.text(alphabet="/aAbBeEnNpPiIsS.-:%#?x1()*", max_size=12)
    .map(lambda t: "/" + t)
    .filter(lambda s: s == "/" or not s.endswith("/"))
)


@settings(max_examples=250, deadline=None)
@given(path_patterns(), _LITERAL_PATHNAMES)
def test_overlap_with_a_literal_is_exact(pattern, pathname):
    # A literal expression matches its text in any case plus one optional trailing delimiter.
    literal = compile_pattern("/" + "".join(c if c.isalnum() or c == "/" else "\\" + c for c in pathname[1:]))
    expected = any(pattern.matches(pathname + end) for end in ("", "/", "#", "?"))
    assert (find_overlap(pattern, literal) is not None) is expected
    assert (find_overlap(literal, pattern) is not None) is expected


@settings(max_examples=150, deadline=None)
@given(path_patterns(), path_patterns(), st.lists(PATHNAMES, max_size=10))
def test_overlap_is_sound(a, b, pathnames):
    overlap = find_overlap(a, b)
    assert (overlap is None) is (find_overlap(b, a) is None)
    if overlap is not None and overlap.example is not None:
        assert a.matches(overlap.example) and b.matches(overlap.example)
    if any(a.matches(p) and b.matches(p) for p in pathnames if p.isascii()):
        assert overlap
