"""The project's own error types: everything the pure modules raise derives from ``MfeError``."""

import json


class MfeError(Exception):
    """Base of every error mfe-proxy raises on purpose."""


class PathPatternError(MfeError):
    """A path pattern that cannot be compiled; the message says what is wrong, for a person."""


def quote(value: object) -> str:
    """A config value as it would be written in the JSON file, for messages; non-ASCII kept readable.
    A lone surrogate (JSON's `"\\ud800"`) stays escaped: a message holding one could not be printed."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()
