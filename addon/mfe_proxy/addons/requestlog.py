"""One line per request, as dev servers print them (`GET /docs/intro -> docs 200 in 12 ms`): while
mitmdump's own flow lines are off (`flow_detail` 0, as the launcher sets it) or under mitmweb. The
four lines mitmproxy logs for each connection then show only at debug verbosity (`-v`)."""

import contextlib
import logging

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from mfe_proxy import mitmproxy_internals
from mfe_proxy.addons import options
from mfe_proxy.addons.flows import flow_mark

logger = logging.getLogger("mfe-proxy")

_VIA = {"local": "", "fallback": " (fallback)", "proxy": " (not reachable)"}


class RequestLog:
    OPTIONS = (
        options.Option(
            "mfe_request_log",
            True,
            "One line per request (method, path, application, status, time) while mitmdump's own flow "
            "lines are off (flow_detail 0, as scripts/mfe-proxy sets it). false: no such lines; the "
            "banner, WebSocket lines, warnings and summary stay.",
            bool,
        ),
    )

    def __init__(self) -> None:
        self.active = False
        self._quiet = contextlib.ExitStack()

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)
        self._quiet.enter_context(mitmproxy_internals.connection_lines_when(self._verbose))

    def configure(self, updated: set[str]) -> None:
        # mitmweb has no flow lines (and no flow_detail).
        own_lines_off = "flow_detail" not in ctx.options or ctx.options.flow_detail == 0
        self.active = ctx.options.mfe_request_log and own_lines_off

    def done(self) -> None:
        self._quiet.close()

    def response(self, flow: http.HTTPFlow) -> None:
        if self.active and flow.websocket is None and flow.response is not None:
            took = _elapsed(flow, flow.response.timestamp_end)
            logger.info(f"{_request(flow)} {flow.response.status_code} in {took}")

    def error(self, flow: http.HTTPFlow) -> None:
        if self.active and flow.websocket is None and flow.error is not None:
            logger.info(
                f"{_request(flow)} failed: {flow.error.msg} after {_elapsed(flow, flow.error.timestamp)}"
            )

    @staticmethod
    def _verbose() -> bool:
        return ctx.options.termlog_verbosity == "debug"


def _request(flow: http.HTTPFlow) -> str:
    mark = flow_mark(flow)
    if mark is None or mark["application"] is None:
        served = "proxy"
    else:
        served = mark["application"] + _VIA[mark["via"]]
    return f"{flow.request.method} {flow.request.path} -> {served}"


def _elapsed(flow: http.HTTPFlow, end: float | None) -> str:
    if end is None:
        return "?"
    return f"{max(0.0, (end - flow.request.timestamp_start) * 1000):.0f} ms"
