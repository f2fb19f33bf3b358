"""What the proxy prints as it works: one line per request (method, path, application, status, time)
through the launcher, connection lines only at `-v`, `mfe_request_log=false` for quiet without losing
the banner and the summary, and flows that name the application they went to, even when it is down."""

import json
import re
import time

from e2e.harness import LOG_TIME, READY, TIMEOUT, start_mitmweb, web_api, ws_connect
from e2e.ws_upstream import WsUpstream
from helpers import free_port, local, two_apps

CONNECTION_LINES = ("client connect", "server connect", "client disconnect", "server disconnect")


def request_line(output: str, method_and_path: str) -> str:
    """The proxy's line for the request `method_and_path` (`GET /docs/x`), without the time stamp."""
    match = re.search(rf"^{LOG_TIME}({re.escape(method_and_path)} -> .*)$", output, re.MULTILINE)
    assert match, f"no line for {method_and_path} in:\n{output}"
    return match[1]


def test_one_line_per_request_and_no_connection_lines(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()))
    assert proxy.get("/docs/intro?lang=en").status == 200
    assert proxy.get("/.well-known/vercel/microfrontends/routing").status == 200
    assert proxy.request("POST", "/pricing", body=b"x").status == 200
    output = proxy.wait_for("POST /pricing -> ", TIMEOUT)
    assert re.fullmatch(
        r"GET /docs/intro\?lang=en -> docs 200 in \d+ ms", request_line(output, "GET /docs/intro?lang=en")
    )
    assert re.fullmatch(
        r"GET /\.well-known/vercel/microfrontends/routing -> proxy 200 in \d+ ms",
        request_line(output, "GET /.well-known/vercel/microfrontends/routing"),
    )
    assert re.fullmatch(r"POST /pricing -> web 200 in \d+ ms", request_line(output, "POST /pricing"))
    for text in CONNECTION_LINES:
        assert text not in output
    assert READY in output


def test_connection_lines_at_higher_verbosity(launch, upstream):
    """mitmproxy's `-v`: connection lines, and mitmdump's own flow lines with headers in place of ours;
    debug verbosity alone: connection lines beside ours."""
    web, docs = upstream("web"), upstream("docs")
    verbose = launch(two_apps(web, docs, proxy_port=free_port()), "-v")
    debug = launch(two_apps(web, docs, proxy_port=free_port()), "--set", "termlog_verbosity=debug")
    for proxy in (verbose, debug):
        assert proxy.get("/docs/x").status == 200
        output = proxy.wait_for("server disconnect", TIMEOUT)
        assert "client connect" in output and "server connect" in output
    assert f"GET http://127.0.0.1:{docs.port}/docs/x" in verbose.output()
    assert "/docs/x -> " not in verbose.output()
    assert request_line(debug.output(), "GET /docs/x").startswith("GET /docs/x -> docs 200 in ")


def test_request_lines_can_be_turned_off_keeping_the_rest(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    hmr = WsUpstream()
    try:
        config = two_apps(web, docs, proxy_port=free_port())
        config["applications"]["hmr"] = {
            "development": {"local": local(hmr)},
            "routing": [{"paths": ["/_hmr"]}],
        }
        proxy = launch(config, "--set", "mfe_request_log=false")
        assert proxy.get("/docs/quiet").status == 200
        with ws_connect(proxy, "/_hmr") as ws:
            ws.send("ping")
            assert ws.recv(timeout=TIMEOUT) == "ping"
        proxy.wait_for(" closed: ", TIMEOUT)
        returncode, output = proxy.stop()
    finally:
        hmr.stop()
    assert returncode == 0, output
    assert READY in output
    assert " opened: hmr /_hmr -> " in output
    assert "mfe-proxy summary:" in output and re.search(r"docs: 1 requests?\b", output)
    assert "/docs/quiet" not in output


def test_quiet_hides_request_lines_as_every_info_line(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()), "-q", expect_ready=False)
    deadline = time.monotonic() + TIMEOUT
    while True:  # -q hides the readiness line too: ready once it answers
        try:
            assert proxy.get("/docs/x").status == 200
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline and proxy.process.poll() is None, proxy.output()
            time.sleep(0.05)
    returncode, output = proxy.stop()
    assert returncode == 0, output
    assert "/docs/x" not in output


def test_a_down_application_is_named_in_its_line(launch, upstream):
    web = upstream("web")
    docs_port = free_port()
    proxy = launch(two_apps(web, docs_port, proxy_port=free_port()))
    assert proxy.get("/docs/x").status == 502
    line = request_line(proxy.wait_for("GET /docs/x -> ", TIMEOUT), "GET /docs/x")
    assert re.fullmatch(r"GET /docs/x -> docs \(not reachable\) 502 in \d+ ms", line)


def test_mitmdumps_own_line_names_the_down_applications_port(start_proxy, upstream):
    """With mitmdump's flow lines (flow_detail 1, its default), the request line shows where the request
    went: the down application's port, not the default application's."""
    web = upstream("web")
    docs_port = free_port()
    proxy = start_proxy(two_apps(web, docs_port), "--set", "flow_detail=1")
    assert proxy.get("/docs/x").status == 502
    output = proxy.wait_for("<< 502", TIMEOUT)
    assert f"GET http://127.0.0.1:{docs_port}/docs/x" in output, output
    assert f":{web.port}/docs/x" not in output
    assert "/docs/x -> " not in output  # mitmdump prints its own lines: not ours as well


def test_mitmweb_shows_the_down_applications_url(start_proxy, upstream):
    web = upstream("web")
    docs_port = free_port()
    proxy, web_port, token = start_mitmweb(start_proxy, two_apps(web, docs_port))
    assert proxy.get("/docs/x").status == 502
    deadline = time.monotonic() + TIMEOUT
    while not (flows := json.loads(web_api(web_port, token, "/flows"))) or "response" not in flows[0]:
        assert time.monotonic() < deadline, flows
        time.sleep(0.1)
    [flow] = flows
    assert (flow["request"]["host"], flow["request"]["port"]) == ("127.0.0.1", docs_port)
    assert flow["response"]["status_code"] == 502
    assert flow["comment"].startswith("docs")
