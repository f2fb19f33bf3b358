"""mfe-proxy: mitmproxy as the local development proxy for microfrontends.

    mitmdump -s addon/mfe_router.py [--set mfe_config=microfrontends.json]

The hooks here are thin: the config, the routing decisions, reachability, pages and counters live in
`mfe_proxy` (no mitmproxy import there). See the README for what the proxy does and why.
"""

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

from mfe_proxy import pages, startup
from mfe_proxy.config import Application, Config, Origin, load_config
from mfe_proxy.errors import MfeError
from mfe_proxy.health import Health
from mfe_proxy.router import FLAG_HEADER, Endpoint, Forward, Redirect, Reject, Router
from mfe_proxy.stats import Connection, Stats

logger = logging.getLogger("mfe-proxy")

LOCAL_PROXY_ORIGIN_HEADER = "x-vercel-mfe-local-proxy-origin"
# Headers the proxy writes itself; whatever the client sent under these names is replaced.
_REPLACED_HEADERS = frozenset(
    name.encode()
    for name in ("x-forwarded-host", "x-forwarded-proto", FLAG_HEADER, LOCAL_PROXY_ORIGIN_HEADER)
)
# How much of a streamed body is kept for inspection in mitmweb.
KEEP_STREAMED_BODY = 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything derived from one config and the options; replaced whole, never changed, so a
    request sees one config from start to end."""

    config: Config
    router: Router
    local: frozenset[str] | None  # None: every application is local
    fallbacks: dict[str, Origin | None]  # its own, else the default application's

    @classmethod
    def build(cls, config_option: str, local_option: str) -> "Setup":
        config = load_config(Path(config_option) if config_option else None)
        local = startup.local_applications(local_option, config)
        default_fallback = config.default_application.fallback
        return cls(
            config,
            Router(config, local),
            local,
            {name: app.fallback or default_fallback for name, app in config.applications.items()},
        )

    def is_local(self, app: Application) -> bool:
        return self.local is None or app.name in self.local

    def targets(self) -> dict[str, Origin]:
        """Where each application is served from when it is up (the routing endpoint's table)."""
        return {
            name: app.upstream if self.is_local(app) else (self.fallbacks[name] or app.upstream)
            for name, app in self.config.applications.items()
        }


class KeepBody:
    """A stream callable that relays every chunk as it comes and keeps the first
    `KEEP_STREAMED_BODY` bytes for mitmweb."""

    __slots__ = ("kept",)

    def __init__(self) -> None:
        self.kept = bytearray()

    def __call__(self, chunk: bytes) -> bytes:
        if len(self.kept) < KEEP_STREAMED_BODY:
            self.kept += chunk[: KEEP_STREAMED_BODY - len(self.kept)]
        return chunk


class MfeRouter:
    def __init__(self) -> None:
        self.setup: Setup | None = None
        self.health = Health()
        self.stats = Stats(())
        self.connections: dict[str, Connection] = {}
        self.keep_messages = 100
        self.is_running = False
        # Held so that the start-up task is not collected: the event loop keeps tasks weakly.
        self._started: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "mfe_config",
            str,
            "",
            "The microfrontends config file (microfrontends.json, .jsonc, .yaml). "
            "Default: the first of those in the working directory.",
        )
        loader.add_option(
            "mfe_local_apps",
            str,
            "",
            "Comma-separated applications that run locally; the others go to their fallback. "
            "Default: all are local.",
        )
        loader.add_option(
            "mfe_ws_keep_messages",
            int,
            100,
            "How many of the latest messages of each WebSocket connection stay inspectable; "
            "older ones are dropped so that endless HMR streams do not grow memory.",
        )
        _forgive_default_listener()

    def configure(self, updated: set[str]) -> None:
        if "mfe_ws_keep_messages" in updated:
            if ctx.options.mfe_ws_keep_messages < 0:
                raise exceptions.OptionsError("mfe_ws_keep_messages must be 0 or more")
            self.keep_messages = ctx.options.mfe_ws_keep_messages
        # At start-up the config is read in `running`, where a bad one can stop mitmproxy cleanly.
        if self.is_running and updated & {"mfe_config", "mfe_local_apps"}:
            try:
                self.use(Setup.build(ctx.options.mfe_config, ctx.options.mfe_local_apps))
            except MfeError as error:
                raise exceptions.OptionsError(str(error)) from None

    def running(self) -> None:
        self.is_running = True
        try:
            setup = Setup.build(ctx.options.mfe_config, ctx.options.mfe_local_apps)
        except MfeError as error:
            logger.error(f"mfe-proxy cannot start: {error}")
            return
        for warning in setup.config.warnings:
            logger.warning(f"{setup.config.file}: {warning}")
        options = startup.derived_options(setup.config, ctx.options.has_changed)
        busy = _busy_port(options)
        if busy is not None:
            logger.error(
                f"mfe-proxy cannot listen on {busy[0]}:{busy[1]}: the port is busy (another proxy?). "
                f"Stop what uses it, or pick another port with options.localProxyPort in "
                f"{setup.config.file} or --set listen_port=N."
            )
            return
        self.use(setup)
        ctx.options.update(**options)
        self._started = asyncio.ensure_future(self._announce(setup))

    async def _announce(self, setup: Setup) -> None:
        proxyserver: Any = ctx.master.addons.get("proxyserver")
        # Waits for the server update that the option change started.
        await proxyserver.setup_servers()
        _PROXYSERVER_LOGGER.removeFilter(_default_listener_filter)
        addresses = proxyserver.listen_addrs()
        if not addresses:
            logger.error("mfe-proxy is not listening anywhere; see the errors above")
            ctx.master.shutdown()
            return
        reachable = await self._reachable(setup)
        logger.info(startup.banner(setup.config, addresses, setup.local, reachable))

    async def _reachable(self, setup: Setup) -> dict[str, bool]:
        apps = [app for app in setup.config.applications.values() if setup.is_local(app)]
        answers = await asyncio.gather(
            *(self.health.reachable((app.upstream.host, app.upstream.port)) for app in apps)
        )
        return {app.name: answer for app, answer in zip(apps, answers, strict=True)}

    def use(self, setup: Setup) -> None:
        self.stats.track(setup.config.applications)
        self.setup = setup

    def done(self) -> None:
        if self.setup is not None:
            logger.info(self.stats.summary())

    # -- HTTP ----------------------------------------------------------------------------------------

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        setup = self.setup
        if setup is None:
            _not_ready(flow)
            return
        request = flow.request
        target = request.path
        if request.data.authority and request.http_version.startswith("HTTP/1"):
            # An absolute-form target (`GET http://host/path`) names a host of its own; mitmproxy
            # keeps only the path, so the router sees the whole target to refuse it.
            target = f"{request.scheme}://{request.authority}{target}"
        decision = setup.router.route(request.method, target, request.headers)
        if type(decision) is Forward:
            await self._forward(flow, decision, setup)
        else:
            self._answer(flow, decision, setup)

    async def _forward(self, flow: http.HTTPFlow, decision: Forward, setup: Setup) -> None:
        app = decision.application
        self.stats.apps[app.name].requests += 1
        fallback = setup.fallbacks[app.name]
        request = flow.request
        if setup.is_local(app):
            upstream = decision.upstream
            if await self.health.reachable((upstream.host, upstream.port)):
                _send(flow, decision, upstream, local=True)
                return
            if fallback is None:
                page = pages.application_down(
                    app, upstream, request.method, request.path, setup.config.file, _wants_html(flow)
                )
                _respond(flow, page, decision)
                return
        elif fallback is None:
            local = sorted(setup.local or ())
            page = pages.application_not_local(app, local, request.method, request.path, _wants_html(flow))
            _respond(flow, page, decision)
            return
        _send(flow, decision, fallback, local=False)

    def _answer(self, flow: http.HTTPFlow, decision: Redirect | Endpoint | Reject, setup: Setup) -> None:
        if type(decision) is Redirect:
            flow.response = http.Response.make(decision.status, b"", {"Location": decision.location})
            label = f"proxy: redirect to {decision.location}"
        elif type(decision) is Endpoint:
            if decision.name == "routing":
                page = pages.routing_table(setup.targets())
            else:
                page = pages.message(404, f"mfe-proxy has no endpoint {decision.name!r}")
            flow.response = _response(flow, page)
            label = f"proxy: {decision.name} endpoint"
        else:
            flow.response = _response(flow, pages.message(decision.status, decision.message))
            label = f"proxy: {decision.status} {decision.message}"
        flow.comment = label
        flow.metadata["mfe"] = {
            "application": None,
            "reason": "proxy",
            "detail": label,
            "upstream": None,
            "via": "proxy",
            "client_host": None,
        }

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self.setup is None:
            _not_ready(flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        mfe = flow.metadata.get("mfe")
        if response is None or mfe is None or mfe["via"] == "proxy":
            return
        if mfe["via"] == "fallback" and 300 <= response.status_code < 400:
            _rewrite_location(response, mfe)
        # Bodies of unknown length (server-sent events, streamed server rendering) must reach the
        # browser as they come; known lengths above stream_large_bodies already stream.
        if (
            not response.stream
            and "content-length" not in response.headers
            and response.status_code >= 200
            and response.status_code not in _NO_BODY_STATUS
            and flow.request.method != "HEAD"
        ):
            response.stream = KeepBody()

    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is not None and isinstance(response.stream, KeepBody):
            response.raw_content = bytes(response.stream.kept)

    # -- upstream connections --------------------------------------------------------------------

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.connected(data.server.address)

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.disconnected(data.server.address)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.failed(data.server.address)

    # -- WebSockets ----------------------------------------------------------------------------------

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        mfe = flow.metadata.get("mfe")
        if mfe is None or mfe["application"] is None:
            return
        connection = self.stats.open(mfe["application"], flow.request.path, mfe["upstream"], time.time())
        self.connections[flow.id] = connection
        logger.info(connection.opened_line())

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        messages = flow.websocket.messages
        connection = self.connections.get(flow.id)
        if connection is not None:
            message = messages[-1]
            connection.message(message.from_client, len(message.content))
        if len(messages) > self.keep_messages:
            del messages[: len(messages) - self.keep_messages]

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        connection = self.connections.pop(flow.id, None)
        if connection is None:
            return
        assert flow.websocket is not None
        websocket = flow.websocket
        self.stats.close(connection)
        logger.info(
            connection.closed_line(
                websocket.close_code,
                websocket.close_reason,
                websocket.closed_by_client,
                websocket.timestamp_end or time.time(),
            )
        )


def _send(flow: http.HTTPFlow, decision: Forward, origin: Origin, local: bool) -> None:
    """Point the request at `origin` with the headers an application behind the proxy expects."""
    request = flow.request
    # The data fields, not the properties: those would also rewrite the client's Host header.
    request.data.scheme = origin.scheme.encode()
    request.data.host = origin.host
    request.data.port = origin.port
    if decision.target is not None:
        request.path = decision.target
    # One pass over the header fields: setting each header through `Headers` would rebuild them all
    # once per header, on every request.
    fields = []
    host: bytes | None = None
    forwarded_for: list[bytes] = []
    for name, value in request.headers.fields:
        lower = name.lower()
        if lower == b"host":
            host = value
            if not local:
                continue
        elif lower == b"x-forwarded-for":
            forwarded_for.append(value)
            continue
        elif lower in _REPLACED_HEADERS:
            continue
        fields.append((name, value))
    forwarded_for.append(flow.client_conn.peername[0].encode())
    fields.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    fields.append((b"x-forwarded-proto", b"https" if flow.client_conn.tls_established else b"http"))
    if host is not None:
        fields.append((b"x-forwarded-host", host))
    if decision.flag_value is not None:
        fields.append((FLAG_HEADER.encode(), b"true" if decision.flag_value else b"false"))
    if local:
        fields.append((LOCAL_PROXY_ORIGIN_HEADER.encode(), b"1"))
    else:
        fields.insert(0, (b"host", origin.netloc.encode()))
    request.headers.fields = tuple(fields)
    client_host = host.decode("utf-8", "surrogateescape") if host is not None else None
    _mark(flow, decision, origin.url, "local" if local else "fallback", client_host)


def _not_ready(flow: http.HTTPFlow) -> None:
    """Until the addon runs, mitmproxy's default listener is a forward proxy to anywhere; it must not
    serve as one, even for a moment."""
    flow.response = _response(flow, pages.message(503, "mfe-proxy is starting or has no valid config"))


def _respond(flow: http.HTTPFlow, page: pages.Page, decision: Forward) -> None:
    flow.response = _response(flow, page)
    _mark(flow, decision, None, "proxy", None)


_COMMENT_SUFFIX = {"local": "", "fallback": " (fallback)", "proxy": " (not reachable)"}


def _mark(
    flow: http.HTTPFlow, decision: Forward, upstream: str | None, via: str, client_host: str | None
) -> None:
    """The routing decision on the flow, for mitmweb: as its comment and as data."""
    flow.comment = decision.label + _COMMENT_SUFFIX[via]
    flow.metadata["mfe"] = {
        "application": decision.application.name,
        "reason": str(decision.reason),
        "detail": decision.detail,
        "upstream": upstream,
        "via": via,
        "client_host": client_host,
    }


def _response(flow: http.HTTPFlow, page: pages.Page) -> http.Response:
    response = http.Response.make(page.status, page.body, {"Content-Type": page.content_type})
    if flow.request.method == "HEAD":
        response.raw_content = b""  # Content-Length still tells the size of the body a GET gets
    return response


def _wants_html(flow: http.HTTPFlow) -> bool:
    return "text/html" in flow.request.headers.get("accept", "")


def _rewrite_location(response: http.Response, mfe: dict[str, Any]) -> None:
    """A fallback's redirect to itself goes back through the proxy, so the browser stays on it."""
    location = response.headers.get("location")
    client_host = mfe["client_host"]
    if location is None or client_host is None:
        return
    origin = mfe["upstream"]
    for prefix in (origin, origin.replace("https://", "http://", 1)):
        if location == prefix or location.startswith((prefix + "/", prefix + "?", prefix + "#")):
            response.headers["location"] = f"http://{client_host}{location[len(prefix) :]}"
            return


def _busy_port(options: dict[str, Any]) -> tuple[str, int] | None:
    """The address the proxy is about to listen on, if something else holds it already; checked
    before switching so that the message can say what to do. A user-given mode is left to mitmproxy."""
    if "mode" not in options:
        return None
    host = options.get("listen_host", ctx.options.listen_host) or "0.0.0.0"
    port = options.get("listen_port", ctx.options.listen_port)
    proxyserver: Any = ctx.master.addons.get("proxyserver")
    if port is None or any(address[1] == port for address in proxyserver.listen_addrs()):
        return None  # mitmproxy's own listener holds it and frees it when the mode changes
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return host, port
    return None


def _is_default_listener_failure(record: logging.LogRecord) -> bool:
    # Stopping the listener that never started then fails too, with an empty AssertionError.
    message = record.getMessage()
    return record.levelno >= logging.ERROR and ("HTTP(S) proxy failed to listen" in message or not message)


class _DefaultListenerFilter(logging.Filter):
    """mitmproxy binds its default listener (8080, or listen_port) around the time it loads scripts,
    and the addon replaces that listener once running. When the port is taken, mitmproxy's start-up
    check would stop the proxy for a listener it is about to drop, with advice that does not apply:
    this filter withholds those errors until the addon's own listener is up (or says why not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_default_listener_failure(record):
            if record.getMessage():
                logger.info("mitmproxy's default listener could not start; mfe-proxy does not need it")
            return False
        return True


_PROXYSERVER_LOGGER = logging.getLogger("mitmproxy.addons.proxyserver")
_default_listener_filter = _DefaultListenerFilter()


def _forgive_default_listener() -> None:
    if ctx.options.has_changed("mode"):
        return
    _PROXYSERVER_LOGGER.addFilter(_default_listener_filter)
    # The listener may have failed before this script loaded; then the error is already recorded.
    errorcheck: Any = ctx.master.addons.get("errorcheck")
    records = getattr(getattr(errorcheck, "logger", None), "has_errored", None)
    if records:
        records[:] = [record for record in records if not _is_default_listener_failure(record)]


addons = [MfeRouter()]
