"""Every use of mitmproxy's internals, in one place: a mitmproxy upgrade is this package to read.

mfe-proxy is tested with mitmproxy `TESTED` and pinned to that minor release. Where mitmproxy has no
public hook, it relies on these, each checked by `problems()` when the addon loads; if one changed,
mfe-proxy stops saying which, rather than go on without it:

- closing a WebSocket with a code (`close_websocket`): an injected message that the WebSocket layer's
  `Fragmentizer` turns into a close (mitmproxy issue 4773);
- the close code a lost peer gives the other side: the layer's `WebsocketConnection`;
- chunked bodies with trailer fields, which stop mitmproxy from serving the connection: its
  `ChunkedReader`;
- a secret on the wire only (`send_secret`): `http1.assemble_request_head`, which writes every request
  head to an upstream (upstream connections speak HTTP/2 only for clients that negotiated it over TLS,
  which the proxy's plain-HTTP listener never does);
- WebSockets exempt from `tcp_timeout` (`exempt_from_idle_timeout`): a connection handler's watchdog;
- mitmproxy's default listener forgiven while the addon replaces it (`forgive_default_listener`):
  the start-up error check's records and the proxy server's log;
- the lines each connection logs (`connection_lines_when`), for a terminal with one line per request;
- each event handed only to the addons that handle it (`CachingAddonManager`, for the launcher).
"""

from mitmproxy import version

from mfe_proxy.errors import MfeError
from mfe_proxy.mitmproxy_internals import dispatch, http1, logs, websockets
from mfe_proxy.mitmproxy_internals.check import Check
from mfe_proxy.mitmproxy_internals.dispatch import CachingAddonManager
from mfe_proxy.mitmproxy_internals.http1 import forget_secret, send_secret
from mfe_proxy.mitmproxy_internals.logs import connection_lines_when, forgive_default_listener
from mfe_proxy.mitmproxy_internals.websockets import (
    APPLICATION_LOST,
    GOING_AWAY,
    close_websocket,
    exempt_from_idle_timeout,
)

__all__ = [
    "APPLICATION_LOST",
    "GOING_AWAY",
    "PIN",
    "TESTED",
    "CachingAddonManager",
    "InternalsChanged",
    "close_websocket",
    "connection_lines_when",
    "exempt_from_idle_timeout",
    "forget_secret",
    "forgive_default_listener",
    "install",
    "problems",
    "require",
    "send_secret",
    "uninstall",
]

TESTED = "12.3"
PIN = "mitmproxy>=12.3.1,<12.4"
_CHECKS: tuple[Check, ...] = (*websockets.CHECKS, *http1.CHECKS, *logs.CHECKS, *dispatch.CHECKS)


class InternalsChanged(MfeError):
    """This mitmproxy is not the one mfe-proxy was tested with, and something it relies on changed."""


def install() -> None:
    websockets.install()
    http1.install()


def uninstall() -> None:
    """So that reloading the addon does not stack the subclasses."""
    websockets.uninstall()
    http1.uninstall()


def problems() -> list[str]:
    """What changed in this mitmproxy of what mfe-proxy relies on; empty when nothing did."""
    changed = []
    for description, check in _CHECKS:
        try:
            holds = check()
        except Exception:  # any failure to look means the target moved
            holds = False
        if not holds:
            changed.append(description)
    return changed


def require() -> None:
    """Raise `InternalsChanged` naming the mitmproxy version and what changed, if anything did."""
    changed = problems()
    if changed:
        raise InternalsChanged(
            f"mfe-proxy was tested with mitmproxy {TESTED}.x; mitmproxy {version.VERSION} changed what "
            f"it relies on: {'; '.join(changed)}. Install the tested release: pip install '{PIN}'"
        )
