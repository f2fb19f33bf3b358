"""What the proxy answers by itself: the page for an application it cannot reach, short messages,
and the routing table. Pure: each returns a `Page` the addon turns into a response."""

import html
import json
from collections.abc import Mapping
from typing import NamedTuple

from mfe_proxy.model import Application, Origin

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


class Page(NamedTuple):
    status: int
    content_type: str
    body: bytes


def start_command(app: Application) -> str | None:
    """The command that starts `app`'s dev server, when the config says enough to know it."""
    if app.package_name:
        return f"turbo run {app.task or 'dev'} --filter={app.package_name}"
    return None


def application_down(
    app: Application, upstream: Origin, method: str, path: str, config_file: str, wants_html: bool
) -> Page:
    """502 for a request whose application is not running and has no fallback to go to instead."""
    command = start_command(app)
    start = (
        f"Start it with `{command}`"
        if command
        else f"Start its dev server so that it listens on {upstream.netloc}"
    )
    lines = [
        f"Application {app.name} is not running.",
        f"mfe-proxy could not connect to {upstream.url} for {method} {path}.",
        f"{start}, then reload. Or give {app.name} a development.fallback in {config_file} "
        "to serve it from a deployment meanwhile.",
    ]
    # Reloading repeats the request: harmless for a GET, a resubmitted form for anything else.
    waiting = _waiting(app.name, upstream) if method == "GET" else ""
    return _page(502, f"{app.name} is not running", lines, wants_html, waiting)


def application_not_local(
    app: Application, local: list[str], method: str, path: str, wants_html: bool
) -> Page:
    """502 for a request to an application that is not run locally and has nowhere else to go."""
    lines = [
        f"Application {app.name} is not run locally (mfe_local_apps is {','.join(local)}) "
        "and has no fallback.",
        f"mfe-proxy has nowhere to send {method} {path}.",
        f"Add {app.name} to mfe_local_apps, or give it (or the default application) a development.fallback.",
    ]
    return _page(502, f"{app.name} is not run locally", lines, wants_html)


def message(status: int, text: str) -> Page:
    return Page(status, TEXT, text.encode() + b"\n")


def routing_table(targets: Mapping[str, Origin]) -> Page:
    """The routing endpoint of Vercel's proxy: where each application is served from right now."""
    table = {}
    for name, origin in targets.items():
        # Vercel writes a URL's `hostname`, which keeps an IPv6 address in brackets.
        routing: dict[str, str | int] = {"host": f"[{origin.host}]" if ":" in origin.host else origin.host}
        if origin.port != (443 if origin.scheme == "https" else 80):  # as Vercel: no port when implied
            routing["port"] = origin.port
        routing["protocol"] = origin.scheme
        table[name] = {"routing": routing}
    return Page(200, JSON, json.dumps(table, indent=2).encode() + b"\n")


def endpoint_index(endpoints: Mapping[str, str], wants_html: bool) -> Page:
    """What the proxy answers itself, at /.well-known/mfe-proxy/: each path and what it gives."""
    lines = [
        "mfe-proxy answers these itself (GET and HEAD):",
        *(f"{path}: {what}" for path, what in endpoints.items()),
    ]
    return _page(200, "mfe-proxy's endpoints", lines, wants_html)


STATUS_ENDPOINT = "/.well-known/mfe-proxy/status"

# Polls the status endpoint and reloads the page once it says the application is reachable. Its values
# come from the JSON element before it, never spliced into the code. An endpoint that fails (the proxy
# restarting, an older proxy, a non-loopback client) is asked less often, but still asked.
_WAIT_SCRIPT = """(() => {
  const wait = JSON.parse(document.getElementById("mfe-wait").textContent);
  const proxySilent = document.getElementById("mfe-proxy-silent");
  document.getElementById("mfe-waiting").hidden = false;
  let delay = 500;
  async function reachable() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    try {
      const response = await fetch(wait.status, { cache: "no-store", signal: controller.signal });
      if (!response.ok) throw new Error(`status endpoint answered ${response.status}`);
      const { applications } = await response.json();
      const app = Object.hasOwn(applications, wait.application) ? applications[wait.application] : {};
      return app.reachable === true;
    } finally {
      clearTimeout(timer);
    }
  }
  async function poll() {
    try {
      if (await reachable()) {
        location.reload();
        return;
      }
      delay = 500;
      proxySilent.hidden = true;
    } catch {
      delay = Math.min(delay * 2, 5000);
      proxySilent.hidden = false;
    }
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();"""


def _script_json(value: object) -> str:
    """JSON to stand inside a <script> element: no `<` (which could close the element or open a comment),
    `>` or `&`, each written as its JSON escape, which JSON.parse reads back unchanged."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _waiting(application: str, upstream: Origin) -> str:
    """Markup that waits for `application` to answer at `upstream`. Its notes stay hidden unless the
    script runs, so that without scripts the page is the plain one, reload instruction included."""
    name, netloc = html.escape(application), html.escape(upstream.netloc)
    data = _script_json({"application": application, "status": STATUS_ENDPOINT})
    return f"""<p id="mfe-waiting" role="status" hidden>
<strong>Waiting for {name} to start on {netloc}…</strong> This page reloads by itself when it answers.</p>
<p id="mfe-proxy-silent" hidden>mfe-proxy is not answering (restarting?); still trying.</p>
<script type="application/json" id="mfe-wait">{data}</script>
<script>{_WAIT_SCRIPT}</script>
"""


def _page(status: int, title: str, lines: list[str], wants_html: bool, extra_html: str = "") -> Page:
    """`extra_html` is markup the caller built, everything in it escaped; it follows the paragraphs."""
    if not wants_html:
        return Page(status, TEXT, "\n".join(lines).encode() + b"\n")
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:4rem auto;padding:0 1rem}}
h1{{font-size:1.4rem}}</style></head>
<body>
<h1>{html.escape(title)}</h1>
{paragraphs}
{extra_html}<p><small>mfe-proxy · {status}</small></p>
</body>
</html>
"""
    return Page(status, HTML, body.encode())


def host_not_allowed(host: str, wants_html: bool) -> Page:
    """403 for a request whose Host is not one the proxy serves (DNS rebinding protection)."""
    lines = [
        f"mfe-proxy does not serve the host {host}.",
        "It answers only for localhost, 127.0.0.1, [::1] and *.localhost, so that a web page on another "
        "site cannot reach your dev servers by pointing its own host name at this machine (DNS rebinding).",
        f"If you use {host} yourself, allow it: --set mfe_allowed_hosts={host} "
        "(several: comma-separated; '*.example.test' for subdomains).",
    ]
    return _page(403, f"Host {host} is not allowed", lines, wants_html)


def origin_not_allowed(origin: str) -> Page:
    """403 for a WebSocket upgrade from a page on a host the proxy does not serve."""
    return message(
        403,
        f"mfe-proxy refuses WebSocket connections from pages on {origin}: a page on another site must not "
        f"open connections to your dev servers. If {origin} is yours, allow it with "
        f"--set mfe_allowed_hosts={origin}.",
    )


def too_many_websockets(limit: int) -> Page:
    """503 for a WebSocket upgrade beyond `mfe_ws_max_connections`."""
    return message(
        503,
        f"mfe-proxy already relays {limit} WebSocket connections (mfe_ws_max_connections); close some, or "
        "raise the limit with --set mfe_ws_max_connections=N.",
    )
