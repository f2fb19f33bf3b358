"""The syntax tree of a path pattern's regex, for the overlap automaton, and its Python source.

A path pattern compiles to a regex; its syntax tree says the same as a tree of character sets,
sequences, alternatives, repetitions and assertions (`path_expressions` builds it, `jsregex` reads a
parameter's JavaScript regex into it). `emit` writes a tree out as Python `re` source; `overlap` runs
it as an automaton.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

# --- Character sets ----------------------------------------------------------------------------
# A set is a sorted tuple of disjoint inclusive code point ranges. Every set in a pattern's syntax
# tree is closed under ASCII case, the way JavaScript's `i` flag canonicalizes both the input and
# the class before testing membership; that is also what makes a negated class safe to write out.

MAX_CODE_POINT = 0x10FFFF
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
    if start <= MAX_CODE_POINT:
        gaps.append((start, MAX_CODE_POINT))
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
class Chars:
    ranges: _Ranges

    def __contains__(self, code: int) -> bool:
        index = bisect.bisect_right(self.ranges, (code, MAX_CODE_POINT))
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


def chars(*ranges: tuple[int, int], negated: bool = False) -> Chars:
    folded = _fold(ranges)
    return Chars(_complement(folded) if negated else folded)


# --- Syntax trees ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seq:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    item: Node
    at_least_once: bool


@dataclass(frozen=True, slots=True)
class NotFollowedBy:
    item: Node


@dataclass(frozen=True, slots=True)
class Boundary:
    """`\\b` (or `\\B` when `negated`): the same in both dialects with ASCII word characters."""

    negated: bool


@dataclass(frozen=True, slots=True)
class BackReference:
    """`\\n` naming the capturing group of an earlier parameter: the text that parameter matched."""

    group: int


type Node = Chars | Seq | Alt | Repeat | NotFollowedBy | Boundary | BackReference


# JavaScript's `^` and `$` in a parameter: no parameter starts a pathname, so `^` never matches, and `$`
# is the end of the pathname.
NEVER = Chars(())
ANY = chars((0, MAX_CODE_POINT))
END_OF_PATH = NotFollowedBy(ANY)


def literal(text: str) -> Seq:
    return Seq(tuple(chars((ord(c), ord(c))) for c in text))


def optional(node: Node) -> Alt:
    return Alt((node, Seq(())))


def emit(node: Node) -> str:
    """Python source for a parsed parameter regex."""
    match node:
        case Chars():
            return node.source()
        case Seq(parts):
            return "".join(f"(?:{emit(p)})" if isinstance(p, Alt) else emit(p) for p in parts)
        case Alt(options):
            return "|".join(emit(option) for option in options)
        case Repeat(item, at_least_once):
            return emit(item) + ("+" if at_least_once else "*")
        case NotFollowedBy(item):
            return f"(?!{emit(item)})"
        case Boundary(negated):
            return r"\B" if negated else r"\b"
        case BackReference(group):
            return f"(?:\\{group})"
