"""What must not reach an application: requests before the proxy routes, malformed heads (request
smuggling), a missing, doubled or malformed Host, a host the proxy does not serve (DNS rebinding), and
WebSocket upgrades from pages on other sites."""

import itertools
import re

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from mfe_proxy import pages
from mfe_proxy.addons import options
from mfe_proxy.addons.flows import answer, wants_html
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.hosts import AllowedHosts

# Limits on a request head, which mitmproxy reads whole with no limit of its own. Dev servers on Node
# refuse heads over 16 KiB; these leave room for large cookies while refusing absurd heads.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 500
# Control characters (tab aside) in a header field or the request target: bare CR or LF (what is left
# of obsolete line folding or a smuggled header), NUL, DEL. mitmproxy passes them on as they are.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HTTP_VERSIONS = frozenset({b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0"})
_NOT_READY = pages.message(503, "mfe-proxy is starting or has no valid config")


class Admission:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.allowed_hosts = AllowedHosts()

    OPTIONS = (
        options.Option(
            "mfe_allowed_hosts",
            "",
            "Comma-separated host names the proxy answers for besides localhost, 127.0.0.1, [::1] and "
            "*.localhost ('*.example.test' for subdomains, '*' for any); other Host headers get 403 "
            "and WebSocket upgrades from pages on other origins are refused (DNS rebinding "
            "protection).",
        ),
    )

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)

    def configure(self, updated: set[str]) -> None:
        if "mfe_allowed_hosts" in updated:
            with options.refusals(self.runtime.strict):
                self.allowed_hosts = AllowedHosts.parse(ctx.options.mfe_allowed_hosts)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # Until the addon routes, mitmproxy's default listener is a forward proxy to anywhere.
        if self.runtime.setup is None:
            answer(flow, _NOT_READY)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.runtime.setup is None:
            answer(flow, _NOT_READY)
            return
        request = flow.request
        problem = _malformed(request)
        if problem is not None:
            answer(flow, pages.message(problem[0], f"mfe-proxy refuses a request {problem[1]}"))
            # What follows on the connection cannot be trusted to start where this request ends.
            flow.response.headers["connection"] = "close"  # type: ignore[union-attr]
            return
        hosts = request.headers.get_all("host")
        if not hosts and request.http_version == "HTTP/2.0" and request.authority:
            hosts = [request.authority]
        refusal = self.allowed_hosts.check_host(hosts)
        if refusal is not None and refusal.status == 400:
            what = "no Host header" if not hosts else f"Host {', '.join(hosts)!r}"
            answer(flow, pages.message(400, f"mfe-proxy cannot serve a request with {what}"))
        elif refusal is not None:
            answer(flow, pages.host_not_allowed(refusal.host, wants_html(flow)))
        elif "upgrade" in request.headers and (origin := request.headers.get("origin")) is not None:
            refusal = self.allowed_hosts.check_origin(origin)
            if refusal is not None:
                answer(flow, pages.origin_not_allowed(refusal.host))


def _malformed(request: http.Request) -> tuple[int, str] | None:
    """What mitmproxy lets through of a malformed request head, which could reach an application and
    be read differently there (request smuggling): status and reason, or None when the head is sound."""
    data = request.data
    if data.http_version not in _HTTP_VERSIONS:
        return 505, f"in {request.http_version!r}: only HTTP/1.0, HTTP/1.1 and HTTP/2 are served"
    fields = data.headers.fields
    if len(fields) > MAX_HEADER_FIELDS:
        return 400, f"with {len(fields)} header fields (at most {MAX_HEADER_FIELDS})"
    head = b"\t".join(itertools.chain((data.path,), itertools.chain.from_iterable(fields)))
    if len(head) > MAX_HEAD_BYTES:
        return 400, f"with a head of {len(head)} bytes (at most {MAX_HEAD_BYTES})"
    if _CONTROL.search(head):
        return 400, "with a control character (line folding, a bare CR or LF, NUL) in its target or headers"
    return None
