"""Every use of mitmproxy's internals, in one place: a mitmproxy upgrade is this file to read.

mfe-proxy is tested with mitmproxy `TESTED` and pinned to that minor release. Where mitmproxy has no
public hook, it relies on these, each checked by `problems()` when the addon loads; if one changed,
mfe-proxy stops saying which, rather than go on without it:

- closing a WebSocket with a code (`close_websocket`): an injected message that the WebSocket layer's
  `Fragmentizer` turns into a close (mitmproxy issue 4773);
- the close code a lost peer gives the other side: the layer's `WebsocketConnection`;
- chunked bodies with trailer fields, which stop mitmproxy from serving the connection: its
  `ChunkedReader`;
- a secret on the wire only (`send_secret`): `http1.assemble_request_head`, which writes every request
  head to an upstream (upstream connections speak HTTP/2 only for clients that negotiated it over TLS,
  which the proxy's plain-HTTP listener never does);
- WebSockets exempt from `tcp_timeout` (`exempt_from_idle_timeout`): a connection handler's watchdog;
- mitmproxy's default listener forgiven while the addon replaces it (`forgive_default_listener`):
  the start-up error check's records and the proxy server's log;
- each event handed only to the addons that handle it (`CachingAddonManager`, for the launcher).
"""

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import h11
import wsproto.events
from h11._receivebuffer import ReceiveBuffer
from mitmproxy import addonmanager, ctx, exceptions, hooks, http, version
from mitmproxy.addons import errorcheck, proxyserver
from mitmproxy.net.http import http1
from mitmproxy.proxy import mode_servers, server
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.proxy.layers.http import _http1 as http1_layer
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

from mfe_proxy.errors import MfeError

TESTED = "12.3"
PIN = "mitmproxy>=12.3.1,<12.4"
GOING_AWAY = 1001
# Sent to the browser when its application's connection is lost without a close frame.
APPLICATION_LOST = 1011


class InternalsChanged(MfeError):
    """This mitmproxy is not the one mfe-proxy was tested with, and something it relies on changed."""


# -- WebSockets --------------------------------------------------------------------------------------


class _CloseFrame(bytes):
    """The content of an injected WebSocket message that closes the connection instead of being sent."""

    code: int
    reason: str

    def __new__(cls, code: int, reason: str) -> "_CloseFrame":
        frame = super().__new__(cls)
        frame.code = code
        frame.reason = reason
        return frame


def close_websocket(flow: http.HTTPFlow, code: int, reason: str) -> None:
    """Close a live WebSocket in both directions with `code`."""
    server_addon: Any = ctx.master.addons.get("proxyserver")
    message = WebSocketMessage(Opcode.BINARY, False, _CloseFrame(code, reason), injected=True)
    # A ValueError: its connection has just gone, and the flow's websocket_end follows.
    with contextlib.suppress(ValueError):
        server_addon.inject_event(websocket_layer.WebSocketMessageInjected(flow, message))


_ORIGINAL_FRAGMENTIZER = websocket_layer.Fragmentizer


class _ClosingFragmentizer(_ORIGINAL_FRAGMENTIZER):
    """The layer turns an injected message into events with this class: a `_CloseFrame` becomes a
    close, which the layer sends both ways before ending the flow."""

    def __call__(self, content: bytes) -> Iterator[wsproto.events.Event]:  # type: ignore[override]
        if type(content) is _CloseFrame:
            return iter((wsproto.events.CloseConnection(content.code, content.reason),))
        return super().__call__(content)


_ORIGINAL_WEBSOCKET_CONNECTION = websocket_layer.WebsocketConnection


class _PeerLossClosingConnection(_ORIGINAL_WEBSOCKET_CONNECTION):
    """The layer keeps one of these per side. A side lost without a close frame yields a close (1006,
    which must not go on the wire) that wsproto would send the other side as 1000, a normal close; the
    other side gets 1011 instead when the application was lost, 1001 (going away) when the browser was."""

    def receive_data(self, data: bytes | None) -> None:
        super().receive_data(data)
        if data is None and self._events and type(self._events[-1]) is wsproto.events.CloseConnection:
            # `client`: this side is the proxy's connection to the application.
            self._events[-1] = (
                wsproto.events.CloseConnection(APPLICATION_LOST, "the application's connection was lost")
                if self.client
                else wsproto.events.CloseConnection(GOING_AWAY, "the browser's connection was lost")
            )


@contextlib.contextmanager
def exempt_from_idle_timeout(flow: http.HTTPFlow) -> Iterator[None]:
    """mitmproxy cuts connections idle for `tcp_timeout` (10 minutes) without a close frame: a quiet HMR
    socket would be cut mid-session. For as long as this is held, the flow's client connection is not."""
    server_addon: Any = ctx.master.addons.get("proxyserver")  # None in mitmproxy's test context
    handler = server_addon.connections.get(flow.client_conn.id) if server_addon else None
    if handler is None:
        yield
        return
    with handler.timeout_watchdog.disarm():
        yield


# -- HTTP/1 bodies and heads -------------------------------------------------------------------------

_ORIGINAL_CHUNKED_READER = http1_layer.ChunkedReader


class _TrailerDroppingChunkedReader(_ORIGINAL_CHUNKED_READER):
    """mitmproxy reads chunked bodies with this class, from browsers and from applications; a body that
    ends with trailer fields made it stop serving the connection ("HTTP trailers are not implemented
    yet") and leave the peer waiting. The trailers are dropped, as an intermediary may (RFC 9110,
    section 6.5.1), and the body relayed."""

    def __call__(self, buf: Any) -> h11.Data | h11.EndOfMessage | None:
        event = super().__call__(buf)
        if type(event) is h11.EndOfMessage and event.headers:
            return h11.EndOfMessage()
        return event


# Secrets to put on the wire in place of a header value that stands for them in the flow, which
# mitmweb shows, mitmdump prints (flow_detail 2 and up) and `-w` saves.
_SECRETS: dict[str, tuple[str, str]] = {}
_ORIGINAL_ASSEMBLE_REQUEST_HEAD = http1.assemble_request_head


def send_secret(request: http.Request, header: str, placeholder: str, secret: str) -> None:
    """Send `secret` as `header` of `request`, while the flow only ever holds `placeholder`, which must
    be unique to the request."""
    request.headers[header] = placeholder
    _SECRETS[placeholder] = (header, secret)


def forget_secret(request: http.Request, header: str) -> None:
    """For a request that ended before it was sent (its upstream refused the connection)."""
    placeholder = request.headers.get(header)
    if placeholder is not None:
        _SECRETS.pop(placeholder, None)


def _assemble_request_head(request: http.Request) -> bytes:
    if _SECRETS:
        for header, placeholder in request.headers.items():
            entry = _SECRETS.get(placeholder)
            if entry is not None and entry[0] == header.lower():
                del _SECRETS[placeholder]
                request = request.copy()
                request.headers[header] = entry[1]
                break
    return _ORIGINAL_ASSEMBLE_REQUEST_HEAD(request)


def install() -> None:
    websocket_layer.Fragmentizer = _ClosingFragmentizer
    websocket_layer.WebsocketConnection = _PeerLossClosingConnection
    http1_layer.ChunkedReader = _TrailerDroppingChunkedReader
    http1.assemble_request_head = _assemble_request_head


def uninstall() -> None:
    """So that reloading the addon does not stack the subclasses."""
    websocket_layer.Fragmentizer = _ORIGINAL_FRAGMENTIZER
    websocket_layer.WebsocketConnection = _ORIGINAL_WEBSOCKET_CONNECTION
    http1_layer.ChunkedReader = _ORIGINAL_CHUNKED_READER
    http1.assemble_request_head = _ORIGINAL_ASSEMBLE_REQUEST_HEAD


# -- start-up ----------------------------------------------------------------------------------------

_LISTEN_FAILURE = "failed to listen"
_SERVER_LOG = logging.getLogger(proxyserver.__name__)


def _is_default_listener_failure(record: logging.LogRecord) -> bool:
    # Stopping the listener that never started then fails too, with an empty AssertionError.
    message = record.getMessage()
    return record.levelno >= logging.ERROR and (f"HTTP(S) proxy {_LISTEN_FAILURE}" in message or not message)


class _DefaultListenerFilter(logging.Filter):
    """Withholds the failures of mitmproxy's default listener, which the addon is about to replace."""

    def __init__(self, note: Callable[[], None]) -> None:
        super().__init__()
        self.note = note

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_default_listener_failure(record):
            if record.getMessage():
                self.note()
            return False
        return True


@contextlib.contextmanager
def forgive_default_listener(note: Callable[[], None]) -> Iterator[None]:
    """mitmproxy binds its default listener (8080, or listen_port) while it loads scripts. When the
    port is taken, its start-up check would stop the proxy for a listener the addon is about to drop,
    with advice that does not apply: while this is held, those errors are withheld (`note` is called
    instead), and one recorded before the addon loaded is taken back."""
    check: Any = ctx.master.addons.get("errorcheck")
    records = check.logger.has_errored if check is not None else []
    records[:] = [record for record in records if not _is_default_listener_failure(record)]
    withheld = _DefaultListenerFilter(note)
    _SERVER_LOG.addFilter(withheld)
    try:
        yield
    finally:
        _SERVER_LOG.removeFilter(withheld)


# -- event dispatch (the launcher) ---------------------------------------------------------------------

_addon_errors = logging.getLogger(addonmanager.__name__)


def _not_callable(name: str, addon: object) -> Callable[..., None]:
    def handler(*_: object) -> None:
        raise exceptions.AddonManagerError(f"Addon handler {name} ({addon}) not callable")

    return handler


class CachingAddonManager(addonmanager.AddonManager):
    """mitmproxy's AddonManager, but `trigger_event` calls only the handlers that exist.

    mitmproxy walks all of its ~40 addons (and their sub-addons) for every event, about eight events
    per HTTP request, looking each handler up by name, with a context manager and a coroutine per
    addon: most of its dispatch cost, for handlers that mostly do not exist. Here the handlers of each
    event are looked up once, grouped by top-level addon, and again after any addon is added or
    removed or an option changes (the script loader reorders its scripts then). Order, awaiting,
    `AddonHalt` and the logging of an addon's error (which skips the rest of that top-level addon) are
    mitmproxy's (tests/test_launcher.py compares the two on the same addons and events)."""

    _handlers: dict[str, list[list[Callable[..., Any]]]]
    _arguments: dict[type[hooks.Hook], tuple[str, ...]]

    @classmethod
    def adopt(cls, manager: addonmanager.AddonManager) -> "CachingAddonManager":
        """Turn the manager that mitmproxy's Master created into this class, in place: the addons,
        option subscriptions and signals that hold it keep working."""
        manager.__class__ = cls
        adopted: CachingAddonManager = manager  # type: ignore[assignment]
        adopted._handlers = {}
        adopted._arguments = {}
        adopted.master.options.changed.connect(adopted._options_changed)
        return adopted

    def _forget(self) -> None:
        self._handlers.clear()
        # A script addon sets what it traverses (its module) only after `register` returns, and the
        # script loader its list after `remove`: forget again once the current callback is done.
        with contextlib.suppress(RuntimeError):  # no running loop (tests, tools): nothing to wait for
            asyncio.get_running_loop().call_soon(self._handlers.clear)

    def _options_changed(self, updated: set[str]) -> None:
        self._forget()

    def register(self, addon: Any) -> Any:
        try:
            return super().register(addon)
        finally:
            self._forget()

    def remove(self, addon: Any) -> None:
        try:
            super().remove(addon)
        finally:
            self._forget()

    def clear(self) -> None:
        super().clear()
        self._forget()

    def _collect(self, name: str) -> list[list[Callable[..., Any]]]:
        groups = []
        for top in self.chain:
            handlers = []
            for addon in addonmanager.traverse([top]):
                handler = getattr(addon, name, None)
                if not handler or inspect.ismodule(handler):
                    continue  # a module imported under a hook's name is no handler (as in mitmproxy)
                handlers.append(handler if callable(handler) else _not_callable(name, addon))
            if handlers:
                groups.append(handlers)
        return groups

    async def trigger_event(self, event: hooks.Hook) -> None:
        groups = self._handlers.get(event.name)
        if groups is None:
            groups = self._handlers[event.name] = self._collect(event.name)
        if not groups:
            return
        names = self._arguments.get(type(event))
        if names is None:
            # Hook.args() looks the dataclass fields up on every call; they never change.
            names = self._arguments[type(event)] = tuple(field.name for field in dataclasses.fields(event))
        args = [getattr(event, name) for name in names]
        for handlers in groups:
            try:
                for handler in handlers:
                    result = handler(*args)
                    if result is not None and inspect.isawaitable(result):
                        await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as error:
                traceback = addonmanager.cut_traceback(error.__traceback__, "trigger_event")
                _addon_errors.error(f"Addon error: {error}", exc_info=(type(error), error, traceback))


# -- the self-check ----------------------------------------------------------------------------------


def _fragmentizer_closes() -> bool:
    events = list(_ClosingFragmentizer([], False)(_CloseFrame(GOING_AWAY, "x")))
    plain = list(_ClosingFragmentizer([], True)(b"x"))
    return (
        len(events) == 1
        and isinstance(events[0], wsproto.events.CloseConnection)
        and events[0].code == GOING_AWAY
        and [type(event) for event in plain] == [wsproto.events.TextMessage]
    )


def _chunked_trailers_dropped() -> bool:
    buffer = ReceiveBuffer()
    buffer += b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"
    reader = _TrailerDroppingChunkedReader()
    events = [reader(buffer), reader(buffer)]
    return [type(event) for event in events] == [h11.Data, h11.EndOfMessage] and not events[1].headers


def _source_holds(target: object, *texts: str) -> bool:
    """Whether mitmproxy's code still looks a replaced class or function up where it is used."""
    source = inspect.getsource(target)  # type: ignore[arg-type]
    return all(text in source for text in texts)


_CHECKS: tuple[tuple[str, Callable[[], bool]], ...] = (
    (
        "the WebSocket layer builds messages with its module's Fragmentizer",
        lambda: _source_holds(
            websocket_layer.WebsocketLayer, "Fragmentizer(", "WebsocketConnection(", "src_ws._events"
        ),
    ),
    ("an injected close frame becomes a WebSocket close", _fragmentizer_closes),
    (
        "WebsocketConnection keeps `_events` and `client` (wsproto.Connection)",
        lambda: _source_holds(_ORIGINAL_WEBSOCKET_CONNECTION.__mro__[1], "self._events", "self.client"),
    ),
    (
        "HTTP/1 bodies are read with the layer module's ChunkedReader",
        lambda: _source_holds(http1_layer, "return ChunkedReader()"),
    ),
    ("chunked trailers can be dropped", _chunked_trailers_dropped),
    (
        "request heads are written with http1.assemble_request_head",
        lambda: _source_holds(http1_layer.Http1Client.send, "http1.assemble_request_head(request)"),
    ),
    (
        "connection handlers keep a `timeout_watchdog` with `disarm()`",
        lambda: (
            _source_holds(server.ConnectionHandler, "self.timeout_watchdog = TimeoutWatchdog")
            and callable(getattr(server.TimeoutWatchdog, "disarm", None))
        ),
    ),
    (
        "the proxy server keeps its handlers in `connections` and has `inject_event`",
        lambda: _source_holds(proxyserver.Proxyserver, "self.connections[", "def inject_event"),
    ),
    (
        "the start-up check records errors in `logger.has_errored`",
        lambda: _source_holds(errorcheck, "self.has_errored"),
    ),
    (
        f"a listener that cannot bind logs '{_LISTEN_FAILURE}'",
        lambda: _source_holds(mode_servers, f"{_LISTEN_FAILURE} on"),
    ),
    (
        "AddonManager dispatches through `chain` and `traverse`",
        lambda: (
            _source_holds(addonmanager.AddonManager, "self.chain", "def trigger_event", "traverse(")
            and callable(getattr(addonmanager, "cut_traceback", None))
        ),
    ),
)


def problems() -> list[str]:
    """What changed in this mitmproxy of what mfe-proxy relies on; empty when nothing did."""
    changed = []
    for description, check in _CHECKS:
        try:
            holds = check()
        except Exception:  # any failure to look means the target moved
            holds = False
        if not holds:
            changed.append(description)
    return changed


def require() -> None:
    """Raise `InternalsChanged` naming the mitmproxy version and what changed, if anything did."""
    changed = problems()
    if changed:
        raise InternalsChanged(
            f"mfe-proxy was tested with mitmproxy {TESTED}.x; mitmproxy {version.VERSION} changed what "
            f"it relies on: {'; '.join(changed)}. Install the tested release: pip install '{PIN}'"
        )
