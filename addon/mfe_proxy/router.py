"""Routing decisions: which application serves a request, and why.

Pure logic, no mitmproxy import; the addon turns a decision into what happens to the flow. The order
is Vercel's local proxy's (docs/REFERENCE-BEHAVIOUR.md §8.8): the proxy's own endpoints, the Vercel
Toolbar by Referer, the `x-vercel-mfe-zone` override, the Next.js development endpoints, then each
child application in turn, in JavaScript's key order (`Config.routing_order`), with its asset
prefixes and then its path patterns (flags applied), and last the default application. Paths are
matched the way Vercel's proxy sees them, as the WHATWG URL pathname of the request target (dot
segments resolved, `\\` read as `/`, nothing percent-decoded). The README's "Routing semantics"
section lists each choice and why.
"""

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple
from urllib.parse import quote_from_bytes, unquote_to_bytes

import ada_url

from mfe_proxy.model import Application, Config, Origin
from mfe_proxy.paths.expressions import PathPattern, compile_pattern
from mfe_proxy.paths.index import PatternIndex

ROUTING_ENDPOINT = "/.well-known/vercel/microfrontends/routing"
PROXY_ENDPOINT_PREFIX = "/.well-known/mfe-proxy/"
# The proxy's own endpoints: the paths the router answers with `Endpoint`, and what each is.
ENDPOINTS = {
    ROUTING_ENDPOINT: "where each application is served from, as Vercel's proxy answers (JSON)",
    PROXY_ENDPOINT_PREFIX: "this list",
    PROXY_ENDPOINT_PREFIX
    + "status": "every application: where it runs, whether it answers, its counters (JSON)",
    PROXY_ENDPOINT_PREFIX + "metrics": "the same counters in Prometheus' text format",
}
FLAG_PARAMETER = "vercel-mfe-flag-value"
FLAG_HEADER = "x-vercel-mfe-flag-value"
ZONE_HEADER = "x-vercel-mfe-zone"

# A pathname containing none of these is already what the WHATWG URL parser would make of it.
_NEEDS_URL_PARSER = re.compile(r"""/\.|%2e|\\|[^\x21-\x7e]|["<>`{}^#]""", re.IGNORECASE)
_ASCII = "".join(map(chr, range(128)))
_REPEATED_SLASHES = re.compile(r"[/\\]{2,}")
_FLAG_VALUES = {"true": True, "false": False}
# Where Vercel's URL parser is given a request target, and what it cuts off again.
_BASE = "http://example.com"

# Root endpoints a page requests whichever application served it, matched as Vercel's proxy does:
# the toolbar's exactly, the Next.js ones with path-to-regexp (any case, one optional trailing "/").
_TOOLBAR = "/.well-known/vercel-toolbar"
_STACK_FRAMES = re.compile(r"/__nextjs_original-stack-frames?[/#?]?\Z", re.IGNORECASE)
_SOURCE_MAP = "/__nextjs_source-map"
_SOURCE_MAPS = re.compile(r"/__nextjs_source-map[/#?]?\Z", re.IGNORECASE)
_IMAGE = "/_next/image"
_IMAGES = re.compile(r"/_next/image[/#?]?\Z", re.IGNORECASE)
_MALFORMED_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_STRIPPED_BY_THE_URL_PARSER = re.compile("[\t\n\r]")


class Reason(enum.StrEnum):
    """Why a request went to its application."""

    PATH = "path"
    ASSET_PREFIX = "asset prefix"
    ZONE_HEADER = "zone header"
    FLAG_UNSET = "flag not set"
    NEXTJS = "Next.js dev endpoint"
    TOOLBAR = "Vercel Toolbar"
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


def forwarded_path(target: str) -> str:
    """The request target Vercel's proxy sends over plain HTTP (node-http-proxy: Node's `url.parse`,
    then its `urlJoin`): no fragment, `\\` read as `/` and runs of `/` collapsed before the query."""
    if "#" not in target and "\\" not in target and "//" not in target.partition("?")[0]:
        return target
    before_fragment = target.partition("#")[0]
    path, question, query = before_fragment.partition("?")
    return re.sub("/{2,}", "/", path.replace("\\", "/")) + question + query


class Router:
    """Decides, for every request, which application serves it; built once per config."""

    def __init__(self, config: Config, local_applications: Collection[str] | None = None) -> None:
        """`local_applications` names the applications run locally (all when None): the Vercel
        Toolbar and Next.js's source maps go to them."""
        self.config = config
        default = config.default_application
        self._default = _forward(default, Reason.DEFAULT, "")
        local = [
            app
            for app in (default, *config.routing_order())
            if local_applications is None or app.name in local_applications
        ]
        self._local = frozenset(app.name for app in local)
        self._source_map = (
            _forward(local[0], Reason.NEXTJS, f"{_SOURCE_MAP} (first local application)") if local else None
        )
        self._only_local = (
            _forward(local[0], Reason.TOOLBAR, f"{_TOOLBAR} (the only local application)")
            if len(local) == 1
            else None
        )
        self._zones = {
            app.name: _forward(app, Reason.ZONE_HEADER, ZONE_HEADER) for app in config.routing_order()
        }
        # As on Vercel: a zone that names no child application is the default application's.
        self._unknown_zone = replace(
            self._default, reason=Reason.ZONE_HEADER, detail=f"{ZONE_HEADER} naming no application"
        )
        unset = {
            flag: replace(self._default, reason=Reason.FLAG_UNSET, detail=f"flag {flag}")
            for app in config.applications.values()
            for route in app.routes
            if (flag := route.flag) is not None
        }
        # Vercel tries each child application in turn: its asset prefixes first, then its paths.
        entries: list[tuple[PathPattern, _Candidate]] = []
        for app in config.routing_order():
            for prefix in app.asset_prefixes:
                forward = _forward(app, Reason.ASSET_PREFIX, f"/{prefix}/")
                entries.append((_asset_prefix_pattern(prefix), _Candidate(forward, None, None)))
            for route in app.routes:
                for pattern in route.paths:
                    forward = _forward(app, Reason.PATH, pattern.source)
                    flag = route.flag
                    entries.append(
                        (pattern, _Candidate(forward, flag, None if flag is None else unset[flag]))
                    )
        self._paths = PatternIndex(entries)
        self._unflagged_paths = (
            PatternIndex(entry for entry in entries if entry[1].flag is None) if unset else self._paths
        )

    def route(self, method: str, target: str, headers: Mapping[str, str], upgrade: bool = False) -> Decision:
        """Decide for one request. `target` is the request target as sent (path and query);
        `headers` must look names up case-insensitively (mitmproxy's `Headers` does); `upgrade` is
        true for a WebSocket upgrade, which is never redirected (browsers cannot follow that)."""
        if not target.startswith("/"):
            if method == "OPTIONS" and target == "*":
                return self._default
            if method == "CONNECT":
                return Reject(
                    405, "CONNECT is not supported: this is a reverse proxy for the configured applications"
                )
            return Reject(400, "the request target must be a path starting with /")
        path, question, query = target.partition("?")
        if not upgrade and ("//" in path or "\\" in path):
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
        flag = _flag_value(target) if FLAG_PARAMETER in query else None
        forward = self._decide(name, query, headers, None if flag is None else flag[0])
        if flag is None or upgrade:
            # An upgrade keeps its target as sent and gets no flag header, as on Vercel.
            return forward
        # Vercel forwards the request without the parameter, its URL serialized anew, and the value as
        # the x-vercel-mfe-flag-value header, whichever application serves it.
        return replace(forward, target=flag[1], flag_value=flag[0])

    def _decide(self, name: str, query: str, headers: Mapping[str, str], flag: bool | None) -> Forward:
        if name.startswith(_TOOLBAR) and (name == _TOOLBAR or name.startswith(_TOOLBAR + "/")):
            toolbar = self._by_toolbar(headers.get("referer"))
            if toolbar is not None:
                return toolbar
        zone = headers.get(ZONE_HEADER)
        if zone:
            return self._zones.get(zone, self._unknown_zone)
        if name.startswith("/_"):
            nextjs = self._by_nextjs(name, query, headers)
            if nextjs is not None:
                return nextjs
        return self._by_pattern(name, flag)

    def _by_pattern(self, name: str, flag: bool | None) -> Forward:
        """Each child application's asset prefixes and path patterns in turn, then the default. A
        match behind a flag applies when the flag value is "true", is passed over when "false", and
        sends the request to the default application when there is none."""
        match = (self._unflagged_paths if flag is False else self._paths).lookup(name)
        if match is None:
            return self._default
        candidate = match[1]
        return candidate.forward if flag or candidate.unset is None else candidate.unset

    def _by_child(self, name: str) -> Forward | None:
        """The child application Vercel finds for pathname `name`, if any (a flagged path finds none)."""
        match = self._paths.lookup(name)
        return None if match is None or match[1].flag is not None else match[1].forward

    def _by_toolbar(self, referer: str | None) -> Forward | None:
        """The Vercel Toolbar's requests: to the local application whose page asked, else to the only
        local application; None to route them as any path."""
        if referer is not None and ada_url.check_url(referer):
            forward = self._by_child(ada_url.URL(referer).pathname) or self._default
            if forward.application.name in self._local:
                return replace(forward, reason=Reason.TOOLBAR, detail=f"{_TOOLBAR} by Referer")
        return self._only_local

    def _by_nextjs(self, name: str, query: str, headers: Mapping[str, str]) -> Forward | None:
        """Next.js development endpoints a page requests at the root, whichever application served
        it; None when the request says nothing that decides (it is then routed as any path)."""
        if _STACK_FRAMES.match(name):
            referer = headers.get("referer")
            forward = self._by_url(referer) if referer is not None else None
            return forward and replace(forward, reason=Reason.NEXTJS, detail=f"{name} by Referer")
        if _SOURCE_MAPS.match(name):
            return self._source_map
        if _IMAGES.match(name):
            parameters = ada_url.URLSearchParams(query)
            image = _decode_uri_component(parameters.get("url")) if parameters.has("url") else None
            # Vercel reads the image's path as a request target: "https://..." names no path here.
            forward = self._by_url(_BASE + image) if image else None
            return forward and replace(forward, reason=Reason.NEXTJS, detail=f"{_IMAGE} by its url")
        return None

    def _by_url(self, url: str) -> Forward | None:
        """The child application that serves the pathname of `url`, if it is a URL at all (where
        Vercel's proxy throws, these requests are routed as any path)."""
        return self._by_child(ada_url.URL(url).pathname) if ada_url.check_url(url) else None


def _forward(app: Application, reason: Reason, detail: str) -> Forward:
    return Forward(app, reason, detail, app.upstream, app.fallback)


def _asset_prefix_pattern(prefix: str) -> PathPattern:
    """Vercel's `pathToRegexp("/<prefix>/:path*")`, with the prefix taken literally (an application
    name in a `vc-ap-<name>` prefix may hold characters path-to-regexp would read otherwise)."""
    return compile_pattern("/" + re.sub(r"([:()*+?{}\\])", r"\\\1", prefix) + "/:path*")


def _flag_value(target: str) -> tuple[bool, str] | None:
    """The `vercel-mfe-flag-value` parameter's value, when "true" or "false", and the request target
    Vercel forwards instead: the WHATWG URL's path, search (serialized anew without the parameter)
    and fragment."""
    url = _BASE + target
    # The URL parser drops tabs and newlines, which could join two slashes into a scheme-relative
    # target; the addon refuses such requests before routing, so they keep their target here.
    if _STRIPPED_BY_THE_URL_PARSER.search(target) or not ada_url.check_url(url):
        return None
    parsed = ada_url.URL(url)
    parameters = ada_url.URLSearchParams(parsed.search)
    value = _FLAG_VALUES.get(parameters.get(FLAG_PARAMETER)) if parameters.has(FLAG_PARAMETER) else None
    if value is None:
        return None
    parameters.delete(FLAG_PARAMETER)
    parsed.search = str(parameters)
    return value, parsed.href[len(_BASE) :]


def _decode_uri_component(text: str) -> str | None:
    """JavaScript's `decodeURIComponent`, or None where it throws (a stray "%", bytes not UTF-8)."""
    if _MALFORMED_ESCAPE.search(text):
        return None
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _endpoint(name: str) -> Endpoint | None:
    if name == ROUTING_ENDPOINT:
        return Endpoint("routing")
    if name.startswith(PROXY_ENDPOINT_PREFIX):
        return Endpoint(name.removeprefix(PROXY_ENDPOINT_PREFIX))
    return None
