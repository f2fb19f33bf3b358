"""What the proxy answers by itself: the page for an application it cannot reach, short messages,
and the routing table. Pure: each returns a `Page` the addon turns into a response."""

import html
import json
from collections.abc import Mapping
from typing import NamedTuple

from mfe_proxy.config import Application, Origin

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
    return _page(502, f"{app.name} is not running", lines, wants_html)


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


def _page(status: int, title: str, lines: list[str], wants_html: bool) -> Page:
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
<p><small>mfe-proxy · {status}</small></p>
</body>
</html>
"""
    return Page(status, HTML, body.encode())
