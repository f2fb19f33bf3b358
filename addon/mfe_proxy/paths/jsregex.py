"""A path parameter's own regex (`:lang(en|fr)`, `:path((?!api|blog).*)`), which is JavaScript: read
into a syntax tree (`regex_tree`) with JavaScript's meaning, Annex B included, to be written out again
in Python syntax."""

import string
from collections.abc import Callable
from typing import NoReturn

from mfe_proxy.errors import escaped
from mfe_proxy.paths.tree import (
    END_OF_PATH,
    NEVER,
    Alt,
    BackReference,
    Boundary,
    Chars,
    Node,
    NotFollowedBy,
    Repeat,
    Seq,
    chars,
)

# JavaScript's `\s` (WhiteSpace and LineTerminator), wider than Python's.
_JS_SPACE = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
)  # fmt: skip
_DIGIT = ((0x30, 0x39),)
_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_CLASS_ESCAPES = {
    "d": chars(*_DIGIT),
    "D": chars(*_DIGIT, negated=True),
    "w": chars(*_WORD),
    "W": chars(*_WORD, negated=True),
    "s": chars(*_JS_SPACE),
    "S": chars(*_JS_SPACE, negated=True),
}
_CONTROL_ESCAPES = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
_HEX_ESCAPES = {"x": 2, "u": 4}
# JavaScript's `.` without the `s` flag: anything but a line terminator.
_DOT = chars((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029), negated=True)


class RegexParser:
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

    def parse(self) -> Node:
        node = self.alternatives(nested=False)
        if self.position < len(self.text):
            self.fail(self.position, '")" has no matching "("')
        return node

    def alternatives(self, *, nested: bool) -> Node:
        options = [self.sequence(nested=nested)]
        while self.peek() == "|":
            self.position += 1
            options.append(self.sequence(nested=nested))
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def sequence(self, *, nested: bool) -> Node:
        parts: list[Node] = []
        while self.position < len(self.text) and self.peek() not in "|)":
            atom = self.atom(nested=nested)
            if self.peek() in ("*", "+"):
                if isinstance(atom, Boundary) or atom is NEVER or atom is END_OF_PATH:
                    self.fail(self.position, f'"{self.peek()}" cannot repeat the assertion before it')
                atom = Repeat(atom, self.peek() == "+")
                self.position += 1
            parts.append(atom)
        return parts[0] if len(parts) == 1 else Seq(tuple(parts))

    def peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def note(self, start: int, reading: str) -> None:
        self.notes.append(f"{reading} (position {self.offset + start})")

    def atom(self, *, nested: bool) -> Node:
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
                return NotFollowedBy(inner)
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
                return NEVER
            case "$":
                self.note(start, 'JavaScript reads "$" as the end of the path, so nothing may follow it')
                return END_OF_PATH
            case ".":
                return _DOT
            case "[":
                return self.character_class(start)
            case "\\":
                return self.escape(start)
        return chars((ord(char), ord(char)))

    def character_class(self, start: int) -> Chars:
        negated = self.peek() == "^"
        self.position += negated
        members: list[tuple[int, int]] = []
        while self.peek() != "]":
            if not self.peek():
                self.fail(start, 'the "[" is never closed')
            low = self.class_atom()
            if self.peek() != "-" or self.text[self.position + 1 : self.position + 2] in ("]", ""):
                members.extend(low.ranges if isinstance(low, Chars) else ((low, low),))
                continue
            self.position += 1
            high = self.class_atom()
            if isinstance(low, Chars) or isinstance(high, Chars):
                # Annex B: a range with a class escape at either end is the union of both ends and "-".
                for end in (low, high):
                    members.extend(end.ranges if isinstance(end, Chars) else ((end, end),))
                members.append((0x2D, 0x2D))
            elif low > high:
                self.fail(start, f'the range "{chr(low)}-{chr(high)}" is out of order')
            else:
                members.append((low, high))
        self.position += 1
        return chars(*members, negated=negated)

    def class_atom(self) -> Chars | int:
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

    def escape(self, start: int) -> Node:
        """The escape whose backslash is at `start`, outside a class."""
        char = self.peek()
        if char in "bB":
            self.position += 1
            return Boundary(char == "B")
        if char.isdecimal() and char.isascii() and char != "0":
            end = self.position
            while self.text[end : end + 1].isdecimal() and self.text[end].isascii():
                end += 1
            group = int(self.text[self.position : end])
            if group <= self.groups:
                self.position = end
                return self.back_reference(start, group)
        if char == "c" and not _is_control_letter(self.text[self.position + 1 : self.position + 2]):
            self.note(start, f'JavaScript reads {escaped("c")} without a letter as a backslash and a "c"')
            return chars((0x5C, 0x5C))
        if char.isdecimal() and char.isascii():
            return _chars_of(self.octal(start))
        single = self.character_escape(start)
        return single if isinstance(single, Chars) else _chars_of(single)

    def back_reference(self, start: int, group: int) -> Node:
        if group < self.group:
            self.note(start, f"JavaScript reads {escaped(str(group))} as the text parameter {group} matched")
            return BackReference(group)
        # The group is this parameter's own, still being matched, or a later one: JavaScript matches
        # nothing there.
        self.note(
            start, f"JavaScript reads {escaped(str(group))} as nothing: group {group} has not matched yet"
        )
        return Seq(())

    def octal(self, start: int) -> int:
        """Annex B: a digit escape that names no group. "\\8" and "\\9" are the digits themselves;
        otherwise up to three octal digits, at most 0o377, are one character."""
        first = self.peek()
        self.position += 1
        if first in "89":
            self.note(start, f'JavaScript reads {escaped(first)} as "{first}"')
            return ord(first)
        digits = first
        limit = 3 if first in "0123" else 2
        while len(digits) < limit and self.peek() in tuple("01234567"):
            digits += self.peek()
            self.position += 1
        if digits != "0":
            self.note(start, f"JavaScript reads {escaped(digits)} as the character U+{int(digits, 8):04X}")
        return int(digits, 8)

    def character_escape(self, start: int) -> Chars | int:
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
                f"JavaScript reads {escaped(char)} not followed by {_HEX_ESCAPES[char]} hexadecimal digits "
                f'as "{char}"',
            )
            return ord(char)
        if char == "c" and _is_control_letter(self.peek()):
            self.position += 1
            return ord(self.text[self.position - 1]) % 32
        if char.isascii() and char.isalnum():
            # Annex B: an escaped letter with no meaning of its own is that letter.
            self.note(start, f'JavaScript reads {escaped(char)} as "{char}"')
        return ord(char)


def _is_control_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _chars_of(code: int) -> Chars:
    return chars((code, code))
