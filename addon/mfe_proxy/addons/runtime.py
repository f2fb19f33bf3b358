"""The state the addons share: the config being served, which upstreams answer, the counters, the
WebSockets being relayed, and whether mitmproxy is running yet."""

import contextlib
from dataclasses import dataclass, field

from mitmproxy import http

from mfe_proxy.health import Health
from mfe_proxy.startup import Setup
from mfe_proxy.stats import Connection, Stats


@dataclass(slots=True)
class LiveWebSocket:
    """One WebSocket being relayed to an application."""

    flow: http.HTTPFlow
    connection: Connection  # its counters and log lines
    # Held until it ends: what keeps mitmproxy's tcp_timeout from cutting it.
    exemption: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    closing: str | None = None  # why the proxy is closing it, once it is


class Runtime:
    def __init__(self) -> None:
        # The config being served; None until the proxy's own listener is up.
        self.setup: Setup | None = None
        self.health = Health()
        self.stats = Stats(())
        self.websockets: dict[str, LiveWebSocket] = {}  # by flow id
        self.running = False  # mitmproxy's `running` has happened
        # Bad option values are refused as mitmproxy refuses its own (the old value stays, or mitmproxy
        # stops before it listens): once running, and from the start under the launcher. Otherwise they
        # are logged, which stops a plain mitmdump cleanly.
        self.strict = False

    def use(self, setup: Setup) -> None:
        self.stats.track(setup.config.applications)
        self.setup = setup
