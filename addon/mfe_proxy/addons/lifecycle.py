"""mfe-proxy's start and stop: at load, the check that this mitmproxy is the one it was tested with
(`mitmproxy_internals`); on SIGINT or SIGTERM, open WebSockets closed with 1001 before mitmproxy stops;
at the end, the summary per application."""

import asyncio
import contextlib
import logging
import signal

from mitmproxy import ctx
from mitmproxy.addonmanager import Loader

from mfe_proxy import mitmproxy_internals
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.addons.websockets import WebSockets
from mfe_proxy.errors import MfeError

logger = logging.getLogger("mfe-proxy")


class Lifecycle:
    def __init__(self, runtime: Runtime, websockets: WebSockets) -> None:
        self.runtime = runtime
        self.websockets = websockets
        self._stopping: asyncio.Task[None] | None = None  # held: the event loop keeps tasks weakly

    def load(self, loader: Loader) -> None:
        try:
            mitmproxy_internals.require()
        except MfeError as error:
            logger.error(f"mfe-proxy cannot start: {error}")
            return
        mitmproxy_internals.install()

    def running(self) -> None:
        self.runtime.running = self.runtime.strict = True
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Where the loop cannot take signal handlers, mitmproxy's own stop the proxy as before.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._stop)

    def done(self) -> None:
        mitmproxy_internals.uninstall()
        if self._stopping is not None:
            self._stopping.cancel()
        if self.runtime.setup is not None:
            logger.info(self.runtime.stats.summary())

    def _stop(self) -> None:
        """SIGINT or SIGTERM: open WebSockets are closed with 1001 (going away) before mitmproxy stops,
        so that browsers and dev servers see a proper close. A second signal stops at once."""
        if self._stopping is not None or not self.runtime.websockets:
            ctx.master.shutdown()
            return
        self._stopping = asyncio.ensure_future(self._close_then_stop())

    async def _close_then_stop(self) -> None:
        count = len(self.runtime.websockets)
        logger.info(f"mfe-proxy stopping: closing {count} WebSocket connection{'' if count == 1 else 's'}")
        await self.websockets.close_all("mfe-proxy is stopping")
        ctx.master.shutdown()
