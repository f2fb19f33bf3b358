"""HTTP/1: chunked bodies with trailer fields relayed, and a secret on the wire only (`send_secret`)."""

from typing import Any

import h11
from h11._receivebuffer import ReceiveBuffer
from mitmproxy import http
from mitmproxy.net.http import http1
from mitmproxy.proxy.layers.http import _http1 as http1_layer

from mfe_proxy.mitmproxy_internals.check import source_holds

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
    http1_layer.ChunkedReader = _TrailerDroppingChunkedReader
    http1.assemble_request_head = _assemble_request_head


def uninstall() -> None:
    http1_layer.ChunkedReader = _ORIGINAL_CHUNKED_READER
    http1.assemble_request_head = _ORIGINAL_ASSEMBLE_REQUEST_HEAD


def _chunked_trailers_dropped() -> bool:
    buffer = ReceiveBuffer()
    buffer += b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"
    reader = _TrailerDroppingChunkedReader()
    events = [reader(buffer), reader(buffer)]
    return [type(event) for event in events] == [h11.Data, h11.EndOfMessage] and not events[1].headers


CHECKS = (
    (
        "HTTP/1 bodies are read with the layer module's ChunkedReader",
        lambda: source_holds(http1_layer, "return ChunkedReader()"),
    ),
    ("chunked trailers can be dropped", _chunked_trailers_dropped),
    (
        "request heads are written with http1.assemble_request_head",
        lambda: source_holds(http1_layer.Http1Client.send, "http1.assemble_request_head(request)"),
    ),
)
