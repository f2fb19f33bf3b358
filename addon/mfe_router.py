"""mfe-proxy: mitmproxy as the local development proxy for microfrontends.

    mitmdump -s addon/mfe_router.py [--set mfe_config=microfrontends.json]

The hooks here are thin: the config, the routing decisions, reachability, pages and counters live in
`mfe_proxy` (no mitmproxy import there). See the README for what the proxy does and why.
"""

import asyncio
import collections
import contextlib
import ipaddress
import itertools
import logging
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ada_url
from mitmproxy import ctx, exceptions, flow, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

import mitmproxy_patches
from mfe_proxy import pages, startup, status
from mfe_proxy.config import Application, Config, Origin
from mfe_proxy.environment import BYPASS_HEADER, Environment
from mfe_proxy.errors import MfeError
from mfe_proxy.health import Health
from mfe_proxy.hosts import AllowedHosts
from mfe_proxy.router import FLAG_HEADER, Endpoint, Forward, Redirect, Reject, Router, forwarded_path
from mfe_proxy.stats import Connection, Stats

logger = logging.getLogger("mfe-proxy")

LOCAL_PROXY_ORIGIN_HEADER = "x-vercel-mfe-local-proxy-origin"
# Headers the proxy writes itself; whatever the client sent under these names is replaced.
_REPLACED_HEADERS = frozenset(name.encode() for name in (FLAG_HEADER, LOCAL_PROXY_ORIGIN_HEADER))
_BYPASS_HEADER = BYPASS_HEADER.encode()
# Added when the client did not send them. A tunnel or another proxy in front sends its own, from which
# the application builds its URLs: those reach it unchanged, as on Vercel.
_FORWARDED_HEADERS = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
# How much of a streamed body is kept for inspection in mitmweb.
KEEP_STREAMED_BODY = 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})
_REWRITTEN_REDIRECTS = frozenset({301, 302, 307, 308})
# How often the config file is looked at and idle WebSockets are looked for. A change is applied once
# the file has stayed the same for one more tick, so that a half-written file is not read.
TICK = 0.25
# How long shutting down waits for WebSocket peers to receive their close frames.
CLOSE_GRACE = 2.0
# Limits on a request head, which mitmproxy reads whole with no limit of its own. Dev servers on Node
# refuse heads over 16 KiB; these leave room for large cookies while refusing absurd heads.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 500
# Control characters (tab aside) in a header field or the request target: bare CR or LF (what is left
# of obsolete line folding or a smuggled header), NUL, DEL. mitmproxy passes them on as they are.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HTTP_VERSIONS = frozenset({b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0"})


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything derived from one config, the options and the environment; replaced whole, never
    changed, so a request sees one config from start to end."""

    config: Config
    router: Router
    local: frozenset[str] | None  # None: every application is local
    fallbacks: dict[str, Origin | None]  # its own, else the default application's
    environment: Environment
    # Per application, the protection bypass secret for its fallback: (secret, the variable holding it).
    bypass: dict[str, tuple[str, str]]

    @classmethod
    def build(cls, config_option: str, local_option: str) -> "Setup":
        config, local, environment = startup.load(config_option, local_option, Path.cwd(), os.environ)
        default = config.default_application
        bypass = {
            name: secret
            for name, app in config.applications.items()
            if (secret := environment.bypass_secret(default.name if app.inherits_fallback else name))
        }
        return cls(
            config,
            Router(config, local),
            local,
            {name: app.fallback or default.fallback for name, app in config.applications.items()},
            environment,
            bypass,
        )

    @property
    def proxy_port(self) -> int:
        return self.environment.proxy_port(self.config.proxy_port)

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
        self.websockets: dict[str, tuple[http.HTTPFlow, Connection]] = {}
        self.closing: dict[str, str] = {}  # WebSockets the proxy is closing itself, and why
        self.quiet_allowed: dict[str, contextlib.ExitStack] = {}  # see websocket_start
        self.keep_messages = 100
        self.allowed_hosts = AllowedHosts()
        self.ws_idle_timeout = 0
        self.ws_max_connections = 1000
        self.keep_flows = 0
        self.view: Any = None  # mitmweb's flow list; mitmdump has none
        self.finished: collections.deque[flow.Flow] = collections.deque()  # for the mitmweb flow cap
        self.is_running = False
        self.derived: dict[str, Any] = {}  # the options the addon set itself at start-up
        self._stamp: tuple[int, int, int] | None = None  # the config file's, when last read
        self._changed: tuple[int, int, int] | None = None  # a new stamp seen, to apply next tick
        # Held so that the tasks are not collected: the event loop keeps tasks weakly.
        self._started: asyncio.Task[None] | None = None
        self._ticking: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None

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
        loader.add_option(
            "mfe_allowed_hosts",
            str,
            "",
            "Comma-separated host names the proxy answers for besides localhost, 127.0.0.1, [::1] and "
            "*.localhost ('*.example.test' for subdomains, '*' for any); other Host headers get 403 "
            "and WebSocket upgrades from pages on other origins are refused (DNS rebinding protection).",
        )
        loader.add_option(
            "mfe_ws_idle_timeout",
            int,
            0,
            "Close WebSocket connections (with 1001) after this many seconds without a message in "
            "either direction. 0: never.",
        )
        loader.add_option(
            "mfe_ws_max_connections",
            int,
            1000,
            "How many WebSocket connections the proxy relays at once; further upgrades get 503.",
        )
        loader.add_option(
            "mfe_keep_flows",
            int,
            5000,
            "Under mitmweb, how many finished flows stay in the flow list; the oldest are dropped so "
            "that an all-day session does not grow memory without bound. 0: keep all.",
        )
        _check_deferred(
            ("mfe_ws_keep_messages", "mfe_ws_idle_timeout", "mfe_ws_max_connections", "mfe_keep_flows")
        )
        _forgive_default_listener()
        mitmproxy_patches.install()

    def configure(self, updated: set[str]) -> None:
        try:
            self._configure_options(updated)
        except MfeError as error:
            if self.is_running:
                raise exceptions.OptionsError(str(error)) from None
            # At start-up mitmproxy would print the exception with a traceback and carry on; an error
            # logged now stops it cleanly, with the message alone.
            logger.error(f"mfe-proxy cannot start: {error}")

    def _configure_options(self, updated: set[str]) -> None:
        if "mfe_ws_keep_messages" in updated:
            self.keep_messages = _at_least(0, "mfe_ws_keep_messages", "0 or more")
        if "mfe_allowed_hosts" in updated:
            self.allowed_hosts = AllowedHosts.parse(ctx.options.mfe_allowed_hosts)
        if "mfe_ws_idle_timeout" in updated:
            self.ws_idle_timeout = _at_least(0, "mfe_ws_idle_timeout", "0 (off) or a number of seconds")
        if "mfe_ws_max_connections" in updated:
            self.ws_max_connections = _at_least(0, "mfe_ws_max_connections", "0 or more")
        if "mfe_keep_flows" in updated:
            self.keep_flows = _at_least(0, "mfe_keep_flows", "0 (keep all) or more")
        # At start-up the config is read in `running`, where a bad one can stop mitmproxy cleanly.
        if self.is_running and updated & {"mfe_config", "mfe_local_apps"}:
            self.use(Setup.build(ctx.options.mfe_config, ctx.options.mfe_local_apps))

    def running(self) -> None:
        self.is_running = True
        try:
            setup = Setup.build(ctx.options.mfe_config, ctx.options.mfe_local_apps)
        except MfeError as error:
            logger.error(f"mfe-proxy cannot start: {error}")
            return
        for warning in setup.config.warnings:
            logger.warning(f"{setup.config.file}: {warning}")
        options = startup.derived_options(setup.config, setup.proxy_port, ctx.options.has_changed)
        busy = _busy_port(options)
        if busy is not None:
            logger.error(startup.busy_port_message(*busy, setup.config))
            return
        # What the launcher (addon/mfe_launcher.py) set before start-up counts as the addon's own.
        self.derived = {**getattr(ctx.master, "mfe_launcher_options", {}), **options}
        self.view = ctx.master.addons.get("view")
        ctx.options.update(**options)
        self._started = asyncio.ensure_future(self._announce(setup))
        self._ticking = asyncio.ensure_future(self._tick())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Where the loop cannot take signal handlers, mitmproxy's own stop the proxy as before.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._stop)

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
        # Only now, on the listener that stays, does the proxy route (and a script polling the routing
        # endpoint get its 200); until then every request gets 503.
        self.use(setup)
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
        self._stamp = self._changed = _stamp(setup.config.file)

    def done(self) -> None:
        mitmproxy_patches.uninstall()
        for task in (self._ticking, self._stopping):
            if task is not None:
                task.cancel()
        if self.setup is not None:
            logger.info(self.stats.summary())

    def _stop(self) -> None:
        """SIGINT or SIGTERM: open WebSockets are closed with 1001 (going away) before mitmproxy stops,
        so that browsers and dev servers see a proper close. A second signal stops at once."""
        if self._stopping is not None or not self.websockets:
            ctx.master.shutdown()
            return
        self._stopping = asyncio.ensure_future(self._close_then_stop())

    async def _close_then_stop(self) -> None:
        count = len(self.websockets)
        logger.info(f"mfe-proxy stopping: closing {count} WebSocket connection{'' if count == 1 else 's'}")
        for ws_flow, _ in list(self.websockets.values()):
            self._close(ws_flow, mitmproxy_patches.GOING_AWAY, "mfe-proxy is stopping")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE):
                while self.websockets:
                    await asyncio.sleep(0.02)
        ctx.master.shutdown()

    def _close(self, ws_flow: http.HTTPFlow, code: int, reason: str) -> None:
        self.closing[ws_flow.id] = reason
        mitmproxy_patches.close_websocket(ws_flow, code, reason)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self._reload_if_changed()
            if self.ws_idle_timeout:
                self._close_idle(time.time())

    def _reload_if_changed(self) -> None:
        """Live reload: a changed config file applies to new requests, whole or not at all."""
        setup = self.setup
        if setup is None:
            return
        stamp = _stamp(setup.config.file)
        if stamp == self._stamp:
            self._changed = stamp
            return
        if stamp != self._changed:  # still changing: wait for it to settle
            self._changed = stamp
            return
        self._stamp = stamp
        file = setup.config.file
        if stamp is None:
            logger.warning(f"mfe-proxy: {file} is gone; routing stays as it was until it is back")
            return
        try:
            new = Setup.build(ctx.options.mfe_config or file, ctx.options.mfe_local_apps)
        except MfeError as error:
            logger.error(f"mfe-proxy: the changed config cannot be used, routing stays as it was: {error}")
            return
        for warning in new.config.warnings:
            logger.warning(f"{file}: {warning}")
        port = self.derived.get("listen_port")
        if port is not None and new.proxy_port != port:
            logger.warning(
                f"mfe-proxy: {file} now sets localProxyPort {new.proxy_port}; the proxy keeps listening on "
                f"{port} until it is restarted"
            )
        self.use(new)
        logger.info(f"mfe-proxy reloaded {file}: {', '.join(new.config.applications)}")

    def _close_idle(self, now: float) -> None:
        for ws_flow, connection in list(self.websockets.values()):
            if ws_flow.id not in self.closing and connection.idle_for(now) >= self.ws_idle_timeout:
                logger.info(
                    f"ws#{connection.id} idle for {self.ws_idle_timeout} s (mfe_ws_idle_timeout): closing"
                )
                self._close(ws_flow, mitmproxy_patches.GOING_AWAY, "idle")

    # -- HTTP ----------------------------------------------------------------------------------------

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        setup = self.setup
        if setup is None:
            _not_ready(flow)
            return
        request = flow.request
        if not self._admit(flow):
            return
        target = request.path
        if request.data.authority and request.http_version.startswith("HTTP/1"):
            # An absolute-form target (`GET http://host/path`) names a host of its own; mitmproxy
            # keeps only the path, so the router sees the whole target to refuse it.
            target = f"{request.scheme}://{request.authority}{target}"
        decision = setup.router.route(request.method, target, request.headers, "upgrade" in request.headers)
        if type(decision) is Forward:
            await self._forward(flow, decision, setup)
        elif type(decision) is Endpoint and decision.name in ("status", "metrics"):
            await self._status(flow, decision.name, setup)
        else:
            self._answer(flow, decision, setup)

    def _admit(self, flow: http.HTTPFlow) -> bool:
        """Refuse what must not reach an application: a missing, doubled or malformed Host, a host the
        proxy does not serve, a WebSocket upgrade from a page on another site, one WebSocket too many."""
        request = flow.request
        problem = _malformed(request)
        if problem is not None:
            _reply(flow, pages.message(problem[0], f"mfe-proxy refuses a request {problem[1]}"))
            # What follows on the connection cannot be trusted to start where this request ends.
            flow.response.headers["connection"] = "close"
            return False
        hosts = request.headers.get_all("host")
        if not hosts and request.http_version == "HTTP/2.0" and request.authority:
            hosts = [request.authority]
        verdict = self.allowed_hosts.check_host(hosts)
        if verdict.status == 400:
            what = "no Host header" if not hosts else f"Host {', '.join(hosts)!r}"
            _reply(flow, pages.message(400, f"mfe-proxy cannot serve a request with {what}"))
            return False
        if verdict.status:
            _reply(flow, pages.host_not_allowed(verdict.host, _wants_html(flow)))
            return False
        if "upgrade" not in request.headers:
            return True
        origin = request.headers.get("origin")
        if origin is not None:
            verdict = self.allowed_hosts.check_origin(origin)
            if verdict.status:
                _reply(flow, pages.origin_not_allowed(verdict.host))
                return False
        if len(self.websockets) >= self.ws_max_connections:
            _reply(flow, pages.too_many_websockets(self.ws_max_connections))
            return False
        return True

    async def _status(self, flow: http.HTTPFlow, name: str, setup: Setup) -> None:
        """The status and metrics endpoints: for the developer's own machine only."""
        if not _is_loopback(flow.client_conn.peername[0]):
            _reply(flow, pages.message(403, f"mfe-proxy answers its {name} endpoint only to this machine"))
            return
        apps = setup.config.applications.values()
        answers = await asyncio.gather(
            *(self.health.reachable((app.upstream.host, app.upstream.port)) for app in apps)
        )
        reachable = {app.name: answer for app, answer in zip(apps, answers, strict=True)}
        doc = status.document(setup.config, setup.local, setup.fallbacks, self.stats.apps, reachable)
        page = status.status_page(doc) if name == "status" else status.prometheus(doc)
        _reply(flow, page, f"proxy: {name} endpoint")

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
        # As on Vercel: the protection bypass secret goes to https fallbacks, never on an upgrade.
        secure = fallback.scheme == "https" and "upgrade" not in request.headers
        _send(flow, decision, fallback, local=False, secret=setup.bypass.get(app.name) if secure else None)

    def _answer(self, flow: http.HTTPFlow, decision: Redirect | Endpoint | Reject, setup: Setup) -> None:
        if type(decision) is Redirect:
            flow.response = http.Response.make(decision.status, b"", {"Location": decision.location})
            _mark_proxy(flow, f"proxy: redirect to {decision.location}")
        elif type(decision) is Endpoint:
            if decision.name == "routing":
                page = pages.routing_table(setup.targets())
            else:
                page = pages.message(404, f"mfe-proxy has no endpoint {decision.name!r}")
            _reply(flow, page, f"proxy: {decision.name} endpoint")
        else:
            _reply(flow, pages.message(decision.status, decision.message))

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
        if self.view is not None and self.keep_flows and flow.websocket is None:
            self._keep(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        mfe = flow.metadata.get("mfe")
        if mfe is not None and "bypass" in mfe:
            mitmproxy_patches.forget_secret(flow.request, BYPASS_HEADER)
        if self.view is not None and self.keep_flows and flow.websocket is None:
            self._keep(flow)

    def _keep(self, done: flow.Flow) -> None:
        """The mitmweb flow cap: once more than `mfe_keep_flows` flows are listed, the oldest finished
        ones go. Flows still open (WebSockets) are never dropped."""
        view = self.view
        self.finished.append(done)
        excess = view.store_count() - self.keep_flows
        if excess <= 0:
            if len(self.finished) > 2 * self.keep_flows:  # the user removed flows by hand meanwhile
                self.finished = collections.deque(f for f in self.finished if view.get_by_id(f.id))
            return
        drop = []
        while excess > 0 and self.finished:
            oldest = self.finished.popleft()
            if view.get_by_id(oldest.id) is not None:
                drop.append(oldest)
                excess -= 1
        view.remove(drop)

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
        self.websockets[flow.id] = (flow, connection)
        logger.info(connection.opened_line())
        # mitmproxy cuts connections idle for tcp_timeout (10 minutes), without a close frame: a quiet
        # HMR socket would be cut mid-session and the page reloaded. Whether a WebSocket has been idle
        # too long is mfe_ws_idle_timeout's to say.
        proxyserver: Any = ctx.master.addons.get("proxyserver")  # None only in mitmproxy's test context
        handler = proxyserver.connections.get(flow.client_conn.id) if proxyserver else None
        if handler is not None:
            held = contextlib.ExitStack()
            held.enter_context(handler.timeout_watchdog.disarm())
            self.quiet_allowed[flow.id] = held

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        messages = flow.websocket.messages
        entry = self.websockets.get(flow.id)
        if entry is not None:
            message = messages[-1]
            entry[1].message(message.from_client, len(message.content))
        if len(messages) > self.keep_messages:
            del messages[: len(messages) - self.keep_messages]

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if self.view is not None and self.keep_flows:
            self._keep(flow)
        held = self.quiet_allowed.pop(flow.id, None)
        if held is not None:
            held.close()
        entry = self.websockets.pop(flow.id, None)
        if entry is None:
            return
        connection = entry[1]
        assert flow.websocket is not None
        websocket = flow.websocket
        by_proxy = self.closing.pop(flow.id, None) is not None
        self.stats.close(connection)
        logger.info(
            connection.closed_line(
                websocket.close_code,
                websocket.close_reason,
                None if by_proxy else websocket.closed_by_client,
                websocket.timestamp_end or time.time(),
            )
        )


def _send(
    flow: http.HTTPFlow,
    decision: Forward,
    origin: Origin,
    *,
    local: bool,
    secret: tuple[str, str] | None = None,
) -> None:
    """Point the request at `origin` with the headers an application behind the proxy expects;
    `secret` is the protection bypass secret for a fallback, and the variable that holds it."""
    request = flow.request
    # The data fields, not the properties: those would also rewrite the client's Host header.
    request.data.scheme = origin.scheme.encode()
    request.data.host = origin.host
    request.data.port = origin.port
    plain = origin.scheme == "http"
    # Over plain HTTP, Vercel's proxy sends the path as node-http-proxy cleans it up.
    target = decision.target or request.path
    if plain:
        target = forwarded_path(target)
    if target != request.path:
        request.path = target
    # One pass over the header fields: setting each header through `Headers` would rebuild them all
    # once per header, on every request.
    fields = []
    host: bytes | None = None
    forwarded: set[bytes] = set()
    for name, value in request.headers.fields:
        lower = name.lower()
        if lower == b"host":
            host = value
            if not local:
                continue
        elif lower in _REPLACED_HEADERS or (secret is not None and lower == _BYPASS_HEADER):
            continue
        elif lower in _FORWARDED_HEADERS:
            forwarded.add(lower)
        fields.append((name, value))
    if len(forwarded) < len(_FORWARDED_HEADERS):
        ours = (
            flow.client_conn.peername[0].encode(),
            b"https" if flow.client_conn.tls_established else b"http",
            host,
        )
        fields.extend(
            (name, value)
            for name, value in zip(_FORWARDED_HEADERS, ours, strict=True)
            if name not in forwarded and value is not None
        )
    if decision.flag_value is not None and plain:
        fields.append((FLAG_HEADER.encode(), b"true" if decision.flag_value else b"false"))
    if local:
        fields.append((LOCAL_PROXY_ORIGIN_HEADER.encode(), b"1"))
    else:
        fields.insert(0, (b"host", origin.netloc.encode()))
    request.headers.fields = tuple(fields)
    client_host = host.decode("utf-8", "surrogateescape") if host is not None else None
    _mark(flow, decision, origin.url, "local" if local else "fallback", client_host)
    if secret is not None:
        value, variable = secret
        # The flow shows which variable, never the secret: mitmweb, mitmdump and saved flows read it.
        placeholder = f"({variable}, set by mfe-proxy for flow {flow.id})"
        mitmproxy_patches.send_secret(request, BYPASS_HEADER, placeholder, value)
        flow.metadata["mfe"]["bypass"] = variable


def _not_ready(flow: http.HTTPFlow) -> None:
    """Until the addon runs, mitmproxy's default listener is a forward proxy to anywhere; it must not
    serve as one, even for a moment."""
    flow.response = _response(flow, pages.message(503, "mfe-proxy is starting or has no valid config"))


def _respond(flow: http.HTTPFlow, page: pages.Page, decision: Forward) -> None:
    flow.response = _response(flow, page)
    _mark(flow, decision, None, "proxy", None)


def _reply(flow: http.HTTPFlow, page: pages.Page, label: str | None = None) -> None:
    """Answer with one of the proxy's own pages, for a request that goes to no application."""
    flow.response = _response(flow, page)
    _mark_proxy(flow, label or f"proxy: {page.status} {page.body.decode(errors='replace').splitlines()[0]}")


def _mark_proxy(flow: http.HTTPFlow, label: str) -> None:
    flow.comment = label
    flow.metadata["mfe"] = {
        "application": None,
        "reason": "proxy",
        "detail": label,
        "upstream": None,
        "via": "proxy",
        "client_host": None,
    }


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
    # The proxy's own answers describe this moment (an application down, the counters): never cached.
    response = http.Response.make(
        page.status,
        page.body,
        {"Content-Type": page.content_type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
    if flow.request.method == "HEAD":
        response.raw_content = b""  # Content-Length still tells the size of the body a GET gets
    return response


def _wants_html(flow: http.HTTPFlow) -> bool:
    return "text/html" in flow.request.headers.get("accept", "")


def _rewrite_location(response: http.Response, mfe: dict[str, Any]) -> None:
    """A fallback's redirect goes back through the proxy, so the browser stays on it. From an https
    fallback (a deployment), as Vercel's proxy does: a 301, 302, 307 or 308 to any origin, or to a
    path resolved against the proxy's root. From a plain-HTTP fallback, a redirect to itself."""
    location = response.headers.get("location")
    client_host = mfe["client_host"]
    if location is None or client_host is None:
        return
    origin = mfe["upstream"]
    if origin.startswith("https://"):
        if response.status_code in _REWRITTEN_REDIRECTS:
            # Vercel's `new URL(location, proxy)`, then the proxy's protocol and host set on it (which
            # leaves a URL such as mailto: alone); an invalid URL, on which Vercel's proxy throws, stays.
            proxy = f"http://{client_host}"
            with contextlib.suppress(ValueError):
                url = ada_url.URL(location, proxy)
                url.protocol = "http:"
                url.host = client_host
                response.headers["location"] = url.href
        return
    for prefix in (origin, origin.replace("https://", "http://", 1)):
        if location == prefix or location.startswith((prefix + "/", prefix + "?", prefix + "#")):
            response.headers["location"] = f"http://{client_host}{location[len(prefix) :]}"
            return


def _check_deferred(int_options: tuple[str, ...]) -> None:
    """mitmproxy converts `--set` values for a script's options right after `load`, and when one does
    not convert it drops the whole script without a word and goes on as a plain proxy. So the values
    are checked first: a bad one is reported and left out, which stops start-up."""
    deferred: dict[str, Any] = ctx.options.deferred
    for name in int_options:
        given = getattr(deferred.get(name), "val", None)
        if not given:
            continue
        try:
            int(given[-1])
        except ValueError:
            del deferred[name]
            logger.error(f"mfe-proxy cannot start: {name} must be a whole number, not {given[-1]!r}")


def _malformed(request: http.Request) -> tuple[int, str] | None:
    """What mitmproxy lets through of a malformed request head, which could reach an application and
    be read differently there (request smuggling): status and reason, or None when the head is sound."""
    data = request.data
    if data.http_version not in _HTTP_VERSIONS:
        return 505, f"in {request.http_version!r}: only HTTP/1.0, HTTP/1.1 and HTTP/2 are served"
    fields = data.headers.fields
    if len(fields) > MAX_HEADER_FIELDS:
        return 400, f"with {len(fields)} header fields (at most {MAX_HEADER_FIELDS})"
    head = b"\t".join(itertools.chain((data.path,), itertools.chain.from_iterable(fields)))
    if len(head) > MAX_HEAD_BYTES:
        return 400, f"with a head of {len(head)} bytes (at most {MAX_HEAD_BYTES})"
    if _CONTROL.search(head):
        return 400, "with a control character (line folding, a bare CR or LF, NUL) in its target or headers"
    return None


def _at_least(minimum: int, option: str, expected: str) -> int:
    value: int = getattr(ctx.options, option)
    if value < minimum:
        raise MfeError(f"{option} must be {expected}, not {value}")
    return value


def _stamp(file: str) -> tuple[int, int, int] | None:
    """What tells that a file changed: replaced (editors save by renaming), resized or rewritten."""
    try:
        stat = Path(file).stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


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
    return (host, port) if startup.busy_address(host, port) else None


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
