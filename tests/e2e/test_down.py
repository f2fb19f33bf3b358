"""Applications that are not running: the proxy's 502 page, recovery without a restart and fallbacks,
with each engine (the addon in mitmdump, nginx serving the export); mfe_local_apps, the addon's own."""

import html
import time
from urllib.parse import quote

from e2e.engines import documented
from e2e.harness import received_headers, send
from helpers import free_port, local
from mfe_proxy.nginx.pages import UNSHOWN_PATH

HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def fallback(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def wait_for_status(proxy, target: str, status: int, timeout: float = 2) -> float:
    """Poll `target` until it answers `status`; return how long that took."""
    started = time.monotonic()
    while True:
        response = proxy.get(target)
        elapsed = time.monotonic() - started
        if response.status == status:
            return elapsed
        assert elapsed < timeout, f"{target} still answers {response.status} after {timeout} s"
        time.sleep(0.05)


def test_down_application_page(serve, upstream):
    web, docs_port, api_port = upstream("web"), free_port(), free_port()
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {
                    "packageName": "@acme/docs",
                    "development": {"local": local(docs_port)},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
                "api": {
                    "packageName": "api-server",
                    "development": {"local": local(api_port), "task": "start"},
                    "routing": [{"paths": ["/api/:path*"]}],
                },
            }
        }
    )
    for target, app, port, command in [
        ("/docs/intro?x=1", "docs", docs_port, "turbo run dev --filter=@acme/docs"),
        ("/api/users", "api", api_port, "turbo run start --filter=api-server"),
    ]:
        for accept, content_type in [
            (HTML_ACCEPT, "text/html; charset=utf-8"),
            ("application/json", "text/plain; charset=utf-8"),
            (None, "text/plain; charset=utf-8"),
        ]:
            response = proxy.get(target, {"Accept": accept} if accept else {})
            assert response.status == 502, (target, accept)
            assert response.headers["Content-Type"] == content_type, (target, accept)
            for fact in (app, f"http://127.0.0.1:{port}", target.partition("?")[0], command):
                assert fact in response.text, (fact, response.text)
            if content_type.startswith("text/plain"):
                assert "<" not in response.text
    assert not web.requests


def test_down_page_escapes_html(serve, upstream, engine):
    web = upstream("web")
    name, package = 'docs<script>alert("app")</script>', '<script>alert("package")</script>'
    path = '/docs/<script>alert("path")</script>'
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                name: {
                    "packageName": package,
                    "development": {"local": local(free_port())},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
            }
        }
    )
    response = proxy.get(path, {"Accept": "text/html"})
    assert response.status == 502
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    # The page's own scripts are there (it waits for the application); none of the values' is.
    assert "<script>alert" not in response.text
    shown_path = path
    if engine == "nginx":
        documented("Page of an application that is down")  # the path only when it needs no escaping
        shown_path = UNSHOWN_PATH
    for value in (name, f"--filter={package}", shown_path):
        assert html.escape(value) in response.text, value


def test_down_default_application_leaves_the_others_working(serve, upstream):
    docs = upstream("docs")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(free_port())}},
                "docs": {"development": {"local": local(docs)}, "routing": [{"paths": ["/docs/:path*"]}]},
            }
        }
    )
    connection = proxy.connection()
    sockets = set()
    try:
        for index in range(6):
            target = "/docs/page" if index % 2 else "/home"
            response = send(connection, "GET", target)
            if index % 2:
                assert (response.status, response.json()["app"]) == (200, "docs"), index
            else:
                assert response.status == 502, index
            sockets.add(connection.sock.getsockname())
    finally:
        connection.close()
    # One connection throughout: the 502s did not close it.
    assert len(sockets) == 1
    assert len(docs.requests) == 3


def test_application_going_down_and_coming_back(serve, upstream):
    web, docs_port = upstream("web"), free_port()
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {
                    "development": {"local": local(docs_port)},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
            }
        }
    )
    assert proxy.get("/docs/x").status == 502
    docs = upstream("docs", docs_port)
    wait_for_status(proxy, "/docs/x", 200)
    assert proxy.get("/docs/y").json()["app"] == "docs"

    docs.stop()
    wait_for_status(proxy, "/docs/x", 502)
    upstream("docs", docs_port)
    wait_for_status(proxy, "/docs/x", 200)
    assert not [r for r in web.requests if r["path"].startswith("/docs")]


def test_down_application_goes_to_its_own_fallback(serve, upstream):
    web, docs_fallback = upstream("web"), upstream("docs-deployment")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {
                    "development": {"local": local(free_port()), "fallback": fallback(docs_fallback)},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
            }
        }
    )
    body = b"x" * 1000
    # The proxy writes x-vercel-mfe-local-proxy-origin itself, for local applications only: what a
    # client sends under that name never reaches a deployment.
    sent = {"X-Custom": "kept", "Cookie": "a=1", "x-vercel-mfe-local-proxy-origin": "1"}
    response = proxy.request("POST", "/docs/form?q=1", sent, body)
    assert response.status == 200
    report = response.json()
    assert (report["app"], report["method"], report["path"]) == ("docs-deployment", "POST", "/docs/form?q=1")
    assert report["body_length"] == len(body)
    assert received_headers(report, "host") == [f"127.0.0.1:{docs_fallback.port}"]
    assert received_headers(report, "x-vercel-mfe-local-proxy-origin") == []
    assert received_headers(report, "x-forwarded-host") == [f"127.0.0.1:{proxy.port}"]
    assert received_headers(report, "x-custom") == ["kept"]
    assert received_headers(report, "cookie") == ["a=1"]
    assert proxy.get("/").json()["app"] == "web"


def test_child_without_fallback_uses_the_default_applications(serve, upstream):
    web_fallback = upstream("web-deployment")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(free_port()), "fallback": fallback(web_fallback)}},
                "api": {
                    "development": {"local": local(free_port())},
                    "routing": [{"paths": ["/api/:path*"]}],
                },
            }
        }
    )
    for target in ("/api/x?y=1", "/home"):
        report = proxy.get(target).json()
        assert (report["app"], report["path"]) == ("web-deployment", target)
        assert received_headers(report, "host") == [f"127.0.0.1:{web_fallback.port}"]


def test_fallback_redirects_come_back_through_the_proxy(serve, upstream):
    docs_fallback = upstream("docs-deployment")
    proxy = serve(
        {
            "applications": {
                "web": {"development": {"local": local(upstream("web"))}},
                "docs": {
                    "development": {"local": local(free_port()), "fallback": fallback(docs_fallback)},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
            }
        }
    )
    client_host = f"localhost:{proxy.port}"
    for location, rewritten in [
        (
            f"{fallback(docs_fallback)}/docs/target?next=https://example.org/x",
            f"http://{client_host}/docs/target?next=https://example.org/x",
        ),
        (fallback(docs_fallback), f"http://{client_host}"),
        # Another site stays where it is.
        ("https://example.org/docs/x", "https://example.org/docs/x"),
    ]:
        response = proxy.get(f"/docs/redirect?to={quote(location, safe='')}", {"Host": client_host})
        assert response.status == 307
        assert response.headers["Location"] == rewritten, location


def test_local_apps_option_sends_the_others_to_their_fallback(start_proxy, upstream):
    web, docs, docs_fallback = upstream("web"), upstream("docs"), upstream("docs-deployment")
    proxy = start_proxy(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {
                    "development": {"local": local(docs), "fallback": fallback(docs_fallback)},
                    "routing": [{"paths": ["/docs/:path*"]}],
                },
            }
        },
        "--set",
        "mfe_local_apps=web",
    )
    report = proxy.get("/docs/x").json()
    assert (report["app"], report["path"]) == ("docs-deployment", "/docs/x")
    assert proxy.get("/x").json()["app"] == "web"
    assert not docs.requests
    routing = proxy.get("/.well-known/vercel/microfrontends/routing").json()
    assert routing["docs"] == {
        "routing": {"host": "127.0.0.1", "port": docs_fallback.port, "protocol": "http"}
    }
    assert routing["web"] == {"routing": {"host": "127.0.0.1", "port": web.port, "protocol": "http"}}


def test_unknown_local_app_is_a_startup_error(start_proxy, upstream):
    proxy = start_proxy(
        {"applications": {"web": {"development": {"local": local(upstream("web"))}}}},
        "--set",
        "mfe_local_apps=web,blog",
        expect_ready=False,
    )
    returncode, output = proxy.wait_exit()
    assert returncode != 0, output
    assert "blog" in output
    assert "Traceback" not in output
    assert "mfe-proxy serving" not in output
