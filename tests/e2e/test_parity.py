"""Production parity through the real proxy: configs Vercel's proxy runs start, requests route and
arrive as they do there (with each engine: nginx serving the export too), the environment variables it
honours, and protected fallbacks (docs/REFERENCE-BEHAVIOUR.md §8)."""

import json
from urllib.parse import quote

import pytest
from websockets.sync.client import connect

from e2e.engines import documented
from e2e.harness import READY, proxy_command, received_headers, spawn_proxy
from e2e.tls import server_context
from e2e.ws_upstream import WsUpstream
from helpers import free_port, local

TIMEOUT = 5


def test_configs_vercel_runs_start_warn_and_route_as_on_vercel(start_proxy, upstream):
    web, labs, en, cafe = upstream("web"), upstream("labs"), upstream("2024"), upstream("cafe")
    proxy = start_proxy(
        {
            "applications": {
                "web": {"development": {"local": local(web), "fallback": "web.example.com"}},
                # An overlap Vercel's own check misses; "2024" is tried first wherever it is written.
                "labs": {
                    "development": {"local": local(labs)},
                    "routing": [{"paths": ["/:lang(en|fr)/labs"]}],
                },
                "2024": {"development": {"local": local(en)}, "routing": [{"paths": ["/en/:path*"]}]},
                # A pattern no pathname holds (Vercel compares the percent-encoded path).
                "cafe": {"development": {"local": local(cafe)}, "routing": [{"paths": ["/caf\u00e9"]}]},
                "empty": {"routing": []},
            }
        }
    )
    output = proxy.output()
    config_file = proxy.output().split(f"{READY} ")[1].split(" for ")[1].splitlines()[0]
    assert f'{config_file}: applications["2024"].routing[0].paths[0]: ' in output
    assert "both match paths such as /en/labs; those go to 2024" in output
    assert f'{config_file}: applications.cafe.routing[0].paths[0]: "/caf\u00e9" contains' in output
    assert f"{config_file}: applications.empty.routing: is empty" in output
    for target, app in [("/en/labs", "2024"), ("/fr/labs", "labs"), ("/caf%C3%A9", "web"), ("/en/x", "2024")]:
        assert proxy.get(target).json()["app"] == app, target
    status = proxy.get("/.well-known/mfe-proxy/status").json()
    assert any("both match paths such as /en/labs" in warning for warning in status["warnings"])
    # An application with empty routing is a child all the same, with the default's fallback.
    assert status["applications"]["empty"]["default"] is False
    assert status["applications"]["empty"]["fallback"] == "https://web.example.com"


def test_requests_arrive_as_vercel_sends_them(serve, upstream, engine):
    web, docs, api = upstream("web"), upstream("docs"), upstream("api")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {"development": {"local": local(docs)}, "routing": [{"paths": ["/docs/:path*"]}]},
                "api": {"development": {"local": local(api)}, "routing": [{"paths": ["/api/:path*"]}]},
            }
        }
    )
    page = f"http://localhost:{proxy.port}"
    # (target, headers, application, the target it receives, the flag header it receives)
    for target, headers, app, received, flag in [
        # A zone naming no application: the default application, as on Vercel.
        ("/docs/x", {"x-vercel-mfe-zone": "nope"}, "web", "/docs/x", []),
        ("/docs/x", {"x-vercel-mfe-zone": ""}, "docs", "/docs/x", []),
        # The Vercel Toolbar goes to the application whose page asked.
        (
            "/.well-known/vercel-toolbar/x?v=1",
            {"Referer": f"{page}/api/a"},
            "api",
            "/.well-known/vercel-toolbar/x?v=1",
            [],
        ),
        # The flag parameter leaves a URL Vercel parses and serializes anew.
        ("/docs/../api/x?a=1%20b&vercel-mfe-flag-value=true", {}, "api", "/api/x?a=1+b", ["true"]),
        # Over plain HTTP, node-http-proxy's clean-up: no fragment, "\" read as "/".
        ("/docs/x#top", {}, "docs", "/docs/x", []),
        ("/docs/a\\b", {}, "docs", "/docs/a/b", []),
    ]:
        if engine == "nginx" and "vercel-mfe-flag-value" in target:
            documented("Query of a request with `vercel-mfe-flag-value`")  # as sent, less the parameter
            received = received.replace("+", "%20")
        report = proxy.get(target, headers).json()
        assert (report["app"], report["path"]) == (app, received), target
        assert received_headers(report, "x-vercel-mfe-flag-value") == flag, target


@pytest.mark.parametrize(
    ("path", "app", "received"),
    [
        # Browsers cannot follow a redirect on an upgrade: routed by the pathname, which keeps the
        # doubled slash, and sent with it collapsed, as Vercel's proxy does (§8.9).
        ("//docs/x", "web", "/docs/x"),
        ("/docs//x", "web", "/docs/x"),
        ("/docs/../x", "web", "/docs/../x"),  # routed as /x, sent as sent
    ],
)
def test_an_upgrade_with_doubled_slashes_is_relayed_not_redirected(serve, path, app, received):
    servers = {"web": WsUpstream(), "docs": WsUpstream()}
    try:
        proxy = serve(
            {
                "applications": {
                    "web": {"development": {"local": local(servers["web"])}},
                    "docs": {
                        "development": {"local": local(servers["docs"])},
                        "routing": [{"paths": ["/docs", "/docs/:path*"]}],
                    },
                }
            }
        )
        # The client library normalizes nothing: the request line carries `path` as written.
        with connect(f"ws://127.0.0.1:{proxy.port}{path}", open_timeout=TIMEOUT, ping_interval=None) as ws:
            ws.send("hello")
            assert ws.recv(timeout=TIMEOUT) == "hello"
        (connection,) = servers[app].wait_connections(1)
        assert connection.path == received
    finally:
        for server in servers.values():
            server.stop()


def test_ports_from_the_environment_and_env_files(tmp_path, upstream, mitmproxy_confdir):
    # Two worktrees on one machine each run their own proxy, without editing the config.
    web, docs = upstream("web"), upstream("docs")
    site = tmp_path / "site"
    site.mkdir()
    (site / "microfrontends.json").write_text(
        json.dumps(
            {
                "applications": {
                    "web": {"development": {"local": local(web)}},
                    "docs": {"development": {"local": free_port()}, "routing": [{"paths": ["/docs/:path*"]}]},
                }
            }
        )
    )
    port = free_port()
    (site / ".env.local").write_text(f"MFE_LOCAL_PROXY_PORT={port}\n")
    command = [*proxy_command("mitmdump", mitmproxy_confdir), "--set", "mfe_local_apps=docs"]
    proxy = spawn_proxy(command, site, tmp_path / "output.log", port, {"MFE_APP_PORT": str(docs.port)})
    try:
        proxy.wait_for(READY)
        assert f"{READY} http://localhost:{port}" in proxy.output()
        assert proxy.get("/docs/x").json()["app"] == "docs"  # at MFE_APP_PORT
    finally:
        proxy.terminate()


@pytest.fixture
def deployment(upstream, tmp_path):
    """A protected preview deployment: an https fallback with a self-signed certificate."""
    return upstream("docs-deployment", tls=server_context(tmp_path))


SECRET = "bypass-SECRET-4f1d"


def test_the_bypass_secret_reaches_https_fallbacks_only_and_is_never_shown(
    tmp_path, upstream, deployment, mitmproxy_confdir
):
    web, plain = upstream("web"), upstream("api-deployment")
    site = tmp_path / "site"
    site.mkdir()
    config = site / "microfrontends.json"
    config.write_text(
        json.dumps(
            {
                "applications": {
                    "web": {"development": {"local": local(web)}},
                    "docs-app": {
                        "development": {"local": free_port(), "fallback": f"https://{local(deployment)}"},
                        "routing": [{"paths": ["/docs/:path*"]}],
                    },
                    "api": {
                        "development": {"local": free_port(), "fallback": f"http://{local(plain)}"},
                        "routing": [{"paths": ["/api/:path*"]}],
                    },
                }
            }
        )
    )
    (site / ".env.local").write_text(
        f"AUTOMATION_BYPASS_DOCS_APP={SECRET}\nVERCEL_AUTOMATION_BYPASS_SECRET=other\n"
    )
    port = free_port()
    command = [
        *proxy_command("mitmdump", mitmproxy_confdir),
        *("--set", f"listen_port={port}", "--set", "ssl_insecure=true"),
        # Every header of every flow printed (bodies aside: the test deployment echoes what it got).
        *("--set", "flow_detail=2"),
    ]
    proxy = spawn_proxy(command, site, tmp_path / "output.log", port)
    try:
        proxy.wait_for(READY)
        report = proxy.get("/docs/page", {"x-vercel-protection-bypass": "from-the-client"}).json()
        assert report["app"] == "docs-deployment"
        assert received_headers(report, "x-vercel-protection-bypass") == [SECRET]
        # Not to a plain-HTTP fallback, nor a local application, where the client's own passes.
        assert received_headers(proxy.get("/api/x").json(), "x-vercel-protection-bypass") == []
        local_report = proxy.get("/", {"x-vercel-protection-bypass": "from-the-client"}).json()
        assert received_headers(local_report, "x-vercel-protection-bypass") == ["from-the-client"]
        output = proxy.stop()[1]
    finally:
        proxy.terminate()
    assert "AUTOMATION_BYPASS_DOCS_APP, set by mfe-proxy" in output  # what the flow shows instead
    assert SECRET not in output


def test_redirects_of_an_https_fallback_come_back_as_on_vercel(
    tmp_path, upstream, deployment, mitmproxy_confdir
):
    web = upstream("web")
    site = tmp_path / "site"
    site.mkdir()
    (site / "microfrontends.json").write_text(
        json.dumps(
            {
                "applications": {
                    "web": {"development": {"local": local(web)}},
                    "docs": {
                        "development": {"local": free_port(), "fallback": f"https://{local(deployment)}"},
                        "routing": [{"paths": ["/docs/:path*"]}],
                    },
                }
            }
        )
    )
    port = free_port()
    command = [*proxy_command("mitmdump", mitmproxy_confdir), "--set", f"listen_port={port}"]
    proxy = spawn_proxy([*command, "--set", "ssl_insecure=true"], site, tmp_path / "output.log", port)
    try:
        proxy.wait_for(READY)
        client = f"localhost:{port}"
        for location, expected in [
            (f"https://{local(deployment)}/docs/t?a=1", f"http://{client}/docs/t?a=1"),
            ("https://other.example/y", f"http://{client}/y"),  # any host, as Vercel's proxy does
            ("//evil.example/x", f"http://{client}/x"),
            ("t2", f"http://{client}/t2"),  # against the root, not the request's path
            ("/x?next=https://other.example/y", f"http://{client}/x?next=https://other.example/y"),
            ("mailto:a@b.example", "mailto:a@b.example"),
        ]:
            response = proxy.get(f"/docs/redirect?to={quote(location, safe='')}", {"Host": client})
            assert (response.status, response.headers["Location"]) == (307, expected), location
    finally:
        proxy.terminate()
