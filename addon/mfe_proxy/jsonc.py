"""JSON with comments (JSONC), the dialect of `microfrontends.json` files: `//` and `/* */` comments
and trailing commas, nothing more.

Comments and trailing commas are blanked out in place (newlines kept), so the standard `json` module
parses the result and its error positions are positions in the original text. The JSONC libraries on
PyPI were no fit: `json5` accepts a much larger language (unquoted keys, single quotes, hex numbers),
`commentjson` is unmaintained and reports positions in its own grammar's terms.
"""

import json
import re
from collections.abc import Callable
from typing import Any


class JsoncSyntaxError(ValueError):
    """A syntax error at a 1-based line and column of the original text."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


_LONG_NUMBER = re.compile(r"-?[0-9]{4301,}")


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def strip_jsonc(text: str) -> str:
    """Return `text` with comments and trailing commas replaced by spaces (same length, same lines)."""
    out = list(text)
    last_comma: int | None = None  # a comma followed so far only by blanks and comments
    previous = ""  # the last character outside strings and comments that is not a blank
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            # Skip the string; the json module reports a bad or unterminated one itself.
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            last_comma = None
            previous = char
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise JsoncSyntaxError("unterminated /* comment", *_position(text, i))
            out[i : end + 2] = (c if c == "\n" else " " for c in text[i : end + 2])
            i = end + 2
        else:
            if char in "}]" and last_comma is not None:
                out[last_comma] = " "
            if char == ",":
                # Only a comma after a value is a trailing comma; leave `, ,`, `[,` and `{"a": ,`
                # for the json module to report where they are.
                last_comma = i if previous not in ("", "{", "[", ",", ":") else None
            elif not char.isspace():
                last_comma = None
            if not char.isspace():
                previous = char
            i += 1
    return "".join(out)


def loads(text: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any]) -> Any:
    """Parse JSONC text; raise `JsoncSyntaxError` (never another error) when it is not valid."""
    stripped = strip_jsonc(text)
    try:
        return json.loads(stripped, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as error:
        raise JsoncSyntaxError(error.msg, error.lineno, error.colno) from None
    except RecursionError:
        raise JsoncSyntaxError("nested too deeply", 1, 1) from None
    except ValueError:
        # The one other error json raises: an integer of more digits than Python converts (4300).
        number = _LONG_NUMBER.search(stripped)
        position = _position(text, number.start() if number else 0)
        raise JsoncSyntaxError("a number has too many digits", *position) from None
