"""The status endpoint's JSON document and the same counters in Prometheus' text format.

Pure: the addon passes the config, where each application is served from, the counters and which
upstreams answer right now.
"""

import json
from collections.abc import Mapping
from typing import Any

from mfe_proxy.model import Config
from mfe_proxy.pages import JSON, Page
from mfe_proxy.stats import AppStats

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def document(
    config: Config,
    local: frozenset[str] | None,
    apps: Mapping[str, AppStats],
    reachable: Mapping[str, bool],
) -> dict[str, Any]:
    """Every application of `config`: its upstream and fallback, whether its upstream answers, and
    its counters since the proxy started."""
    applications = {}
    for name, app in config.applications.items():
        stats = apps.get(name) or AppStats()
        fallback = app.fallback
        applications[name] = {
            "default": app.is_default,
            "local": local is None or name in local,
            "upstream": app.upstream.url,
            "fallback": fallback.url if fallback else None,
            "reachable": reachable.get(name, False),
            "requests": stats.requests,
            "websockets": {"open": stats.open_websockets, "total": stats.websockets},
            "messages": {"to_application": stats.to_app.messages, "to_client": stats.to_client.messages},
            "bytes": {"to_application": stats.to_app.bytes, "to_client": stats.to_client.bytes},
        }
    # What Vercel would refuse or read otherwise (an overlap, a deploy that fails), as at start-up.
    return {"config": config.file, "warnings": list(config.warnings), "applications": applications}


def status_page(doc: dict[str, Any]) -> Page:
    return Page(200, JSON, json.dumps(doc, indent=2).encode() + b"\n")


# (metric, type, help, value in an application's entry of the document)
_METRICS = (
    ("mfe_proxy_up", "gauge", "Whether the application's upstream accepts connections.", ("reachable",)),
    ("mfe_proxy_requests_total", "counter", "Requests routed to the application.", ("requests",)),
    (
        "mfe_proxy_websocket_connections_open",
        "gauge",
        "WebSocket connections open to the application.",
        ("websockets", "open"),
    ),
    (
        "mfe_proxy_websocket_connections_total",
        "counter",
        "WebSocket connections opened to the application.",
        ("websockets", "total"),
    ),
)
_DIRECTED = (
    ("mfe_proxy_websocket_messages_total", "WebSocket messages relayed.", "messages"),
    ("mfe_proxy_websocket_bytes_total", "WebSocket message bytes relayed.", "bytes"),
)


def prometheus(doc: dict[str, Any]) -> Page:
    """The counters of a status document in Prometheus' text exposition format."""
    applications: dict[str, dict[str, Any]] = doc["applications"]
    lines: list[str] = []
    for metric, kind, text, keys in _METRICS:
        lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}"]
        for name, entry in applications.items():
            value = entry
            for key in keys:
                value = value[key]
            lines.append(f'{metric}{{application="{_label(name)}"}} {int(value)}')
    for metric, text, key in _DIRECTED:
        lines += [f"# HELP {metric} {text}", f"# TYPE {metric} counter"]
        for name, entry in applications.items():
            for direction, value in entry[key].items():
                lines.append(f'{metric}{{application="{_label(name)}",direction="{direction}"}} {value}')
    return Page(200, PROMETHEUS, ("\n".join(lines) + "\n").encode())


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
