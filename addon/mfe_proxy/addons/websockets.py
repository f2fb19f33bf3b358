"""WebSockets (hot module reload) relayed to applications: one log line when each opens and one when it
closes, counters, a bounded number of messages kept for mitmweb, an idle timeout, a limit on how many
are open, and closing them all with 1001 when the proxy stops."""

import asyncio
import contextlib
import logging
import time

from mitmproxy import http
from mitmproxy.addonmanager import Loader

from mfe_proxy import mitmproxy_internals, pages
from mfe_proxy.addons import options
from mfe_proxy.addons.flows import answer, flow_mark
from mfe_proxy.addons.runtime import LiveWebSocket, Runtime

logger = logging.getLogger("mfe-proxy")

# How often idle WebSockets are looked for.
TICK = 0.25
# How long shutting down waits for WebSocket peers to receive their close frames.
CLOSE_GRACE = 2.0


class WebSockets:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.keep_messages = 100
        self.idle_timeout = 0
        self.max_connections = 1000
        # Held so that the task is not collected: the event loop keeps tasks weakly.
        self._watching: asyncio.Task[None] | None = None

    OPTIONS = (
        options.Option(
            "mfe_ws_keep_messages",
            "100",
            "How many of the latest messages of each WebSocket connection stay inspectable; older "
            "ones are dropped so that endless HMR streams do not grow memory.",
        ),
        options.Option(
            "mfe_ws_idle_timeout",
            "0",
            "Close WebSocket connections (with 1001) after this many seconds without a message in "
            "either direction. 0: never.",
        ),
        options.Option(
            "mfe_ws_max_connections",
            "1000",
            "How many WebSocket connections the proxy relays at once; further upgrades get 503.",
        ),
    )

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)

    def configure(self, updated: set[str]) -> None:
        with options.refusals(self.runtime.strict):
            if "mfe_ws_keep_messages" in updated:
                self.keep_messages = options.whole_number("mfe_ws_keep_messages", "0 or more")
            if "mfe_ws_idle_timeout" in updated:
                self.idle_timeout = options.whole_number(
                    "mfe_ws_idle_timeout", "0 (off) or a number of seconds"
                )
            if "mfe_ws_max_connections" in updated:
                self.max_connections = options.whole_number("mfe_ws_max_connections", "0 or more")

    def running(self) -> None:
        self._watching = asyncio.ensure_future(self._watch_idle())

    def done(self) -> None:
        if self._watching is not None:
            self._watching.cancel()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or "upgrade" not in flow.request.headers:
            return
        if len(self.runtime.websockets) >= self.max_connections:
            answer(flow, pages.too_many_websockets(self.max_connections))

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        mark = flow_mark(flow)
        if mark is None or mark["application"] is None:
            return
        connection = self.runtime.stats.open(
            mark["application"], flow.request.path, mark["upstream"], time.time()
        )
        live = LiveWebSocket(flow, connection)
        # Whether a WebSocket has been idle too long is mfe_ws_idle_timeout's to say, not tcp_timeout's.
        live.exemption.enter_context(mitmproxy_internals.exempt_from_idle_timeout(flow))
        self.runtime.websockets[flow.id] = live
        logger.info(connection.opened_line())

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        messages = flow.websocket.messages
        live = self.runtime.websockets.get(flow.id)
        if live is not None:
            message = messages[-1]
            live.connection.message(message.from_client, len(message.content))
        if len(messages) > self.keep_messages:
            del messages[: len(messages) - self.keep_messages]

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        live = self.runtime.websockets.pop(flow.id, None)
        if live is None:
            return
        live.exemption.close()
        websocket = flow.websocket
        assert websocket is not None
        self.runtime.stats.close(live.connection)
        closed_by = None if live.closing is not None else websocket.closed_by_client
        logger.info(
            live.connection.closed_line(
                websocket.close_code,
                websocket.close_reason,
                closed_by,
                websocket.timestamp_end or time.time(),
            )
        )

    def close(self, live: LiveWebSocket, reason: str) -> None:
        """Close a WebSocket both ways with 1001 (going away)."""
        live.closing = reason
        mitmproxy_internals.close_websocket(live.flow, mitmproxy_internals.GOING_AWAY, reason)

    async def close_all(self, reason: str) -> None:
        """Close every open WebSocket, and wait (a little) until their peers got the close."""
        for live in list(self.runtime.websockets.values()):
            self.close(live, reason)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE):
                while self.runtime.websockets:
                    await asyncio.sleep(0.02)

    async def _watch_idle(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            if not self.idle_timeout:
                continue
            now = time.time()
            for live in list(self.runtime.websockets.values()):
                if live.closing is None and live.connection.idle_for(now) >= self.idle_timeout:
                    timeout = f"{self.idle_timeout} s (mfe_ws_idle_timeout)"
                    logger.info(f"ws#{live.connection.id} idle for {timeout}: closing")
                    self.close(live, "idle")
