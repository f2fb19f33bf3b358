"""Path patterns of `microfrontends.json`, matched the way Vercel matches them.

A pattern such as `/docs/:path*` is a path-to-regexp v6 expression. Vercel compiles it with
`pathToRegexp(expression)` defaults and tests it against the request's pathname, never the query:
case-insensitive, anchored at both ends, and with one optional trailing delimiter (strict=false), so
`/docs` also matches `/docs/`. `compile_pattern` reproduces path-to-regexp's tokenizer, parser and
regex generation, and rejects what Vercel's `validatePathExpression` rejects (optional segments,
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
import string
from dataclasses import dataclass
from typing import NoReturn

from mfe_proxy.errors import PathPatternError, escaped, quote
from mfe_proxy.paths.jsregex import RegexParser
from mfe_proxy.paths.tree import Node, NotFollowedBy, Repeat, Seq, chars, emit, literal, optional

_FLAGS = re.IGNORECASE | re.ASCII
_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_")
_PREFIXES = "./"
_DELIMITERS = "/#?"
# path-to-regexp's segment regex and its end for strict=false; `\Z` instead of JavaScript's `$`,
# which in Python would also match before a trailing newline.
_SEGMENT = r"[^\/#\?]+?"
_END = r"[\/#\?]?\Z"
_PTR_SPECIAL = re.compile(r"([.+*?=^!:${}()[\]|/\\])")
# Vercel's validatePathExpression accepts a parameter regex only in these two shapes, once every
# backslash escape is removed: alternatives such as `en|fr`, or `(?!api|blog).*`.
_ESCAPE = re.compile(r"\\.")
_VERCEL_PATTERN = re.compile(r"[\w~-]+(?:\|[^:|()]+)+|\(\?![\w~-]+(?:\|[^:|()]+)*\)\.\*", re.ASCII)
# Characters that a request pathname never holds: clients send them percent-encoded.
_NOT_IN_PATHNAME = re.compile(r"[^\x21-\x7e]")


def _escape(text: str) -> str:
    """path-to-regexp's escapeString; its output means the same in Python's `re`."""
    return _PTR_SPECIAL.sub(r"\\\1", text)


_NOT_DELIMITER = chars(*((ord(d), ord(d)) for d in _DELIMITERS), negated=True)
_DELIMITER = chars(*((ord(d), ord(d)) for d in _DELIMITERS))


# --- path-to-regexp v6: tokens ------------------------------------------------------------------


class _Fail:
    """Builds the PathPatternError for one expression: its source, then what is wrong with it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, problem: str) -> PathPatternError:
        return PathPatternError(f"{quote(self.source)} {problem}")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # MODIFIER, ESCAPED_CHAR, NAME, PATTERN, CHAR, END (path-to-regexp's lexer)
    index: int
    value: str


@dataclass(frozen=True, slots=True)
class _Param:
    name: str  # "" for a group without a name (path-to-regexp numbers those)
    prefix: str  # "/" or "." taken from before the parameter, or ""
    pattern: str  # its own regex as written, or "" for the default
    modifier: str
    index: int  # where it starts in the expression
    guard: str | None  # for the default regex: text it must not start with (path-to-regexp's safePattern)

    def describe(self) -> str:
        pattern = f"({self.pattern})" if self.pattern else ""
        return quote(f"{':' if self.name else ''}{self.name}{pattern}{self.modifier}")


def _lex(source: str, fail: _Fail, notes: list[str]) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char in "*+?":
            tokens.append(_Token("MODIFIER", i, char))
            i += 1
        elif char == "\\":
            if i + 1 == len(source):
                notes.append(
                    "ends with a lone backslash, which path-to-regexp ignores; write "
                    f"{escaped(chr(92))} for a literal backslash"
                )
                break
            tokens.append(_Token("ESCAPED_CHAR", i, source[i + 1]))
            i += 2
        elif char == "{":
            raise fail(
                f'has an optional group "{{...}}" (position {i}), which Vercel does not support: list each '
                f"variant of the path instead, or escape the brace as {escaped('{')} to match it literally"
            )
        elif char == "}":
            raise fail(
                f'has an unmatched "}}" (position {i}); escape it as {escaped("}")} to match it literally'
            )
        elif char == ":":
            end = i + 1
            while end < len(source) and source[end] in _NAME_CHARACTERS:
                end += 1
            if end == i + 1:
                raise fail(
                    f'has a ":" with no parameter name after it (position {i}): name the parameter '
                    f'(letters, digits, "_"), or escape the colon as {escaped(":")} to match it literally'
                )
            tokens.append(_Token("NAME", i, source[i + 1 : end]))
            i = end
        elif char == "(":
            tokens.append(_Token("PATTERN", i, _group(source, i, fail)))
            i += len(tokens[-1].value) + 2
        else:
            tokens.append(_Token("CHAR", i, char))
            i += 1
    tokens.append(_Token("END", i, ""))
    return tokens


def _group(source: str, start: int, fail: _Fail) -> str:
    """The regex between the parenthesis at `start` and its match, as path-to-regexp's lexer reads it."""
    if source[start + 1 : start + 2] == "?":
        raise fail(
            f'has a group starting with "?" (position {start}); give it a parameter name and put the '
            'lookahead inside, e.g. ":path((?!api).*)"'
        )
    depth = 1
    i = start + 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == ")":
            depth -= 1
            if depth == 0:
                break
        elif source[i] == "(":
            depth += 1
            if source[i + 1 : i + 2] != "?":
                raise fail(
                    f"has a capturing group inside a parameter's regex (position {i}); escape the "
                    f"parenthesis as {escaped('(')} to match it literally"
                )
        i += 1
    if depth:
        raise fail(
            f'has a "(" that is never closed (position {start}); escape it as {escaped("(")} to match '
            "it literally"
        )
    if i == start + 1:
        raise fail(f'has an empty group "()" (position {start})')
    return source[start + 1 : i]


def _parse(source: str, fail: _Fail, notes: list[str]) -> list[str | _Param]:
    """path-to-regexp's parse: literal text and parameters, in order."""
    tokens = _lex(source, fail, notes)
    result: list[str | _Param] = []
    path = ""
    position = 0

    def take(kind: str) -> _Token | None:
        nonlocal position
        token = tokens[position]
        if token.kind != kind:
            return None
        position += 1
        return token

    while position < len(tokens):
        char = take("CHAR")
        name = take("NAME")
        pattern = take("PATTERN")
        first = name or pattern
        if first:
            prefix = char.value if char else ""
            if prefix not in _PREFIXES:
                path += prefix
                prefix = ""
            if path:
                result.append(path)
                path = ""
            modifier = take("MODIFIER")
            result.append(
                _Param(
                    name=name.value if name else "",
                    prefix=prefix,
                    pattern=pattern.value if pattern else "",
                    modifier=modifier.value if modifier else "",
                    index=first.index,
                    guard=None if pattern else _guard(result, prefix, first.value, fail),
                )
            )
            continue
        value = char or take("ESCAPED_CHAR")
        if value:
            path += value.value
            continue
        if path:
            result.append(path)
            path = ""
        stray = tokens[position]
        if stray.kind != "END":  # only a modifier can be left over here
            raise fail(
                f'has "{stray.value}" (position {stray.index}) where it does not follow a parameter; '
                f"escape it as {escaped(stray.value)} to match it literally"
            )
        position += 1
    return result


def _guard(result: list[str | _Param], prefix: str, name: str, fail: _Fail) -> str | None:
    """path-to-regexp's safePattern: a default parameter must not swallow the text before it,
    unless that text holds a delimiter."""
    previous = result[-1] if result else None
    text = prefix or (previous if isinstance(previous, str) else "")
    if isinstance(previous, _Param) and not text:
        raise fail(
            f"has the parameters {previous.describe()} and {quote(':' + name)} with nothing "
            "between them; Vercel allows one parameter per path segment"
        )
    if not text or any(d in text for d in _DELIMITERS):
        return None
    return text


# --- Compiling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    regex: str
    tree: Node
    literal_prefix: tuple[str, ...]
    notes: tuple[str, ...]  # what Vercel accepts but is surely not meant, for a warning


def _compile(source: str) -> _Compiled:
    fail = _Fail(source)
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
    tokens = _parse(source, fail, notes)
    params = [t for t in tokens if isinstance(t, _Param)]
    for param in params:
        _check_param(param, param is tokens[-1], fail)
    _check_segments(tokens, fail)

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


def _check_param(param: _Param, last: bool, fail: _Fail) -> None:
    """Vercel's validatePathExpression, one parameter at a time, then what pathToRegexp throws on."""
    if param.modifier == "?":
        raise fail(
            f"has the optional parameter {param.describe()}, which Vercel does not support: list the "
            "path with and without that part instead"
        )
    if not param.name:
        raise fail(
            f"has the unnamed group {param.describe()}; only named parameters are allowed: add a name, "
            f"e.g. {quote(':path(' + param.pattern + ')')}"
        )
    if param.pattern and not _VERCEL_PATTERN.fullmatch(_ESCAPE.sub("", param.pattern)):
        raise fail(
            f"gives {param.describe()} a regex that Vercel does not support: only alternatives such as "
            '":lang(en|fr)" and a negative lookahead such as ":path((?!api|blog).*)" are allowed; escape '
            f"other special characters with a backslash, e.g. {escaped('(')}"
        )
    if param.modifier and not last:
        raise fail(
            f'uses "{param.modifier}" on {param.describe()}, but modifiers are only allowed on the last '
            "part of the path"
        )
    if param.modifier and not param.prefix:
        raise fail(
            f'repeats {param.describe()} without a "/" or "." right before it; give it its own segment, '
            f"e.g. {quote('/:' + param.name + param.modifier)}"
        )


def _check_segments(tokens: list[str | _Param], fail: _Fail) -> None:
    in_segment: list[_Param] = []
    for token in tokens:
        if (isinstance(token, str) and "/" in token) or (isinstance(token, _Param) and token.prefix == "/"):
            in_segment = []
        if isinstance(token, _Param):
            in_segment.append(token)
            if len(in_segment) > 1:
                raise fail(
                    f"has {in_segment[0].describe()} and {token.describe()} in the same path segment; "
                    "Vercel allows only one parameter per path segment"
                )


def _param_regex(param: _Param, group: int, groups: int, fail: _Fail, notes: list[str]) -> tuple[str, Node]:
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


def _literal_prefix(tokens: list[str | _Param]) -> tuple[str, ...]:
    """The leading segments that are literal text, lowercased.

    A segment counts only when the pattern ends right after it or puts a "/" after it, so every
    pathname that matches has exactly these first segments (up to one trailing "#" or "?", see
    `PatternIndex.lookup`). Segments holding "#" or "?" stop the prefix for the same reason."""
    lead = tokens[0]
    if not isinstance(lead, str) or lead == "/":
        return ()
    segments = lead.lower().split("/")[1:]
    after = tokens[1] if len(tokens) > 1 else None
    if isinstance(after, _Param) and after.prefix != "/":
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
        raise _Fail(source)(f"cannot be compiled to a regex: {error}") from error
    return PathPattern(source, regex, compiled.literal_prefix, compiled.notes)


def syntax_tree(source: str) -> Node:
    """What the pattern `source` (a valid one) matches, as a tree for the overlap automaton."""
    return _compile(source).tree
