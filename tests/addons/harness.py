"""The addons' test harness: mfe-proxy's addons inside mitmproxy's test context (`taddons`), on test
flows (`tflow`), each event dispatched to the whole list of addons as mitmproxy dispatches it.

Reachability is real: upstreams are sockets listening on 127.0.0.1 (the `listening` fixture), down ones
are ports just closed (`helpers.free_port`). The whole proxy, with real clients and servers, is tested
in tests/e2e/."""

import asyncio
import json
import os

from mitmproxy import hooks, http
from mitmproxy.proxy.layers import http as http_layer
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.test import taddons, tflow

from mfe_proxy import addons, startup
from mfe_proxy.addons.runtime import Runtime


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

    async def response(self, flow: http.HTTPFlow) -> None:
        await self._trigger(http_layer.HttpResponseHook(flow))

    async def error(self, flow: http.HTTPFlow) -> None:
        await self._trigger(http_layer.HttpErrorHook(flow))

    async def websocket_start(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketStartHook(flow))

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketMessageHook(flow))

    async def websocket_end(self, flow: http.HTTPFlow) -> None:
        await self._trigger(websocket_layer.WebsocketEndHook(flow))


def runtime_of(loaded: list) -> Runtime:
    return loaded[0].runtime


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


def run(tmp_path, document: dict, scenario, local_apps: str = "", keep_messages: int = 100, **options):
    """Run `scenario(addon)` (a coroutine function) with the addon configured for `document` and
    `options`."""
    path = tmp_path / "microfrontends.json"
    path.write_text(json.dumps(document))

    async def main():
        loaded = addons.make()
        with taddons.context(*loaded) as tctx:
            for addon in loaded:
                tctx.configure(
                    addon, mfe_config=str(path), mfe_ws_keep_messages=str(keep_messages), **options
                )
            runtime = runtime_of(loaded)
            runtime.use(startup.load(str(path), local_apps, tmp_path, os.environ))
            return await scenario(Proxy(tctx.master, runtime))

    return asyncio.run(main())
