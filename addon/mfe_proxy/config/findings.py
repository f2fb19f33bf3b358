"""What validating a config finds: problems, which make it unusable, and warnings, which do not, each
at a field path (`applications.docs.routing[0].paths[1]`); and the checks every part of the
validation makes. The validators (`validate`, `origins`, `routes`) extend `Findings`."""

import re
from typing import TYPE_CHECKING, Any

from mfe_proxy.errors import ConfigProblem, quote

if TYPE_CHECKING:
    from mfe_proxy.config.reader import ConfigObject


def child(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if re.fullmatch(r"[A-Za-z_$][\w$-]*", key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{quote(key)}]"


def type_name(value: Any) -> str:
    # JSON's 3000.5 and 3000.0 are floats; no field takes one, and "a number" would not say why.
    names = {bool: "a boolean", int: "a number", float: "a decimal number", str: "a string", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), type(value).__name__)


class Findings:
    """Problems and warnings about one file, and the checks that add to them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []
        self.warnings: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(ConfigProblem(where, message))

    def warning(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}" if where else message)

    def vercel_refuses(self, where: str, what: str, why: str) -> None:
        """Something this proxy serves but Vercel refuses: said at start-up, not found at deploy."""
        self.warning(where, f"{what}; Vercel refuses this config ({why}), so a deploy with it fails")

    def expect(self, value: Any, kind: type, where: str, description: str) -> bool:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.problem(where, f"must be {description}, not {type_name(value)}")
        return ok

    def keys(self, obj: "ConfigObject", where: str, known: frozenset[str], ignored: frozenset[str]) -> None:
        for key in obj.repeated:
            self.problem(child(where, key), "appears more than once; keep one")
        for key in obj:
            if key not in known and key not in ignored:
                allowed = ", ".join(sorted(known))
                self.problem(child(where, key), f"unknown key (expected one of: {allowed})")

    def string(self, obj: "ConfigObject", key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None or not self.expect(value, str, child(where, key), "a string"):
            return None
        if not value.strip():
            self.problem(child(where, key), "must not be empty")
            return None
        return value
