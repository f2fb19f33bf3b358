"""A parameter's JavaScript regex (mfe_proxy.paths.jsregex): translated to Python's syntax, and read as
JavaScript reads it where Vercel accepts what path-to-regexp would read otherwise, with a note.
Checked against path-to-regexp 6.3.0 and @vercel/microfrontends 2.4.0 as tests/paths/test_expressions.py
says."""

import pytest

from mfe_proxy.paths.expressions import compile_pattern


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
