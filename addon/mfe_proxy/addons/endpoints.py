"""The proxy's own endpoints, which the router names (`Endpoint`) and nothing forwards: Vercel's routing
table, and the status and metrics of this proxy (for this machine only)."""

import asyncio
import ipaddress

from mitmproxy import http

from mfe_proxy import pages, status
from mfe_proxy.addons.flows import answer, wants_html
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.router import ENDPOINTS
from mfe_proxy.startup import Setup


async def answer_endpoint(flow: http.HTTPFlow, name: str, setup: Setup, runtime: Runtime) -> None:
    if name == "routing":
        answer(flow, pages.routing_table(setup.targets()), "proxy: routing endpoint")
    elif name == "":
        answer(flow, pages.endpoint_index(ENDPOINTS, wants_html(flow)), "proxy: endpoint index")
    elif name in ("status", "metrics"):
        if not _is_loopback(flow.client_conn.peername[0]):
            answer(flow, pages.message(403, f"mfe-proxy answers its {name} endpoint only to this machine"))
            return
        apps = setup.config.applications.values()
        answers = await asyncio.gather(
            *(runtime.health.reachable((app.upstream.host, app.upstream.port)) for app in apps)
        )
        reachable = {app.name: up for app, up in zip(apps, answers, strict=True)}
        document = status.document(setup.config, setup.local, runtime.stats.apps, reachable)
        page = status.status_page(document) if name == "status" else status.prometheus(document)
        answer(flow, page, f"proxy: {name} endpoint")
    else:
        answer(flow, pages.message(404, f"mfe-proxy has no endpoint {name!r}"), f"proxy: {name} endpoint")


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
