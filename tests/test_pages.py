"""What the proxy answers by itself (mfe_proxy.pages): the down page (which waits for the application),
the not-local page, short messages and the routing table; and that no value put into a page, however
hostile, escapes its context in any page function."""

import dataclasses
import inspect
import json
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from helpers import load
from mfe_proxy import pages
from mfe_proxy.model import Application, Origin
from mfe_proxy.pages import (
    HTML,
    JSON,
    STATUS_ENDPOINT,
    TEXT,
    Page,
    application_down,
    application_not_local,
    message,
    routing_table,
    start_command,
)
from mfe_proxy.router import Endpoint, Router

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
            "development": {"local": "https://blog.localhost", "task": "serve"},
            "routing": [{"paths": ["/blog/:path*"]}],
        },
        EVIL: {
            "packageName": "<script>pkg</script>",
            "development": {"local": 3003},
            "routing": [{"paths": ["/evil/:path*"]}],
        },
    }
}


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
    assert lines[1] == "mfe-proxy could not connect to https://blog.localhost:4850 for POST /blog/x."
    assert lines[2].startswith("Start its dev server so that it listens on blog.localhost:4850, then reload.")
    # A scheme's own port is left out, as in a URL.
    page = application_down(blog, Origin("https", "blog.localhost", 443), "GET", "/blog", "mf.jsonc", False)
    assert text_lines(page.body)[1] == "mfe-proxy could not connect to https://blog.localhost for GET /blog."
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
    assert EVIL not in body
    assert "<script>x()" not in body
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


# -- the down page waits for the application ---------------------------------------------------------


class Parsed(HTMLParser):
    """An HTML page as a browser's tokenizer sees it: the sequence of tags, the text a reader sees, and
    the raw content of each <script> element (which charrefs do not apply to)."""

    def __init__(self, body: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.comments: list[str] = []
        self._script: dict[str, str | None] | None = None
        self.feed(body.decode())
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        self.tags.append((f"/{tag}", ()))
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, content = self.scripts[-1]
            self.scripts[-1] = (attrs, content + data)
        else:
            self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def wait_data(self) -> dict:
        """The JSON the waiting script reads."""
        [data] = [content for attrs, content in self.scripts if attrs.get("type") == "application/json"]
        return json.loads(data)

    def code(self) -> str:
        [code] = [content for attrs, content in self.scripts if "type" not in attrs]
        return code


def test_down_page_waits_for_the_application(apps):
    docs = apps["docs"]
    upstream = Origin("http", "127.0.0.1", 3001)
    page = application_down(docs, upstream, "GET", "/docs/intro", "microfrontends.json", True)
    assert (page.status, page.content_type) == (502, HTML)
    parsed = Parsed(page.body)
    text = parsed.visible_text()
    # What it is waiting for, with the instructions it had before.
    assert "Waiting for docs to start on 127.0.0.1:3001… This page reloads by itself when it answers." in text
    assert "Start it with `turbo run dev --filter=docs-app`, then reload." in text
    assert "mfe-proxy could not connect to http://127.0.0.1:3001 for GET /docs/intro." in text
    # Its values reach the script as data, not as code.
    assert parsed.wait_data() == {"application": "docs", "status": STATUS_ENDPOINT}
    assert STATUS_ENDPOINT == "/.well-known/mfe-proxy/status"
    code = parsed.code()
    assert "docs" not in code
    assert "3001" not in code
    assert 'JSON.parse(document.getElementById("mfe-wait").textContent)' in code
    assert 'fetch(wait.status, { cache: "no-store"' in code
    assert "location.reload()" in code
    assert ".reachable === true" in code
    assert "setTimeout(poll, delay)" in code


def test_the_page_polls_the_endpoint_the_router_answers_as_status():
    # The page and the router name the endpoint separately; a request for it must reach the proxy's
    # status endpoint, never an application (which would answer it with its own 404 forever).
    decision = Router(load(CONFIG)).route("GET", STATUS_ENDPOINT, {})
    assert decision == Endpoint("status")


def test_waiting_notes_are_hidden_until_the_script_shows_them(apps):
    # Without scripts the page is the plain one: it must not claim to wait, and it says to reload.
    docs = apps["docs"]
    page = application_down(docs, docs.upstream, "GET", "/docs/", "microfrontends.json", True)
    parsed = Parsed(page.body)
    attrs = {dict(a).get("id"): dict(a) for tag, a in parsed.tags if tag == "p" and dict(a).get("id")}
    assert set(attrs) == {"mfe-waiting", "mfe-proxy-silent"}
    assert all("hidden" in a for a in attrs.values())
    code = parsed.code()
    for element in attrs:
        assert f'document.getElementById("{element}")' in code
    assert ", then reload." in parsed.visible_text()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_down_page_waits_only_for_a_get(apps, method):
    # A reload repeats the request: for a form post that would submit it again.
    docs = apps["docs"]
    page = application_down(docs, docs.upstream, method, "/docs/form", "microfrontends.json", True)
    parsed = Parsed(page.body)
    assert (page.status, page.content_type) == (502, HTML)
    assert parsed.scripts == []
    assert "Waiting" not in parsed.visible_text()
    assert f"for {method} /docs/form." in parsed.visible_text()


def test_only_the_down_page_waits(apps):
    for page in (
        application_not_local(apps["docs"], ["web"], "GET", "/docs/x", True),
        *(page for page in _other_html_pages("docs")),
    ):
        assert b"<script" not in page.body
        assert STATUS_ENDPOINT.encode() not in page.body


def test_down_page_as_text_does_not_wait(apps):
    docs = apps["docs"]
    page = application_down(docs, docs.upstream, "GET", "/docs/", "microfrontends.json", False)
    assert page.content_type == TEXT
    assert b"Waiting" not in page.body
    assert STATUS_ENDPOINT.encode() not in page.body


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
    assert table["blog"] == {"routing": {"host": "blog.localhost", "port": 4850, "protocol": "https"}}
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


# -- escaping, in every page function ----------------------------------------------------------------

HOSTILE = [
    EVIL,
    "</script><script>alert(1)</script>",
    "</SCRIPT ><img src=x onerror=alert(1)>",
    "\"'><img src=x onerror=alert(1)>",
    "<!--<script>",
    "&lt;b&gt; &amp; &#x3c;",
    "a\u2028b\u2029c`${alert(1)}`\\",
]


def _application(name: str, host: str = "127.0.0.1") -> Application:
    return Application(
        name=name,
        upstream=Origin("http", host, 3001),
        fallback=None,
        routes=(),
        asset_prefixes=("vc-ap-x",),
        package_name=f"pkg-{name}",
        task=f"task-{name}",
    )


def _other_html_pages(value: str) -> list[Page]:
    """The HTML pages of every page function other than the down page, with `value` everywhere a caller
    can put one. A page function added to pages.py belongs here or in TEXT_PAGES (see the test below)."""
    return [
        application_not_local(_application(value), [value, "web"], value, f"/{value}", True),
        pages.host_not_allowed(value, True),
        pages.endpoint_index({f"/.well-known/{value}": value}, True),
    ]


def _down_pages(value: str) -> list[Page]:
    app = _application(value, host=value)
    return [
        application_down(app, app.upstream, "GET", f"/docs/{value}?q={value}", f"{value}.json", True),
        application_down(app, app.upstream, value, f"/docs/{value}", f"{value}.json", True),
    ]


def _html_pages(value: str) -> list[Page]:
    return [*_down_pages(value), *_other_html_pages(value)]


# Page functions that only ever answer plain text: a value in them cannot be markup.
TEXT_PAGES: dict[str, Callable[[str], Page]] = {
    "message": lambda value: message(400, value),
    "origin_not_allowed": lambda value: pages.origin_not_allowed(value),
    "too_many_websockets": lambda value: pages.too_many_websockets(len(value)),
}
HTML_PAGES = {"application_down", "application_not_local", "host_not_allowed", "endpoint_index"}
JSON_PAGES = {"routing_table"}


def test_every_page_function_has_an_escaping_test():
    functions = {
        name
        for name, function in inspect.getmembers(pages, inspect.isfunction)
        if function.__module__ == pages.__name__
        and not name.startswith("_")
        and inspect.signature(function).return_annotation in (Page, "Page")
    }
    assert functions == HTML_PAGES | JSON_PAGES | set(TEXT_PAGES)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_text_in_every_html_page(value):
    for hostile, benign in zip(_html_pages(value), _html_pages("docs"), strict=True):
        assert hostile.content_type == HTML
        parsed, expected = Parsed(hostile.body), Parsed(benign.body)
        # The same elements in the same order as with a harmless value: nothing opened or closed.
        assert parsed.tags == expected.tags
        assert parsed.comments == expected.comments == []
        # The value is there, as text a reader sees.
        assert value.replace("\u2028", " ").replace("\u2029", " ").split()[0] in parsed.visible_text()
        body = hostile.body.decode()
        for raw in ("<script>alert", "<img", "</script><", "<!--", "onerror=alert(1)>"):
            assert raw not in body, raw


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_reach_the_waiting_script_unchanged_and_never_close_it(value):
    for page in _down_pages(value):
        parsed = Parsed(page.body)
        if parsed.scripts:  # a GET
            assert parsed.wait_data() == {"application": value, "status": STATUS_ENDPOINT}
            assert parsed.code() == Parsed(_down_pages("docs")[0].body).code()
            [data] = [content for attrs, content in parsed.scripts if attrs.get("type") == "application/json"]
            assert not {"<", ">", "&"} & set(data)
        else:  # the method was the hostile value: no waiting
            assert "Waiting" not in parsed.visible_text()


def test_the_value_in_the_json_element_is_escaped_as_json():
    page = _down_pages("</script><script>alert(1)</script>")[0]
    data = page.body.decode().split('<script type="application/json" id="mfe-wait">')[1].split("</script>")[0]
    assert data == (
        '{"application": "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e", '
        '"status": "/.well-known/mfe-proxy/status"}'
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_every_html_page_as_text_are_verbatim(value):
    # The same calls without text/html: plain text, the values as they are.
    app = _application(value, host=value)
    plain = [
        application_down(app, app.upstream, "GET", f"/{value}", f"{value}.json", False),
        application_not_local(app, [value], "GET", f"/{value}", False),
        pages.host_not_allowed(value, False),
    ]
    for page in plain:
        assert page.content_type == TEXT
        assert value in page.body.decode()
    assert {page.content_type for page in _html_pages(value)} == {HTML}


@pytest.mark.parametrize("value", HOSTILE)
def test_text_only_pages_stay_plain_text(value):
    for name, render in TEXT_PAGES.items():
        page = render(value)
        assert page.content_type == TEXT, name
        if name != "too_many_websockets":  # takes a number, not a string
            assert value in page.body.decode(), name


@pytest.mark.parametrize("value", HOSTILE)
def test_routing_table_is_json_whatever_the_names(value):
    page = routing_table({value: Origin("http", "127.0.0.1", 3001)})
    assert page.content_type == JSON
    assert json.loads(page.body) == {
        value: {"routing": {"host": "127.0.0.1", "port": 3001, "protocol": "http"}}
    }


def test_a_loaded_config_with_a_hostile_name_makes_an_escaped_waiting_page():
    # The same, from a real config file rather than hand-built objects.
    name = "</script><script>alert(1)</script>"
    config = load(
        {
            "applications": {
                "web": {"development": {"local": 3000}},
                name: {"packageName": name, "development": {"local": 3001}, "routing": [{"paths": ["/x"]}]},
            }
        }
    )
    app = dataclasses.replace(config.applications[name])
    page = application_down(app, app.upstream, "GET", "/x", config.file, True)
    parsed = Parsed(page.body)
    assert parsed.wait_data()["application"] == name
    assert [tag for tag, _ in parsed.tags].count("script") == 2
    assert f"Waiting for {name} to start on localhost:3001…" in parsed.visible_text()
