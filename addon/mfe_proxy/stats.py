"""Counters per application, and the lines that report WebSocket connections and the final summary.

Pure: the addon feeds events in; counting a WebSocket message is two additions, so the relay path
stays cheap.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from mfe_proxy.errors import quote


@dataclass(slots=True)
class Traffic:
    """Messages and bytes in one direction."""

    messages: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.messages += 1
        self.bytes += size

    def describe(self) -> str:
        return f"{self.messages} {_plural(self.messages, 'message')} {self.bytes} B"


@dataclass(slots=True)
class AppStats:
    """Everything counted for one application since the proxy started."""

    requests: int = 0
    websockets: int = 0  # connections opened
    open_websockets: int = 0
    to_app: Traffic = field(default_factory=Traffic)
    to_client: Traffic = field(default_factory=Traffic)

    def describe(self) -> str:
        return (
            f"{self.requests} {_plural(self.requests, 'request')}, "
            f"{self.websockets} WebSocket {_plural(self.websockets, 'connection')}; "
            f"client->app {self.to_app.describe()}, app->client {self.to_client.describe()}"
        )


@dataclass(slots=True)
class Connection:
    """One relayed WebSocket connection, counted for its own close line and for its application."""

    id: int
    application: str
    path: str
    upstream: str
    opened_at: float
    app: AppStats
    to_app: Traffic = field(default_factory=Traffic)
    to_client: Traffic = field(default_factory=Traffic)
    # For the idle timeout: activity is noticed by a periodic check that compares message counts,
    # rather than timestamped on every message, so relaying stays two additions.
    seen: int = 0
    active_at: float = 0.0

    def __post_init__(self) -> None:
        self.active_at = self.opened_at

    def idle_for(self, now: float) -> float:
        """Seconds without a message either way, as of the previous call: call it periodically."""
        total = self.to_app.messages + self.to_client.messages
        if total != self.seen:
            self.seen = total
            self.active_at = now
        return now - self.active_at

    def message(self, from_client: bool, size: int) -> None:
        if from_client:
            self.to_app.add(size)
            self.app.to_app.add(size)
        else:
            self.to_client.add(size)
            self.app.to_client.add(size)

    def opened_line(self) -> str:
        return f"ws#{self.id} opened: {self.application} {self.path} -> {self.upstream}"

    def closed_line(
        self, code: int | None, reason: str | None, by_client: bool | None, closed_at: float
    ) -> str:
        side = {True: "by client", False: "by app", None: "by the proxy"}[by_client]
        status = f"{code if code is not None else 'no code'} {quote(reason or '')}"
        return (
            f"ws#{self.id} closed: {self.application}, {status} "
            f"{side} after {closed_at - self.opened_at:.2f} s; "
            f"client->app {self.to_app.describe()}, app->client {self.to_client.describe()}"
        )


class Stats:
    """Counters for every application of the config, and the WebSocket connections open now."""

    def __init__(self, applications: Iterable[str]) -> None:
        self.apps = {name: AppStats() for name in applications}
        self._next_id = 1

    def track(self, applications: Iterable[str]) -> None:
        """Make room for the applications of a new config; counts of those that stay are kept."""
        for name in applications:
            self.apps.setdefault(name, AppStats())

    def open(self, application: str, path: str, upstream: str, now: float) -> Connection:
        app = self.apps[application]
        app.websockets += 1
        app.open_websockets += 1
        connection = Connection(self._next_id, application, path, upstream, now, app)
        self._next_id += 1
        return connection

    def close(self, connection: Connection) -> None:
        connection.app.open_websockets -= 1

    def summary(self) -> str:
        lines = [f"  {name}: {stats.describe()}" for name, stats in self.apps.items()]
        return "\n".join(["mfe-proxy summary:", *lines])


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
