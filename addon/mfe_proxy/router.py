"""Routing decisions: which application serves a request, and why.

Pure logic, no mitmproxy import; the addon turns a decision into what happens to the flow. The order
is Vercel's local proxy's: reserved proxy endpoints, the `x-vercel-mfe-zone` override, asset
prefixes, child applications' path patterns (flags applied), then the default application. Paths are
matched the way Vercel's proxy sees them, as the WHATWG URL pathname of the request target (dot
segments resolved, `\\` read as `/`, nothing percent-decoded), while the request is forwarded as the
client sent it. The README's "Routing semantics" section lists each choice and why.
"""

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple
from urllib.parse import parse_qsl, quote_from_bytes, unquote

import ada_url

from mfe_proxy.config import Application, Config, Origin
from mfe_proxy.patterns import PatternIndex

ROUTING_ENDPOINT = "/.well-known/vercel/microfrontends/routing"
PROXY_ENDPOINT_PREFIX = "/.well-known/mfe-proxy/"
FLAG_PARAMETER = "vercel-mfe-flag-value"
FLAG_HEADER = "x-vercel-mfe-flag-value"
ZONE_HEADER = "x-vercel-mfe-zone"

# A pathname containing none of these is already what the WHATWG URL parser would make of it.
_NEEDS_URL_PARSER = re.compile(r"""/\.|%2e|\\|[^\x21-\x7e]|["<>`{}^#]""", re.IGNORECASE)
_ASCII = "".join(map(chr, range(128)))
_REPEATED_SLASHES = re.compile(r"[/\\]{2,}")
_FLAG_PAIR = re.compile(rf"(?:^|&){re.escape(FLAG_PARAMETER)}=([^&]*)")
_FLAG_VALUES = {"true": True, "false": False}

# Next.js dev endpoints a page always requests at the root, whichever application served the page.
_BY_REFERER = frozenset({"/__nextjs_original-stack-frame", "/__nextjs_original-stack-frames"})
_IMAGE_OPTIMIZER = "/_next/image"
_SOURCE_MAP = "/__nextjs_source-map"


class Reason(enum.StrEnum):
    """Why a request went to its application."""

    PATH = "path"
    ASSET_PREFIX = "asset prefix"
    ZONE_HEADER = "zone header"
    FLAG_UNSET = "flag not set"
    NEXTJS = "Next.js dev endpoint"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request to `application` (at `upstream`, or at `fallback` when that is down)."""

    application: Application
    reason: Reason
    detail: str  # the path pattern, asset prefix or flag behind the reason; "" for the default
    upstream: Origin
    fallback: Origin | None
    target: str | None = None  # the request target to forward instead of the client's, if changed
    flag_value: bool | None = None  # to forward as the x-vercel-mfe-flag-value header

    @property
    def label(self) -> str:
        """`docs: /docs/:path*`, the form shown in logs and in mitmweb's flow comment."""
        return f"{self.application.name}: {self.detail or self.reason}"


@dataclass(frozen=True, slots=True)
class Redirect:
    """Answer with a redirect; the proxy's own, never forwarded."""

    location: str
    status: int = 307


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A request for one of the proxy's own endpoints (`routing`, or a name under /.well-known/mfe-proxy/)."""

    name: str


@dataclass(frozen=True, slots=True)
class Reject:
    """A request no application should see; answer with `status`."""

    status: int
    message: str


type Decision = Forward | Redirect | Endpoint | Reject


class _Candidate(NamedTuple):
    forward: Forward
    flag: str | None
    # For a flagged path: where the request goes while the flag is not set. Vercel's proxy sends it
    # to the default application, whose middleware evaluates the flag and sends the request back
    # with x-vercel-mfe-zone when it is on.
    unset: Forward | None


def pathname(target: str) -> str:
    """The pathname Vercel's proxy matches: `new URL("http://host" + target).pathname`."""
    return _pathname_of_path(target.partition("?")[0])


def _pathname_of_path(path: str) -> str:
    """`pathname` of a target whose query is already off."""
    if _NEEDS_URL_PARSER.search(path) is None:
        return path
    if not path.isascii():
        # mitmproxy hands over undecodable bytes as lone surrogates ("surrogateescape"); encoding
        # every non-ASCII byte as %XX is what the URL parser does to valid UTF-8 anyway.
        path = quote_from_bytes(path.encode("utf-8", "surrogateescape"), safe=_ASCII)
    return ada_url.URL("http://localhost" + path).pathname


class Router:
    """Decides, for every request, which application serves it; built once per config."""

    def __init__(self, config: Config, local_applications: Collection[str] | None = None) -> None:
        """`local_applications` names the applications run locally (all when None); Next.js's source
        map endpoint goes to the first of them."""
        self.config = config
        default = config.default_application
        self._default = Forward(default, Reason.DEFAULT, "", default.upstream, default.fallback)
        first_local = next(
            (
                app
                for app in (default, *config.applications.values())
                if local_applications is None or app.name in local_applications
            ),
            default,
        )
        self._source_map = Forward(
            first_local,
            Reason.NEXTJS,
            f"{_SOURCE_MAP} (first local application)",
            first_local.upstream,
            first_local.fallback,
        )
        self._zones = {
            name: Forward(app, Reason.ZONE_HEADER, ZONE_HEADER, app.upstream, app.fallback)
            for name, app in config.applications.items()
        }
        self._asset_prefixes = {
            prefix: Forward(app, Reason.ASSET_PREFIX, f"/{prefix}/", app.upstream, app.fallback)
            for app in config.applications.values()
            for prefix in app.asset_prefixes
        }
        entries = [
            (pattern, self._candidate(app, pattern.source, route.flag))
            for app in config.applications.values()
            for route in app.routes
            for pattern in route.paths
        ]
        self._paths = PatternIndex(entries)
        self._unflagged_paths = (
            PatternIndex(entry for entry in entries if entry[1].flag is None)
            if any(candidate.flag for _, candidate in entries)
            else self._paths
        )

    def route(self, method: str, target: str, headers: Mapping[str, str]) -> Decision:
        """Decide for one request. `target` is the request target as sent (path and query);
        `headers` must look names up case-insensitively (mitmproxy's `Headers` does)."""
        if not target.startswith("/"):
            if method == "OPTIONS" and target == "*":
                return self._default
            if method == "CONNECT":
                return Reject(
                    405, "CONNECT is not supported: this is a reverse proxy for the configured applications"
                )
            return Reject(400, "the request target must be a path starting with /")
        path, question, query = target.partition("?")
        if "//" in path or "\\" in path:
            collapsed = _REPEATED_SLASHES.sub("/", path)
            if collapsed != path:
                return Redirect(collapsed + question + query)
        name = _pathname_of_path(path)
        if name.startswith("/.well-known/"):
            endpoint = _endpoint(name)
            if endpoint is not None:
                return (
                    endpoint
                    if method in ("GET", "HEAD")
                    else Reject(405, f"{name} answers GET and HEAD only")
                )
        zone = headers.get(ZONE_HEADER)
        if zone is not None and zone in self._zones:
            return self._zones[zone]
        forward = self._asset_prefixes.get(name[1:].partition("/")[0].lower())
        if forward is not None:
            return forward
        if name in _BY_REFERER:
            return self._by_referer(name, headers.get("referer"))
        if name == _IMAGE_OPTIMIZER:
            return self._by_image_url(query)
        if name == _SOURCE_MAP:
            return self._source_map
        if FLAG_PARAMETER in query:
            found = _FLAG_PAIR.search(query)
            value = _FLAG_VALUES.get(found.group(1)) if found else None
            if value is not None:
                return self._route_with_flag(name, path, query, value)
        return self._by_pattern(name)

    def _by_path(self, name: str) -> Forward:
        """The application that serves pathname `name`, by asset prefix or path pattern."""
        forward = self._asset_prefixes.get(name[1:].partition("/")[0].lower())
        return forward if forward is not None else self._by_pattern(name)

    def _by_pattern(self, name: str) -> Forward:
        match = self._paths.lookup(name)
        if match is None:
            return self._default
        return match[1].unset or match[1].forward

    def _by_referer(self, name: str, referer: str | None) -> Forward:
        """A Next.js error overlay request goes to the application whose page made it."""
        if referer is None or not ada_url.check_url(referer):
            return self._default
        forward = self._by_path(ada_url.URL(referer).pathname)
        return replace(forward, reason=Reason.NEXTJS, detail=f"{name} by Referer")

    def _by_image_url(self, query: str) -> Forward:
        """The image optimizer goes to the application that serves the image it is asked for."""
        url = next((value for key, value in parse_qsl(query) if key == "url"), "")
        # Vercel's proxy decodes the already decoded parameter once more; image paths rarely hold a %.
        url = unquote(url)
        if not url.startswith("/") or url.startswith("//"):
            return self._default
        forward = self._by_path(_pathname_of_path(url.partition("?")[0]))
        return replace(forward, reason=Reason.NEXTJS, detail=f"{_IMAGE_OPTIMIZER} by its url")

    def _candidate(self, app: Application, source: str, flag: str | None) -> _Candidate:
        forward = Forward(app, Reason.PATH, source, app.upstream, app.fallback)
        unset = (
            None if flag is None else replace(self._default, reason=Reason.FLAG_UNSET, detail=f"flag {flag}")
        )
        return _Candidate(forward, flag, unset)

    def _route_with_flag(self, name: str, path: str, query: str, value: bool) -> Forward:
        """The request carries `vercel-mfe-flag-value`: "true" opens flagged paths, "false" skips
        them; the parameter leaves the query and travels on as the x-vercel-mfe-flag-value header."""
        match = (self._paths if value else self._unflagged_paths).lookup(name)
        forward = match[1].forward if match else self._default
        rest = "&".join(pair for pair in query.split("&") if not pair.startswith(FLAG_PARAMETER + "="))
        return replace(forward, target=path + ("?" + rest if rest else ""), flag_value=value)


def _endpoint(name: str) -> Endpoint | None:
    if name == ROUTING_ENDPOINT:
        return Endpoint("routing")
    if name.startswith(PROXY_ENDPOINT_PREFIX):
        return Endpoint(name.removeprefix(PROXY_ENDPOINT_PREFIX))
    return None
