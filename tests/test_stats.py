"""Counters per application and the WebSocket report lines (mfe_proxy.stats)."""

import pytest

from mfe_proxy.stats import AppStats, Stats, Traffic


@pytest.mark.parametrize(
    ("sizes", "described"),
    [([], "0 messages 0 B"), ([7], "1 message 7 B"), ([3, 0, 12], "3 messages 15 B")],
)
def test_traffic_counts_messages_and_bytes(sizes, described):
    traffic = Traffic()
    for size in sizes:
        traffic.add(size)
    assert (traffic.messages, traffic.bytes) == (len(sizes), sum(sizes))
    assert traffic.describe() == described


def test_messages_are_counted_per_direction_on_the_connection_and_its_application():
    stats = Stats(["web", "docs"])
    first = stats.open("docs", "/_next/webpack-hmr", "http://localhost:3001", now=10.0)
    second = stats.open("docs", "/_next/webpack-hmr", "http://localhost:3001", now=11.0)
    first.message(from_client=True, size=5)
    first.message(from_client=False, size=100)
    first.message(from_client=False, size=20)
    second.message(from_client=True, size=7)
    assert (first.to_app.messages, first.to_app.bytes) == (1, 5)
    assert (first.to_client.messages, first.to_client.bytes) == (2, 120)
    assert (second.to_app.messages, second.to_app.bytes) == (1, 7)
    assert (second.to_client.messages, second.to_client.bytes) == (0, 0)
    docs = stats.apps["docs"]
    assert (docs.to_app.messages, docs.to_app.bytes) == (2, 12)
    assert (docs.to_client.messages, docs.to_client.bytes) == (2, 120)
    web = stats.apps["web"]
    assert (web.to_app.messages, web.to_client.messages) == (0, 0)


def test_open_and_close_count_connections_and_number_them_across_applications():
    stats = Stats(["web", "docs"])
    a = stats.open("docs", "/a", "http://localhost:3001", now=0.0)
    b = stats.open("web", "/b", "http://localhost:3000", now=0.0)
    c = stats.open("docs", "/c", "http://localhost:3001", now=0.0)
    assert [a.id, b.id, c.id] == [1, 2, 3]
    docs = stats.apps["docs"]
    assert (docs.websockets, docs.open_websockets) == (2, 2)
    stats.close(a)
    assert (docs.websockets, docs.open_websockets) == (2, 1)  # opened stays, open drops
    assert (stats.apps["web"].websockets, stats.apps["web"].open_websockets) == (1, 1)


def test_opened_line():
    stats = Stats(["docs"])
    stats.open("docs", "/x", "http://localhost:3001", now=0.0)
    connection = stats.open("docs", "/docs/_next/webpack-hmr?id=1", "http://localhost:3001", now=0.0)
    assert (
        connection.opened_line() == "ws#2 opened: docs /docs/_next/webpack-hmr?id=1 -> http://localhost:3001"
    )


@pytest.mark.parametrize(
    ("by_client", "side"), [(True, "by client"), (False, "by app"), (None, "by the proxy")]
)
def test_closed_line_names_who_closed(by_client, side):
    connection = Stats(["docs"]).open("docs", "/hmr", "http://localhost:3001", now=100.0)
    connection.message(from_client=True, size=5)
    connection.message(from_client=False, size=3)
    connection.message(from_client=False, size=4)
    line = connection.closed_line(1000, "bye", by_client, closed_at=101.2345)
    assert line == (
        f'ws#1 closed: docs, 1000 "bye" {side} after 1.23 s; '
        "client->app 1 message 5 B, app->client 2 messages 7 B"
    )


def test_closed_line_without_code_or_reason():
    connection = Stats(["web"]).open("web", "/hmr", "http://localhost:3000", now=5.0)
    line = connection.closed_line(None, None, None, closed_at=5.0)
    assert line == (
        'ws#1 closed: web, no code "" by the proxy after 0.00 s; '
        "client->app 0 messages 0 B, app->client 0 messages 0 B"
    )


def test_closed_line_escapes_quotes_in_the_reason():
    connection = Stats(["web"]).open("web", "/hmr", "http://localhost:3000", now=0.0)
    line = connection.closed_line(4000, 'said "no" twice', False, closed_at=2.0)
    assert 'ws#1 closed: web, 4000 "said \\"no\\" twice" by app after 2.00 s;' in line


def test_closed_line_counts_only_its_own_connection():
    stats = Stats(["docs"])
    first = stats.open("docs", "/hmr", "http://localhost:3001", now=0.0)
    second = stats.open("docs", "/hmr", "http://localhost:3001", now=0.0)
    first.message(from_client=True, size=10)
    second.message(from_client=True, size=1)
    assert second.closed_line(1000, "", True, 1.0).endswith(
        "client->app 1 message 1 B, app->client 0 messages 0 B"
    )


@pytest.mark.parametrize(
    ("requests", "websockets", "described"),
    [
        (0, 0, "0 requests, 0 WebSocket connections; client->app 0 messages 0 B, app->client 0 messages 0 B"),
        (1, 1, "1 request, 1 WebSocket connection; client->app 0 messages 0 B, app->client 0 messages 0 B"),
        (2, 3, "2 requests, 3 WebSocket connections; client->app 0 messages 0 B, app->client 0 messages 0 B"),
    ],
)
def test_application_description_singular_and_plural(requests, websockets, described):
    assert AppStats(requests=requests, websockets=websockets).describe() == described


def test_summary_lists_every_application_in_order():
    stats = Stats(["web", "docs", "api"])
    stats.apps["web"].requests += 3
    connection = stats.open("docs", "/hmr", "http://localhost:3001", now=0.0)
    connection.message(from_client=False, size=42)
    assert stats.summary().split("\n") == [
        "mfe-proxy summary:",
        "  web: 3 requests, 0 WebSocket connections; client->app 0 messages 0 B, app->client 0 messages 0 B",
        "  docs: 0 requests, 1 WebSocket connection; client->app 0 messages 0 B, app->client 1 message 42 B",
        "  api: 0 requests, 0 WebSocket connections; client->app 0 messages 0 B, app->client 0 messages 0 B",
    ]


def test_track_keeps_existing_counts_and_adds_new_applications():
    stats = Stats(["web", "docs"])
    stats.apps["web"].requests = 4
    connection = stats.open("docs", "/hmr", "http://localhost:3001", now=0.0)
    docs = stats.apps["docs"]
    stats.track(["docs", "web", "blog"])
    assert stats.apps["docs"] is docs  # an open connection keeps counting into the same object
    connection.message(from_client=True, size=9)
    assert (stats.apps["docs"].to_app.messages, stats.apps["docs"].to_app.bytes) == (1, 9)
    assert stats.apps["web"].requests == 4
    assert stats.apps["blog"] == AppStats()
    assert [line.split(":")[0].strip() for line in stats.summary().split("\n")[1:]] == ["web", "docs", "blog"]
    # Connection ids continue after a new config.
    assert stats.open("blog", "/hmr", "http://localhost:3002", now=0.0).id == 2


def test_idle_time_is_noticed_from_message_counts():
    stats = Stats(["docs"])
    connection = stats.open("docs", "/hmr", "http://localhost:3001", 100.0)
    assert connection.idle_for(100.5) == 0.5
    assert connection.idle_for(103.0) == 3.0
    connection.message(False, 10)
    assert connection.idle_for(104.0) == 0.0  # a message since the last look: active as of now
    assert connection.idle_for(105.5) == 1.5
    connection.message(True, 1)
    connection.message(False, 1)
    assert connection.idle_for(106.0) == 0.0
