"""Every request that passed admission, routed and sent on: to its application, to a fallback while the
application is down, or answered by the proxy itself (a down page, a redirect, its own endpoints)."""

from mitmproxy import http

from mfe_proxy import pages
from mfe_proxy.addons.endpoints import answer_endpoint
from mfe_proxy.addons.flows import answer, answer_unreachable, flow_mark, mark_proxy, wants_html
from mfe_proxy.addons.outgoing import bring_back, forget_secret, point_at, send
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.router import Endpoint, Forward, Redirect, Reject
from mfe_proxy.startup import Setup


class Forwarding:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        setup = self.runtime.setup
        if flow.response is not None or setup is None:
            return  # refused on admission
        request = flow.request
        target = request.path
        if request.data.authority and request.http_version.startswith("HTTP/1"):
            # An absolute-form target (`GET http://host/path`) names a host of its own; mitmproxy
            # keeps only the path, so the router sees the whole target to refuse it.
            target = f"{request.scheme}://{request.authority}{target}"
        match setup.router.route(request.method, target, request.headers, "upgrade" in request.headers):
            case Forward() as decision:
                await self.forward(flow, decision, setup)
            case Endpoint(name):
                await answer_endpoint(flow, name, setup, self.runtime)
            case Redirect(location, status):
                flow.response = http.Response.make(status, b"", {"Location": location})
                mark_proxy(flow, f"proxy: redirect to {location}")
            case Reject(status, message):
                answer(flow, pages.message(status, message))

    async def forward(self, flow: http.HTTPFlow, decision: Forward, setup: Setup) -> None:
        app = decision.application
        self.runtime.stats.apps[app.name].requests += 1
        request = flow.request
        if setup.is_local(app):
            upstream = decision.upstream
            if await self.runtime.health.reachable((upstream.host, upstream.port)):
                send(flow, decision, upstream, local=True)
                return
            if app.fallback is None:
                page = pages.application_down(
                    app, upstream, request.method, request.path, setup.config.file, wants_html(flow)
                )
                point_at(flow, upstream)
                answer_unreachable(flow, page, decision)
                return
        elif app.fallback is None:
            local = sorted(setup.local or ())
            page = pages.application_not_local(app, local, request.method, request.path, wants_html(flow))
            point_at(flow, app.upstream)
            answer_unreachable(flow, page, decision)
            return
        fallback = app.fallback
        # As on Vercel: the protection bypass secret goes to https fallbacks, never on an upgrade.
        secure = fallback.scheme == "https" and "upgrade" not in request.headers
        send(flow, decision, fallback, local=False, secret=setup.bypass.get(app.name) if secure else None)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        mark = flow_mark(flow)
        response = flow.response
        if (
            response is not None
            and mark is not None
            and mark["via"] == "fallback"
            and 300 <= response.status_code < 400
        ):
            bring_back(response, mark)

    def error(self, flow: http.HTTPFlow) -> None:
        mark = flow_mark(flow)
        if mark is not None:
            forget_secret(flow, mark)
