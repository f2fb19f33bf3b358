"""Which upstreams answer, known from mitmproxy's own connections to them (`mfe_proxy.health`)."""

from mitmproxy.proxy import server_hooks

from mfe_proxy.addons.runtime import Runtime


class Upstreams:
    def __init__(self, runtime: Runtime) -> None:
        self.health = runtime.health

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.connected(data.server.address)

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.disconnected(data.server.address)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address is not None:
            self.health.failed(data.server.address)
