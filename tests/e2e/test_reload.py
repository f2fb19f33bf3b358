"""Live config reload through the real addon: a changed microfrontends.json applies to new requests
without a restart, whole or not at all; a broken one changes nothing; open WebSockets are left alone."""

import json
import re
import threading
import time
from pathlib import Path

from e2e.harness import DOCS_HMR, TIMEOUT, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import free_port

APPLY_TIMEOUT = 5  # the proxy applies a change within about half a second; slack for a loaded machine


def config(web_port: int, docs_port: int, docs_paths: list[str], **options: int) -> dict:
    document: dict = {
        "applications": {
            "web": {"development": {"local": f"127.0.0.1:{web_port}"}},
            "docs": {
                "development": {"local": f"127.0.0.1:{docs_port}"},
                "routing": [{"paths": docs_paths}],
            },
        }
    }
    if options:
        document["options"] = options
    return document


def write(path: Path, document: dict | str) -> None:
    """Replace the file as editors do: write a temporary file, then rename it over the old one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(document if isinstance(document, str) else json.dumps(document))
    temporary.replace(path)


def config_file(proxy) -> Path:
    """The file the proxy serves from, as its banner names it."""
    match = re.search(r"mfe-proxy serving .* for (\S+)$", proxy.output(), re.MULTILINE)
    assert match, proxy.output()
    return Path(match[1])


def app_of(proxy, target: str) -> str:
    response = proxy.get(target)
    assert response.status == 200, response.text
    return response.json()["app"]


def wait_until_routed(proxy, target: str, app: str) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    while (seen := app_of(proxy, target)) != app:
        assert time.monotonic() < deadline, f"{target} still goes to {seen}, not {app}"
        time.sleep(0.05)


def test_a_changed_config_applies_to_new_requests(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = start_proxy(config(web.port, docs.port, ["/docs/:path*"]))
    path = config_file(proxy)
    assert app_of(proxy, "/guides/intro") == "web"
    write(path, config(web.port, docs.port, ["/docs/:path*", "/guides/:path*"]))
    wait_until_routed(proxy, "/guides/intro", "docs")
    assert app_of(proxy, "/docs/a") == "docs"
    output = proxy.wait_for(f"mfe-proxy reloaded {path}: web, docs")
    assert "Traceback" not in output


def test_no_request_sees_half_a_config(start_proxy, upstream):
    # In `before`, /x goes to docs on one port; in `after`, /x goes to web and docs has moved to
    # another port. A request that saw the routing of one and the upstreams of the other would reach
    # "docs-moved": the only answers allowed are "docs" and "web".
    web, docs, moved = upstream("web"), upstream("docs"), upstream("docs-moved")
    before = config(web.port, docs.port, ["/x"])
    after = config(web.port, moved.port, ["/elsewhere"])
    proxy = start_proxy(before)
    path = config_file(proxy)
    seen: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        connection = proxy.connection()
        try:
            while not stop.is_set():
                connection.request("GET", "/x")
                response = connection.getresponse()
                seen.append(json.loads(response.read())["app"])
        finally:
            connection.close()

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for document in (after, before, after, before, after):
            write(path, document)
            time.sleep(0.6)
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert set(seen) == {"docs", "web"}, set(seen)
    assert moved.requests == []


def test_a_broken_config_changes_nothing(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    good = config(web.port, docs.port, ["/docs/:path*"])
    proxy = start_proxy(good)
    path = config_file(proxy)
    broken = config(web.port, docs.port, ["/docs/:path*"])
    broken["applications"]["docs"]["routing"][0]["paths"] = ["docs-without-slash"]
    write(path, broken)
    output = proxy.wait_for("the changed config cannot be used", APPLY_TIMEOUT)
    line = next(line for line in output.splitlines() if "cannot be used" in line)
    assert str(path) in line
    assert "applications.docs.routing[0].paths[0]" in line
    assert "Traceback" not in output
    assert app_of(proxy, "/docs/a") == "docs"
    write(path, "{ not json")
    proxy.wait_for(f"{path}: line 1", APPLY_TIMEOUT)
    assert app_of(proxy, "/docs/a") == "docs"
    # The file fixed, the fix applies.
    write(path, config(web.port, docs.port, ["/guides/:path*"]))
    wait_until_routed(proxy, "/docs/a", "web")
    assert app_of(proxy, "/guides/a") == "docs"


def test_a_removed_config_changes_nothing_until_it_is_back(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = start_proxy(config(web.port, docs.port, ["/docs/:path*"]))
    path = config_file(proxy)
    path.unlink()
    proxy.wait_for(f"mfe-proxy: {path} is gone; routing stays as it was", APPLY_TIMEOUT)
    assert app_of(proxy, "/docs/a") == "docs"
    write(path, config(web.port, docs.port, ["/guides/:path*"]))
    wait_until_routed(proxy, "/guides/a", "docs")


def test_a_new_proxy_port_needs_a_restart(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    port = free_port()
    proxy = start_proxy(config(web.port, docs.port, ["/docs/:path*"], localProxyPort=port))
    path = config_file(proxy)
    other = free_port()
    write(path, config(web.port, docs.port, ["/guides/:path*"], localProxyPort=other))
    proxy.wait_for(
        f"now sets localProxyPort {other}; the proxy keeps listening on {port} until it is restarted",
        APPLY_TIMEOUT,
    )
    wait_until_routed(proxy, "/guides/a", "docs")  # the rest of the change applies


def test_open_websockets_are_left_alone(start_proxy):
    web, docs, moved = WsUpstream(), WsUpstream(), WsUpstream()
    try:
        proxy = start_proxy(config(web.port, docs.port, ["/docs/:path*"]))
        path = config_file(proxy)
        with ws_connect(proxy, DOCS_HMR) as before:
            before.send("one")
            assert before.recv(timeout=TIMEOUT) == "one"
            write(path, config(web.port, moved.port, ["/docs/:path*"]))
            proxy.wait_for("mfe-proxy reloaded", APPLY_TIMEOUT)
            with ws_connect(proxy, DOCS_HMR) as after:
                after.send("two")
                assert after.recv(timeout=TIMEOUT) == "two"
            before.send("three")
            assert before.recv(timeout=TIMEOUT) == "three"
        assert docs.wait_connections(1)[0].messages == ["one", "three"]
        assert moved.wait_connections(1)[0].messages == ["two"]
    finally:
        for server in (web, docs, moved):
            server.stop()
