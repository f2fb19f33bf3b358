"""Path pattern regexes rewritten for nginx: Python `re` source in, PCRE (nginx's `~*` regexes) out.

The pattern compiler (`compile_pattern`) writes each path pattern as a Python regex over the WHATWG pathname
(percent-encoded ASCII). nginx tests it against the request's raw path instead, in PCRE without UTF
mode, so one byte is one character. The two dialects agree on everything the compiler emits but:

- `\\Z`, Python's end of string, is PCRE's `\\z` (PCRE's `\\Z` also matches before a final newline);
- `\\v`, `\\uHHHH` and `\\UHHHHHHHH` mean other things or nothing in PCRE: every character is written
  as `\\xHH`, and code points above 0xFF, which no byte is, leave their class;
- `\\N` back-references are written `\\g{N}`, which PCRE never reads as an octal escape;
- bytes that a pathname never holds raw (space, controls, `"<>\\`{}^`, DEL and everything above ASCII:
  WHATWG percent-encodes them) can reach nginx raw. A literal such character in a pattern never
  matches a pathname, so it becomes `(?!)`; a class lets such a byte through when it lets `%` through,
  the first character of its encoded form; and a literal `%HH` that names such a byte also matches the
  raw byte, so `/caf%C3%A9` matches a raw UTF-8 `/café` as the proxy does.
"""

import re

from mfe_proxy.errors import MfeError

# Bytes a WHATWG pathname never holds unencoded (its path percent-encode set, non-ASCII included).
_ENCODED = frozenset(range(0x21)) | frozenset(b'"<>`{}^') | frozenset(range(0x7F, 0x100))
_NEVER = "(?!)"
# What PCRE reads as syntax, outside a class and inside one.
_SPECIAL = "\\^$.|?*+()[]{}"
_CLASS_SPECIAL = "\\]^-["
_HEX = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}
# Structure the compiler emits, copied as it is: PCRE reads it the same.
_STRUCTURE = ("(?:", "(?!", "*?", "+?", "(", ")", "|", "*", "+", "?", "^")


class PcreError(MfeError):
    """A regex construct this translation does not know; the compiler never emits one today."""


def to_pcre(source: str) -> str:
    """The PCRE form of `source`, a regex the pattern compiler wrote, for nginx's `~*`."""
    return _Translator(source).translate()


def _byte(code: int) -> str:
    return f"\\x{code:02x}"


class _Translator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0

    def fail(self, problem: str) -> PcreError:
        return PcreError(
            f"cannot translate the regex {self.source!r} for nginx: {problem} at {self.position}"
        )

    def translate(self) -> str:
        out: list[str] = []
        while self.position < len(self.source):
            structure = next((s for s in _STRUCTURE if self.source.startswith(s, self.position)), None)
            if structure is not None:
                out.append(structure)
                self.position += len(structure)
            elif self.source[self.position] == "[":
                out.append(self.character_class())
            elif self.source.startswith("\\Z", self.position):
                out.append("\\z")
                self.position += 2
            elif self.source[self.position] == "\\" and self.source[
                self.position + 1 : self.position + 2
            ] in (
                "b",
                "B",
            ):
                out.append(self.source[self.position : self.position + 2])
                self.position += 2
            elif (
                self.source[self.position] == "\\"
                and self.source[self.position + 1 : self.position + 2].isdigit()
            ):
                digits = re.match(r"\d+", self.source[self.position + 1 :])
                assert digits is not None
                out.append(f"\\g{{{digits.group()}}}")
                self.position += 1 + len(digits.group())
            else:
                out.append(self.literal())
        return "".join(out)

    def literal(self) -> str:
        """One character outside a class, with `%HH` naming a byte that is sent percent-encoded also
        matching the raw byte."""
        code = self.character()
        if code in _ENCODED:
            return _NEVER
        if code == 0x25:
            after = self.position
            digits = [self.character() if self.position < len(self.source) else -1 for _ in range(2)]
            text = "".join(chr(d) for d in digits if d >= 0)
            if len(text) == 2 and set(text) <= _HEX and int(text, 16) in _ENCODED:
                return f"(?:%{text}|{_byte(int(text, 16))})"
            self.position = after
        return _escaped(code)

    def character(self) -> int:
        """The code point of the character (or character escape) at the current position."""
        char = self.source[self.position]
        if char != "\\":
            self.position += 1
            return ord(char)
        escape = self.source[self.position + 1 : self.position + 2]
        if not escape:
            raise self.fail("a lone backslash")
        if escape in _SIMPLE_ESCAPES:
            self.position += 2
            return _SIMPLE_ESCAPES[escape]
        if escape in _HEX_ESCAPE_LENGTHS:
            length = _HEX_ESCAPE_LENGTHS[escape]
            digits = self.source[self.position + 2 : self.position + 2 + length]
            if len(digits) != length or not set(digits) <= _HEX:
                raise self.fail(f"a malformed \\{escape} escape")
            self.position += 2 + length
            return int(digits, 16)
        if escape.isalnum():
            raise self.fail(f"the escape \\{escape}")
        self.position += 2
        return ord(escape)

    def character_class(self) -> str:
        """A `[...]` class as the set of bytes it matches in a raw path."""
        self.position += 1
        negated = self.source.startswith("^", self.position)
        self.position += negated
        members: set[int] = set()
        first = True
        while first or not self.source.startswith("]", self.position):
            first = False
            if self.position >= len(self.source):
                raise self.fail("an unclosed class")
            low = self.character()
            high = low
            if self.source.startswith("-", self.position) and not self.source.startswith("-]", self.position):
                self.position += 1
                high = self.character()
            members.update(range(low, min(high, 0xFF) + 1))
        self.position += 1
        matched = set(range(0x100)) - members if negated else members
        # A raw byte that a pathname holds percent-encoded stands for "%HH": it passes where "%" does.
        matched = (matched - _ENCODED) | (_ENCODED if 0x25 in matched else set())
        return _byte_class(matched)


def _escaped(code: int, special: str = _SPECIAL) -> str:
    """One byte in PCRE: itself where it means itself (in a class when `special` is `_CLASS_SPECIAL`)."""
    if code < 0x21 or code >= 0x7F:
        return _byte(code)
    char = chr(code)
    return "\\" + char if char in special else char


def _byte_class(members: set[int]) -> str:
    if not members:
        return _NEVER
    excluded = set(range(0x100)) - members
    if not excluded:
        return r"[\x00-\xff]"
    # The shorter of the class and its complement, so that `[^#/?]` reads as written in the pattern.
    negated = len(excluded) < len(members)
    ranges: list[tuple[int, int]] = []
    for code in sorted(excluded if negated else members):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    body = "".join(
        _escaped(low, _CLASS_SPECIAL)
        if low == high
        else f"{_escaped(low, _CLASS_SPECIAL)}-{_escaped(high, _CLASS_SPECIAL)}"
        for low, high in ranges
    )
    return f"[{'^' if negated else ''}{body}]"
