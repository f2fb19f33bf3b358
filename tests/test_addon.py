"""The addons' hooks, run inside mitmproxy's test context (`taddons`) on test flows (`tflow`), each
event dispatched to the whole list of addons as mitmproxy dispatches it.

Reachability is real: upstreams are sockets listening on 127.0.0.1, down ones are ports just closed.
The whole proxy, with real clients and servers, is tested in tests/e2e/."""

import asyncio
import json
import logging
import os
import socket
from collections.abc import Iterator

import pytest
from mitmproxy import exceptions, hooks, http
from mitmproxy.addons.errorcheck import ErrorCheck
from mitmproxy.proxy.layers import http as http_layer
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.test import taddons, tflow
from mitmproxy.websocket import WebSocketMessage

from conftest import free_port
from mfe_proxy import addons, startup
from mfe_proxy.addons.configuration import Configuration
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.addons.streaming import KEEP_STREAMED_BODY, KeepBody, Streaming


class Proxy:
    """mfe-proxy's addons in a test master: each hook dispatched to all of them, in their order."""

    def __init__(self, master: object, runtime: Runtime) -> None:
        self.master = master
        self.runtime = runtime

    async def _trigger(self, event: hooks.Hook) -> None:
        await self.master.addons.trigger_event(event)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        await self._trigger(http_layer.HttpRequestHeadersHook(flow))

    async def responseheaders(self, flow: http.HTTPFlow) -> None:
        await self._trigger(http_layer.HttpResponseHeadersHook(flow))

    async def websocket_start(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketStartHook(flow))

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketMessageHook(flow))

    async def websocket_end(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketEndHook(flow))


def runtime_of(loaded: list) -> Runtime:
    return loaded[0].runtime


@pytest.fixture
def listening() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them without an accept call)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


def config(web: int, docs: int, **extra: object) -> dict:
    docs_app: dict = {
        "packageName": "docs-app",
        "development": {"local": f"http://127.0.0.1:{docs}"},
        "routing": [
            {"paths": ["/docs", "/docs/:path*"]},
            {"flag": "beta", "paths": ["/beta/:path*"]},
        ],
    }
    web_app: dict = {"development": {"local": f"http://127.0.0.1:{web}"}}
    if "fallback" in extra:
        web_app["development"]["fallback"] = extra["fallback"]
    return {"applications": {"web": web_app, "docs": docs_app}}


def request_flow(path: str, **headers: str) -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.client_conn.timestamp_tls_setup = None  # a browser on http://localhost
    flow.request.path = path
    flow.request.headers.clear()
    flow.request.headers["host"] = "localhost:3024"
    for name, value in headers.items():
        flow.request.headers[name.replace("_", "-")] = value
    return flow


def run(tmp_path, document: dict, scenario, local_apps: str = "", keep_messages: int = 100):
    """Run `scenario(addon)` (a coroutine function) with the addon configured for `document`."""
    path = tmp_path / "microfrontends.json"
    path.write_text(json.dumps(document))

    async def main():
        loaded = addons.make()
        with taddons.context(*loaded) as tctx:
            for addon in loaded:
                tctx.configure(addon, mfe_config=str(path), mfe_ws_keep_messages=str(keep_messages))
            runtime = runtime_of(loaded)
            runtime.use(startup.load(str(path), local_apps, tmp_path, os.environ))
            return await scenario(Proxy(tctx.master, runtime))

    return asyncio.run(main())


def test_forwards_to_the_application_with_the_headers_it_expects(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/docs/intro?x=1", x_forwarded_for="10.0.0.1")
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(free_port(), listening), scenario)
    request = flow.request
    assert flow.response is None
    assert (request.scheme, request.host, request.port) == ("http", "127.0.0.1", listening)
    assert request.path == "/docs/intro?x=1"
    assert request.headers["host"] == "localhost:3024"
    assert request.headers["x-forwarded-host"] == "localhost:3024"
    assert request.headers["x-forwarded-proto"] == "http"
    # A proxy in front said who the client is: that arrives unchanged, as on Vercel.
    assert request.headers["x-forwarded-for"] == "10.0.0.1"
    assert request.headers["x-vercel-mfe-local-proxy-origin"] == "1"
    assert flow.comment == "docs: /docs/:path*"
    assert flow.metadata["mfe"]["application"] == "docs"
    assert flow.metadata["mfe"]["via"] == "local"
    assert flow.metadata["mfe"]["upstream"] == f"http://127.0.0.1:{listening}"


def test_flag_parameter_becomes_a_header(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/beta/x?a=1&vercel-mfe-flag-value=true")
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(free_port(), listening), scenario)
    assert flow.request.port == listening
    assert flow.request.path == "/beta/x?a=1"
    assert flow.request.headers["x-vercel-mfe-flag-value"] == "true"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("text/html,application/xhtml+xml", "text/html; charset=utf-8"), ("*/*", "text/plain; charset=utf-8")],
)
def test_down_application_without_fallback_gets_the_page(tmp_path, listening, accept, content_type):
    down = free_port()

    async def scenario(addon):
        flow = request_flow("/docs/<b>", accept=accept)
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(listening, down), scenario)
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert flow.response.headers["content-type"] == content_type
    text = flow.response.get_text()
    assert "docs" in text
    assert f"http://127.0.0.1:{down}" in text
    assert "turbo run dev --filter=docs-app" in text
    assert ("/docs/&lt;b&gt;" if "html" in content_type else "/docs/<b>") in text
    assert flow.metadata["mfe"]["via"] == "proxy"


def test_down_child_goes_to_the_default_applications_fallback(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/docs/x")
        await addon.requestheaders(flow)
        return flow

    document = config(listening, free_port(), fallback=f"http://127.0.0.1:{listening}")
    flow = run(tmp_path, document, scenario)
    assert flow.response is None
    assert (flow.request.host, flow.request.port) == ("127.0.0.1", listening)
    assert flow.request.headers["host"] == f"127.0.0.1:{listening}"
    assert "x-vercel-mfe-local-proxy-origin" not in flow.request.headers
    assert flow.metadata["mfe"]["via"] == "fallback"
    assert flow.comment == "docs: /docs/:path* (fallback)"


def test_applications_not_local_go_straight_to_their_fallback(tmp_path, listening):
    fallback_port = free_port()  # a fallback is not checked: it is a deployment, not a dev server

    async def scenario(addon):
        flow = request_flow("/docs/x")
        await addon.requestheaders(flow)
        return flow

    document = config(listening, listening, fallback=f"https://fallback.example:{fallback_port}")
    flow = run(tmp_path, document, scenario, local_apps="web")
    assert (flow.request.scheme, flow.request.host, flow.request.port) == (
        "https",
        "fallback.example",
        fallback_port,
    )
    assert flow.request.headers["host"] == f"fallback.example:{fallback_port}"


@pytest.mark.parametrize(
    ("fallback", "upgrade", "sent"),
    [
        ("https", False, True),
        ("https", True, False),  # Vercel's proxy sends it on no upgrade
        ("http", False, False),  # nor to a plain-HTTP target
    ],
)
def test_the_bypass_secret_goes_to_https_fallbacks_as_a_placeholder(
    tmp_path, listening, monkeypatch, fallback, upgrade, sent
):
    monkeypatch.setenv("VERCEL_AUTOMATION_BYPASS_SECRET", "s3cret")

    async def scenario(addon):
        flow = request_flow("/docs/x", **({"upgrade": "websocket"} if upgrade else {}))
        await addon.requestheaders(flow)
        return flow

    document = config(listening, listening, fallback=f"{fallback}://fallback.example:{free_port()}")
    flow = run(tmp_path, document, scenario, local_apps="web")
    value = flow.request.headers.get("x-vercel-protection-bypass")
    if sent:
        # The flow holds what names the secret; only the request head on the wire holds the secret.
        assert value == f"(VERCEL_AUTOMATION_BYPASS_SECRET, set by mfe-proxy for flow {flow.id})"
        assert flow.metadata["mfe"]["bypass"] == "VERCEL_AUTOMATION_BYPASS_SECRET"
    else:
        assert value is None


def test_not_local_without_any_fallback_gets_a_page(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/docs/x")
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(listening, listening), scenario, local_apps="web")
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert "mfe_local_apps" in flow.response.get_text()


def test_proxy_answers_redirects_endpoints_and_bad_requests_itself(tmp_path, listening):
    async def scenario(addon):
        flows = [
            request_flow("//docs//x?y=1"),
            request_flow("/.well-known/vercel/microfrontends/routing"),
            request_flow("/.well-known/mfe-proxy/nothing"),
        ]
        connect = request_flow("/")
        connect.request.method = "CONNECT"
        connect.request.path = "example.com:443"
        flows.append(connect)
        for flow in flows:
            await addon.requestheaders(flow)
        return flows

    redirect, routing, unknown, connect = run(tmp_path, config(listening, listening), scenario)
    assert redirect.response.status_code == 307
    assert redirect.response.headers["location"] == "/docs/x?y=1"
    assert routing.response.status_code == 200
    assert json.loads(routing.response.content)["docs"] == {
        "routing": {"host": "127.0.0.1", "port": listening, "protocol": "http"}
    }
    assert unknown.response.status_code == 404
    assert connect.response.status_code == 405
    assert all(flow.metadata["mfe"]["via"] == "proxy" for flow in (redirect, routing, unknown, connect))


def test_fallback_redirects_to_itself_come_back_through_the_proxy(tmp_path, listening):
    async def scenario(addon):
        flow = request_flow("/docs/x")
        await addon.requestheaders(flow)
        flow.response = http.Response.make(
            307, b"", {"location": f"http://127.0.0.1:{listening}/docs/next?a=1", "content-length": "0"}
        )
        await addon.responseheaders(flow)
        return flow

    document = config(listening, free_port(), fallback=f"http://127.0.0.1:{listening}")
    flow = run(tmp_path, document, scenario)
    assert flow.response.headers["location"] == "http://localhost:3024/docs/next?a=1"


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


def test_options_are_validated(tmp_path, listening, caplog):
    path = tmp_path / "microfrontends.json"
    path.write_text(json.dumps(config(listening, listening)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"applications": {"web": {"development": {"local": "x:y"}}}}')

    async def main():
        loaded = addons.make()
        runtime = runtime_of(loaded)
        with taddons.context(*loaded) as tctx:

            def configure(**values: str) -> None:
                for addon in loaded:
                    tctx.configure(addon, **values)

            # Before running, a bad value is logged (which stops start-up); once running, refused.
            configure(mfe_ws_keep_messages="-1")
            assert "mfe-proxy cannot start: mfe_ws_keep_messages must be 0 or more" in caplog.text
            configure(mfe_ws_keep_messages="many")
            assert "mfe_ws_keep_messages must be a whole number, not 'many'" in caplog.text
            runtime.running = True
            for option, value in (("mfe_ws_keep_messages", "-1"), ("mfe_keep_flows", "-2")):
                with pytest.raises(exceptions.OptionsError, match=f"{option} must be"):
                    configure(**{option: value})
            with pytest.raises(exceptions.OptionsError, match="mfe_allowed_hosts: 'a:1' is not a host name"):
                configure(mfe_allowed_hosts="a:1")
            configure(mfe_config=str(path))
            assert runtime.setup is not None and runtime.setup.config.file == str(path)
            with pytest.raises(exceptions.OptionsError, match=r"bad\.json: applications\.web"):
                configure(mfe_config=str(bad))
            with pytest.raises(exceptions.OptionsError, match="mfe_local_apps names nope"):
                configure(mfe_local_apps="web,nope")
            return runtime.setup.config.file  # the last good config stays

    assert asyncio.run(main()) == str(path)


def test_a_busy_default_listener_does_not_stop_the_proxy():
    """mitmproxy's own listener on 8080 failing, before or after the addon loads, is not an error
    for mfe-proxy, which replaces it; any other start-up error still is."""
    proxyserver_log = logging.getLogger("mitmproxy.addons.proxyserver")
    failure = "[Errno 98] HTTP(S) proxy failed to listen on *:8080 with [Errno 98] address already in use"

    async def main():
        errorcheck = ErrorCheck()
        configuration = Configuration(Runtime())
        try:
            with taddons.context(errorcheck) as tctx:
                proxyserver_log.error(failure)
                tctx.master.addons.add(configuration)
                proxyserver_log.error(failure)
                proxyserver_log.error("reverse proxy to http://localhost:3000 failed to listen on *:3024")
                return [record.getMessage() for record in errorcheck.logger.has_errored]
        finally:
            errorcheck.finish()
            configuration.done()

    assert asyncio.run(main()) == ["reverse proxy to http://localhost:3000 failed to listen on *:3024"]


@pytest.mark.parametrize(
    ("client", "status"),
    [
        ("127.0.0.1", 200),
        ("::1", 200),
        ("::ffff:127.0.0.1", 200),
        ("192.168.1.5", 403),
        ("::ffff:10.0.0.1", 403),
    ],
)
def test_status_endpoint_answers_this_machine_only(tmp_path, listening, client, status):
    async def scenario(addon):
        flow = request_flow("/.well-known/mfe-proxy/status")
        flow.client_conn.peername = (client, 50000)
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(listening, free_port()), scenario)
    assert flow.response is not None
    assert flow.response.status_code == status
    assert flow.response.headers["cache-control"] == "no-store"
    if status == 200:
        document = json.loads(flow.response.content)
        assert document["applications"]["web"]["reachable"] is True
        assert document["applications"]["docs"]["reachable"] is False
    else:
        assert b"only to this machine" in flow.response.content
    assert flow.metadata["mfe"]["via"] == "proxy"


def test_status_counts_requests_routed_so_far(tmp_path, listening):
    async def scenario(addon):
        for path in ("/docs/a", "/docs/b", "/"):
            await addon.requestheaders(request_flow(path))
        flow = request_flow("/.well-known/mfe-proxy/metrics")
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(listening, listening), scenario)
    assert flow.response is not None
    text = flow.response.text
    assert 'mfe_proxy_requests_total{application="docs"} 2\n' in text
    assert 'mfe_proxy_requests_total{application="web"} 1\n' in text
    assert 'mfe_proxy_up{application="docs"} 1\n' in text
