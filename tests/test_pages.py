"""What the proxy answers by itself (mfe_proxy.pages): the down and not-local pages, short messages and
the routing table."""

import json

import pytest

from mfe_proxy.config import Application, Config, Origin, parse_config
from mfe_proxy.pages import (
    HTML,
    JSON,
    TEXT,
    application_down,
    application_not_local,
    message,
    routing_table,
    start_command,
)

EVIL = "<script>alert(1)</script>"

CONFIG = {
    "applications": {
        "web": {"packageName": "web-app", "development": {"local": 3000, "task": "start"}},
        "docs": {
            "packageName": "docs-app",
            "development": {"local": 3001},
            "routing": [{"paths": ["/docs/:path*"]}],
        },
        "blog": {
            "development": {"local": "https://blog.localhost:443", "task": "serve"},
            "routing": [{"paths": ["/blog/:path*"]}],
        },
        EVIL: {
            "packageName": "<script>pkg</script>",
            "development": {"local": 3003},
            "routing": [{"paths": ["/evil/:path*"]}],
        },
    }
}


def load(document: dict) -> Config:
    return parse_config(json.dumps(document).encode(), "microfrontends.json")


@pytest.fixture(scope="module")
def apps() -> dict[str, Application]:
    return dict(load(CONFIG).applications)


def text_lines(body: bytes) -> list[str]:
    text = body.decode()
    assert text.endswith("\n")
    return text[:-1].split("\n")


# -- start command -----------------------------------------------------------------------------------


def test_start_command_uses_package_name_and_task(apps):
    assert start_command(apps["web"]) == "turbo run start --filter=web-app"
    assert start_command(apps["docs"]) == "turbo run dev --filter=docs-app"  # no task: dev


def test_no_start_command_without_package_name_even_with_a_task(apps):
    assert apps["blog"].task == "serve"
    assert start_command(apps["blog"]) is None


# -- application down --------------------------------------------------------------------------------


def test_application_down_as_text(apps):
    docs = apps["docs"]
    page = application_down(docs, docs.upstream, "GET", "/docs/intro?x=1", "microfrontends.json", False)
    assert (page.status, page.content_type) == (502, TEXT)
    assert text_lines(page.body) == [
        "Application docs is not running.",
        "mfe-proxy could not connect to http://localhost:3001 for GET /docs/intro?x=1.",
        "Start it with `turbo run dev --filter=docs-app`, then reload. Or give docs a development.fallback "
        "in microfrontends.json to serve it from a deployment meanwhile.",
    ]


def test_application_down_without_a_start_command_names_where_to_listen(apps):
    blog = apps["blog"]
    page = application_down(blog, blog.upstream, "POST", "/blog/x", "configs/mf.jsonc", False)
    lines = text_lines(page.body)
    assert lines[1] == "mfe-proxy could not connect to https://blog.localhost for POST /blog/x."
    assert lines[2].startswith("Start its dev server so that it listens on blog.localhost, then reload.")
    assert "turbo" not in page.body.decode()
    assert "in configs/mf.jsonc " in lines[2]


def test_application_down_names_the_upstream_it_was_given(apps):
    # The addon passes the upstream it tried; the page names that one, not the config's.
    upstream = Origin("http", "::1", 4100)
    page = application_down(apps["web"], upstream, "GET", "/", "microfrontends.json", False)
    assert text_lines(page.body)[1] == "mfe-proxy could not connect to http://[::1]:4100 for GET /."
    assert "Start it with `turbo run start --filter=web-app`" in page.body.decode()
    page = application_down(apps["blog"], upstream, "GET", "/blog", "microfrontends.json", False)
    assert text_lines(page.body)[2].startswith("Start its dev server so that it listens on [::1]:4100,")


def test_application_down_as_html(apps):
    docs = apps["docs"]
    page = application_down(docs, docs.upstream, "GET", "/docs/intro", "microfrontends.json", True)
    assert (page.status, page.content_type) == (502, HTML)
    body = page.body.decode()
    assert body.startswith("<!doctype html>")
    assert "<title>docs is not running</title>" in body
    assert "<h1>docs is not running</h1>" in body
    assert "<p>Application docs is not running.</p>" in body
    assert "<p>mfe-proxy could not connect to http://localhost:3001 for GET /docs/intro.</p>" in body
    assert "turbo run dev --filter=docs-app" in body
    assert "mfe-proxy · 502" in body


def test_application_down_html_escapes_name_package_and_path(apps):
    evil = apps[EVIL]
    page = application_down(evil, evil.upstream, "GET", '/evil/<script>x()</script>?a=1&b="', "mf.json", True)
    body = page.body.decode()
    assert "<script" not in body.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; is not running</title>" in body
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt; is not running</h1>" in body
    assert "--filter=&lt;script&gt;pkg&lt;/script&gt;" in body
    assert "GET /evil/&lt;script&gt;x()&lt;/script&gt;?a=1&amp;b=&quot;." in body


def test_application_down_text_keeps_name_package_and_path_verbatim(apps):
    evil = apps[EVIL]
    page = application_down(evil, evil.upstream, "GET", "/evil/<script>x()</script>", "mf.json", False)
    assert page.content_type == TEXT
    lines = text_lines(page.body)
    assert lines[0] == f"Application {EVIL} is not running."
    assert (
        lines[1] == "mfe-proxy could not connect to http://localhost:3003 for GET /evil/<script>x()</script>."
    )
    assert lines[2].startswith("Start it with `turbo run dev --filter=<script>pkg</script>`, then reload.")
    assert f"Or give {EVIL} a development.fallback" in lines[2]


# -- application not local ---------------------------------------------------------------------------


def test_application_not_local_as_text(apps):
    page = application_not_local(apps["docs"], ["web", "blog"], "POST", "/docs/x", False)
    assert (page.status, page.content_type) == (502, TEXT)
    assert text_lines(page.body) == [
        "Application docs is not run locally (mfe_local_apps is web,blog) and has no fallback.",
        "mfe-proxy has nowhere to send POST /docs/x.",
        "Add docs to mfe_local_apps, or give it (or the default application) a development.fallback.",
    ]


def test_application_not_local_as_html_escapes(apps):
    page = application_not_local(apps[EVIL], ["web"], "GET", "/evil/<script>", True)
    assert (page.status, page.content_type) == (502, HTML)
    body = page.body.decode()
    assert "<script" not in body.lower()
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; is not run locally</title>" in body
    assert "(mfe_local_apps is web)" in body
    assert "nowhere to send GET /evil/&lt;script&gt;.</p>" in body
    text = application_not_local(apps[EVIL], ["web"], "GET", "/evil/<script>", False).body.decode()
    assert f"Application {EVIL} is not run locally" in text
    assert "GET /evil/<script>." in text


# -- messages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "text"), [(404, "no such endpoint: x"), (405, "GET and HEAD only, café")])
def test_message_is_plain_text_with_a_newline(status, text):
    page = message(status, text)
    assert (page.status, page.content_type) == (status, TEXT)
    assert page.body.decode("utf-8") == text + "\n"


# -- routing table -----------------------------------------------------------------------------------


def test_routing_table_shape_and_implied_ports():
    targets = {
        "web": Origin("http", "127.0.0.1", 43769),
        "docs": Origin("https", "docs.example.com", 443),
        "api": Origin("http", "api.internal", 80),
        "blog": Origin("https", "blog.internal", 80),
        "shop": Origin("http", "shop.internal", 443),
    }
    page = routing_table(targets)
    assert (page.status, page.content_type) == (200, JSON)
    assert page.body.endswith(b"\n")
    table = json.loads(page.body)
    assert list(table) == ["web", "docs", "api", "blog", "shop"]  # config order, default first
    assert table == {
        "web": {"routing": {"host": "127.0.0.1", "port": 43769, "protocol": "http"}},
        "docs": {"routing": {"host": "docs.example.com", "protocol": "https"}},
        "api": {"routing": {"host": "api.internal", "protocol": "http"}},
        "blog": {"routing": {"host": "blog.internal", "port": 80, "protocol": "https"}},
        "shop": {"routing": {"host": "shop.internal", "port": 443, "protocol": "http"}},
    }
    # The key order of Vercel's proxy: { host, port, protocol }.
    assert list(table["web"]["routing"]) == ["host", "port", "protocol"]


def test_routing_table_of_a_loaded_config():
    config = load(CONFIG)
    table = json.loads(routing_table({name: app.upstream for name, app in config.applications.items()}).body)
    assert table["web"] == {"routing": {"host": "localhost", "port": 3000, "protocol": "http"}}
    assert table["blog"] == {"routing": {"host": "blog.localhost", "protocol": "https"}}
    assert table[EVIL]["routing"]["port"] == 3003


def test_routing_table_of_no_applications_is_an_empty_object():
    assert json.loads(routing_table({}).body) == {}


def test_routing_table_writes_an_ipv6_host_in_brackets_as_vercel_does():
    # Vercel's proxy writes `hostname` of a WHATWG URL (`new URL("http://[::1]:3001").hostname` is
    # "[::1]"), so a client can put host and port together. A bare "::1" cannot be.
    config = load({"applications": {"web": {"development": {"local": "[::1]:3001"}}}})
    upstream = config.applications["web"].upstream
    table = json.loads(routing_table({"web": upstream}).body)
    assert table == {"web": {"routing": {"host": "[::1]", "port": 3001, "protocol": "http"}}}
