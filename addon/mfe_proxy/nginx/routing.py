"""The `map` blocks of the nginx export that decide what happens to a request, in `router.Router`'s
order: the request target's parts and pathname, the refusals and the proxy's own answers, the
application (Vercel Toolbar, x-vercel-mfe-zone, Next.js endpoints, path patterns, default), and what is
forwarded to it. Written by `mfe_proxy.nginx`, which puts them in the `http` block before the server."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mfe_proxy.model import Application, Origin
from mfe_proxy.nginx.maps import (
    DECODE_STEPS,
    DOT_SEGMENT,
    FLAG_STEPS,
    PATHNAME_STEPS,
    REFERER_STEPS,
    SLASH_STEPS,
    Writer,
    chain,
    decode_rules,
    first_parameter,
    flag_rules,
    map_block,
    pcre_literal,
    quote,
    regex_key,
    resolved,
    slash_rules,
)
from mfe_proxy.nginx.pcre import to_pcre

FLAG_PARAMETER = "vercel-mfe-flag-value"
ROUTING_ENDPOINT = "/.well-known/vercel/microfrontends/routing"
PROXY_ENDPOINT_PREFIX = "/.well-known/mfe-proxy/"
NONE = '""'

# hosts.AllowedHosts's check of a Host header, as PCRE: a bracketed IPv6 address or a name, a port.
_NAME = r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9_])?"
_IPV6 = r"\[[0-9a-f:.]+\]"
_PORT = (
    r"(?::(?=[0-9]{1,5}$)0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]"
    r"|6553[0-5]))?"
)
_LOCAL_NAMES = (r"localhost", r"127\.0\.0\.1", r"[a-z0-9][a-z0-9_.-]*\.localhost")
# One path segment in the pattern compiler's regexes (path-to-regexp's default parameter).
_SEGMENT = r"[^\/#\?]"
# What path-to-regexp's escapeString escapes, as the pattern compiler does.
_PTR_SPECIAL = frozenset(".+*?=^!:${}()[]|/\\")
# Where a Referer's path starts: after a special scheme's host (slashes and backslashes before it
# skipped, as the WHATWG parser does), after another scheme's `//host`, or right after the scheme.
_SPECIAL_SCHEME = r"^(?:https?|wss?|ftp|file):"
_ANY_SCHEME = r"^[a-z][a-z0-9+.-]*:"


@dataclass(frozen=True, slots=True)
class App:
    """An application as the export names it: `id` is safe in nginx names, the name may hold anything."""

    id: str
    app: Application
    upstream: Origin
    fallback: Origin | None  # its own, else the default application's

    @property
    def name(self) -> str:
        return self.app.name


@dataclass(frozen=True, slots=True)
class Entry:
    """One pattern the router tries, in its order: an asset prefix or a path pattern of a child."""

    id: str
    source: str  # as written in the config (`/docs/:path*`), or `/<asset prefix>/:path*`
    regex: str  # the Python regex the pattern compiler wrote for it
    app: App
    flag: str | None


def entries(children: Sequence[App]) -> list[Entry]:
    """The router's patterns in its order: each child in turn, its asset prefixes, then its paths."""
    found: list[Entry] = []
    for app in children:
        for prefix in app.app.asset_prefixes:
            found.append(Entry(f"e{len(found)}", f"/{prefix}/:path*", asset_prefix_regex(prefix), app, None))
        for route in app.app.routes:
            for pattern in route.paths:
                found.append(Entry(f"e{len(found)}", pattern.source, pattern.regex.pattern, app, route.flag))
    return found


def asset_prefix_regex(prefix: str) -> str:
    """The regex the router compiles for an asset prefix, path-to-regexp's `/<prefix>/:path*` with the
    prefix taken literally, written as the pattern compiler writes it."""
    literal = "".join("\\" + char if char in _PTR_SPECIAL else char for char in prefix)
    return rf"^\/{literal}(?:\/((?:{_SEGMENT}+?)(?:\/(?:{_SEGMENT}+?))*))?[\/#\?]?\Z"


def allowed_hosts(server_names: Sequence[str]) -> str:
    """A PCRE alternative of the host names served: the proxy's defaults and `server_names`."""
    if "*" in server_names:
        return rf"{_IPV6}|{_NAME}\.?"
    names = list(_LOCAL_NAMES)
    for name in server_names:
        suffix = name.removeprefix("*.")
        literal = pcre_literal(suffix)
        names.append(rf"[a-z0-9][a-z0-9_.-]*\.{literal}" if suffix != name else literal)
    return rf"\[::1\]|(?:{'|'.join(names)})\.?"


def write_request_maps(w: Writer) -> None:
    w.comment(
        "The request target as the client sent it, in parts: $request_uri, never nginx's decoded and\n"
        "normalized $uri. A fragment, which only hand-made requests carry, is cut off as Vercel does."
    )
    map_block(w, "$request_uri", "mfe_uri", [(regex_key("^([^#]*)#"), "$1"), ("default", "$request_uri")])
    map_block(w, "$mfe_uri", "mfe_path", [(regex_key("^([^?]*)"), "$1")])
    map_block(w, "$mfe_uri", "mfe_query", [(regex_key(r"^[^?]*\?(.*)$"), "$1"), ("default", NONE)])
    w.line()
    w.comment(
        "The pathname the router matches: the path with dot segments resolved and `\\` read as `/`, as\n"
        "the WHATWG URL parser does; nothing is percent-decoded."
    )
    resolved(w, "$mfe_path", "mfe_pathname", PATHNAME_STEPS)
    w.comment(
        f"More than {PATHNAME_STEPS} dot segments and backslashes: refused (400) rather than misrouted."
    )
    map_block(
        w,
        "$mfe_pathname",
        "mfe_unresolved",
        [(regex_key(DOT_SEGMENT, caseless=True), "1"), ("default", NONE)],
    )
    w.line()
    w.comment(
        "A path with a run of slashes (`//`, `/\\`) is redirected to the path with each run collapsed,\n"
        "query unchanged; WebSocket upgrades never are (browsers do not follow a redirect there)."
    )
    rules = slash_rules(backslash_alone=False)
    collapsed = chain(w, "$request_uri", "mfe_collapsed", rules, SLASH_STEPS, caseless=False)
    map_block(
        w, "$mfe_path", "mfe_redirect_ordinary", [(regex_key(r"[/\x5c]{2}"), collapsed), ("default", NONE)]
    )
    map_block(w, "$http_upgrade", "mfe_redirect", [(NONE, "$mfe_redirect_ordinary"), ("default", NONE)])
    w.line()


def write_refusal_maps(w: Writer, server_names: Sequence[str]) -> None:
    allowed = allowed_hosts(server_names)
    w.comment(
        "DNS rebinding protection, as the proxy's: only these hosts are served (any port); another valid\n"
        "Host gets 403, a malformed or missing one 400."
    )
    host = [
        (NONE, "missing"),
        (regex_key(f"^(?:{allowed}){_PORT}$", caseless=True), "ok"),
        (regex_key(f"^(?:{_IPV6}|{_NAME}\\.?){_PORT}$", caseless=True), "forbidden"),
        ("default", "bad"),
    ]
    map_block(w, "$http_host", "mfe_host", host)
    w.comment("A WebSocket upgrade from a page on another site (or a sandboxed one, `null`) is refused.")
    origin = [
        (NONE, "$mfe_answer_redirect"),
        (regex_key(f"^https?://(?i:{allowed}){_PORT}$"), "$mfe_answer_redirect"),
        ("default", "@mfe_bad_origin"),
    ]
    map_block(w, "$http_origin", "mfe_origin_answer", origin)
    map_block(w, "$http_accept", "mfe_wants_html", [(regex_key("text/html"), "html"), ("default", "text")])
    endpoints = [
        (regex_key(f"^{pcre_literal(ROUTING_ENDPOINT)}$"), "routing"),
        (regex_key(f"^{pcre_literal(PROXY_ENDPOINT_PREFIX)}"), "proxy"),
        ("default", NONE),
    ]
    map_block(w, "$mfe_pathname", "mfe_endpoint", endpoints)
    w.comment(
        "$mfe_answer names the location that answers instead of an application, in the proxy's order:\n"
        "Host, request target, WebSocket Origin, repeated slashes, the proxy's own endpoints."
    )
    answer = [
        ("ok", "$mfe_answer_target"),
        ("missing", "@mfe_no_host"),
        ("bad", "@mfe_bad_host"),
        ("default", "@mfe_forbidden_host_$mfe_wants_html"),
    ]
    map_block(w, "$mfe_host", "mfe_answer", answer)
    target = [(regex_key("^[^ ]+ /"), "$mfe_answer_upgrade"), ("default", "@mfe_bad_target")]
    map_block(w, "$request", "mfe_answer_target", target)
    upgrade = [(NONE, "$mfe_answer_redirect"), ("default", "$mfe_origin_answer")]
    map_block(w, "$http_upgrade", "mfe_answer_upgrade", upgrade)
    map_block(
        w, "$mfe_redirect", "mfe_answer_redirect", [(NONE, "$mfe_answer_path"), ("default", "@mfe_redirect")]
    )
    path = [(NONE, "$mfe_answer_endpoint"), ("default", "@mfe_unresolved")]
    map_block(w, "$mfe_unresolved", "mfe_answer_path", path)
    endpoint = [
        (regex_key("^:"), NONE),
        ('"routing:GET"', "@mfe_routing"),
        ('"routing:HEAD"', "@mfe_routing"),
        ('"proxy:GET"', "@mfe_no_endpoint"),
        ('"proxy:HEAD"', "@mfe_no_endpoint"),
        ("default", "@mfe_not_allowed"),
    ]
    map_block(w, '"$mfe_endpoint:$request_method"', "mfe_answer_endpoint", endpoint)
    w.line()


def _entry_map(w: Writer, source: str, target: str, found: Sequence[Entry]) -> None:
    for entry in found:
        flag = f" (flag {entry.flag})" if entry.flag else ""
        w.comment(f"{entry.id}: {entry.app.name} {entry.source}{flag}")
    rows = [(regex_key(to_pcre(entry.regex), caseless=True), entry.id) for entry in found]
    map_block(w, source, target, [*rows, ("default", NONE)])


def _child_map(w: Writer, source: str, target: str, found: Sequence[Entry]) -> None:
    """Entry to child application, for a Referer's or an image's path: a flagged match finds none."""
    rows = [(entry.id, entry.app.id) for entry in found if entry.flag is None]
    map_block(w, source, target, [*rows, ("default", NONE)])


def write_routing_maps(w: Writer, apps: Sequence[App], found: Sequence[Entry]) -> None:
    """`$mfe_app`: the id of the application that serves the request."""
    default = apps[0].id
    flagged = any(entry.flag for entry in found)
    w.comment(
        "Routing: each child application in Vercel's order, its asset prefixes then its path patterns;\n"
        "the first that matches the pathname (case-insensitive, one optional trailing `/`) wins."
    )
    _entry_map(w, "$mfe_pathname", "mfe_match", found)
    if flagged:
        w.comment(f"With {FLAG_PARAMETER}=false, flagged paths are passed over.")
        _entry_map(w, "$mfe_pathname", "mfe_match_unflagged", [e for e in found if e.flag is None])
    w.comment(f'The {FLAG_PARAMETER} query parameter: the first one, "true" or "false", else ignored.')
    name = pcre_literal(FLAG_PARAMETER)
    flag_value = rf"^(?:(?!{name}(?:[=&]|$))[^&]*&)*{name}=(true|false)(?:&|$)"
    map_block(w, "$mfe_query", "mfe_flag", [(regex_key(flag_value), "$1"), ("default", NONE)])
    if flagged:
        match = [("false", "$mfe_match_unflagged"), ("default", "$mfe_match")]
        map_block(w, "$mfe_flag", "mfe_path_match", match)
    w.comment("A flagged path without the parameter goes to the default application, which decides.")
    rows: list[tuple[str, str]] = []
    for entry in found:
        states = ("true",) if entry.flag else ("", "true", "false")
        rows += [(f'"{state}:{entry.id}"', entry.app.id) for state in states]
    source = f'"$mfe_flag:{"$mfe_path_match" if flagged else "$mfe_match"}"'
    map_block(w, source, "mfe_by_path", [*rows, ("default", default)])
    w.line()

    w.comment(
        "The Referer's path, for the Vercel Toolbar and Next.js's stack frames (\"\": none, or no URL)."
    )
    valid = [
        (regex_key(rf"{_SPECIAL_SCHEME}[/\x5c]*[^/\x5c?#]", caseless=True), "1"),
        (regex_key(_SPECIAL_SCHEME, caseless=True), NONE),
        (regex_key(_ANY_SCHEME, caseless=True), "1"),
        ("default", NONE),
    ]
    map_block(w, "$http_referer", "mfe_referer_valid", valid)
    path = [
        (regex_key(rf"{_SPECIAL_SCHEME}[/\x5c]*[^/\x5c?#]+([/\x5c][^?#]*)", caseless=True), "$1"),
        (regex_key(_SPECIAL_SCHEME, caseless=True), "/"),
        (regex_key(rf"{_ANY_SCHEME}//[^/?#]*(/[^?#]*)", caseless=True), "$1"),
        (regex_key(rf"{_ANY_SCHEME}//", caseless=True), NONE),
        (regex_key(rf"{_ANY_SCHEME}([^?#]*)", caseless=True), "$1"),
        ("default", NONE),
    ]
    map_block(w, "$http_referer", "mfe_referer_path", path)
    referer = resolved(w, "$mfe_referer_path", "mfe_referer_pathname", REFERER_STEPS)
    _entry_map(w, referer, "mfe_referer_match", found)
    _child_map(w, "$mfe_referer_match", "mfe_referer_child", found)
    w.line()

    w.comment("The Vercel Toolbar: the application whose page asked (by Referer), else the only one.")
    toolbar = [(regex_key(r"^/\.well-known/vercel-toolbar(?:/|$)"), "$mfe_toolbar_app"), ("default", NONE)]
    map_block(w, "$mfe_pathname", "mfe_by_toolbar", toolbar)
    only = default if len(apps) == 1 else NONE
    map_block(w, "$mfe_referer_valid", "mfe_toolbar_app", [("1", "$mfe_referer_app"), ("default", only)])
    map_block(
        w, "$mfe_referer_child", "mfe_referer_app", [(NONE, default), ("default", "$mfe_referer_child")]
    )
    w.line()

    w.comment(
        "Next.js development endpoints at the root: stack frames by Referer, source maps to the first\n"
        "local application (the default one: every application is local here), images by their url."
    )
    nextjs = [
        (regex_key(r"^/__nextjs_original-stack-frames?[/#?]?$", caseless=True), "$mfe_frames_app"),
        (regex_key(r"^/__nextjs_source-map[/#?]?$", caseless=True), default),
        (regex_key(r"^/_next/image[/#?]?$", caseless=True), "$mfe_image_app"),
        ("default", NONE),
    ]
    map_block(w, "$mfe_pathname", "mfe_by_nextjs", nextjs)
    map_block(w, "$mfe_referer_valid", "mfe_frames_app", [("1", "$mfe_referer_child"), ("default", NONE)])
    map_block(
        w, "$mfe_query", "mfe_image_url", [(regex_key(first_parameter("url")), "$1"), ("default", NONE)]
    )
    map_block(w, "$mfe_image_url", "mfe_image_app", [(NONE, NONE), ("default", "$mfe_image_child")])
    decoded = chain(w, "$mfe_image_url", "mfe_image_decoding", decode_rules(), DECODE_STEPS, caseless=True)
    map_block(
        w,
        "$mfe_image_url",
        "mfe_image_decoded",
        [(regex_key("[%?#]"), decoded), ("default", "$mfe_image_url")],
    )
    w.comment('Vercel reads the url as a request target: `new URL("http://example.com" + url)`.')
    image_path = [(regex_key(r"^[^/\x5c?#]*([/\x5c][^?#]*)"), "$1"), ("default", "/")]
    map_block(w, "$mfe_image_decoded", "mfe_image_path", image_path)
    image = resolved(w, "$mfe_image_path", "mfe_image_pathname", REFERER_STEPS)
    _entry_map(w, image, "mfe_image_match", found)
    _child_map(w, "$mfe_image_match", "mfe_image_child", found)
    w.line()

    w.comment(
        "The decision, in the router's order: the Vercel Toolbar, the x-vercel-mfe-zone header (a child's\n"
        "exact name; any other non-empty value means the default application), the Next.js endpoints,\n"
        "the path patterns, and last the default application."
    )
    map_block(w, "$mfe_by_toolbar", "mfe_app", [(NONE, "$mfe_app_by_zone"), ("default", "$mfe_by_toolbar")])
    zones = [(regex_key(f"^{pcre_literal(app.name)}$"), app.id) for app in apps[1:]]
    zone = [(NONE, "$mfe_app_by_nextjs"), *zones, ("default", default)]
    map_block(w, "$http_x_vercel_mfe_zone", "mfe_app_by_zone", zone)
    map_block(
        w, "$mfe_by_nextjs", "mfe_app_by_nextjs", [(NONE, "$mfe_by_path"), ("default", "$mfe_by_nextjs")]
    )
    w.line()


def write_forwarding_maps(w: Writer, apps: Sequence[App], upstream_urls: Mapping[str, str]) -> None:
    """What goes to the application `$mfe_app`: where, with which target and headers, and what answers
    when it is down. `upstream_urls` maps an application's id to the scheme and host of `proxy_pass`."""
    w.comment(
        f"With {FLAG_PARAMETER}, an ordinary request is forwarded as Vercel forwards it: the pathname,\n"
        "and the query without the parameter, which becomes the x-vercel-mfe-flag-value header."
    )
    stripped = chain(
        w, "$mfe_query", "mfe_flag_query", flag_rules(FLAG_PARAMETER), FLAG_STEPS, caseless=False
    )
    map_block(w, stripped, "mfe_flag_search", [(NONE, NONE), (regex_key("^(.*)$"), '"?$1"')])
    map_block(w, NONE, "mfe_flag_target", [("default", '"$mfe_pathname$mfe_flag_search"')])
    flagged = [('"true:"', "$mfe_flag_target"), ('"false:"', "$mfe_flag_target")]
    header = [('"true:"', "true"), ('"false:"', "false"), ("default", NONE)]
    map_block(w, '"$mfe_flag:$http_upgrade"', "mfe_flag_header", header)
    w.comment(
        "Over plain HTTP the target goes as node-http-proxy sends it: without fragment, `\\` as `/`, runs\n"
        "of slashes collapsed (only WebSocket upgrades still have them here); over https as sent."
    )
    rules = slash_rules(backslash_alone=True)
    plain = chain(w, "$mfe_uri", "mfe_cleaning", rules, SLASH_STEPS, caseless=False)
    map_block(w, "$mfe_path", "mfe_clean_uri", [(regex_key(r"//|\x5c"), plain), ("default", "$mfe_uri")])
    map_block(w, '"$mfe_flag:$http_upgrade"', "mfe_target_plain", [*flagged, ("default", "$mfe_clean_uri")])
    map_block(w, '"$mfe_flag:$http_upgrade"', "mfe_target_tls", [*flagged, ("default", "$request_uri")])
    w.line()
    w.comment("Where the chosen application is, and what answers when it does not accept connections.")
    map_block(w, "$mfe_app", "mfe_upstream", [(app.id, upstream_urls[app.id]) for app in apps])
    map_block(w, "$mfe_app", "mfe_upstream_target", [(app.id, target_of(app.upstream)) for app in apps])
    if any(app.upstream.scheme == "https" for app in apps):
        tls_names = [(app.id, quote(app.upstream.host)) for app in apps]
        map_block(w, "$mfe_app", "mfe_upstream_tls_name", tls_names)
    unreachable = [
        (f'"{app.id}:{kind}"', f"@mfe_fallback_{app.id}" if app.fallback else f"@mfe_down_{app.id}_{kind}")
        for app in apps
        for kind in ("html", "text")
    ]
    map_block(w, '"$mfe_app:$mfe_wants_html"', "mfe_unreachable", unreachable)
    w.comment("X-Forwarded-* are added when the client did not send them; a client's own pass unchanged.")
    for header, ours in (("for", "$remote_addr"), ("proto", "$scheme"), ("host", "$http_host")):
        map_block(
            w,
            f"$http_x_forwarded_{header}",
            f"mfe_forwarded_{header}",
            [(NONE, ours), ("default", f"$http_x_forwarded_{header}")],
        )
    w.comment(
        "nginx's WebSocket idiom; without an upgrade the Connection header is left out rather than set to\n"
        "`close`, so that connections to the applications are kept alive."
    )
    map_block(w, "$http_upgrade", "mfe_connection_upgrade", [("default", "upgrade"), (NONE, NONE)])
    w.line()


def target_of(origin: Origin) -> str:
    """The request target variable for an origin: cleaned up over plain HTTP, as sent over https."""
    return "$mfe_target_plain" if origin.scheme == "http" else "$mfe_target_tls"
