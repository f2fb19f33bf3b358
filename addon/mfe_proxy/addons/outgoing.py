"""The request an application receives (`send`), and a fallback's redirect brought back through the
proxy (`bring_back`): the rewriting of one flow, no decisions."""

import contextlib

import ada_url
from mitmproxy import http

from mfe_proxy import mitmproxy_internals
from mfe_proxy.addons.flows import FlowMark, mark
from mfe_proxy.environment import BYPASS_HEADER
from mfe_proxy.model import Origin
from mfe_proxy.router import FLAG_HEADER, Forward, forwarded_path

LOCAL_PROXY_ORIGIN_HEADER = "x-vercel-mfe-local-proxy-origin"
# Headers the proxy writes itself; whatever the client sent under these names is replaced.
_REPLACED_HEADERS = frozenset(name.encode() for name in (FLAG_HEADER, LOCAL_PROXY_ORIGIN_HEADER))
_BYPASS_HEADER = BYPASS_HEADER.encode()
# Added when the client did not send them. A tunnel or another proxy in front sends its own, from which
# the application builds its URLs: those reach it unchanged, as on Vercel.
_FORWARDED_HEADERS = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
_REWRITTEN_REDIRECTS = frozenset({301, 302, 307, 308})


def send(
    flow: http.HTTPFlow,
    decision: Forward,
    origin: Origin,
    *,
    local: bool,
    secret: tuple[str, str] | None = None,
) -> None:
    """Point the request at `origin` with the headers an application behind the proxy expects;
    `secret` is the protection bypass secret for a fallback, and the variable that holds it."""
    request = flow.request
    point_at(flow, origin)
    plain = origin.scheme == "http"
    # Over plain HTTP, Vercel's proxy sends the path as node-http-proxy cleans it up.
    target = decision.target or request.path
    if plain:
        target = forwarded_path(target)
    if target != request.path:
        request.path = target
    # One pass over the header fields: setting each header through `Headers` would rebuild them all
    # once per header, on every request.
    fields = []
    host: bytes | None = None
    forwarded: set[bytes] = set()
    for name, value in request.headers.fields:
        lower = name.lower()
        if lower == b"host":
            host = value
            if not local:
                continue
        elif lower in _REPLACED_HEADERS or (secret is not None and lower == _BYPASS_HEADER):
            continue
        elif lower in _FORWARDED_HEADERS:
            forwarded.add(lower)
        fields.append((name, value))
    if len(forwarded) < len(_FORWARDED_HEADERS):
        ours = (
            flow.client_conn.peername[0].encode(),
            b"https" if flow.client_conn.tls_established else b"http",
            host,
        )
        fields.extend(
            (name, value)
            for name, value in zip(_FORWARDED_HEADERS, ours, strict=True)
            if name not in forwarded and value is not None
        )
    if decision.flag_value is not None and plain:
        fields.append((FLAG_HEADER.encode(), b"true" if decision.flag_value else b"false"))
    if local:
        fields.append((LOCAL_PROXY_ORIGIN_HEADER.encode(), b"1"))
    else:
        fields.insert(0, (b"host", origin.netloc.encode()))
    request.headers.fields = tuple(fields)
    client_host = host.decode("utf-8", "surrogateescape") if host is not None else None
    mark(flow, decision, origin.url, "local" if local else "fallback", client_host)
    if secret is not None:
        value, variable = secret
        # The flow shows which variable, never the secret: mitmweb, mitmdump and saved flows read it.
        placeholder = f"({variable}, set by mfe-proxy for flow {flow.id})"
        mitmproxy_internals.send_secret(request, BYPASS_HEADER, placeholder, value)
        flow.metadata["mfe"]["bypass"] = variable


def point_at(flow: http.HTTPFlow, origin: Origin) -> None:
    """The request's destination, which mitmdump's lines and mitmweb show: mitmproxy's reverse mode
    starts every request at the default application."""
    request = flow.request
    # The data fields, not the properties: those would also rewrite the client's Host header.
    request.data.scheme = origin.scheme.encode()
    request.data.host = origin.host
    request.data.port = origin.port


def forget_secret(flow: http.HTTPFlow, flow_mark: FlowMark) -> None:
    """A request that carried a secret ended before it was sent."""
    if "bypass" in flow_mark:
        mitmproxy_internals.forget_secret(flow.request, BYPASS_HEADER)


def bring_back(response: http.Response, flow_mark: FlowMark) -> None:
    """A fallback's redirect goes back through the proxy, so the browser stays on it. From an https
    fallback (a deployment), as Vercel's proxy does: a 301, 302, 307 or 308 to any origin, or to a
    path resolved against the proxy's root. From a plain-HTTP fallback, a redirect to itself."""
    location = response.headers.get("location")
    client_host = flow_mark["client_host"]
    origin = flow_mark["upstream"]
    if location is None or client_host is None or origin is None:
        return
    if origin.startswith("https://"):
        if response.status_code in _REWRITTEN_REDIRECTS:
            # Vercel's `new URL(location, proxy)`, then the proxy's protocol and host set on it (which
            # leaves a URL such as mailto: alone); an invalid URL, on which Vercel's proxy throws, stays.
            proxy = f"http://{client_host}"
            with contextlib.suppress(ValueError):
                url = ada_url.URL(location, proxy)
                url.protocol = "http:"
                url.host = client_host
                response.headers["location"] = url.href
        return
    for prefix in (origin, origin.replace("https://", "http://", 1)):
        if location == prefix or location.startswith((prefix + "/", prefix + "?", prefix + "#")):
            response.headers["location"] = f"http://{client_host}{location[len(prefix) :]}"
            return
