"""What the benchmark sends and checks, the same for every setup: the page of requests and who must
answer each, the WebSocket, the config of three applications, the counts and sizes of every
measurement."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # for a process to be ready, and for a WebSocket to open

CONNECTIONS = 16
LATENCY_REQUESTS = 1000
PAGE_REQUESTS = 300
ROUNDS = 5  # samples per setup and measurement, taken in turns with the other setups
PAGE_ROUNDS = 15  # page loads are short: more of them steady the median
DOWN_APP = "docs"
WS_ROUND_TRIPS = 1000
WS_IN_FLIGHT = 64
WS_SIZES = (100, 16 * 1024)
WS_SMALL = WS_SIZES[0]
WS_MEMORY_MESSAGES = 100_000  # relayed by the proxy: half from the client, each echoed by the upstream
WS_WARM_UP = 1000
START_RUNS = 3
PATTERN_COUNTS = (10, 100, 1000)
CONFIG_APPLICATIONS = 1000
VERCEL_PACKAGE = "@vercel/microfrontends"
VERCEL_VERSION = "2.4.0"  # the version docs/REFERENCE-BEHAVIOUR.md measured

# About 20 patterns, as a site split into three applications might have; `web` is the default.
CONFIG_ROUTES: dict[str, list[str]] = {
    "docs": [
        "/docs",
        "/docs/:path*",
        "/guides/:path*",
        "/reference/:slug",
        "/reference/:slug/:section",
        "/tutorials/:path*",
        "/changelog",
        "/changelog/:version",
        "/:lang(en|fr|de)/docs/:path*",
        "/search",
        "/assets/docs-:hash.js",
    ],
    "api": [
        "/api/:path*",
        "/graphql",
        "/auth/:path*",
        "/webhooks/:provider",
        "/health",
        "/v1/:path*",
        "/v2/:path*",
        "/uploads/:id",
        "/rpc/:method",
    ],
}
DOCS_ASSET_PREFIX = "docs-assets"
# A hot-module-reload socket of a child application, as Next.js opens one per page.
WS_PATH = "/docs/_next/webpack-hmr"
WS_APP = "docs"
APP_HEADER = "x-bench-app"  # the upstream's name in its WebSocket handshake response


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    app: str  # the application the benchmark's config routes it to
    navigation: bool  # a browser navigation (Accept: text/html), so a down page comes as HTML

    @property
    def accept(self) -> str:
        return "text/html,application/xhtml+xml,*/*;q=0.8" if self.navigation else "*/*"

    def encode(self, port: int) -> bytes:
        return f"GET {self.path} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: {self.accept}\r\n\r\n".encode()


# One page's worth of requests, alternating applications: documents, scripts, API calls.
PAGE = (
    Request("/", "web", navigation=True),
    Request("/_next/static/chunks/main-1a2b3c.js", "web", navigation=False),
    Request("/docs/getting-started", "docs", navigation=True),
    Request(f"/{DOCS_ASSET_PREFIX}/_next/static/chunks/page-4d5e6f.js", "docs", navigation=False),
    Request("/api/session", "api", navigation=False),
    Request("/guides/deploy/preview", "docs", navigation=True),
    Request("/graphql", "api", navigation=False),
    Request("/favicon.ico", "web", navigation=False),
    Request("/reference/config", "docs", navigation=False),
    Request("/api/flags/new-nav?user=42", "api", navigation=False),
)
APPS = ("web", "docs", "api")


def body_of(app: str) -> bytes:
    """What the upstream of `app` answers: small and fixed, naming the app so routing can be checked."""
    return f"hello from {app}\n".encode()


class BenchError(Exception):
    """A failure worth one message (no traceback): a wrong answer, wrk failing, /proc unreadable."""


def write_config(
    path: Path, ports: Mapping[str, int], proxy_port: int | None = None, for_vercel: bool = False
) -> None:
    """The benchmark's config (3 applications, CONFIG_ROUTES). Vercel's proxy requires a fallback for
    the default application (never used: every application is up) and the asset prefix among the
    paths (which routes the same requests)."""
    web: dict[str, Any] = {
        "packageName": "web",
        "development": {"local": f"{HOST}:{ports['web']}", "task": "dev"},
    }
    if for_vercel:
        web["development"]["fallback"] = "web.example.com"
    applications: dict[str, dict[str, Any]] = {"web": web}
    for app, patterns in CONFIG_ROUTES.items():
        applications[app] = {
            "packageName": app,
            "development": {"local": f"{HOST}:{ports[app]}"},
            "routing": [{"group": app, "paths": patterns}],
        }
    applications["docs"]["assetPrefix"] = DOCS_ASSET_PREFIX
    if for_vercel:
        applications["docs"]["routing"][0]["paths"] = [*CONFIG_ROUTES["docs"], f"/{DOCS_ASSET_PREFIX}/:path*"]
    document: dict[str, Any] = {"version": "1", "applications": applications}
    if proxy_port is not None:
        document["options"] = {"localProxyPort": proxy_port}
    path.write_text(json.dumps(document, indent=2))
