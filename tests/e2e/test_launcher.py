"""The launcher (scripts/mfe-proxy) as a real process: it routes, it listens on 127.0.0.1 from the first
moment (mitmproxy's default listener never binds), the user's arguments win, start-up errors end it
with a message and status 1, signals end it cleanly, and it runs on uvloop."""

import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from e2e.harness import LAUNCHER, READY, START_TIMEOUT, ProxyProcess, web_api
from e2e.ws_upstream import WsUpstream
from helpers import ROOT, busy_port, free_port, local, two_apps

WRAPPER = ROOT / "scripts" / "mfe-proxy"
TIMEOUT = 10
MITMPROXY_DEFAULT_PORT = 8080


def listening(pid: int) -> set[tuple[str, int]]:
    """The TCP addresses process `pid` listens on, from the kernel's tables (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue  # closed since the listing
        found = re.fullmatch(r"socket:\[(\d+)\]", str(target))
        if found:
            inodes.add(found[1])
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_address, _, hex_port = fields[1].partition(":")
            raw = bytes.fromhex(hex_address)
            # The tables hold addresses as native-endian 32-bit words.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
            address = socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, words)
            addresses.add((address, int(hex_port, 16)))
    return addresses


def test_routes_requests_and_websockets(launch, upstream):
    web, docs, hmr = upstream("web"), upstream("docs"), WsUpstream()
    try:
        config = two_apps(web, docs, proxy_port=free_port())
        config["applications"]["hmr"] = {
            "development": {"local": local(hmr)},
            "routing": [{"paths": ["/_hmr/:path*"]}],
        }
        proxy = launch(config)
        assert proxy.get("/pricing").json()["app"] == "web"
        assert proxy.get("/docs/intro").json()["app"] == "docs"
        with connect(f"ws://127.0.0.1:{proxy.port}/_hmr/socket", open_timeout=TIMEOUT) as ws:
            ws.send("hello")
            assert ws.recv(timeout=TIMEOUT) == "hello"
        [seen] = hmr.wait_connections(1)
        assert seen.path == "/_hmr/socket"
    finally:
        hmr.stop()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_listens_on_loopback_only_from_the_first_moment(launch, upstream):
    """Plain `mitmdump -s addon/mfe_router.py` first binds mitmproxy's default listener, a forward proxy
    on every interface (*:8080, or *:listen_port), until the addon switches it. The launcher sets the
    options first: every listener the process ever has, sampled from its start, is the configured one."""
    web, docs = upstream("web"), upstream("docs")
    port = free_port()
    proxy = launch(two_apps(web, docs, proxy_port=port), expect_ready=False)
    seen: set[tuple[str, int]] = set()
    deadline = time.monotonic() + START_TIMEOUT
    while READY not in proxy.output():
        assert proxy.process.poll() is None, proxy.output()
        assert time.monotonic() < deadline, proxy.output()
        try:
            seen |= listening(proxy.pid)
        except FileNotFoundError:  # a socket table row or fd gone while reading
            continue
    seen |= listening(proxy.pid)
    assert seen == {("127.0.0.1", port)}
    assert all(address[1] != MITMPROXY_DEFAULT_PORT for address in seen)
    # mitmproxy logs every listener it starts: only the reverse proxy on the configured address.
    started = re.findall(r"^(?:\[[\d:.]+\] )?(.+) listening at (\S+)\.$", proxy.output(), re.MULTILINE)
    assert started == [(f"reverse proxy to {web.url}", f"127.0.0.1:{port}")]
    assert proxy.get("/").json()["app"] == "web"


def test_user_arguments_win_over_the_launchers(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    configured, explicit = free_port(), free_port()
    proxy = launch(
        two_apps(web, docs, proxy_port=configured), "--set", f"listen_port={explicit}", port=explicit
    )
    assert f"{READY} http://localhost:{explicit}" in proxy.output()
    assert proxy.get("/docs/x").json()["app"] == "docs"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", configured), 2):
        pass


def test_the_wrapper_runs_the_launcher(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()), command=[str(WRAPPER)])
    assert proxy.get("/docs/x").json()["app"] == "docs"
    assert Path(f"/proc/{proxy.pid}/cmdline").read_bytes().split(b"\0")[1:4] == [b"-O", b"-m", b"mfe_proxy"]


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's memory maps")
def test_runs_on_uvloop(launch, upstream):
    pytest.importorskip("uvloop")
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()))
    assert "uvloop" in Path(f"/proc/{proxy.pid}/maps").read_text()


def test_web_flag_runs_mitmweb(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    web_port = free_port()
    proxy = launch(
        two_apps(web, docs, proxy_port=free_port()),
        "--web",
        "--set",
        f"web_port={web_port}",
        "--set",
        "web_open_browser=false",
    )
    output = proxy.wait_for(f"Web server listening at http://127.0.0.1:{web_port}/")
    token = re.search(r"Web server listening at \S+\?token=(\w+)", output).group(1)
    assert proxy.get("/docs/in-mitmweb").json()["app"] == "docs"
    deadline = time.monotonic() + TIMEOUT
    while True:
        flows = json.loads(web_api(web_port, token, "/flows"))
        if flows and "response" in flows[0]:
            break
        assert time.monotonic() < deadline, flows
        time.sleep(0.1)
    assert [flow["comment"] for flow in flows] == ["docs: /docs/:path*"]


def assert_start_failure(proxy: ProxyProcess, *expected: str) -> str:
    returncode, output = proxy.wait_exit()
    assert returncode == 1, output
    assert "Traceback" not in output, output
    assert READY not in output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"
    return output


def test_bad_config_stops_start_up(launch):
    proxy = launch('{"applications": {"web": {}},}\n  oops', expect_ready=False)
    assert_start_failure(proxy, "mfe-proxy cannot start:", "microfrontends.json", "line 2, column 3")


def test_unknown_local_application_stops_start_up(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(
        two_apps(web, docs, proxy_port=free_port()), "--set", "mfe_local_apps=web,blog", expect_ready=False
    )
    assert_start_failure(proxy, "mfe-proxy cannot start:", "mfe_local_apps", "blog")


def test_busy_port_stops_start_up(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    with busy_port() as port:
        proxy = launch(two_apps(web, docs, proxy_port=port), expect_ready=False)
        assert_start_failure(proxy, f"127.0.0.1:{port}", "busy", "localProxyPort")


def test_options_include_the_addons(tmp_path):
    result = subprocess.run(
        [*LAUNCHER, "--options"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^mfe_config:", result.stdout, re.MULTILINE), result.stdout[-2000:]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_it_cleanly(launch, upstream, stop_signal):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()))
    assert proxy.get("/docs/a").status == 200
    returncode, output = proxy.stop(stop_signal)
    assert returncode == 0, output
    assert "Traceback" not in output, output
    assert re.search(r"docs: 1 requests?\b", output), output


# -- errors before anything listens ------------------------------------------------------------------


def test_misspelled_option_stops_start_up_with_a_suggestion(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(
        two_apps(web, docs, proxy_port=free_port()), "--set", "mfe_confg=x.json", expect_ready=False
    )
    output = assert_start_failure(proxy, "unknown option mfe_confg (did you mean mfe_config?)")
    assert "listening at" not in output


def test_bad_option_value_stops_start_up_before_anything_listens(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    port = free_port()
    proxy = launch(
        two_apps(web, docs, proxy_port=port), "--set", "mfe_ws_keep_messages=lots", expect_ready=False
    )
    output = assert_start_failure(proxy, "mfe_ws_keep_messages must be a whole number, not 'lots'")
    assert "listening at" not in output
    assert "mitmdump:" not in output  # mfe-proxy's message, not an argument error of mitmdump's


def test_busy_mitmweb_port_is_one_line(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    port = free_port()
    with busy_port() as web_port:
        proxy = launch(
            two_apps(web, docs, proxy_port=port),
            "--web",
            "--set",
            f"web_port={web_port}",
            "--set",
            "web_open_browser=false",
            expect_ready=False,
        )
        output = assert_start_failure(proxy, f"127.0.0.1:{web_port}", "busy", "--set web_port=")
    assert [line for line in output.splitlines() if line.strip()] == [
        f"mitmweb cannot listen on 127.0.0.1:{web_port}: the port is busy; pick another with --set web_port=N"
    ]
    with socket.socket() as probe:  # the proxy's own port was never taken
        probe.bind(("127.0.0.1", port))
