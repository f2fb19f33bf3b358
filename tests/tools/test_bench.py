"""The benchmark's pure helpers (scripts/mfe_tools/bench/): the upstream it measures against, the configs
it generates, the report and the targets' verdicts. The benchmark itself runs with scripts/bench only."""

import asyncio

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from mfe_proxy.config import parse_config
from mfe_proxy.router import Forward, Reason, Router
from mfe_tools.bench import cli, load, micro, report, upstream, workload


class Transport(asyncio.Transport):
    """Collects what the upstream writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def connected(app: str) -> tuple[object, Transport]:
    protocol = upstream.UpstreamProtocol(app)
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def test_upstream_answers_every_request_of_a_pipelined_stream():
    protocol, transport = connected("docs")
    request = workload.Request("/docs/x", "docs", navigation=False).encode(3024)
    protocol.data_received(request * 2 + request[:10])
    protocol.data_received(request[10:])
    responses = bytes(transport.written).split(b"HTTP/1.1 200 OK")[1:]
    assert len(responses) == 3
    assert all(response.endswith(b"\r\n\r\n" + workload.body_of("docs")) for response in responses)


def test_upstream_echoes_websocket_messages_after_keep_alive_requests():
    protocol, transport = connected("docs")
    request = workload.Request("/", "docs", navigation=True).encode(3024)
    client = ClientProtocol(parse_uri("ws://127.0.0.1:3024/docs/_next/webpack-hmr"), max_size=None)
    handshake = client.connect()
    client.send_request(handshake)
    # One plain request, then the upgrade, in one read: the first is answered, the second upgraded.
    protocol.data_received(request + b"".join(client.data_to_send()))
    http_answer, _, upgrade = bytes(transport.written).partition(workload.body_of("docs"))
    assert http_answer.startswith(b"HTTP/1.1 200 OK")
    client.receive_data(upgrade)
    [response] = client.events_received()
    assert isinstance(response, Response)
    assert response.status_code == 101
    assert response.headers[workload.APP_HEADER] == "docs"

    transport.written.clear()
    big = load.payload(16 * 1024)
    client.send_binary(big)
    client.send_text(b"part one, ", fin=False)
    client.send_continuation(b"part two", fin=True)
    protocol.data_received(b"".join(client.data_to_send()))
    client.receive_data(bytes(transport.written))
    frames = client.events_received()
    assert [(frame.opcode, frame.data, frame.fin) for frame in frames if isinstance(frame, Frame)] == [
        (Opcode.BINARY, big, True),
        (Opcode.TEXT, b"part one, ", False),
        (Opcode.CONT, b"part two", True),
    ]

    transport.written.clear()
    client.send_close(1000, "bye")
    protocol.data_received(b"".join(client.data_to_send()))
    assert transport.closed


def test_payload_is_the_size_asked_for_and_not_uniform():
    assert len(load.payload(100)) == 100
    assert len(set(load.payload(16 * 1024))) > 200


@pytest.mark.parametrize("count", workload.PATTERN_COUNTS)
def test_pattern_config_is_valid_and_has_the_patterns_asked_for(count):
    config = parse_config(micro.pattern_config(count), "patterns.json")
    patterns = [
        pattern for app in config.applications.values() for route in app.routes for pattern in route.paths
    ]
    assert len(patterns) == count
    router = Router(config)
    decisions = [router.route("GET", path, {}) for path in micro.lookup_paths(count)]
    assert all(isinstance(decision, Forward) for decision in decisions)
    reasons = [decision.reason for decision in decisions]
    # The lookups hit patterns across the whole list, the parameter-led ones, and the default.
    assert reasons.count(Reason.PATH) >= min(count, 40)
    assert reasons.count(Reason.DEFAULT) == 3
    assert {decision.application.name for decision in decisions if decision.detail.startswith("/:lang")} == {
        "app0",
        "app1",
    }


def test_applications_config_is_valid():
    config = parse_config(micro.applications_config(50), "apps.json")
    assert len(config.applications) == 50


def test_benchmark_config_routes_the_page_as_the_requests_say(tmp_path):
    ports = {"web": 3000, "docs": 3001, "api": 3002}
    for for_vercel in (False, True):
        path = tmp_path / f"config-{for_vercel}.json"
        workload.write_config(path, ports, proxy_port=3024, for_vercel=for_vercel)
        config = parse_config(path.read_bytes(), path.name)
        assert config.proxy_port == 3024
        router = Router(config)
        for request in workload.PAGE:
            assert router.route("GET", request.path, {}).application.name == request.app, request.path
        assert router.route("GET", workload.WS_PATH, {}).application.name == workload.WS_APP


def test_ratio():
    assert report.ratio(3.0, 2.0) == "1.50\u00d7"
    assert report.ratio(3.0, None) == "\u2014"
    assert report.ratio(3.0, 0) == "\u2014"


def test_cpu_per_sums_all_samples():
    assert load.cpu_per([0.1, 0.2], 1000) == pytest.approx(300.0)
    assert load.cpu_per([0.1, None], 10) is None


def test_percentiles():
    runs = [[i / 1000 for i in range(1, 51)], [i / 1000 for i in range(51, 101)]]
    p50, p99 = cli.percentiles(runs)
    assert p50 == pytest.approx(50.5)
    assert 99 <= p99 <= 100


def test_table_gives_each_figure_its_ratios_and_skips_what_was_not_measured():
    results = {
        "direct": {"rps": 10_000.0, "page": 10.0},
        "bare": {"rps": 1_000.0, "page": 300.0, "start": 0.5},
        "launcher": {"rps": 2_000.0, "page": 150.0, "start": 0.75},
    }
    lines = report.table(results).splitlines()
    assert "| HTTP requests/s, 16 connections | direct | 10,000 | 10.00\u00d7 | 1.00\u00d7 |" in lines
    assert "|  | mfe-proxy, scripts/mfe-proxy | 2,000 | 2.00\u00d7 | 0.20\u00d7 |" in lines
    assert "|  | mfe-proxy, scripts/mfe-proxy | 150.0 | 0.50\u00d7 | 15.00\u00d7 |" in lines
    assert "| start to first routed response (s) | bare mitmdump | 0.50 | 1.00\u00d7 | \u2014 |" in lines
    assert not any("p50" in line for line in lines)


def verdicts(results: dict, routes: dict) -> dict[str, tuple[str, bool | None]]:
    return {check.target: (check.measured, check.met) for check in report.checks(results, routes)}


def test_checks_judge_each_target_from_the_same_run():
    results = {
        "bare": {"rps": 1000.0, "page": 300.0, "p99": 2.0, "ws_rate_100": 1000.0, "ws_rate_16384": 800.0},
        "addon": {
            "rps": 980.0,
            "page": 312.0,
            "p99": 2.0,
            "ws_rate_100": 960.0,
            "rss_growth": 0.3,
            "start": 0.6,
        },
        "tuned": {"page": 150.0},
        "launcher": {"page": 200.0, "rss_growth": 6.0, "start": 2.5},
    }
    found = verdicts(results, {10: 2.0, 100: 2.1, 1000: 2.4})
    assert found["addon vs bare mitmdump: HTTP requests/s >= 0.97\u00d7"] == ("0.980\u00d7", True)
    assert found["addon vs bare mitmdump: page load time <= 1.03\u00d7"] == ("1.040\u00d7", False)
    assert found["addon vs bare mitmdump: WebSocket messages/s (100 B) >= 0.97\u00d7"] == (
        "0.960\u00d7",
        False,
    )
    assert found["addon vs bare mitmdump: WebSocket messages/s (16,384 B) >= 0.97\u00d7"] == (
        "not measured",
        None,
    )
    assert found["launcher vs its bare mitmdump: page load time <= 1.03\u00d7"] == ("1.333\u00d7", False)
    assert (
        found["mfe-proxy addon (mitmdump -s): RSS growth over 100,000 WebSocket messages < 5 MiB"][1] is True
    )
    assert (
        found["mfe-proxy, scripts/mfe-proxy: RSS growth over 100,000 WebSocket messages < 5 MiB"][1] is False
    )
    assert found["route lookup at 1,000 patterns < 10 \u00b5s"] == ("2.40 \u00b5s", True)
    assert found["mfe-proxy, scripts/mfe-proxy: start to first routed response < 2 s"] == ("2.50 s", False)
    assert found["launcher serves page loads >= 1.3\u00d7 faster than bare mitmdump"] == ("1.500\u00d7", True)
    assert not any("Vercel" in target for target in found)


def test_the_gap_to_vercel_is_reported_when_it_ran():
    results = {"launcher": {"page": 200.0}, "vercel": {"page": 180.0}}
    found = verdicts(results, {10: 1.0, 1000: 1.0})
    [verdict] = [verdict for target, verdict in found.items() if "Vercel" in target]
    assert verdict == ("0.900\u00d7", None)


@pytest.mark.parametrize(("nginx_page", "met"), [(20.0, True), (50.0, False)])
def test_the_exported_nginx_is_held_to_five_times_the_launchers_page_loads(nginx_page, met):
    results = {"launcher": {"page": 200.0}, "nginx": {"page": nginx_page}}
    found = verdicts(results, {10: 1.0, 1000: 1.0})
    target = "exported nginx serves page loads > 5\u00d7 faster than the launcher"
    assert found[target] == (f"{200.0 / nginx_page:.3f}\u00d7", met)
    assert "|  | nginx serving mfe-proxy export nginx | " + f"{nginx_page:.1f} |" in report.table(results)


def test_the_client_opens_a_new_connection_after_connection_close():
    """nginx ends a keep-alive connection every `keepalive_requests` with `Connection: close`: the
    benchmark's client goes on with a new one instead of failing (a real server on 127.0.0.1)."""
    connections = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario() -> list[tuple[int, bytes]]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = await load.Client.open(port)
        try:
            return [await client.get(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(3)]
        finally:
            await client.close()
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario()) == [(200, b"ok")] * 3
    assert len(connections) == 3
