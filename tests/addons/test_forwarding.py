"""Forwarding (mfe_proxy.addons.forwarding, outgoing, endpoints): requests routed and sent on to their
application or its fallback with the headers it expects, the down page, the proxy's own answers, and a
fallback's redirects brought back."""

import json

import pytest
from mitmproxy import http

from addons.harness import config, request_flow, run
from helpers import free_port


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
