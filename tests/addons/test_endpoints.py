"""The proxy's status and metrics endpoints (mfe_proxy.addons.endpoints): for this machine only, with
what was routed so far."""

import json

import pytest

from addons.harness import config, request_flow, run
from helpers import free_port


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


@pytest.mark.parametrize(("accept", "content_type"), [("text/html", "text/html"), ("*/*", "text/plain")])
def test_the_endpoint_index_lists_the_proxys_own_endpoints(tmp_path, listening, accept, content_type):
    async def scenario(addon):
        flow = request_flow("/.well-known/mfe-proxy/", accept=accept)
        await addon.requestheaders(flow)
        return flow

    flow = run(tmp_path, config(listening, listening), scenario)
    assert flow.response is not None
    assert flow.response.status_code == 200
    assert flow.response.headers["content-type"].startswith(content_type)
    text = flow.response.get_text()
    for path in (
        "/.well-known/vercel/microfrontends/routing",
        "/.well-known/mfe-proxy/status",
        "/.well-known/mfe-proxy/metrics",
    ):
        assert path in text
    assert "no endpoint" not in text
    assert flow.comment == "proxy: endpoint index"
