"""Which hosts the proxy answers for: the defence against DNS rebinding and against pages on other sites
opening WebSockets through it. Pure: the addon asks `AllowedHosts.check_host` and `check_origin`.

A page on an attacker's site can make the browser send requests to 127.0.0.1 under the attacker's own
host name (DNS rebinding), or open a WebSocket to it from the attacker's origin. Either carries a Host or
an Origin that is not ours, so both are checked against the hosts a developer uses locally.
"""

import re
from collections.abc import Iterable
from typing import NamedTuple

from mfe_proxy.errors import MfeError

DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]", "*.localhost")
ANY_HOST = "*"

# RFC 3986 host: a bracketed IPv6 address, or a registered name / IPv4 address (no percent-encoding,
# which no browser sends in Host). Then an optional port of at most 5 digits.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?)(?::(\d{1,5}))?")
_ORIGIN = re.compile(r"(https?)://([^/?#@]+)")
_MAX_CACHED = 1024


class HostsError(MfeError):
    """A bad `mfe_allowed_hosts` value."""


class Refusal(NamedTuple):
    """Why a Host or an Origin is refused."""

    status: int  # 400 (malformed) or 403 (not allowed)
    host: str  # the host name asked for, lower case, no port ("" when malformed)


_UNSEEN = Refusal(0, "")  # a cache lookup's answer for a value not seen yet


def hostname(value: str, port_allowed: bool = True) -> str | None:
    """The host name in a Host header value (lower case, without port or trailing dot), or None when
    the value is not a valid host (or has a port where none is allowed)."""
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    port = match.group(2)
    if port is not None and not (port_allowed and 0 < int(port) <= 65535):
        return None
    name = match.group(1).lower()
    return name[:-1] if name.endswith(".") else name


class AllowedHosts:
    """Host names the proxy serves: exact names, `*.suffix` for any subdomain, or `*` for any."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.any = False
        for entry in (*DEFAULT_ALLOWED_HOSTS, *extra):
            self._add(entry)
        # Browsers send the same few Host and Origin values over and over; the answers are cached.
        self._hosts: dict[str, Refusal | None] = {}
        self._origins: dict[str, Refusal | None] = {}

    @classmethod
    def parse(cls, option: str) -> "AllowedHosts":
        """From the `mfe_allowed_hosts` option: comma-separated host names, `*.suffix` or `*`."""
        return cls(entry.strip() for entry in option.split(",") if entry.strip())

    def _add(self, entry: str) -> None:
        if entry == ANY_HOST:
            self.any = True
            return
        wildcard = entry.startswith("*.")
        name = hostname(entry[2:] if wildcard else entry, port_allowed=False)
        if name is None:
            raise HostsError(
                f"mfe_allowed_hosts: {entry!r} is not a host name; give names such as 'myapp.test', "
                "'*.myapp.test' (any subdomain) or '*' (any host, which turns the check off), "
                "separated by commas and without ports"
            )
        if wildcard:
            self.suffixes.append("." + name)
        else:
            self.names.add(name)

    def allows(self, name: str) -> bool:
        return self.any or name in self.names or name.endswith(tuple(self.suffixes))

    def check_host(self, values: list[str]) -> Refusal | None:
        """Whether a request's Host header fields are refused: 400 unless exactly one valid value, 403
        when its host is not allowed; None when it is."""
        if len(values) != 1:
            return Refusal(400, "")
        value = values[0]
        refusal = self._hosts.get(value, _UNSEEN)
        if refusal is _UNSEEN:
            name = hostname(value)
            if name is None:
                refusal = Refusal(400, "")
            elif self.allows(name):
                refusal = None
            else:
                refusal = Refusal(403, name)
            _remember(self._hosts, value, refusal)
        return refusal

    def check_origin(self, value: str) -> Refusal | None:
        """Whether a WebSocket upgrade's Origin is refused: 403 unless it is an http(s) origin on an
        allowed host (`null`, which sandboxed and file pages send, included); None when it is not."""
        refusal = self._origins.get(value, _UNSEEN)
        if refusal is _UNSEEN:
            match = _ORIGIN.fullmatch(value)
            name = hostname(match.group(2)) if match else None
            refusal = None if name is not None and self.allows(name) else Refusal(403, name or value)
            _remember(self._origins, value, refusal)
        return refusal


def _remember(cache: dict[str, Refusal | None], key: str, refusal: Refusal | None) -> None:
    # Bounded, since a client chooses the keys.
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = refusal
