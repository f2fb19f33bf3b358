"""WebSockets: a close with a code (`close_websocket`), the code a lost peer gives the other side,
and HMR sockets exempt from mitmproxy's idle timeout."""

import contextlib
from collections.abc import Iterator
from typing import Any

import wsproto.events
from mitmproxy import ctx, http
from mitmproxy.proxy import server
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

from mfe_proxy.mitmproxy_internals.check import source_holds

GOING_AWAY = 1001
# Sent to the browser when its application's connection is lost without a close frame.
APPLICATION_LOST = 1011


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


def install() -> None:
    websocket_layer.Fragmentizer = _ClosingFragmentizer
    websocket_layer.WebsocketConnection = _PeerLossClosingConnection


def uninstall() -> None:
    websocket_layer.Fragmentizer = _ORIGINAL_FRAGMENTIZER
    websocket_layer.WebsocketConnection = _ORIGINAL_WEBSOCKET_CONNECTION


def _fragmentizer_closes() -> bool:
    events = list(_ClosingFragmentizer([], False)(_CloseFrame(GOING_AWAY, "x")))
    plain = list(_ClosingFragmentizer([], True)(b"x"))
    return (
        len(events) == 1
        and isinstance(events[0], wsproto.events.CloseConnection)
        and events[0].code == GOING_AWAY
        and [type(event) for event in plain] == [wsproto.events.TextMessage]
    )


CHECKS = (
    (
        "the WebSocket layer builds messages with its module's Fragmentizer",
        lambda: source_holds(
            websocket_layer.WebsocketLayer, "Fragmentizer(", "WebsocketConnection(", "src_ws._events"
        ),
    ),
    ("an injected close frame becomes a WebSocket close", _fragmentizer_closes),
    (
        "WebsocketConnection keeps `_events` and `client` (wsproto.Connection)",
        lambda: source_holds(_ORIGINAL_WEBSOCKET_CONNECTION.__mro__[1], "self._events", "self.client"),
    ),
    (
        "connection handlers keep a `timeout_watchdog` with `disarm()`",
        lambda: (
            source_holds(server.ConnectionHandler, "self.timeout_watchdog = TimeoutWatchdog")
            and callable(getattr(server.TimeoutWatchdog, "disarm", None))
        ),
    ),
)
