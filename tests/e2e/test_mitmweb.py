"""The proxy under mitmweb: every flow carries the application that served it, as a comment in the
flow list and as metadata in the flow itself, read back through mitmweb's own HTTP API."""

import io
import json
import time

from mitmproxy.io import FlowReader

from e2e.harness import TIMEOUT, start_mitmweb, web_api, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import two_apps


def test_flows_are_tagged_with_their_application(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy, web_port, token = start_mitmweb(start_proxy, two_apps(web, docs))

    expected = {
        "/docs/intro?x=1": (
            "docs: /docs/:path*",
            {
                "application": "docs",
                "reason": "path",
                "detail": "/docs/:path*",
                "upstream": docs.url,
                "via": "local",
            },
        ),
        "/pricing": (
            "web: default",
            {"application": "web", "reason": "default", "detail": "", "upstream": web.url, "via": "local"},
        ),
    }
    for target in expected:
        assert proxy.get(target).status == 200
    assert proxy.get("/.well-known/vercel/microfrontends/routing").status == 200

    # mitmweb's view learns of a flow's end through its event loop: wait until all three are complete.
    deadline = time.monotonic() + 5
    while True:
        flows = json.loads(web_api(web_port, token, "/flows"))
        if len(flows) == 3 and all("response" in flow for flow in flows):
            break
        assert time.monotonic() < deadline, flows
        time.sleep(0.1)
    comments = {flow["request"]["path"]: flow["comment"] for flow in flows}
    for target, (comment, _) in expected.items():
        assert comments[target] == comment

    dump = web_api(web_port, token, "/flows/dump")
    metadata = {flow.request.path: flow.metadata.get("mfe") for flow in FlowReader(io.BytesIO(dump)).stream()}
    for target, (_, mfe) in expected.items():
        assert metadata[target] is not None, target
        assert {key: metadata[target].get(key) for key in mfe} == mfe
    assert metadata["/.well-known/vercel/microfrontends/routing"]["via"] == "proxy"


def test_flow_list_is_capped_and_open_websockets_stay(start_proxy, upstream):
    web, docs = upstream("web"), WsUpstream()
    try:
        proxy, web_port, token = start_mitmweb(start_proxy, two_apps(web, docs), "--set", "mfe_keep_flows=20")
        with ws_connect(proxy, "/docs/_hmr") as ws:
            connection = proxy.connection()
            for index in range(100):
                connection.request("GET", f"/page/{index}")
                assert connection.getresponse().read()
            connection.close()
            ws.send("still open")
            assert ws.recv(timeout=TIMEOUT) == "still open"
            deadline = time.monotonic() + 5
            while True:
                paths = [flow["request"]["path"] for flow in json.loads(web_api(web_port, token, "/flows"))]
                if "/page/99" in paths:
                    break
                assert time.monotonic() < deadline, paths
                time.sleep(0.1)
        # The cap counts every flow; the newest requests are kept, and the WebSocket, open while they were
        # made, was not dropped.
        assert len(paths) <= 20
        assert "/docs/_hmr" in paths
        pages = [path for path in paths if path.startswith("/page/")]
        assert len(pages) >= 19
        assert pages == [f"/page/{index}" for index in range(100 - len(pages), 100)]
    finally:
        docs.stop()
