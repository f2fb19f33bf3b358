"""Path patterns read as path-to-regexp v6 reads them (its lexer and parser), and checked as Vercel's
`validatePathExpression` checks them: literal text and parameters, or a `PathPatternError` naming what
is wrong and how to write it instead. `expressions` compiles the result."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from mfe_proxy.errors import PathPatternError, escaped, quote

_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_")
_PREFIXES = "./"
DELIMITERS = "/#?"
# Vercel's validatePathExpression accepts a parameter regex only in these two shapes, once every
# backslash escape is removed: alternatives such as `en|fr`, or `(?!api|blog).*`.
_ESCAPE = re.compile(r"\\.")
_VERCEL_PATTERN = re.compile(r"[\w~-]+(?:\|[^:|()]+)+|\(\?![\w~-]+(?:\|[^:|()]+)*\)\.\*", re.ASCII)


class Fail:
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
class Param:
    name: str  # "" for a group without a name (path-to-regexp numbers those)
    prefix: str  # "/" or "." taken from before the parameter, or ""
    pattern: str  # its own regex as written, or "" for the default
    modifier: str
    index: int  # where it starts in the expression
    guard: str | None  # for the default regex: text it must not start with (path-to-regexp's safePattern)

    def describe(self) -> str:
        pattern = f"({self.pattern})" if self.pattern else ""
        return quote(f"{':' if self.name else ''}{self.name}{pattern}{self.modifier}")


def _lex(source: str, fail: Fail, notes: list[str]) -> list[_Token]:
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


def _group(source: str, start: int, fail: Fail) -> str:
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


def parse(source: str, fail: Fail, notes: list[str]) -> list[str | Param]:
    """path-to-regexp's parse: literal text and parameters, in order."""
    tokens = _lex(source, fail, notes)
    result: list[str | Param] = []
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
                Param(
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
            where = f'has "{stray.value}" (position {stray.index}) where it does not follow a parameter'
            if stray.value in "*+" and source[stray.index - 1 : stray.index] == "/":
                # A glob's `/docs/*`: path-to-regexp repeats a named parameter instead.
                named = source[: stray.index] + ":path" + stray.value
                raise fail(
                    f"{where}; for any path below it write {quote(named)}, or escape it as "
                    f"{escaped(stray.value)} to match it literally"
                )
            raise fail(f"{where}; escape it as {escaped(stray.value)} to match it literally")
        position += 1
    return result


def _guard(result: list[str | Param], prefix: str, name: str, fail: Fail) -> str | None:
    """path-to-regexp's safePattern: a default parameter must not swallow the text before it,
    unless that text holds a delimiter."""
    previous = result[-1] if result else None
    text = prefix or (previous if isinstance(previous, str) else "")
    if isinstance(previous, Param) and not text:
        raise fail(
            f"has the parameters {previous.describe()} and {quote(':' + name)} with nothing "
            "between them; Vercel allows one parameter per path segment"
        )
    if not text or any(d in text for d in DELIMITERS):
        return None
    return text


def _check_param(param: Param, last: bool, fail: Fail) -> None:
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


def _check_segments(tokens: list[str | Param], fail: Fail) -> None:
    in_segment: list[Param] = []
    for token in tokens:
        if (isinstance(token, str) and "/" in token) or (isinstance(token, Param) and token.prefix == "/"):
            in_segment = []
        if isinstance(token, Param):
            in_segment.append(token)
            if len(in_segment) > 1:
                raise fail(
                    f"has {in_segment[0].describe()} and {token.describe()} in the same path segment; "
                    "Vercel allows only one parameter per path segment"
                )


def check(tokens: list[str | Param], fail: Fail) -> None:
    """Vercel's validatePathExpression, then what pathToRegexp throws on."""
    params = [token for token in tokens if isinstance(token, Param)]
    for param in params:
        _check_param(param, param is tokens[-1], fail)
    _check_segments(tokens, fail)
