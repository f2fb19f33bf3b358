"""Where the exported nginx configuration does not do what the proxy does, and why: the README's table
(`markdown_table()` writes it).

The rows about requests are exercised by tests/nginx: the generated-request test sends the same
requests to nginx and to `Router.route` and accepts a difference only where a row here says so. The
end-to-end tests shared by the proxy and nginx (tests/e2e) expect another answer from nginx only in a
branch that names its row.
"""

from typing import NamedTuple

from mfe_proxy.nginx.maps import DECODE_STEPS, PATHNAME_STEPS, SLASH_STEPS


class Difference(NamedTuple):
    behaviour: str
    proxy: str
    nginx: str
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "Status and metrics endpoints (`/.well-known/mfe-proxy/status`, `/metrics`)",
        "live counters per application, reachability",
        "404 saying they are the proxy's own",
        "nginx keeps no per-application counters that a configuration can read",
    ),
    Difference(
        "Page of an application that is down",
        "502 page that waits for the application and reloads itself when it answers",
        "the same 502 page without the waiting: reload by hand; the HTML page shows the path only when it "
        "holds none of `<>&\"'`",
        "the waiting asks the status endpoint, which nginx does not have; nginx cannot HTML-escape a "
        "variable",
    ),
    Difference(
        "When an application counts as down",
        "it refuses the connection (one TCP connect, shared, reused for 0.5 s)",
        "nginx gets no response from it: connection refused, not made within 10 s, or closed before a "
        "response; then the request goes to the fallback (its body too)",
        "nginx's error_page sees that the upstream failed, not how",
    ),
    Difference(
        "Config changes, `mfe_local_apps`",
        "the config file is watched and reloaded; `mfe_local_apps` sends the other applications to their "
        "fallbacks",
        "export again and `nginx -s reload`; every application is served where `--upstream` (or "
        "`development.local`) says",
        "an exported configuration is static",
    ),
    Difference(
        "Dot segments above the root (`/../x`, `/%2e%2e/x`, `/a%2F..%2F..%2Fx`)",
        "resolved (`/x`) and routed",
        "400 from nginx itself",
        "nginx percent-decodes and normalizes the path of every request line and refuses one that climbs "
        "above the root, before any configuration applies",
    ),
    Difference(
        "A malformed escape in a path (`/docs/%zz`)",
        "routed like any path",
        "400 from nginx itself",
        "nginx refuses it while decoding the request line",
    ),
    Difference(
        f"More than {PATHNAME_STEPS} dot segments and backslashes in one path",
        "resolved and routed",
        "400",
        "nginx has no loops: each one is resolved by one map of a fixed chain, and a refused request is "
        "safer than a misrouted one",
    ),
    Difference(
        f"More than {SLASH_STEPS} runs of repeated slashes in one path",
        "one 307 to the path with every run collapsed; a WebSocket upgrade forwarded with every run "
        "collapsed",
        f"a 307 collapsing the first {SLASH_STEPS}, the client's next request the rest; an upgrade forwarded "
        f"with the first {SLASH_STEPS} collapsed",
        "one map per run, as for dot segments; the redirects end on the same path",
    ),
    Difference(
        'Raw (not percent-encoded) non-ASCII bytes, or `"` `<` `>` `{` `}` `^` and the backquote, in a path',
        "matched in the percent-encoded form the WHATWG parser gives them",
        "matched raw: a pattern spelling such a byte `%HH` matches it raw too, a class lets it through where "
        "it lets `%` through; a pattern that counts characters may differ",
        "nginx cannot percent-encode a variable; browsers never send these bytes raw",
    ),
    Difference(
        "Query of a request with `vercel-mfe-flag-value`",
        "serialized anew by URLSearchParams (`/` in a value becomes `%2F`, `a` becomes `a=`, empty pairs "
        "dropped)",
        "as sent, with the parameter cut out",
        "nginx cannot re-serialize a query; both mean the same to an application",
    ),
    Difference(
        "`vercel-mfe-flag-value` or `url` parameter written with escapes (`%74rue`, `%75rl=`)",
        "decoded before it is read",
        "read only as written",
        "nginx cannot percent-decode a variable",
    ),
    Difference(
        "`/_next/image?url=` decoding",
        "decoded twice (URLSearchParams, then decodeURIComponent); a malformed escape routes as any path",
        f"the escapes of characters that stay themselves in a pathname (`%2F`, `%5C`, `%3A`, `%40`, ...) and "
        f"`%25` once more, up to {DECODE_STEPS}; `+` stays `+`; a malformed escape is kept",
        "nginx cannot percent-decode a variable; each escape is one map of a fixed chain",
    ),
    Difference(
        "Referer parsing (Vercel Toolbar, stack frames)",
        "a WHATWG parse: a Referer with an invalid host is no URL",
        "any `scheme:` text is a URL; its path is what follows the host",
        "browsers send valid Referers; a malformed one only changes which application gets a toolbar or "
        "stack-frame request",
    ),
    Difference(
        "`OPTIONS *`",
        "forwarded to the default application",
        "400 from nginx itself",
        "nginx does not serve the asterisk form",
    ),
    Difference(
        "`CONNECT`, `TRACE`",
        "CONNECT refused (400, by mitmproxy itself), TRACE forwarded",
        "CONNECT 400 with nginx's own page, TRACE 405, from nginx itself",
        "nginx refuses both before any configuration applies",
    ),
    Difference(
        "Malformed request heads (request smuggling)",
        "refused by the proxy's own checks (400, or 505 for an unknown HTTP version)",
        "refused by nginx's parser, by its own rules and statuses",
        "nginx parses requests itself; what it lets through is well-formed HTTP/1.1",
    ),
    Difference(
        "A request with an empty `Upgrade` or `Origin` header",
        "treated as present (an upgrade; an Origin to check)",
        "treated as absent",
        "nginx's $http_ variables do not tell an empty header from a missing one",
    ),
    Difference(
        "Repeated `X-Forwarded-*` or `x-vercel-mfe-zone` header fields",
        "passed on as sent; the zone header's values joined",
        "the first field only",
        "nginx 1.22's $http_ variables hold the first field, and setting a header replaces all of them",
    ),
    Difference(
        "Redirects from https fallbacks",
        "the Location of a 301, 302, 307 or 308 rewritten to this server",
        "the Location of any response rewritten (absolute and protocol-relative URLs, absolute paths)",
        "proxy_redirect does not look at the status",
    ),
    Difference(
        "Protection bypass secret for https fallbacks (`x-vercel-protection-bypass`)",
        "added from the environment (`.env.local`, `VERCEL_AUTOMATION_BYPASS_SECRET`)",
        "not added",
        "the export writes no secret into a configuration file",
    ),
    Difference(
        "WebSocket limits and close codes",
        "`mfe_ws_idle_timeout`, `mfe_ws_max_connections` (503 beyond it); 1001 or 1011 sent when a peer "
        "vanishes",
        "an idle socket is closed after a day without a message from the application; no limit but "
        "worker_connections; a vanished peer's connection is closed without a close frame",
        "nginx relays WebSocket bytes without reading frames",
    ),
    Difference(
        "`*.localhost` upstream hosts",
        "resolved by the system resolver when connecting",
        "127.0.0.1 and [::1]",
        "nginx refuses to start on a host name it cannot resolve; `*.localhost` names are loopback",
    ),
    Difference(
        "Host names of fallbacks and remote upstreams",
        "resolved when connecting",
        "resolved once when nginx starts, or on each request with `--resolver`",
        "nginx resolves upstream names at start unless it is given a resolver",
    ),
    Difference(
        "Keep-alive connections from browsers",
        "kept for any number of requests; closed after 10 minutes without traffic (`tcp_timeout`)",
        "closed after 1,000 requests (`Connection: close` on the last) or 75 s without one",
        "nginx's defaults (`keepalive_requests`, `keepalive_timeout`), which bound a connection's memory; "
        "browsers open a new connection as they would for any server",
    ),
    Difference(
        "The proxy's own responses",
        "a 307 without a body; no Server header",
        "nginx's short HTML body on the 307; `Server: nginx`",
        "nginx writes the body of its redirects itself",
    ),
)


def markdown_table() -> str:
    """`DIFFERENCES` as the README's Markdown table."""
    rows = [("what", "proxy", "exported nginx", "why"), ("---",) * 4, *DIFFERENCES]
    return (
        "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows) + "\n"
    )
