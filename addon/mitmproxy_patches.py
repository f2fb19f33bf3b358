"""Changes to mitmproxy 12.3 internals that the addon needs and mitmproxy has no hook for. Each replaces
a class that mitmproxy's protocol layers look up by name when they need one, with a subclass that changes
one behaviour; `install` puts them in place (the addon's `load`), `uninstall` takes them out (its `done`,
so that reloading the addon does not stack them). Tested end to end in tests/e2e/ (test_ws_limits,
test_faults, test_raw_traffic)."""

import contextlib
from collections.abc import Iterator
from typing import Any

import h11
import wsproto.events
from mitmproxy import ctx, http
from mitmproxy.net.http import http1
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.proxy.layers.http import _http1 as http1_layer
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

GOING_AWAY = 1001
# Sent to the browser when its application's connection is lost without a close frame.
APPLICATION_LOST = 1011
MAX_CHUNK_SIZE = 2**63 - 1


def close_websocket(flow: http.HTTPFlow, code: int, reason: str) -> None:
    """Close a live WebSocket in both directions with `code`."""
    proxyserver: Any = ctx.master.addons.get("proxyserver")
    message = WebSocketMessage(Opcode.BINARY, False, CloseFrame(code, reason), injected=True)
    # A ValueError: its connection has just gone, and the flow's websocket_end follows.
    with contextlib.suppress(ValueError):
        proxyserver.inject_event(websocket_layer.WebSocketMessageInjected(flow, message))


class CloseFrame(bytes):
    """The content of an injected WebSocket message that closes the connection instead of being sent:
    mitmproxy gives addons no way to close a WebSocket with a code (mitmproxy issue 4773)."""

    code: int
    reason: str

    def __new__(cls, code: int, reason: str) -> "CloseFrame":
        frame = super().__new__(cls)
        frame.code = code
        frame.reason = reason
        return frame


_ORIGINAL_FRAGMENTIZER = websocket_layer.Fragmentizer


class _ClosingFragmentizer(_ORIGINAL_FRAGMENTIZER):
    """mitmproxy's WebSocket layer turns an injected message into the events it relays with this class:
    a `CloseFrame` becomes a close, which the layer sends both ways before ending the flow."""

    def __call__(self, content: bytes) -> Iterator[wsproto.events.Event]:  # type: ignore[override]
        if type(content) is CloseFrame:
            return iter((wsproto.events.CloseConnection(content.code, content.reason),))
        return super().__call__(content)


_ORIGINAL_WEBSOCKET_CONNECTION = websocket_layer.WebsocketConnection


class _PeerLossClosingConnection(_ORIGINAL_WEBSOCKET_CONNECTION):
    """mitmproxy's WebSocket layer keeps one of these per side. When a side's TCP connection is lost
    without a close frame, it relays the resulting close (1006, which must not go on the wire) to the
    other side, where wsproto sends it as 1000, a normal close. The other side gets 1011 instead when
    the application was lost, and 1001 (going away) when the browser was."""

    def receive_data(self, data: bytes | None) -> None:
        super().receive_data(data)
        if data is None and self._events and type(self._events[-1]) is wsproto.events.CloseConnection:
            # `client`: this side is the proxy's connection to the application.
            self._events[-1] = (
                wsproto.events.CloseConnection(APPLICATION_LOST, "the application's connection was lost")
                if self.client
                else wsproto.events.CloseConnection(GOING_AWAY, "the browser's connection was lost")
            )


_ORIGINAL_CHUNKED_READER = http1_layer.ChunkedReader


class _ChunkedReader(_ORIGINAL_CHUNKED_READER):
    """mitmproxy reads chunked bodies with this class, from browsers and from applications. Two of its
    behaviours are changed: a body that ends with trailer fields made mitmproxy stop serving the
    connection ("HTTP trailers are not implemented yet") and leave the peer waiting, so the trailers are
    dropped, as an intermediary may (RFC 9110, section 6.5.1), and the body relayed; a chunk size beyond
    2**63 - 1, which parsers with 64-bit sizes read differently (request smuggling), is a protocol
    error, which mitmproxy answers with 400 (or 502 from an application) and a close."""

    def __call__(self, buf: Any) -> h11.Data | h11.EndOfMessage | None:
        event = super().__call__(buf)
        if self._bytes_in_chunk > MAX_CHUNK_SIZE:
            raise h11.LocalProtocolError(f"chunk size over {MAX_CHUNK_SIZE}")
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
    """mitmproxy writes every HTTP/1 request head to an upstream with this function. (Upstream
    connections speak HTTP/2 only for a client that negotiated it over TLS, which this proxy's
    plain-HTTP listener never does.)"""
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
    http1_layer.ChunkedReader = _ChunkedReader
    http1.assemble_request_head = _assemble_request_head


def uninstall() -> None:
    websocket_layer.Fragmentizer = _ORIGINAL_FRAGMENTIZER
    websocket_layer.WebsocketConnection = _ORIGINAL_WEBSOCKET_CONNECTION
    http1_layer.ChunkedReader = _ORIGINAL_CHUNKED_READER
    http1.assemble_request_head = _ORIGINAL_ASSEMBLE_REQUEST_HEAD
