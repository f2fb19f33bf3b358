"""The launcher (scripts/mfe-proxy) as a real process: it routes, it listens on 127.0.0.1 from the first
moment (mitmproxy's default listener never binds), the user's arguments win, start-up errors end it
with a message and status 1, signals end it cleanly, and it runs on uvloop."""

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from e2e.harness import READY, START_TIMEOUT, ProxyProcess, spawn_proxy, web_api
from e2e.ws_upstream import WsUpstream
from helpers import ROOT, busy_port, free_port, local, two_apps

LAUNCHER = ROOT / "addon" / "mfe_launcher.py"
WRAPPER = ROOT / "scripts" / "mfe-proxy"
TIMEOUT = 10
MITMPROXY_DEFAULT_PORT = 8080


@pytest.fixture
def launch(tmp_path: Path, mitmproxy_confdir: Path) -> Iterator:
    """`launch(config, *args, port=None, expect_ready=True, command=None) -> ProxyProcess`: the launcher
    as `python -O addon/mfe_launcher.py` (what scripts/mfe-proxy runs), with `config` (a dict written
    as JSON, or a str written as it is) as mfe_config. `port` is where it is expected to listen
    (default: the config's localProxyPort)."""
    started: list[ProxyProcess] = []

    def start(
        config: dict | str,
        *args: str,
        port: int | None = None,
        expect_ready: bool = True,
        command: list[str] | None = None,
    ) -> ProxyProcess:
        directory = tmp_path / f"launch{len(started)}"
        directory.mkdir()
        config_file = directory / "microfrontends.json"
        config_file.write_text(config if isinstance(config, str) else json.dumps(config))
        if port is None and isinstance(config, dict):
            port = config.get("options", {}).get("localProxyPort")
        argv = [
            *(command or [sys.executable, "-O", str(LAUNCHER)]),
            "--set",
            f"confdir={mitmproxy_confdir}",
            "--set",
            f"mfe_config={config_file}",
            *args,
        ]
        proxy = spawn_proxy(argv, directory, directory / "output.log", port or 0)
        started.append(proxy)
        if expect_ready:
            proxy.wait_for(READY, START_TIMEOUT)
        return proxy

    yield start
    for proxy in started:
        proxy.terminate()


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


def test_no_line_per_request_unless_asked_for(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    quiet = launch(two_apps(web, docs, proxy_port=free_port()))
    talkative = launch(two_apps(web, docs, proxy_port=free_port()), "--set", "flow_detail=1")
    for proxy in (quiet, talkative):
        assert proxy.get("/docs/one-request").status == 200
    talkative.wait_for("/docs/one-request", TIMEOUT)
    assert "/docs/one-request" not in quiet.output()


def test_the_wrapper_runs_the_launcher(launch, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = launch(two_apps(web, docs, proxy_port=free_port()), command=[str(WRAPPER)])
    assert proxy.get("/docs/x").json()["app"] == "docs"
    assert Path(f"/proc/{proxy.pid}/cmdline").read_bytes().split(b"\0")[1:3] == [
        b"-O",
        str(LAUNCHER).encode(),
    ]


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
        [sys.executable, "-O", str(LAUNCHER), "--options"],
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
