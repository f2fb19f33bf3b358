"""What mitmproxy logs: its default listener's failure forgiven while the addon replaces it, and the
lines each connection logs shown only when asked for."""

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from mitmproxy import ctx
from mitmproxy.addons import errorcheck, proxyserver
from mitmproxy.proxy import mode_servers, server

from mfe_proxy.mitmproxy_internals.check import source_holds

_LISTEN_FAILURE = "failed to listen"
_SERVER_LOG = logging.getLogger(proxyserver.__name__)


def _is_default_listener_failure(record: logging.LogRecord) -> bool:
    # Stopping the listener that never started then fails too, with an empty AssertionError.
    message = record.getMessage()
    return record.levelno >= logging.ERROR and (f"HTTP(S) proxy {_LISTEN_FAILURE}" in message or not message)


class _DefaultListenerFilter(logging.Filter):
    """Withholds the failures of mitmproxy's default listener, which the addon is about to replace."""

    def __init__(self, note: Callable[[], None]) -> None:
        super().__init__()
        self.note = note

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_default_listener_failure(record):
            if record.getMessage():
                self.note()
            return False
        return True


@contextlib.contextmanager
def forgive_default_listener(note: Callable[[], None]) -> Iterator[None]:
    """mitmproxy binds its default listener (8080, or listen_port) while it loads scripts. When the
    port is taken, its start-up check would stop the proxy for a listener the addon is about to drop,
    with advice that does not apply: while this is held, those errors are withheld (`note` is called
    instead), and one recorded before the addon loaded is taken back."""
    check: Any = ctx.master.addons.get("errorcheck")
    records = check.logger.has_errored if check is not None else []
    records[:] = [record for record in records if not _is_default_listener_failure(record)]
    withheld = _DefaultListenerFilter(note)
    _SERVER_LOG.addFilter(withheld)
    try:
        yield
    finally:
        _SERVER_LOG.removeFilter(withheld)


_CONNECTION_LINES = ("client connect", "client disconnect", "server connect", "server disconnect")
_CONNECTION_LOG = logging.getLogger(server.__name__)


class _ConnectionLines(logging.Filter):
    def __init__(self, shown: Callable[[], bool]) -> None:
        super().__init__()
        self.shown = shown

    def filter(self, record: logging.LogRecord) -> bool:
        return self.shown() or not record.getMessage().startswith(_CONNECTION_LINES)


@contextlib.contextmanager
def connection_lines_when(shown: Callable[[], bool]) -> Iterator[None]:
    """mitmproxy logs four lines for each connection a request opens and closes, at the level of the
    request lines; while this is held, they show only when `shown()` says so."""
    lines = _ConnectionLines(shown)
    _CONNECTION_LOG.addFilter(lines)
    try:
        yield
    finally:
        _CONNECTION_LOG.removeFilter(lines)


CHECKS = (
    (
        "the proxy server keeps its handlers in `connections` and has `inject_event`",
        lambda: source_holds(proxyserver.Proxyserver, "self.connections[", "def inject_event"),
    ),
    (
        "the start-up check records errors in `logger.has_errored`",
        lambda: source_holds(errorcheck, "self.has_errored"),
    ),
    (
        "connection handlers log 'client connect' and 'server connect <address>'",
        lambda: source_holds(
            server.ConnectionHandler, 'self.log("client connect")', 'self.log(f"server connect'
        ),
    ),
    (
        f"a listener that cannot bind logs '{_LISTEN_FAILURE}'",
        lambda: source_holds(mode_servers, f"{_LISTEN_FAILURE} on"),
    ),
)
