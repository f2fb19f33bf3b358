"""`render(config, ...)`: a `server` block, with the `map` and `upstream` blocks it needs, that routes
every request as `router.Router` does, with the addon's headers, fallbacks and refusals, served by
nginx instead of mitmproxy; `standalone=True` wraps it in a whole nginx.conf. Where nginx cannot do
what the proxy does, the output does the closest safe thing, and `DIFFERENCES` says what and why.
"""

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from mfe_proxy.errors import MfeError
from mfe_proxy.model import Config, Origin
from mfe_proxy.nginx.differences import DIFFERENCES, Difference
from mfe_proxy.nginx.maps import PATHNAME_STEPS, Writer, pcre_literal, quote, regex_key
from mfe_proxy.nginx.pages import answers, write_answer_locations, write_body_maps
from mfe_proxy.nginx.routing import (
    App,
    entries,
    target_of,
    write_forwarding_maps,
    write_refusal_maps,
    write_request_maps,
    write_routing_maps,
)

__all__ = [
    "DIFFERENCES",
    "TRUSTED_CERTIFICATES",
    "Difference",
    "NginxExportError",
    "parse_listen",
    "parse_origin",
    "parse_upstream",
    "render",
]

DEFAULT_LISTEN_HOST = "127.0.0.1"
# Debian's bundle of trusted CAs (package ca-certificates): https upstreams are checked against it, as
# mitmproxy checks them against its own.
TRUSTED_CERTIFICATES = "/etc/ssl/certs/ca-certificates.crt"
# Response headers nginx would act on itself (an application could make it serve another location);
# the browser gets them instead, as through the proxy.
_ACCEL_HEADERS = (
    "X-Accel-Redirect",
    "X-Accel-Expires",
    "X-Accel-Limit-Rate",
    "X-Accel-Buffering",
    "X-Accel-Charset",
)
_SERVER_NAME = re.compile(r"(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\*")
_ADDRESS = re.compile(r"[0-9.]+|[0-9a-f:.]*:[0-9a-f:.]*")

_HEADER = """\
nginx configuration exported by mfe-proxy from {file}: the same routing as the proxy.

Routing is done with `map` blocks over $request_uri, not with `location` blocks: nginx matches
locations against $uri, which it has percent-decoded and normalized, while the proxy matches the raw
path (`/%64ocs` is not `/docs`, `%2F` is no separator) with dot segments resolved, reads two query
parameters, and lets headers (x-vercel-mfe-zone, Referer) decide before paths. Maps do all of that:
each regex below is the proxy's own path pattern, tried in the proxy's order, and nginx evaluates a
map only when a request needs it. One `location /` forwards every request to the application chosen.

Regenerate with `mfe-proxy export nginx` after changing the config rather than editing this file."""

_INCLUDED = """\
Include this file in the `http` block of nginx.conf. It defines variables and upstreams whose names
start with mfe_. Should nginx warn "could not build optimal variables_hash", add
`variables_hash_max_size 2048;` to the http block (the warning is harmless)."""


class NginxExportError(MfeError):
    """An export option that cannot be used; the message says which and why."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPV6]:PORT` or `PORT` (on 127.0.0.1), as `--listen` takes it."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_LISTEN_HOST
    if not port.isdecimal() or not 0 < int(port) <= 65535:
        raise NginxExportError(f"--listen {text}: give HOST:PORT, such as 127.0.0.1:3024")
    return host, int(port)


def parse_upstream(text: str) -> tuple[str, Origin]:
    """`NAME=URL`, as `--upstream docs=http://docs.preview.internal:3000` takes it."""
    name, equals, url = text.partition("=")
    if not equals or not name:
        raise NginxExportError(f"--upstream {text}: give NAME=URL, such as docs=http://127.0.0.1:3001")
    return name, parse_origin(url, f"--upstream {text}")


def parse_origin(url: str, where: str) -> Origin:
    """An http(s) origin; the port defaults to the scheme's, a bare `host:port` is http."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port
    except ValueError as error:
        raise NginxExportError(f"{where}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NginxExportError(f"{where}: give an http:// or https:// origin with a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise NginxExportError(f"{where}: give an origin (scheme, host, port) without path, query or user")
    return Origin(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def render(
    config: Config,
    *,
    listen: tuple[str, int] | None = None,
    upstreams: Mapping[str, Origin | str] | None = None,
    server_names: Sequence[str] = (),
    standalone: bool = False,
    prefix: str | None = None,
    resolver: Sequence[str] = (),
    trusted_certificates: str | None = TRUSTED_CERTIFICATES,
) -> str:
    """The nginx configuration that serves `config` as the proxy does.

    `listen`: where nginx listens (default 127.0.0.1 and the config's localProxyPort). `upstreams`:
    application name to the origin that replaces its `development.local`. `server_names`: host names
    served besides localhost, 127.0.0.1, [::1] and *.localhost (`name`, `*.suffix`, or `*` for any).
    `standalone`: a whole nginx.conf for `nginx -p DIR -c FILE`, its pid, logs and temporary files in
    `prefix` (an absolute path), or in DIR when `prefix` is None; otherwise the blocks an existing
    nginx includes in its `http` block. `resolver`: DNS servers with which nginx resolves the host
    names of fallbacks and remote upstreams on each request; without, it resolves them once when it
    starts. `trusted_certificates`: the CA bundle https upstreams are checked against (None: not
    checked)."""
    export = _Export(
        config,
        listen or (DEFAULT_LISTEN_HOST, config.proxy_port),
        _overrides(config, upstreams or {}),
        [_checked_server_name(name) for name in server_names],
        list(resolver),
        trusted_certificates,
    )
    return export.render(standalone, prefix)


def _overrides(config: Config, upstreams: Mapping[str, Origin | str]) -> dict[str, Origin]:
    result = {}
    for name, origin in upstreams.items():
        if name not in config.applications:
            known = ", ".join(config.applications)
            raise NginxExportError(
                f"--upstream {name}: {config.file} has no application {name} (it has {known})"
            )
        result[name] = origin if isinstance(origin, Origin) else parse_origin(origin, f"--upstream {name}")
    return result


def _checked_server_name(name: str) -> str:
    if not _SERVER_NAME.fullmatch(name):
        raise NginxExportError(
            f"--server-name {name}: give a host name such as preview.example.com, *.preview.example.com for "
            "its subdomains, or * for any host (no port)"
        )
    return name.lower().rstrip(".")


class _Export:
    def __init__(
        self,
        config: Config,
        listen: tuple[str, int],
        upstreams: dict[str, Origin],
        server_names: list[str],
        resolver: list[str],
        trusted_certificates: str | None,
    ) -> None:
        self.config = config
        self.listen = listen
        self.server_names = server_names
        self.resolver = resolver
        self.trusted_certificates = trusted_certificates
        default = config.default_application
        self.apps = [
            App(f"a{index}", app, upstreams.get(app.name, app.upstream), app.fallback or default.fallback)
            for index, app in enumerate([default, *config.routing_order()])
        ]
        self.entries = entries(self.apps[1:])

    def render(self, standalone: bool, prefix: str | None) -> str:
        w = Writer()
        w.comment(_HEADER.format(file=self.config.file))
        w.line()
        if not standalone:
            w.comment(_INCLUDED)
            w.line()
            self.http_blocks(w)
            return w.text()
        where = prefix.rstrip("/") + "/" if prefix else ""
        w.comment(
            f"Standalone: run it with `nginx -p DIR -c FILE` (in the foreground); its files go to "
            f"{where or 'DIR/'}."
        )
        w.line("daemon off;")
        w.line("worker_processes auto;")
        w.line(f"pid {quote(where + 'nginx.pid')};")
        w.line(f"error_log {quote(where + 'error.log')} notice;")
        w.line("pcre_jit on;")
        with w.block("events"):
            w.line("worker_connections 4096;")
        with w.block("http"):
            w.line(f"access_log {quote(where + 'access.log')};")
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                w.line(f"{kind}_temp_path {quote(where + kind + '_temp')};")
            w.comment(
                "Room for the maps' variables, more than nginx's default hash size holds without a warning."
            )
            w.line("variables_hash_max_size 2048;")
            w.line()
            self.http_blocks(w)
        return w.text()

    def http_blocks(self, w: Writer) -> None:
        w.comment("nginx has no escape for a literal $ in a value: ${mfe_dollar} stands for one.")
        with w.block("geo $mfe_dollar"):
            w.line('default "$";')
        w.line()
        self.upstream_blocks(w)
        write_request_maps(w)
        write_refusal_maps(w, self.server_names)
        write_routing_maps(w, self.apps, self.entries)
        write_forwarding_maps(
            w, self.apps, {app.id: self.upstream_url(app, fallback=False) for app in self.apps}
        )
        found = answers(self.config.file, self.apps, self.server_names, PATHNAME_STEPS)
        bodies = write_body_maps(w, found)
        with w.block("server"):
            self.server(w)
            write_answer_locations(w, found, bodies)

    # -- upstreams ---------------------------------------------------------------------------------

    def resolved_at_start(self, origin: Origin) -> bool:
        """Whether nginx reaches `origin` through an `upstream` block (resolved when nginx starts,
        connections kept alive) rather than by name on each request, with `resolver`."""
        host = origin.host.lower()
        return (
            not self.resolver
            or host == "localhost"
            or host.endswith(".localhost")
            or bool(_ADDRESS.fullmatch(host))
        )

    def upstream_blocks(self, w: Writer) -> None:
        w.comment(
            "Each application's dev server, and each fallback. max_fails=0: an application that was down is\n"
            "tried again on the very next request, so that it is used as soon as it starts."
        )
        for app in self.apps:
            if self.resolved_at_start(app.upstream):
                with w.block(f"upstream mfe_{app.id}"):
                    w.comment(f"{app.name}: {app.upstream.url}")
                    for server in _servers(app.upstream):
                        w.line(f"server {server} max_fails=0;")
                    w.line("keepalive 16;")
            if app.fallback is not None and self.resolved_at_start(app.fallback):
                with w.block(f"upstream mfe_{app.id}_fallback"):
                    w.comment(f"{app.name}'s fallback: {app.fallback.url}")
                    w.line(f"server {_netloc(app.fallback)} max_fails=0;")
                    w.line("keepalive 16;")
        w.line()

    def upstream_url(self, app: App, *, fallback: bool) -> str:
        """What `proxy_pass` names: the upstream block, or the origin itself to resolve on each request."""
        origin = app.fallback if fallback else app.upstream
        assert origin is not None
        if self.resolved_at_start(origin):
            return f"{origin.scheme}://mfe_{app.id}{'_fallback' if fallback else ''}"
        return f"{origin.scheme}://{_netloc(origin)}"

    # -- the server --------------------------------------------------------------------------------

    def server(self, w: Writer) -> None:
        host, port = self.listen
        w.line(f"listen {'[' + host + ']' if ':' in host else host}:{port};")
        names = [
            "localhost",
            "*.localhost",
            "127.0.0.1",
            *(name for name in self.server_names if name != "*"),
        ]
        w.line(f"server_name {' '.join(names)};")
        w.comment("Requests reach the applications as the client sent them: no size limit, any header names.")
        w.line("client_max_body_size 0;")
        w.line("underscores_in_headers on;")
        w.line("large_client_header_buffers 8 64k;")
        w.line("absolute_redirect off;")
        w.line("server_tokens off;")
        w.comment(
            "Responses stream as they come (server-sent events, streamed rendering); an idle WebSocket\n"
            "(HMR) stays open for a day without a message, where nginx's default would cut it after a minute."
        )
        w.line("proxy_buffering off;")
        w.line("proxy_read_timeout 1d;")
        w.line("proxy_send_timeout 1d;")
        w.line("proxy_connect_timeout 10s;")
        w.line("proxy_redirect off;")
        w.line("proxy_pass_header Server;")
        w.line("proxy_pass_header Date;")
        w.line(f"proxy_ignore_headers {' '.join(_ACCEL_HEADERS)};")
        for header in _ACCEL_HEADERS:
            w.line(f"proxy_pass_header {header};")
        if self.resolver:
            w.line(f"resolver {' '.join(self.resolver)};")
        if self.uses_tls():
            w.line("proxy_ssl_server_name on;")
            if self.trusted_certificates:
                w.line("proxy_ssl_verify on;")
                w.line("proxy_ssl_verify_depth 8;")
                w.line(f"proxy_ssl_trusted_certificate {quote(self.trusted_certificates)};")
        w.line()
        with w.block("location /"):
            w.comment("The proxy's own answers and refusals, else the application the maps chose.")
            w.line("error_page 418 = $mfe_answer;")
            w.comment("The application does not accept connections: its fallback, or the page saying so.")
            w.line("error_page 502 504 = $mfe_unreachable;")
            with w.block("if ($mfe_answer)"):
                w.line("return 418;")
            w.line("proxy_pass $mfe_upstream$mfe_upstream_target;")
            w.line("proxy_set_header Host $http_host;")
            w.line("proxy_set_header x-vercel-mfe-local-proxy-origin 1;")
            if any(app.upstream.scheme == "https" for app in self.apps):
                w.line("proxy_ssl_name $mfe_upstream_tls_name;")
            _forwarding_headers(w)
        for app in self.apps:
            if app.fallback is not None:
                self.fallback_location(w, app, app.fallback)

    def uses_tls(self) -> bool:
        origins = [origin for app in self.apps for origin in (app.upstream, app.fallback) if origin]
        return any(origin.scheme == "https" for origin in origins)

    def fallback_location(self, w: Writer, app: App, fallback: Origin) -> None:
        with w.block(f"location @mfe_fallback_{app.id}"):
            w.comment(f"{app.name} is down: its fallback {fallback.url}, with the fallback's Host.")
            w.line(f"proxy_pass {self.upstream_url(app, fallback=True)}{target_of(fallback)};")
            w.line(f"proxy_set_header Host {quote(fallback.netloc)};")
            w.line('proxy_set_header x-vercel-mfe-local-proxy-origin "";')
            if fallback.scheme == "https":
                w.line(f"proxy_ssl_name {quote(fallback.host)};")
                w.comment(
                    "A redirect to anywhere comes back through this server, as Vercel's proxy rewrites it."
                )
                w.line(r'proxy_redirect "~^(?i:https?:)?//[^/?#]*(.*)$" "$scheme://$http_host$1";')
                w.line(r'proxy_redirect "~^(/.*)$" "$scheme://$http_host$1";')
            else:
                w.comment("A redirect to the fallback itself comes back through this server.")
                origin = regex_key(f"^{pcre_literal(fallback.url)}([/?#].*)?$", caseless=True)
                w.line(f'proxy_redirect {origin} "$scheme://$http_host$1";')
            _forwarding_headers(w)


def _forwarding_headers(w: Writer) -> None:
    w.line("proxy_http_version 1.1;")
    w.line("proxy_set_header Upgrade $http_upgrade;")
    w.line("proxy_set_header Connection $mfe_connection_upgrade;")
    w.line("proxy_set_header X-Forwarded-For $mfe_forwarded_for;")
    w.line("proxy_set_header X-Forwarded-Proto $mfe_forwarded_proto;")
    w.line("proxy_set_header X-Forwarded-Host $mfe_forwarded_host;")
    w.line("proxy_set_header x-vercel-mfe-flag-value $mfe_flag_header;")


def _netloc(origin: Origin) -> str:
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    return f"{host}:{origin.port}"


def _servers(origin: Origin) -> list[str]:
    """`server` addresses of an upstream. `*.localhost` names are loopback (RFC 6761), but the system
    resolver may not know them, and nginx refuses to start on a name it cannot resolve."""
    if origin.host.lower().endswith(".localhost"):
        return [f"127.0.0.1:{origin.port}", f"[::1]:{origin.port}"]
    return [_netloc(origin)]
