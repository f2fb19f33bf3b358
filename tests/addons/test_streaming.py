"""Streaming (mfe_proxy.addons.streaming): bodies of unknown length relayed as they come, with a bounded
copy kept for mitmweb."""

from mitmproxy import http

from addons.harness import config, request_flow, run
from mfe_proxy.addons.streaming import KEEP_STREAMED_BODY, KeepBody, Streaming


def test_bodies_of_unknown_length_stream_and_keep_a_bounded_copy(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/page")
        await addon.requestheaders(flow)
        flow.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
        del flow.response.headers["content-length"]
        await addon.responseheaders(flow)
        sized = request_flow("/page")
        await addon.requestheaders(sized)
        sized.response = http.Response.make(200, b"abc")
        await addon.responseheaders(sized)
        return flow, sized

    flow, sized = run(tmp_path, config(listening, listening), scenario)
    assert isinstance(flow.response.stream, KeepBody)
    assert not sized.response.stream
    chunk = b"x" * (KEEP_STREAMED_BODY // 2 + 1)
    assert flow.response.stream(chunk) == chunk
    assert flow.response.stream(chunk) == chunk  # relayed whole, though only part of it is kept
    Streaming().response(flow)
    assert len(flow.response.raw_content) == KEEP_STREAMED_BODY
