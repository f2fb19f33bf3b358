"""Validating where an application runs (`development.local`) and where its requests go when it is
down (`development.fallback`): every form Vercel and Turborepo accept, read as Vercel reads it."""

import ipaddress
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from mfe_proxy.config.findings import Findings, child, type_name
from mfe_proxy.config.reader import ConfigObject
from mfe_proxy.errors import quote
from mfe_proxy.model import Origin, generated_port

_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


class OriginsValidator(Findings):
    def local(self, name: str, value: Any, where: str) -> Origin | None:
        if isinstance(value, dict):
            return self.local_object(name, value, where)
        if isinstance(value, int) and not isinstance(value, bool):
            return Origin("http", "localhost", self.port(value, where))
        if not isinstance(value, str):
            self.problem(
                where, f'must be a port, a host, host:port, a URL or {{"port": ...}}, not {type_name(value)}'
            )
            return None
        digits = value.strip()
        if digits.isdecimal() and value.isascii():
            if len(digits.lstrip("0")) > 5:
                # Out of range, and int() refuses text of more than 4300 digits.
                self.problem(where, f"{quote(value)} is not a port number (1 to 65535)")
                return None
            return Origin("http", "localhost", self.port(int(digits), where))
        origin = self.origin(
            value, "http", where, example="localhost:3000", default_port=generated_port(name)
        )
        if origin is not None and origin.port == (443 if origin.scheme == "https" else 80):
            # Vercel's URL parser drops a scheme's own port, and the generated one applies instead.
            origin = replace(origin, port=generated_port(name))
            self.warning(
                where,
                f"{quote(value)} names its scheme's default port, which Vercel reads as no port at all: the "
                f"application is expected on the port generated from its name, {origin.port}, as on Vercel; "
                "leave the port out to say so, or run the application on another port",
            )
        return origin

    def local_object(self, name: str, value: ConfigObject, where: str) -> Origin | None:
        self.keys(value, where, frozenset({"port", "host", "protocol"}), frozenset())
        self.vercel_refuses(
            where,
            "the object form is Turborepo's",
            'its schema takes a number or a string, such as "https://127.0.0.1:3001"',
        )
        port = value.get("port")
        if port is not None and self.expect(port, int, child(where, "port"), "a port number"):
            self.port(port, child(where, "port"))
        host = self.string(value, "host", where)
        if host is not None:
            host = host.strip()
            bracketed = host.startswith("[") and host.endswith("]")
            host = host[1:-1] if bracketed else host
            if not _valid_host(host, bracketed):
                self.problem(child(where, "host"), f"{quote(value['host'])} is not a host name or IP address")
        protocol = self.string(value, "protocol", where)
        if protocol is not None and protocol not in ("http", "https"):
            self.problem(child(where, "protocol"), f'must be "http" or "https", not {quote(protocol)}')
        return Origin(protocol or "http", (host or "localhost").lower(), port or generated_port(name))

    def port(self, value: int, where: str) -> int:
        if not 0 < value < 65536:
            self.problem(where, f"{value} is not a port number (1 to 65535)")
        return value

    def fallback(self, value: Any, where: str) -> Origin | None:
        if not self.expect(value, str, where, 'a host or URL such as "my-app.vercel.app"'):
            return None
        return self.origin(value, "https", where, example="my-app.vercel.app", default_port=None)

    def origin(
        self, value: str, scheme: str, where: str, example: str, default_port: int | None
    ) -> Origin | None:
        """A host, host:port or URL that names an origin and nothing more. Without a port,
        `default_port` or else the scheme's."""
        text = value.strip()
        try:
            parts = urlsplit(text if "://" in text else f"{scheme}://{text}")
            port = parts.port
        except ValueError as error:
            self.problem(where, f"{quote(value)} is not a valid host or URL: {error}")
            return None
        if parts.scheme not in ("http", "https"):
            self.problem(where, f'{quote(value)}: the protocol must be http or https, not "{parts.scheme}"')
            return None
        bracketed = "[" in parts.netloc.rpartition("@")[2]
        if not parts.hostname or not _valid_host(parts.hostname, bracketed):
            self.problem(where, f"{quote(value)} has no valid host name")
            return None
        extra = [
            label
            for label, present in (
                ("a path", parts.path not in ("", "/")),
                ("a query", bool(parts.query)),
                ("a fragment", bool(parts.fragment)),
                ("credentials", parts.username is not None),
            )
            if present
        ]
        if extra:
            self.problem(
                where,
                f'{quote(value)} has {" and ".join(extra)}; write an origin only, like "{scheme}://{example}"',
            )
            return None
        if port is None:
            port = default_port or (443 if parts.scheme == "https" else 80)
        return Origin(parts.scheme, parts.hostname, self.port(port, where))


def _valid_host(host: str, bracketed: bool) -> bool:
    """An IP address (only IPv6 within brackets), or a DNS name whose last label is not a number:
    the URL standard reads a host that ends in a number as an IPv4 address, so `999.0.0.1` and
    `127.0.0.1.1` are typos, not names."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (
            not bracketed
            and _HOST_NAME.fullmatch(host) is not None
            and not host.rstrip(".").rpartition(".")[2].isdigit()
        )
    return address.version == 6 or not bracketed
