"""One line per request, as dev servers print them (`GET /docs/intro -> docs 200 in 12 ms`): while
mitmdump's own flow lines are off (`flow_detail` 0, as the launcher sets it) or under mitmweb. The
four lines mitmproxy logs for each connection then show only at debug verbosity (`-v`).

The lines go straight to the terminal, looking like mitmproxy's own: through Python's logging, each
would also wake mitmproxy's event loop to hand a deprecated `add_log` event to every addon, which
measured a quarter of the launcher's CPU time per request (docs/BENCHMARKS.md)."""

import contextlib
import sys
import time
from typing import IO

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from mitmproxy.utils import vt_codes

from mfe_proxy import mitmproxy_internals
from mfe_proxy.addons import options
from mfe_proxy.addons.flows import flow_mark

_VIA = {"local": "", "fallback": " (fallback)", "proxy": " (not reachable)"}
_SHOWN = ("info", "debug")  # termlog verbosities at which an info line shows
# How mitmproxy's terminal colours an info line: the time dim cyan, then a reset after each part.
_COLOURS = ("\x1b[36m\x1b[2m", "\x1b[0m")


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

    def __init__(self, out: IO[str] | None = None) -> None:
        self.active = False
        self._out = out  # None: sys.stdout at the time, where mitmproxy's own lines go
        self._colours = ("", "")
        self._second = 0  # the time stamp's seconds, formatted once a second
        self._clock = ""
        self._quiet = contextlib.ExitStack()

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)
        self._quiet.enter_context(mitmproxy_internals.connection_lines_when(self._verbose))

    def configure(self, updated: set[str]) -> None:
        # mitmweb has no flow lines (and no flow_detail).
        own_lines_off = "flow_detail" not in ctx.options or ctx.options.flow_detail == 0
        shown = "termlog_verbosity" not in ctx.options or ctx.options.termlog_verbosity in _SHOWN
        self.active = ctx.options.mfe_request_log and own_lines_off and shown
        self._colours = _COLOURS if vt_codes.ensure_supported(self._stream()) else ("", "")

    def done(self) -> None:
        self._quiet.close()

    def response(self, flow: http.HTTPFlow) -> None:
        if self.active and flow.websocket is None and flow.response is not None:
            took = _elapsed(flow, flow.response.timestamp_end)
            self._print(f"{_request(flow)} {flow.response.status_code} in {took}")

    def error(self, flow: http.HTTPFlow) -> None:
        if self.active and flow.websocket is None and flow.error is not None:
            self._print(
                f"{_request(flow)} failed: {flow.error.msg} after {_elapsed(flow, flow.error.timestamp)}"
            )

    def _stream(self) -> IO[str]:
        return self._out or sys.stdout

    def _print(self, line: str) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._clock = second, time.strftime("%H:%M:%S", time.localtime(second))
        start, end = self._colours
        stamp = f"{start}[{self._clock}.{int((now - second) * 1000):03d}]{end}"
        # A terminal that is gone ends mitmproxy at its next line of its own.
        with contextlib.suppress(OSError):
            print(f"{stamp} {line}{end}", file=self._stream())

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
