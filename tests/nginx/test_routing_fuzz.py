"""Parity on generated requests: paths, queries and headers built from the pieces routing cares about
(dot segments in every spelling, backslashes, runs of slashes, case, asset prefixes, flags, Referers,
image urls), each sent through nginx and compared with `Router.route`. Seeded: a failure reproduces."""

import random
import re
from urllib.parse import unquote

import pytest

from helpers import load
from mfe_proxy.nginx.maps import PATHNAME_STEPS
from mfe_proxy.router import Redirect, Router
from nginx.conftest import Served, serving
from nginx.harness import request
from nginx.test_routing_parity import CONFIG, expect

SEED = 14
COUNT = 3000
SEGMENTS = [
    "docs", "DOCS", "api", "Api", "preview", "beta", "page", "en", "fr", "help", "shop", "12", "new",
    "a:b", "caf%C3%A9", "landing", "admin", "archive", "vc-ap-docs", "vc-ap-api", "api-assets", "x", "y.js",
    ".", "..", "%2e", "%2E%2e", ".%2e", "%2e.", "", "_next", "image", "__nextjs_source-map", "a%2Fb",
    "%64ocs", ";x", "some-h.js", "assets", ".well-known", "vercel-toolbar", "mfe-proxy", "...", ".x", "%2E",
    "%2e%2E%2e", ".%2E.", "a%5Cb", "%5c", "%", "%zz", "a+b", "=", "@", "~", "!", "$x", "(", "*",
]  # fmt: skip
SEPARATORS = ["/"] * 12 + ["\\", "//", "/\\"]
QUERIES = [
    "", "", "", "?a=1", "?vercel-mfe-flag-value=true", "?vercel-mfe-flag-value=false",
    "?x=1&vercel-mfe-flag-value=true", "?vercel-mfe-flag-value=true&vercel-mfe-flag-value=false",
    "?vercel-mfe-flag-value", "?u=//a/../b", "?url=%2Fdocs%2Fa.png", "?url=%2Fpreview%2Fx",
    "?w=1&url=%252Fapi%252Fx", "?url=%2F..%2Fapi%2Fx", "?url=%2Fen%2Fhelp%2Fa", "?url=", "#frag", "?a=1#b",
    "?url=%2Fdocs%3Fa%2F..%2F..%2Fapi", "?url=%2Fdocs%23x", "?url=%255Capi%255Cx", "?url=%2F%2E%2E%2Fapi",
    "?url=docs%2Fa", "?url=%2Fdocs?x", "?url=%2Fshop%2F1%3A2", "?url=a&url=%2Fdocs", "?url", "?URL=%2Fdocs",
    "?url=%2Fvc-ap-docs%2Fa.js#x", "?url=%2F%2Fdocs", "?url=%2Fcaf%25C3%25A9", "?url=%2Fa%253Ab",
    "?vercel-mfe-flag-value=true#x", "?url=%2Fa%3Ab", "?url=%2Fdocs%2F%2Bx",
]  # fmt: skip
REFERERS = [
    "http://localhost:3024/docs/a", "http://localhost:3024/api/../docs/x", "https://h.example/preview/x",
    "http://localhost/beta/p", "/docs/a", "http://localhost:3024/zzz?x=1", "http://x/vc-ap-api/a.js",
    "http://localhost:3024\\docs\\a", "android-app://x/docs/a", "http://localhost:3024/docs/%2e%2e/api/x",
    "http://localhost:3024", "http://localhost:3024?x=/docs", "HTTP://localhost/docs/a", "foo:/docs/a",
    "http://localhost:3024/a/b/c/../../../../../docs", "http:/docs/x", "http:///docs/x", "mailto:docs",
]  # fmt: skip
ZONES = ["docs", "web", "nope", "2024", "i18n", "Docs"]


def generate(rng: random.Random) -> tuple[str, str, dict[str, str]]:
    path = "".join(rng.choice(SEPARATORS) + rng.choice(SEGMENTS) for _ in range(rng.randint(1, 7)))
    if rng.random() < 0.15:
        path = rng.choice(
            ["/_next/image", "/__nextjs_original-stack-frame", "/.well-known/vercel-toolbar"]
        ) + (path if rng.random() < 0.3 else "")
    headers: dict[str, str] = {}
    if rng.random() < 0.3:
        headers["referer"] = rng.choice(REFERERS)
    if rng.random() < 0.1:
        headers["x-vercel-mfe-zone"] = rng.choice(ZONES)
    if rng.random() < 0.15:
        headers["upgrade"] = "websocket"
    method = rng.choice(["GET"] * 8 + ["POST", "HEAD"])
    return method, path + rng.choice(QUERIES), headers


def too_many_steps(target: str) -> bool:
    """Whether the path needs more rewriting than the export's chain does (see DIFFERENCES): it refuses it."""
    path = re.split(r"[?#]", target)[0]
    dots = re.findall(r"(?i)(?<=[/\\])(?:\.|%2e){1,2}(?=[/\\]|$)", path)
    return len(dots) + path.count("\\") > PATHNAME_STEPS


def refused_by_nginx(target: str) -> bool:
    """Whether nginx itself refuses the target (400): its path has a malformed escape (`%zz`), or,
    percent-decoded, more `..` segments than segments before them (nginx merges empty segments)."""
    path = re.split(r"[?#]", target)[0]
    if re.search(r"%(?![0-9a-fA-F]{2})", path):
        return True
    path = unquote(path)
    depth = 0
    for segment in path.split("/")[1:]:
        if segment == "..":
            depth -= 1
            if depth < 0:
                return True
        elif segment not in ("", "."):
            depth += 1
    return False


CASES = [generate(random.Random(SEED * 100_000 + index)) for index in range(COUNT)]


@pytest.fixture(scope="module")
def served() -> Served:
    with serving(CONFIG) as served:
        yield served


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load(CONFIG))


def test_generated_requests_route_as_the_router(served, router):
    refused = 0
    for method, target, headers in CASES:
        response = request(served.port, method, target, headers, b"x" if method == "POST" else b"")
        if refused_by_nginx(target):
            # nginx refuses these itself, before any configuration applies (see DIFFERENCES).
            assert response.status == 400, (method, target, headers)
            refused += 1
            continue
        decision = router.route(method, target, headers, "upgrade" in headers)
        if too_many_steps(target) and not isinstance(decision, Redirect):
            assert response.status == 400, (method, target, headers)
            continue
        expect(served, decision, method, target, headers, response)
    assert refused < COUNT // 4
