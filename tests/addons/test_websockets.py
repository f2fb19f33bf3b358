"""WebSockets (mfe_proxy.addons.websockets): messages counted per direction and application, and only the
latest kept in the flow."""

from mitmproxy.test import tflow
from mitmproxy.websocket import WebSocketMessage

from addons.harness import config, run


def test_websocket_messages_are_counted_and_only_the_latest_kept(tmp_path, listening):
    async def scenario(addon):
        flow = tflow.twebsocketflow(messages=False)
        flow.request.authority = ""  # origin-form, as a browser sends it
        flow.request.path = "/docs/_hmr"
        flow.request.headers["host"] = "localhost:3024"
        handshake, flow.response = flow.response, None  # the upgrade's 101 comes after its request
        await addon.requestheaders(flow)
        flow.response = handshake
        await addon.websocket_start(flow)
        for n in range(12):
            flow.websocket.messages.append(WebSocketMessage(1, n % 2 == 0, f"m{n}".encode()))
            await addon.websocket_message(flow)
        retained = [message.content for message in flow.websocket.messages]
        flow.websocket.close_code, flow.websocket.close_reason = 4001, "bye"
        flow.websocket.closed_by_client = True
        await addon.websocket_end(flow)
        return addon.runtime, retained

    runtime, retained = run(tmp_path, config(listening, listening), scenario, keep_messages=5)
    assert retained == [b"m7", b"m8", b"m9", b"m10", b"m11"]
    docs = runtime.stats.apps["docs"]
    assert (docs.websockets, docs.open_websockets) == (1, 0)
    assert (docs.to_app.messages, docs.to_app.bytes) == (6, 5 * len("m0") + len("m10"))
    assert (docs.to_client.messages, docs.to_client.bytes) == (6, 5 * len("m1") + len("m11"))
    assert runtime.websockets == {}
