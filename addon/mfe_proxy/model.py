"""The data model of a microfrontends config: dataclasses only, built by `mfe_proxy.config` (which
reads and validates a file) and read by the router, the pages and the status endpoint."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from mfe_proxy.paths.expressions import PathPattern

DEFAULT_PROXY_PORT = 3024


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port of an upstream or a fallback."""

    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"


@dataclass(frozen=True, slots=True)
class Route:
    """One routing group of an application: its path patterns, and the flag that gates them, if any."""

    paths: tuple[PathPattern, ...]
    group: str | None = None
    flag: str | None = None


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    upstream: Origin
    fallback: Origin | None
    routes: tuple[Route, ...]
    # The first is the prefix the application's assets are built with; all are routed to it.
    asset_prefixes: tuple[str, ...]
    package_name: str | None = None
    task: str | None = None
    # The one application without `routing`: it serves every path no other application claims.
    is_default: bool = False
    # A child application without a fallback of its own has the default application's.
    inherits_fallback: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    file: str
    applications: Mapping[str, Application]
    default_application: Application
    proxy_port: int = DEFAULT_PROXY_PORT
    version: str | None = None
    # What the file does that Vercel would not (refuse it on deploy, or read it other than meant),
    # each "field path: what and why"; the proxy logs them with the file's name.
    warnings: tuple[str, ...] = field(default=())

    def routing_order(self) -> list[Application]:
        """The child applications in the order Vercel's proxy tries their paths: JavaScript's order of
        an object's keys, which puts names that are array indices ("2024") first, in numeric order,
        and the others as written in the file. The order decides only where paths overlap."""
        children = [app for app in self.applications.values() if not app.is_default]
        return sorted(children, key=lambda app: javascript_key(app.name))


_MAX_ARRAY_INDEX = 2**32 - 2


def javascript_key(name: str) -> tuple[bool, int]:
    """Sort key for JavaScript's order of an object's keys: (False, index) for an array index, (True,
    0) for any other name, which then keeps its place."""
    if name.isascii() and name.isdecimal() and (name == "0" or not name.startswith("0")):
        index = int(name)
        if index <= _MAX_ARRAY_INDEX:
            return False, index
    return True, 0


def generated_port(name: str) -> int:
    """The development port of an application that does not name one: JavaScript's 32-bit
    `hash = hash * 31 + charCode` over the name's UTF-16 code units, then 3000 + |hash| % 5000."""
    data = name.encode("utf-16-le", "surrogatepass")
    value = 0
    for i in range(0, len(data), 2):
        value = (value * 31 + int.from_bytes(data[i : i + 2], "little")) & 0xFFFFFFFF
    signed = value - (1 << 32) if value & 0x80000000 else value
    return 3000 + abs(signed) % 5000


def default_asset_prefix(name: str) -> str:
    return "vc-ap-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:6]
