"""The waiting page in a real browser: Debian's chromium, driven by playwright, opens a page of an
application that is not running through the real proxy, and the page reloads by itself once the
application answers. Nothing here downloads a browser: chromium is the system's (scripts/browser
installs it); without it these tests fail, unless MFE_SKIP_BROWSER=1 says to skip them."""

import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, sync_playwright

from helpers import free_port
from mfe_proxy.pages import STATUS_ENDPOINT

CHROMIUM = Path(os.environ.get("MFE_CHROMIUM", "/usr/bin/chromium"))  # as scripts/browser
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HTML_TIMEOUT = 15_000  # ms: the page's own wait is half a second; the rest is a loaded machine's slack
PROXY_BACK_TIMEOUT = 30_000  # ms: a proxy start-up plus the page's longest back-off (5 s)


class Browser:
    """One chromium page, with every navigation of its main frame and every status poll it made."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.navigations: list[str] = []
        self.polls: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.navigations.append(request.url)
        elif request.url.endswith(STATUS_ENDPOINT):
            self.polls.append(request.url)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_ms: int = HTML_TIMEOUT) -> None:
        """Wait on the browser's clock, so that playwright delivers the events meanwhile."""
        waited = 0
        while not condition():
            assert waited < timeout_ms, f"{what}: not after {timeout_ms / 1000} s"
            self.page.wait_for_timeout(100)
            waited += 100

    def application_report(self) -> dict:
        """The stand-in application's JSON answer, as chromium shows it."""
        self.page.wait_for_function(
            "() => !document.getElementById('mfe-waiting') && document.body"
            " && document.body.innerText.trimStart().startsWith('{')",
            timeout=HTML_TIMEOUT,
        )
        return json.loads(self.page.inner_text("body"))


def _chromium_pids(profile: Path) -> list[int]:
    """Processes of the chromium that runs with `profile` (the path is unique to one test)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"--user-data-dir={profile}".encode() in command:
                pids.append(int(entry.name))
    return pids


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Browser]:
    """A fresh chromium with a fresh profile; `parametrize("browser", [False], indirect=True)` turns its
    JavaScript off."""
    if os.environ.get("MFE_SKIP_BROWSER") == "1":
        pytest.skip("MFE_SKIP_BROWSER=1: browser tests skipped")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the waiting page's browser tests need Debian's chromium. Install it "
            "with scripts/browser (as root: apt-get install chromium), or set MFE_SKIP_BROWSER=1 to skip "
            "them.",
            pytrace=False,
        )
    monkeypatch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            java_script_enabled=getattr(request, "param", True),
        )
        try:
            yield Browser(context.pages[0] if context.pages else context.new_page())
        finally:
            context.close()
    # playwright stops its chromium on close; one that hangs on the way out is stopped here.
    for pid in _chromium_pids(profile):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def docs_config(web_port: int, name: str, docs_port: int) -> dict:
    return {
        "applications": {
            "web": {"development": {"local": f"127.0.0.1:{web_port}"}},
            name: {
                "packageName": "@acme/docs",
                "development": {"local": f"127.0.0.1:{docs_port}"},
                "routing": [{"paths": ["/docs", "/docs/:path*"]}],
            },
        }
    }


def open_waiting_page(browser: Browser, url: str, name: str, docs_port: int) -> None:
    response = browser.page.goto(url)
    assert response is not None
    assert response.status == 502
    assert browser.page.inner_text("h1") == f"{name} is not running"
    waiting = browser.page.locator("#mfe-waiting")
    waiting.wait_for(state="visible", timeout=HTML_TIMEOUT)
    assert f"Waiting for {name} to start on 127.0.0.1:{docs_port}…" in waiting.inner_text()
    assert "turbo run dev --filter=@acme/docs" in browser.page.inner_text("body")


def test_waiting_page_reloads_once_the_application_starts(start_proxy, upstream, browser):
    web, docs_port = upstream("web"), free_port()
    proxy = start_proxy(docs_config(web.port, "docs", docs_port))
    open_waiting_page(browser, f"{proxy.url}/docs/intro?x=1", "docs", docs_port)

    # While docs is down the page keeps asking and stays where it is: no reload loop.
    browser.wait_until(lambda: len(browser.polls) >= 4, "four status polls while docs is down")
    assert browser.navigations == [f"{proxy.url}/docs/intro?x=1"]
    assert browser.page.locator("#mfe-proxy-silent").is_hidden()

    docs = upstream("docs", docs_port)
    report = browser.application_report()
    assert (report["app"], report["path"]) == ("docs", "/docs/intro?x=1")
    assert [request["path"] for request in docs.requests] == ["/docs/intro?x=1"]
    assert browser.navigations == [f"{proxy.url}/docs/intro?x=1"] * 2  # one reload, no more
    assert not [request for request in web.requests if request["path"].startswith("/docs")]


def test_waiting_page_rides_out_a_proxy_restart(start_proxy, upstream, browser):
    web, docs_port, proxy_port = upstream("web"), free_port(), free_port()
    config = docs_config(web.port, "docs", docs_port)
    first = start_proxy(config, "--set", f"listen_port={proxy_port}")
    open_waiting_page(browser, f"{first.url}/docs/", "docs", docs_port)
    browser.wait_until(lambda: len(browser.polls) >= 2, "two status polls")

    first.stop()
    browser.page.locator("#mfe-proxy-silent").wait_for(state="visible", timeout=HTML_TIMEOUT)
    upstream("docs", docs_port)
    second = start_proxy(config, "--set", f"listen_port={proxy_port}")
    assert second.url == first.url

    browser.page.wait_for_function(
        "() => !document.getElementById('mfe-waiting')", timeout=PROXY_BACK_TIMEOUT
    )
    assert browser.application_report()["app"] == "docs"
    assert browser.navigations == [f"{first.url}/docs/"] * 2


def test_waiting_page_for_an_application_with_a_hostile_name(start_proxy, upstream, browser):
    # The name reaches the page as text and the script as data: it runs nothing, and the script
    # still finds the application in the status document by it.
    name = "docs</script><script>window.injected = 1</script>"
    web, docs_port = upstream("web"), free_port()
    proxy = start_proxy(docs_config(web.port, name, docs_port))
    open_waiting_page(browser, f"{proxy.url}/docs/", name, docs_port)
    assert browser.page.evaluate("() => window.injected") is None
    assert browser.page.locator("script").count() == 2

    upstream("docs", docs_port)
    assert browser.application_report()["app"] == "docs"
    assert len(browser.navigations) == 2


@pytest.mark.parametrize("browser", [False], indirect=True, ids=["no-javascript"])
def test_without_javascript_the_page_says_to_reload(start_proxy, upstream, browser):
    web, docs_port = upstream("web"), free_port()
    proxy = start_proxy(docs_config(web.port, "docs", docs_port))
    response = browser.page.goto(f"{proxy.url}/docs/")
    assert response is not None
    assert response.status == 502
    text = browser.page.inner_text("body")
    assert "Start it with `turbo run dev --filter=@acme/docs`, then reload." in text
    # It does not claim to wait when nothing would.
    assert browser.page.locator("#mfe-waiting").is_hidden()
    upstream("docs", docs_port)
    browser.page.wait_for_timeout(1500)  # three of the script's polls, had it run
    assert browser.polls == []
    assert len(browser.navigations) == 1
    browser.page.reload()
    assert browser.application_report()["app"] == "docs"
