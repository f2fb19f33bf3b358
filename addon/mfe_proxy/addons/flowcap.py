"""The mitmweb flow cap: mitmweb keeps every flow, so an all-day session would grow without bound.
Once more than `mfe_keep_flows` flows are listed, the oldest finished ones go; flows still open
(WebSockets) never do."""

import collections
from typing import Any

from mitmproxy import ctx, flow, http
from mitmproxy.addonmanager import Loader

from mfe_proxy.addons import options
from mfe_proxy.addons.runtime import Runtime


class FlowCap:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.keep_flows = 5000
        self.view: Any = None  # mitmweb's flow list; mitmdump has none
        self.finished: collections.deque[flow.Flow] = collections.deque()

    OPTIONS = (
        options.Option(
            "mfe_keep_flows",
            "5000",
            "Under mitmweb, how many finished flows stay in the flow list; the oldest are dropped so "
            "that an all-day session does not grow memory without bound. 0: keep all.",
        ),
    )

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)

    def configure(self, updated: set[str]) -> None:
        if "mfe_keep_flows" in updated:
            with options.refusals(self.runtime.strict):
                self.keep_flows = options.whole_number("mfe_keep_flows", "0 (keep all) or more")

    def running(self) -> None:
        self.view = ctx.master.addons.get("view")

    def response(self, flow: http.HTTPFlow) -> None:
        if self.view is not None and self.keep_flows and flow.websocket is None:
            self.keep(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if self.view is not None and self.keep_flows and flow.websocket is None:
            self.keep(flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if self.view is not None and self.keep_flows:
            self.keep(flow)

    def keep(self, done: flow.Flow) -> None:
        view = self.view
        self.finished.append(done)
        excess = view.store_count() - self.keep_flows
        if excess <= 0:
            if len(self.finished) > 2 * self.keep_flows:  # the user removed flows by hand meanwhile
                self.finished = collections.deque(f for f in self.finished if view.get_by_id(f.id))
            return
        drop = []
        while excess > 0 and self.finished:
            oldest = self.finished.popleft()
            if view.get_by_id(oldest.id) is not None:
                drop.append(oldest)
                excess -= 1
        view.remove(drop)
