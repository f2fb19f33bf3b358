"""One line per request in the terminal (mfe_proxy.addons.requestlog): method, path, the application
(or the proxy) and how it was reached, status and time."""

import re

import pytest
from mitmproxy import flow as mitmproxy_flow
from mitmproxy import http

from addons.harness import config, request_flow, run
from helpers import free_port


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The request lines printed, without their time stamps (`[12:00:00.000] `)."""
    printed = capsys.readouterr().out.splitlines()
    return [line.split("] ", 1)[1] for line in printed if " -> " in line]


def answered(flow: http.HTTPFlow, status: int, after: float = 0.012) -> None:
    if flow.response is None:
        flow.response = http.Response.make(status)
    flow.response.timestamp_end = flow.request.timestamp_start + after


async def three_requests(addon):
    for path in ("/docs/intro", "/.well-known/mfe-proxy/"):
        flow = request_flow(path)
        await addon.requestheaders(flow)
        answered(flow, 200)
        await addon.response(flow)
    down = request_flow("/docs/down")
    await addon.requestheaders(down)
    answered(down, 502, after=0.001)
    await addon.response(down)


def test_a_line_per_request_names_where_it_went(tmp_path, listening, capsys):
    run(tmp_path, config(listening, listening), three_requests)
    assert lines(capsys) == [
        "GET /docs/intro -> docs 200 in 12 ms",
        "GET /.well-known/mfe-proxy/ -> proxy 200 in 12 ms",
        "GET /docs/down -> docs 502 in 1 ms",  # the application itself answered 502
    ]


def test_a_down_application_is_named_as_not_reachable(tmp_path, listening, capsys):
    run(tmp_path, config(listening, free_port()), three_requests)
    assert lines(capsys)[-1] == "GET /docs/down -> docs (not reachable) 502 in 1 ms"


def test_a_failed_request_says_why(tmp_path, listening, capsys):

    async def scenario(addon):
        flow = request_flow("/docs/x", accept="*/*")
        await addon.requestheaders(flow)
        flow.error = mitmproxy_flow.Error(
            "the application reset the connection", flow.request.timestamp_start + 0.5
        )
        await addon.error(flow)

    run(tmp_path, config(listening, listening), scenario)
    assert lines(capsys) == ["GET /docs/x -> docs failed: the application reset the connection after 500 ms"]


def test_no_lines_when_asked_and_none_for_websockets(tmp_path, listening, capsys):

    async def scenario(addon):
        flow = request_flow("/docs/intro")
        await addon.requestheaders(flow)
        answered(flow, 200)
        await addon.response(flow)

    run(tmp_path, config(listening, listening), scenario, mfe_request_log=False)
    assert lines(capsys) == []


def test_lines_look_like_mitmproxys(tmp_path, listening, capsys):
    async def one_request(addon):
        flow = request_flow("/docs/intro")
        await addon.requestheaders(flow)
        answered(flow, 200)
        await addon.response(flow)

    run(tmp_path, config(listening, listening), one_request)
    printed = [line for line in capsys.readouterr().out.splitlines() if " -> " in line]
    assert len(printed) == 1
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\.\d{3}\] GET /docs/intro -> docs 200 in 12 ms", printed[0])
