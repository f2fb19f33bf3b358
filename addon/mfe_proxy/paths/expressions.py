"""Path patterns of `microfrontends.json`, matched the way Vercel matches them.

A pattern such as `/docs/:path*` is a path-to-regexp v6 expression. Vercel compiles it with
`pathToRegexp(expression)` defaults and tests it against the request's pathname, never the query:
case-insensitive, anchored at both ends, and with one optional trailing delimiter (strict=false), so
`/docs` also matches `/docs/`. `compile_pattern` reproduces path-to-regexp's regex generation on
what `tokens` parses, which rejects what Vercel's `validatePathExpression` rejects (optional segments,
unnamed groups, regexes other than `(a|b)` and `((?!a|b).*)`, modifiers before the last part, more
than one parameter per segment) and what path-to-regexp itself throws on. A parameter's own regex is
JavaScript: it is parsed and written out again in Python syntax with JavaScript's meaning, Annex B
included; readings that are surely not meant (an anchor inside the path, `\\q` as "q") and
characters that no pathname holds are accepted, as Vercel accepts them, and noted for a warning.

Pathnames are percent-encoded ASCII, so patterns are compiled with `re.ASCII`: only ASCII letters
fold case, as in JavaScript for every character that can appear in a pathname.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from mfe_proxy.errors import quote
from mfe_proxy.paths.jsregex import RegexParser
from mfe_proxy.paths.tokens import DELIMITERS, Fail, Param, check, parse
from mfe_proxy.paths.tree import Node, NotFollowedBy, Repeat, Seq, chars, emit, literal, optional

_FLAGS = re.IGNORECASE | re.ASCII
# path-to-regexp's segment regex and its end for strict=false; `\Z` instead of JavaScript's `$`,
# which in Python would also match before a trailing newline.
_SEGMENT = r"[^\/#\?]+?"
_END = r"[\/#\?]?\Z"
_PTR_SPECIAL = re.compile(r"([.+*?=^!:${}()[\]|/\\])")
# Characters that a request pathname never holds: clients send them percent-encoded.
_NOT_IN_PATHNAME = re.compile(r"[^\x21-\x7e]")


def _escape(text: str) -> str:
    """path-to-regexp's escapeString; its output means the same in Python's `re`."""
    return _PTR_SPECIAL.sub(r"\\\1", text)


_NOT_DELIMITER = chars(*((ord(d), ord(d)) for d in DELIMITERS), negated=True)
_DELIMITER = chars(*((ord(d), ord(d)) for d in DELIMITERS))


# --- Compiling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    regex: str
    tree: Node
    literal_prefix: tuple[str, ...]
    notes: tuple[str, ...]  # what Vercel accepts but is surely not meant, for a warning


def _compile(source: str) -> _Compiled:
    fail = Fail(source)
    if not source.startswith("/"):
        raise fail(f'must start with "/" (write {quote("/" + source)})')
    if source.endswith("/") and source != "/":
        raise fail(
            f'must not end with "/": write {quote(source.rstrip("/") or "/")}, which also matches the '
            'path with a trailing "/"'
        )
    notes = []
    bad = _NOT_IN_PATHNAME.search(source)
    if bad:
        # Vercel accepts such a pattern, and tests it against URL.pathname, which is percent-encoded:
        # the character never matches there, nor here.
        char = bad.group()
        notes.append(
            f"contains {quote(char)} (U+{ord(char):04X}) at position {bad.start()}, which never appears in "
            "a request pathname: browsers send it percent-encoded and Vercel matches the encoded path, "
            f"so this part never matches; write {quote(_NOT_IN_PATHNAME.sub(_percent_encoded, source))}"
        )
    tokens = parse(source, fail, notes)
    check(tokens, fail)
    params = [t for t in tokens if isinstance(t, Param)]

    regex = "^"
    tree: list[Node] = []
    for token in tokens:
        if isinstance(token, str):
            regex += _escape(token)
            tree.append(literal(token))
            continue
        pattern, pattern_tree = _param_regex(token, params.index(token) + 1, len(params), fail, notes)
        prefix = _escape(token.prefix)
        if token.modifier:
            regex += f"(?:{prefix}((?:{pattern})(?:{prefix}(?:{pattern}))*))"
            repeated = Seq((literal(token.prefix), pattern_tree))
            one_or_more = Seq((repeated, Repeat(repeated, at_least_once=False)))
            if token.modifier == "*":
                regex += "?"
            tree.append(optional(one_or_more) if token.modifier == "*" else one_or_more)
        else:
            regex += f"(?:{prefix}({pattern}))" if prefix else f"({pattern})"
            tree.append(Seq((literal(token.prefix), pattern_tree)))
    regex += _END
    tree.append(optional(_DELIMITER))
    return _Compiled(regex, Seq(tuple(tree)), _literal_prefix(tokens), tuple(notes))


def _percent_encoded(found: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in found.group().encode("utf-8", "surrogatepass"))


def _param_regex(param: Param, group: int, groups: int, fail: Fail, notes: list[str]) -> tuple[str, Node]:
    """The Python regex of a parameter's segment, and its syntax tree; `group` is the parameter's
    capturing group in the pattern's regex, of `groups`."""
    if param.pattern:
        start = param.index + (len(param.name) + 1 if param.name else 0) + 1

        def fail_at(offset: int, problem: str) -> NoReturn:
            raise fail(f"cannot use the regex of {param.describe()}: {problem} (position {start + offset})")

        parser = RegexParser(param.pattern, start, group, groups, fail_at)
        tree = parser.parse()
        notes.extend(f"in the regex of {param.describe()}, {note}" for note in parser.notes)
        return emit(tree), tree
    if param.guard is None:
        return _SEGMENT, Repeat(_NOT_DELIMITER, at_least_once=True)
    guard = Seq((NotFollowedBy(literal(param.guard)), _NOT_DELIMITER))
    return rf"(?:(?!{_escape(param.guard)})[^\/#\?])+?", Repeat(guard, at_least_once=True)


def _literal_prefix(tokens: list[str | Param]) -> tuple[str, ...]:
    """The leading segments that are literal text, lowercased.

    A segment counts only when the pattern ends right after it or puts a "/" after it, so every
    pathname that matches has exactly these first segments (up to one trailing "#" or "?", see
    `PatternIndex.lookup`). Segments holding "#" or "?" stop the prefix for the same reason."""
    lead = tokens[0]
    if not isinstance(lead, str) or lead == "/":
        return ()
    segments = lead.lower().split("/")[1:]
    after = tokens[1] if len(tokens) > 1 else None
    if isinstance(after, Param) and after.prefix != "/":
        segments.pop()
    for count, segment in enumerate(segments):
        if "#" in segment or "?" in segment:
            return tuple(segments[:count])
    return tuple(segments)


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled path expression; build it with `compile_pattern`."""

    source: str  # the expression as written in the config
    regex: re.Pattern[str]  # matches a whole pathname (anchored at both ends)
    literal_prefix: tuple[str, ...]  # leading literal segments, lowercased; () if the first has a parameter
    # What Vercel accepts but surely means something else than written (a character no pathname holds,
    # `\\q` read as "q"): a sentence each, for a warning.
    notes: tuple[str, ...] = ()

    def matches(self, pathname: str) -> bool:
        """Whether Vercel would route `pathname` (the path without its query) by this pattern."""
        return self.regex.match(pathname) is not None


def compile_pattern(source: str) -> PathPattern:
    """Compile a path expression of `microfrontends.json`. Raises `PathPatternError`, and nothing
    else, with a message that names the problem when the expression cannot be used."""
    compiled = _compile(source)
    try:
        regex = re.compile(compiled.regex, _FLAGS)
    except re.error as error:
        # Translated regexes are meant to always compile; should one not, callers still get the
        # one error type they handle, naming the expression.
        raise Fail(source)(f"cannot be compiled to a regex: {error}") from error
    return PathPattern(source, regex, compiled.literal_prefix, compiled.notes)


def syntax_tree(source: str) -> Node:
    """What the pattern `source` (a valid one) matches, as a tree for the overlap automaton."""
    return _compile(source).tree
