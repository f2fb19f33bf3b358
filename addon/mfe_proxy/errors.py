"""The project's own error types: everything the pure modules raise derives from ``MfeError``."""

import json
from typing import NamedTuple


class MfeError(Exception):
    """Base of every error mfe-proxy raises on purpose."""


class ConfigProblem(NamedTuple):
    """One thing wrong with a config: where (a field path, or a line and column) and what."""

    where: str
    message: str


class ConfigError(MfeError):
    """A config that cannot be used; `str()` names the file and lists every problem."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"{where}: {message}" if where else message for where, message in self.problems]
        if len(lines) == 1:
            return f"{self.file}: {lines[0]}"
        return f"{self.file}: {len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)


class PathPatternError(MfeError):
    """A path pattern that cannot be compiled; the message says what is wrong, for a person."""


def quote(value: object) -> str:
    """A config value as it would be written in the JSON file, for messages; non-ASCII kept readable.
    A lone surrogate (JSON's `"\\ud800"`) stays escaped: a message holding one could not be printed."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()


def escaped(char: str) -> str:
    """How to write `char` escaped with a backslash, quoted as in the JSON config file."""
    return quote("\\" + char)
