"""Responses of unknown length (server-sent events, streamed server rendering) reach the browser as
they come, while mitmweb keeps the first MiB of them to show."""

from mitmproxy import http

from mfe_proxy.addons.flows import flow_mark

# How much of a streamed body is kept for inspection in mitmweb.
KEEP_STREAMED_BODY = 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


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


class Streaming:
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        mark = flow_mark(flow)
        if response is None or mark is None or mark["via"] == "proxy":
            return
        # Known lengths above stream_large_bodies already stream.
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
