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

`find_overlap` decides whether some pathname matches two patterns, and finds the shortest, by
running both as automata in lockstep. `PatternIndex` finds the first pattern that matches a pathname
without testing every regex: a trie over the patterns' leading literal segments narrows the candidates.
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools
import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

from mfe_proxy.errors import PathPatternError, quote

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
# Beyond this many pairs of automaton states, `find_overlap` stops looking and answers "may overlap".
_OVERLAP_SEARCH_LIMIT = 10_000


def _escaped(char: str) -> str:
    """How to write `char` escaped, quoted as in the JSON config file."""
    return quote("\\" + char)


def _escape(text: str) -> str:
    """path-to-regexp's escapeString; its output means the same in Python's `re`."""
    return _PTR_SPECIAL.sub(r"\\\1", text)


# --- Character sets ----------------------------------------------------------------------------
# A set is a sorted tuple of disjoint inclusive code point ranges. Every set in a pattern's syntax
# tree is closed under ASCII case, the way JavaScript's `i` flag canonicalizes both the input and
# the class before testing membership; that is also what makes a negated class safe to write out.

_MAX_CODE_POINT = 0x10FFFF
_NAMED_CONTROLS = {0x09: r"\t", 0x0A: r"\n", 0x0B: r"\v", 0x0C: r"\f", 0x0D: r"\r"}
type _Ranges = tuple[tuple[int, int], ...]


def _normalize(ranges: Iterable[tuple[int, int]]) -> _Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def _fold(ranges: Iterable[tuple[int, int]]) -> _Ranges:
    ranges = tuple(ranges)
    swapped = [
        (max(low, first) + shift, min(high, last) + shift)
        for low, high in ranges
        for first, last, shift in ((0x41, 0x5A, 0x20), (0x61, 0x7A, -0x20))
        if low <= last and high >= first
    ]
    return _normalize(ranges + tuple(swapped))


def _complement(ranges: _Ranges) -> _Ranges:
    gaps: list[tuple[int, int]] = []
    start = 0
    for low, high in ranges:
        if low > start:
            gaps.append((start, low - 1))
        start = high + 1
    if start <= _MAX_CODE_POINT:
        gaps.append((start, _MAX_CODE_POINT))
    return tuple(gaps)


def _class_character(code: int) -> str:
    char = chr(code)
    if char.isascii() and (char.isalnum() or char == "_"):
        return char
    if 0x21 <= code <= 0x7E:
        return "\\" + char
    if code in _NAMED_CONTROLS:
        return _NAMED_CONTROLS[code]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@dataclass(frozen=True, slots=True)
class _Chars:
    ranges: _Ranges

    def __contains__(self, code: int) -> bool:
        index = bisect.bisect_right(self.ranges, (code, _MAX_CODE_POINT))
        return index > 0 and self.ranges[index - 1][1] >= code

    def source(self) -> str:
        ranges = self.ranges
        if len(ranges) <= 2 and {high - low for low, high in ranges} == {0}:
            # One character, or one ASCII letter in both cases: write the character itself.
            low = ranges[0][0]
            if _fold(((low, low),)) == ranges:
                return _class_character(ranges[-1][0])
        inverse = _complement(ranges)
        negated = len(inverse) < len(ranges)
        body = "".join(
            _class_character(low) if low == high else f"{_class_character(low)}-{_class_character(high)}"
            for low, high in (inverse if negated else ranges)
        )
        if not body:
            # The empty set (a JavaScript `[]`) or every character (`[^]`).
            return r"[^\x00-\U0010ffff]" if not negated else r"[\x00-\U0010ffff]"
        return f"[{'^' if negated else ''}{body}]"


def _chars(*ranges: tuple[int, int], negated: bool = False) -> _Chars:
    folded = _fold(ranges)
    return _Chars(_complement(folded) if negated else folded)


# JavaScript's `\s` (WhiteSpace and LineTerminator), wider than Python's.
_JS_SPACE = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
)  # fmt: skip
_DIGIT = ((0x30, 0x39),)
_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_CLASS_ESCAPES = {
    "d": _chars(*_DIGIT),
    "D": _chars(*_DIGIT, negated=True),
    "w": _chars(*_WORD),
    "W": _chars(*_WORD, negated=True),
    "s": _chars(*_JS_SPACE),
    "S": _chars(*_JS_SPACE, negated=True),
}
_CONTROL_ESCAPES = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
_HEX_ESCAPES = {"x": 2, "u": 4}
# JavaScript's `.` without the `s` flag: anything but a line terminator.
_DOT = _chars((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029), negated=True)
_NOT_DELIMITER = _chars(*((ord(d), ord(d)) for d in _DELIMITERS), negated=True)
_DELIMITER = _chars(*((ord(d), ord(d)) for d in _DELIMITERS))


# --- Syntax trees ------------------------------------------------------------------------------
# What a pattern matches, for the overlap automaton; the regex source is written alongside.


@dataclass(frozen=True, slots=True)
class _Seq:
    parts: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat:
    item: _Node
    at_least_once: bool


@dataclass(frozen=True, slots=True)
class _NotFollowedBy:
    item: _Node


@dataclass(frozen=True, slots=True)
class _Boundary:
    """`\\b` (or `\\B` when `negated`): the same in both dialects with ASCII word characters."""

    negated: bool


@dataclass(frozen=True, slots=True)
class _BackReference:
    """`\\n` naming the capturing group of an earlier parameter: the text that parameter matched."""

    group: int


type _Node = _Chars | _Seq | _Alt | _Repeat | _NotFollowedBy | _Boundary | _BackReference


# JavaScript's `^` and `$` in a parameter: no parameter starts a pathname, so `^` never matches, and `$`
# is the end of the pathname.
_NEVER = _Chars(())
_ANY = _chars((0, _MAX_CODE_POINT))
_END_OF_PATH = _NotFollowedBy(_ANY)


def _literal(text: str) -> _Seq:
    return _Seq(tuple(_chars((ord(c), ord(c))) for c in text))


def _optional(node: _Node) -> _Alt:
    return _Alt((node, _Seq(())))


def _emit(node: _Node) -> str:
    """Python source for a parsed parameter regex."""
    match node:
        case _Chars():
            return node.source()
        case _Seq(parts):
            return "".join(f"(?:{_emit(p)})" if isinstance(p, _Alt) else _emit(p) for p in parts)
        case _Alt(options):
            return "|".join(_emit(option) for option in options)
        case _Repeat(item, at_least_once):
            return _emit(item) + ("+" if at_least_once else "*")
        case _NotFollowedBy(item):
            return f"(?!{_emit(item)})"
        case _Boundary(negated):
            return r"\B" if negated else r"\b"
        case _BackReference(group):
            return f"(?:\\{group})"


# --- Parameter regexes (JavaScript) ------------------------------------------------------------


class _RegexParser:
    """Reads the JavaScript regex of one parameter (`en|fr`, `(?!api|blog).*`) into a syntax tree.

    Covers everything Vercel lets through, with JavaScript's meaning, Annex B included (`.` skips line
    terminators, `\\s` is Unicode whitespace, `[]` is empty, `-` next to a class escape is literal,
    `\\q` is "q", `\\x4` is "x4", `^` inside a path never matches, `$` ends the path). Readings a
    person would hardly mean are noted (`notes`), for a warning; what JavaScript itself refuses
    (`[z-a]`, `a**`) is refused."""

    def __init__(
        self, text: str, offset: int, group: int, groups: int, fail: Callable[[int, str], NoReturn]
    ) -> None:
        self.text = text
        self.offset = offset  # where the regex starts in the whole expression, for positions in notes
        self.position = 0
        self.group = group  # the capturing group of this parameter in the whole pattern's regex
        self.groups = groups  # how many the whole regex has
        self.fail = fail
        self.notes: list[str] = []

    def parse(self) -> _Node:
        node = self.alternatives(nested=False)
        if self.position < len(self.text):
            self.fail(self.position, '")" has no matching "("')
        return node

    def alternatives(self, *, nested: bool) -> _Node:
        options = [self.sequence(nested=nested)]
        while self.peek() == "|":
            self.position += 1
            options.append(self.sequence(nested=nested))
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def sequence(self, *, nested: bool) -> _Node:
        parts: list[_Node] = []
        while self.position < len(self.text) and self.peek() not in "|)":
            atom = self.atom(nested=nested)
            if self.peek() in ("*", "+"):
                if isinstance(atom, _Boundary) or atom is _NEVER or atom is _END_OF_PATH:
                    self.fail(self.position, f'"{self.peek()}" cannot repeat the assertion before it')
                atom = _Repeat(atom, self.peek() == "+")
                self.position += 1
            parts.append(atom)
        return parts[0] if len(parts) == 1 else _Seq(tuple(parts))

    def peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def note(self, start: int, reading: str) -> None:
        self.notes.append(f"{reading} (position {self.offset + start})")

    def atom(self, *, nested: bool) -> _Node:
        start = self.position
        char = self.text[start]
        self.position += 1
        match char:
            case "(" if self.text.startswith("?!", self.position) and not nested:
                self.position += 2
                inner = self.alternatives(nested=True)
                if self.peek() != ")":
                    self.fail(start, "the lookahead is never closed")
                self.position += 1
                return _NotFollowedBy(inner)
            case "(":
                self.fail(start, 'groups other than one negative lookahead "(?!...)" are not supported')
            case "*" | "+":
                self.fail(start, f'"{char}" has nothing before it to repeat')
            case "?":
                self.fail(start, '"?" (an optional or lazy part) is not supported by Vercel')
            case "{":
                self.fail(start, '"{" (a counted repetition) is not supported by Vercel')
            case "^":
                self.note(
                    start,
                    'JavaScript reads "^" as the start of the whole path, so the alternative '
                    "holding it never matches",
                )
                return _NEVER
            case "$":
                self.note(start, 'JavaScript reads "$" as the end of the path, so nothing may follow it')
                return _END_OF_PATH
            case ".":
                return _DOT
            case "[":
                return self.character_class(start)
            case "\\":
                return self.escape(start)
        return _chars((ord(char), ord(char)))

    def character_class(self, start: int) -> _Chars:
        negated = self.peek() == "^"
        self.position += negated
        members: list[tuple[int, int]] = []
        while self.peek() != "]":
            if not self.peek():
                self.fail(start, 'the "[" is never closed')
            low = self.class_atom()
            if self.peek() != "-" or self.text[self.position + 1 : self.position + 2] in ("]", ""):
                members.extend(low.ranges if isinstance(low, _Chars) else ((low, low),))
                continue
            self.position += 1
            high = self.class_atom()
            if isinstance(low, _Chars) or isinstance(high, _Chars):
                # Annex B: a range with a class escape at either end is the union of both ends and "-".
                for end in (low, high):
                    members.extend(end.ranges if isinstance(end, _Chars) else ((end, end),))
                members.append((0x2D, 0x2D))
            elif low > high:
                self.fail(start, f'the range "{chr(low)}-{chr(high)}" is out of order')
            else:
                members.append((low, high))
        self.position += 1
        return _chars(*members, negated=negated)

    def class_atom(self) -> _Chars | int:
        start = self.position
        self.position += 1
        if self.text[start] != "\\":
            return ord(self.text[start])
        char = self.peek()
        if char == "b":  # backspace inside a class, a word boundary outside
            self.position += 1
            return 0x08
        if char.isdecimal() and char.isascii():
            return self.octal(start)
        if char == "c" and not _is_control_letter(self.text[self.position + 1 : self.position + 2]):
            # Annex B, inside a class: "\c" followed by a digit or "_" is that control character too;
            # otherwise the backslash stands for itself and the "c" follows.
            follower = self.text[self.position + 1 : self.position + 2]
            if follower.isdecimal() or follower == "_":
                self.position += 2
                return ord(follower) % 32
            return 0x5C
        return self.character_escape(start)

    def escape(self, start: int) -> _Node:
        """The escape whose backslash is at `start`, outside a class."""
        char = self.peek()
        if char in "bB":
            self.position += 1
            return _Boundary(char == "B")
        if char.isdecimal() and char.isascii() and char != "0":
            end = self.position
            while self.text[end : end + 1].isdecimal() and self.text[end].isascii():
                end += 1
            group = int(self.text[self.position : end])
            if group <= self.groups:
                self.position = end
                return self.back_reference(start, group)
        if char == "c" and not _is_control_letter(self.text[self.position + 1 : self.position + 2]):
            self.note(start, f'JavaScript reads {_escaped("c")} without a letter as a backslash and a "c"')
            return _chars((0x5C, 0x5C))
        if char.isdecimal() and char.isascii():
            return _chars_of(self.octal(start))
        escaped = self.character_escape(start)
        return escaped if isinstance(escaped, _Chars) else _chars_of(escaped)

    def back_reference(self, start: int, group: int) -> _Node:
        if group < self.group:
            self.note(start, f"JavaScript reads {_escaped(str(group))} as the text parameter {group} matched")
            return _BackReference(group)
        # The group is this parameter's own, still being matched, or a later one: JavaScript matches
        # nothing there.
        self.note(
            start, f"JavaScript reads {_escaped(str(group))} as nothing: group {group} has not matched yet"
        )
        return _Seq(())

    def octal(self, start: int) -> int:
        """Annex B: a digit escape that names no group. "\\8" and "\\9" are the digits themselves;
        otherwise up to three octal digits, at most 0o377, are one character."""
        first = self.peek()
        self.position += 1
        if first in "89":
            self.note(start, f'JavaScript reads {_escaped(first)} as "{first}"')
            return ord(first)
        digits = first
        limit = 3 if first in "0123" else 2
        while len(digits) < limit and self.peek() in tuple("01234567"):
            digits += self.peek()
            self.position += 1
        if digits != "0":
            self.note(start, f"JavaScript reads {_escaped(digits)} as the character U+{int(digits, 8):04X}")
        return int(digits, 8)

    def character_escape(self, start: int) -> _Chars | int:
        """A class escape (`\\d`) as a set, or the one character any other escape stands for."""
        char = self.text[self.position]
        self.position += 1
        if char in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[char]
        if char in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[char]
        if char in _HEX_ESCAPES:
            digits = self.text[self.position : self.position + _HEX_ESCAPES[char]]
            if len(digits) == _HEX_ESCAPES[char] and all(d in string.hexdigits for d in digits):
                self.position += len(digits)
                return int(digits, 16)
            self.note(
                start,
                f"JavaScript reads {_escaped(char)} not followed by {_HEX_ESCAPES[char]} hexadecimal digits "
                f'as "{char}"',
            )
            return ord(char)
        if char == "c" and _is_control_letter(self.peek()):
            self.position += 1
            return ord(self.text[self.position - 1]) % 32
        if char.isascii() and char.isalnum():
            # Annex B: an escaped letter with no meaning of its own is that letter.
            self.note(start, f'JavaScript reads {_escaped(char)} as "{char}"')
        return ord(char)


def _is_control_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _chars_of(code: int) -> _Chars:
    return _chars((code, code))


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
                    f"{_escaped(chr(92))} for a literal backslash"
                )
                break
            tokens.append(_Token("ESCAPED_CHAR", i, source[i + 1]))
            i += 2
        elif char == "{":
            raise fail(
                f'has an optional group "{{...}}" (position {i}), which Vercel does not support: list each '
                f"variant of the path instead, or escape the brace as {_escaped('{')} to match it literally"
            )
        elif char == "}":
            raise fail(
                f'has an unmatched "}}" (position {i}); escape it as {_escaped("}")} to match it literally'
            )
        elif char == ":":
            end = i + 1
            while end < len(source) and source[end] in _NAME_CHARACTERS:
                end += 1
            if end == i + 1:
                raise fail(
                    f'has a ":" with no parameter name after it (position {i}): name the parameter '
                    f'(letters, digits, "_"), or escape the colon as {_escaped(":")} to match it literally'
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
                    f"parenthesis as {_escaped('(')} to match it literally"
                )
        i += 1
    if depth:
        raise fail(
            f'has a "(" that is never closed (position {start}); escape it as {_escaped("(")} to match '
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
                f"escape it as {_escaped(stray.value)} to match it literally"
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
    tree: _Node
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
    tree: list[_Node] = []
    for token in tokens:
        if isinstance(token, str):
            regex += _escape(token)
            tree.append(_literal(token))
            continue
        pattern, pattern_tree = _param_regex(token, params.index(token) + 1, len(params), fail, notes)
        prefix = _escape(token.prefix)
        if token.modifier:
            regex += f"(?:{prefix}((?:{pattern})(?:{prefix}(?:{pattern}))*))"
            repeated = _Seq((_literal(token.prefix), pattern_tree))
            one_or_more = _Seq((repeated, _Repeat(repeated, at_least_once=False)))
            if token.modifier == "*":
                regex += "?"
            tree.append(_optional(one_or_more) if token.modifier == "*" else one_or_more)
        else:
            regex += f"(?:{prefix}({pattern}))" if prefix else f"({pattern})"
            tree.append(_Seq((_literal(token.prefix), pattern_tree)))
    regex += _END
    tree.append(_optional(_DELIMITER))
    return _Compiled(regex, _Seq(tuple(tree)), _literal_prefix(tokens), tuple(notes))


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
            f"other special characters with a backslash, e.g. {_escaped('(')}"
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


def _param_regex(param: _Param, group: int, groups: int, fail: _Fail, notes: list[str]) -> tuple[str, _Node]:
    """The Python regex of a parameter's segment, and its syntax tree; `group` is the parameter's
    capturing group in the pattern's regex, of `groups`."""
    if param.pattern:
        start = param.index + (len(param.name) + 1 if param.name else 0) + 1

        def fail_at(offset: int, problem: str) -> NoReturn:
            raise fail(f"cannot use the regex of {param.describe()}: {problem} (position {start + offset})")

        parser = _RegexParser(param.pattern, start, group, groups, fail_at)
        tree = parser.parse()
        notes.extend(f"in the regex of {param.describe()}, {note}" for note in parser.notes)
        return _emit(tree), tree
    if param.guard is None:
        return _SEGMENT, _Repeat(_NOT_DELIMITER, at_least_once=True)
    guard = _Seq((_NotFollowedBy(_literal(param.guard)), _NOT_DELIMITER))
    return rf"(?:(?!{_escape(param.guard)})[^\/#\?])+?", _Repeat(guard, at_least_once=True)


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


# --- Public API --------------------------------------------------------------------------------


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


class Overlap(NamedTuple):
    """Two patterns that some pathname matches both: the shortest such pathname, or None when the
    search gave up (only contrived regexes get there) and the patterns may overlap."""

    example: str | None


def find_overlap(a: PathPattern, b: PathPattern) -> Overlap | None:
    """Whether some pathname (an ASCII string) matches both patterns, and which.

    Both patterns run as automata over the same input, one class of characters at a time,
    breadth first, until a pathname is accepted by both or no unexplored pair of states is left.
    Patterns whose leading literal segments differ are answered at once. The automata are exact but
    for word boundaries and back-references, which they over-approximate: a pathname found is checked
    against both regexes before it counts. A search beyond `_OVERLAP_SEARCH_LIMIT` pairs answers
    "may overlap": a false alarm is safe for a warning, a missed overlap is not."""
    if any(x != y for x, y in zip(a.literal_prefix, b.literal_prefix, strict=False)):
        return None
    left, right = _automaton(a.source), _automaton(b.source)
    alphabet = _alphabet(left, right)
    start = (left.initial, right.initial)
    paths = {start: ""}
    pending = collections.deque([start])
    unconfirmed = False
    while pending:
        pair = pending.popleft()
        path = paths[pair]
        if left.accepts(pair[0]) and right.accepts(pair[1]):
            if a.matches(path) and b.matches(path):
                return Overlap(path)
            unconfirmed = True
        for char in alphabet:
            code = ord(char)
            after = (left.step(pair[0], code), right.step(pair[1], code))
            if after[0] and after[1] and after not in paths:
                if len(paths) >= _OVERLAP_SEARCH_LIMIT:
                    return Overlap(None)
                paths[after] = path + char
                pending.append(after)
    return Overlap(None) if unconfirmed else None


# A thread of the automaton: a state, and the states of the lookaheads it must still not complete.
type _Thread = tuple[int, frozenset[int]]


class _Automaton:
    """A Thompson automaton built from a pattern's syntax tree.

    A negative lookahead starts a sub-automaton alongside the thread that passed it; if the
    sub-automaton reaches its end, what it must not be followed by has been seen and the thread
    dies. Threads are kept as sets, so `step` is the subset construction done lazily."""

    def __init__(self, tree: _Node) -> None:
        self.empty: list[list[int]] = []  # transitions that consume nothing
        self.moves: list[list[tuple[_Chars, int]]] = []
        self.lookahead: list[int | None] = []  # the sub-automaton a state starts
        self.forbidden: set[int] = set()  # ends of lookahead sub-automata
        self._steps: dict[tuple[frozenset[_Thread], int], frozenset[_Thread]] = {}
        start = self._state()
        self.final = self._build(tree, start)
        self.initial = frozenset(self._enter(start, frozenset()))

    def _state(self) -> int:
        self.empty.append([])
        self.moves.append([])
        self.lookahead.append(None)
        return len(self.empty) - 1

    def _build(self, node: _Node, start: int) -> int:
        """Adds the states that match `node` from `start`; returns the state where it ends."""
        match node:
            case _Chars():
                end = self._state()
                self.moves[start].append((node, end))
            case _Seq(parts):
                end = start
                for part in parts:
                    end = self._build(part, end)
            case _Alt(options):
                end = self._state()
                for option in options:
                    branch = self._state()
                    self.empty[start].append(branch)
                    self.empty[self._build(option, branch)].append(end)
            case _Repeat(item, at_least_once):
                body = self._state()
                self.empty[start].append(body)
                end = self._state()
                self.empty[self._build(item, body)].extend((body, end))
                if not at_least_once:
                    self.empty[start].append(end)
            case _NotFollowedBy(item):
                end = self._state()
                self.empty[start].append(end)
                sub = self._state()
                self.lookahead[end] = sub
                self.forbidden.add(self._build(item, sub))
            case _Boundary():
                end = start  # over-approximated: `find_overlap` checks what it finds with the regexes
            case _BackReference():
                end = self._build(_Repeat(_ANY, at_least_once=False), start)  # over-approximated too
        return end

    def _settle(self, states: Iterable[int]) -> frozenset[int] | None:
        """Lookahead states after their empty transitions; None once a lookahead is complete."""
        seen = set(states)
        stack = list(seen)
        while stack:
            for target in self.empty[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        if not self.forbidden.isdisjoint(seen):
            return None
        return frozenset(s for s in seen if self.moves[s])

    def _enter(self, state: int, constraints: frozenset[int]) -> Iterator[_Thread]:
        """The threads reachable from `state` without consuming input."""
        stack = [(state, constraints)]
        seen: set[_Thread] = set()
        while stack:
            thread = stack.pop()
            if thread in seen:
                continue
            seen.add(thread)
            state, constraints = thread
            sub = self.lookahead[state]
            if sub is not None:
                started = self._settle((sub,))
                if started is None:
                    continue
                constraints |= started
            if self.moves[state] or state == self.final:
                yield state, constraints
            stack.extend((target, constraints) for target in self.empty[state])

    def step(self, threads: frozenset[_Thread], code: int) -> frozenset[_Thread]:
        known = self._steps.get((threads, code))
        if known is not None:
            return known
        after: set[_Thread] = set()
        for state, constraints in threads:
            targets = [target for chars, target in self.moves[state] if code in chars]
            if not targets:
                continue
            still = self._settle(t for s in constraints for chars, t in self.moves[s] if code in chars)
            if still is None:
                continue
            for target in targets:
                after.update(self._enter(target, still))
        self._steps[threads, code] = result = frozenset(after)
        return result

    def accepts(self, threads: frozenset[_Thread]) -> bool:
        return any(state == self.final for state, _ in threads)

    def character_sets(self) -> Iterator[_Chars]:
        for moves in self.moves:
            for chars, _ in moves:
                yield chars


@functools.lru_cache(maxsize=4096)
def _automaton(source: str) -> _Automaton:
    return _Automaton(_compile(source).tree)


# Which character stands for a class of characters in an example pathname: the first of these it holds.
_PREFERRED = "/abcdefghijklmnopqrstuvwxyz0123456789-_.~" + "".join(
    c for c in map(chr, range(0x21, 0x7F)) if not c.isalnum() and c not in "/-_.~#?"
)


def _alphabet(*automata: _Automaton) -> list[str]:
    """One ASCII character from each class of characters that every transition treats alike, the
    likeliest in a real pathname first.

    Every set is closed under ASCII case, so an upper-case letter behaves like its lower-case twin
    and only the latter is kept; the bounds around both ranges of letters make the twins line up."""
    bounds = {0, 0x41, 0x5B, 0x61, 0x7B, 0x80}
    for automaton in automata:
        for chars in automaton.character_sets():
            for low, high in chars.ranges:
                bounds.update((low, high + 1))
    edges = sorted(b for b in bounds if b <= 0x80)
    chosen = []
    for low, high in itertools.pairwise(edges):
        if 0x41 <= low <= 0x5A:
            continue
        members = [chr(code) for code in range(low, high)]
        chosen.append(min(members, key=_rank))
    return sorted(chosen, key=_rank)


def _rank(char: str) -> int:
    index = _PREFERRED.find(char)
    return index if index >= 0 else len(_PREFERRED) + ord(char)


class PatternIndex[T]:
    """Finds the first of many (pattern, value) entries whose pattern matches a pathname.

    Patterns sit in a trie under their lowercased leading literal segments; a lookup walks the
    pathname's segments down the trie and tests only the patterns met on the way, plus those without
    a literal prefix, in entry order."""

    __slots__ = ("_depth", "_entries", "_match", "_root")

    def __init__(self, entries: Iterable[tuple[PathPattern, T]]) -> None:
        self._entries = tuple(entries)
        self._match = tuple(pattern.regex.match for pattern, _ in self._entries)
        self._root = _TrieNode()
        self._depth = 0
        for index, (pattern, _) in enumerate(self._entries):
            node = self._root
            for segment in pattern.literal_prefix:
                node = node.children.setdefault(segment, _TrieNode())
            node.entries.append(index)
            self._depth = max(self._depth, len(pattern.literal_prefix))

    def lookup(self, pathname: str) -> tuple[PathPattern, T] | None:
        """The first entry, in the order given, whose pattern matches `pathname`; None if none does."""
        node = self._root
        candidates = [node.entries]
        if self._depth and pathname[:1] == "/":
            # A pattern's regex accepts one "#" or "?" after its last segment (path-to-regexp's
            # optional trailing delimiter); trie keys never hold either, so drop it for the walk.
            walk = pathname[:-1] if pathname[-1] in "#?" else pathname
            segments = walk.lower().split("/", self._depth + 1)
            for segment in segments[1 : self._depth + 1]:
                child = node.children.get(segment)
                if child is None:
                    break
                node = child
                if node.entries:
                    candidates.append(node.entries)
        best = len(self._entries)
        for indices in candidates:
            for index in indices:
                if index >= best:
                    break
                if self._match[index](pathname):
                    best = index
                    break
        return self._entries[best] if best < len(self._entries) else None


class _TrieNode:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.entries: list[int] = []  # in entry order
