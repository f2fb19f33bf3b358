"""What the addons write on a flow: the routing decision as its comment and as data
(`flow.metadata["mfe"]`, shown by mitmweb and kept in saved flows), and the proxy's own answers."""

from typing import Literal, NotRequired, TypedDict

from mitmproxy import http

from mfe_proxy import pages
from mfe_proxy.router import Forward

type Via = Literal["local", "fallback", "proxy"]


class FlowMark(TypedDict):
    """`flow.metadata["mfe"]`: a dict, so that saved flows load without mfe-proxy."""

    application: str | None  # None for the proxy's own answers
    reason: str
    detail: str
    upstream: str | None  # the origin the request went to
    via: Via
    client_host: str | None  # the browser's Host, to bring a fallback's redirects back to
    bypass: NotRequired[str]  # the variable whose protection bypass secret went along


_COMMENT_SUFFIX = {"local": "", "fallback": " (fallback)", "proxy": " (not reachable)"}


def mark(
    flow: http.HTTPFlow, decision: Forward, upstream: str | None, via: Via, client_host: str | None
) -> None:
    """The routing decision on the flow, for mitmweb: as its comment and as data."""
    flow.comment = decision.label + _COMMENT_SUFFIX[via]
    flow.metadata["mfe"] = FlowMark(
        application=decision.application.name,
        reason=str(decision.reason),
        detail=decision.detail,
        upstream=upstream,
        via=via,
        client_host=client_host,
    )


def flow_mark(flow: http.HTTPFlow) -> FlowMark | None:
    return flow.metadata.get("mfe")


def answer(flow: http.HTTPFlow, page: pages.Page, label: str | None = None) -> None:
    """Answer with one of the proxy's own pages, for a request that goes to no application."""
    flow.response = response(flow, page)
    mark_proxy(flow, label or f"proxy: {page.status} {page.body.decode(errors='replace').splitlines()[0]}")


def mark_proxy(flow: http.HTTPFlow, label: str) -> None:
    """The flow answered by the proxy itself, for mitmweb."""
    flow.comment = label
    flow.metadata["mfe"] = FlowMark(
        application=None, reason="proxy", detail=label, upstream=None, via="proxy", client_host=None
    )


def answer_unreachable(flow: http.HTTPFlow, page: pages.Page, decision: Forward) -> None:
    """Answer for an application that cannot be reached."""
    flow.response = response(flow, page)
    mark(flow, decision, None, "proxy", None)


def response(flow: http.HTTPFlow, page: pages.Page) -> http.Response:
    # The proxy's own answers describe this moment (an application down, the counters): never cached.
    made = http.Response.make(
        page.status,
        page.body,
        {"Content-Type": page.content_type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
    if flow.request.method == "HEAD":
        made.raw_content = b""  # Content-Length still tells the size of the body a GET gets
    return made


def wants_html(flow: http.HTTPFlow) -> bool:
    return "text/html" in flow.request.headers.get("accept", "")
