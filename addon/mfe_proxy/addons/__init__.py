"""mfe-proxy's mitmproxy addons: small ones, each one concern, sharing one `Runtime`.

In the order mitmproxy calls them for each event:

- `Lifecycle`: the check of mitmproxy's internals at load, graceful stop, the summary;
- `Configuration`: the config served, the options it implies, the banner, live reload;
- `Admission`: what must not reach an application (not ready yet, malformed heads, hosts, origins);
- `WebSockets`: the WebSocket limit, lifecycle lines, counters, idle timeouts, messages kept;
- `Forwarding`: routing, and sending each request on (`outgoing`) or answering it (`endpoints`);
- `Streaming`: bodies of unknown length relayed as they come;
- `Upstreams`: which upstreams answer, from mitmproxy's connections;
- `FlowCap`: mitmweb's flow list bounded;
- `RequestLog`: one line per request in the terminal.
"""

from typing import Any

from mfe_proxy.addons.admission import Admission
from mfe_proxy.addons.configuration import Configuration
from mfe_proxy.addons.flowcap import FlowCap
from mfe_proxy.addons.forwarding import Forwarding
from mfe_proxy.addons.lifecycle import Lifecycle
from mfe_proxy.addons.options import Option
from mfe_proxy.addons.requestlog import RequestLog
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.addons.streaming import Streaming
from mfe_proxy.addons.upstreams import Upstreams
from mfe_proxy.addons.websockets import WebSockets


def make() -> list[Any]:
    """The addons, in order, around one new runtime."""
    runtime = Runtime()
    websockets = WebSockets(runtime)
    return [
        Lifecycle(runtime, websockets),
        Configuration(runtime),
        Admission(runtime),
        websockets,
        Forwarding(runtime),
        Streaming(),
        Upstreams(runtime),
        FlowCap(runtime),
        RequestLog(),
    ]


def declared_options() -> tuple[Option, ...]:
    """Every option the addons declare, for `mfe-proxy --help`."""
    return (
        *Configuration.OPTIONS,
        *Admission.OPTIONS,
        *WebSockets.OPTIONS,
        *FlowCap.OPTIONS,
        *RequestLog.OPTIONS,
    )
