"""The index of many path patterns (mfe_proxy.paths.index): the first that matches, as a linear scan in
entry order would find it."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfe_proxy.paths.expressions import compile_pattern
from mfe_proxy.paths.index import PatternIndex
from paths.strategies import PATHNAMES, path_patterns


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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(path_patterns(), max_size=8), st.lists(PATHNAMES, max_size=12))
def test_index_agrees_with_a_linear_scan(patterns, pathnames):
    entries = [(pattern, i) for i, pattern in enumerate(patterns)]
    index = PatternIndex(entries)
    for pathname in pathnames:
        expected = next((entry for entry in entries if entry[0].matches(pathname)), None)
        assert index.lookup(pathname) == expected
