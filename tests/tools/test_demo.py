"""The demo dev server, `demo run` and `scripts/smoke`, run for real on ports of 127.0.0.1 the OS hands
out. Every process started here is stopped by its PID in teardown."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from helpers import ROOT, busy_port, free_port, load
from mfe_tools.demo import app_ready_line, base_path
from mfe_tools.processes import Child, pythonpath_env


def get(port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mfe_tools.demo", *args]


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.stop()


@pytest.fixture
def docs_app(children: list[Child]) -> tuple[int, Child]:
    port = free_port()
    command = demo_command("app", "--name", "docs", "--port", str(port), "--base", "/docs")
    command += ["--tick-seconds", "0.2", "--link", "web=", "--link", "docs=/docs"]
    child = Child("docs", command, env=pythonpath_env())
    children.append(child)
    child.wait_for(app_ready_line("docs"), 10)
    return port, child


def test_base_path_is_the_static_prefix_of_the_first_pattern():
    config = load(
        {
            "applications": {
                "web": {},
                "docs": {"routing": [{"paths": ["/docs/:path*", "/help"]}]},
                "api": {"routing": [{"paths": ["/api/v1/:path+"]}]},
                "lang": {"routing": [{"paths": ["/:lang(en|fr)/blog"]}]},
            }
        }
    )
    bases = {name: base_path(app) for name, app in config.applications.items()}
    assert bases == {"web": "", "docs": "/docs", "api": "/api/v1", "lang": ""}


def test_page_names_the_app_and_the_path(docs_app):
    port, _ = docs_app
    status, content_type, body = get(port, "/docs/a/<b>?q=1", {"x-forwarded-host": "localhost:3024"})
    assert status == 200
    assert content_type == "text/html; charset=utf-8"
    assert '<meta name="mfe-demo-app" content="docs">' in body
    assert "<code>/docs/a/&lt;b&gt;?q=1</code>" in body
    assert "<td>localhost:3024</td>" in body
    assert 'const HMR_PATH = "/docs/_hmr";' in body
    assert '<a href="/">web</a> <a href="/docs">docs</a>' in body


def test_websocket_ticks_and_echoes(docs_app):
    port, _ = docs_app
    with connect(f"ws://127.0.0.1:{port}/docs/_hmr", proxy=None, open_timeout=5) as websocket:
        assert json.loads(websocket.recv(timeout=5)) == {"app": "docs", "type": "tick", "n": 1}
        websocket.send("hello")
        websocket.send(b"\x00\xff")
        expected = {"hello", b"\x00\xff", '{"app":"docs","type":"tick","n":2}'}
        received = []
        # Ticks keep coming while the echoes travel; collect until all three were seen.
        while not expected <= set(received):
            received.append(websocket.recv(timeout=5))
    assert received.index("hello") < received.index(b"\x00\xff")


def test_websocket_only_at_the_hmr_path(docs_app):
    port, _ = docs_app
    with pytest.raises(InvalidStatus) as raised:
        connect(f"ws://127.0.0.1:{port}/docs/other", proxy=None, open_timeout=5)
    assert raised.value.response.status_code == 404


def test_app_stops_on_sigint(docs_app):
    port, child = docs_app
    assert child.stop() == 0
    assert refuses_connections(port)


def test_app_on_a_busy_port_says_which(docs_app):
    port, _ = docs_app
    result = subprocess.run(
        demo_command("app", "--name", "blog", "--port", str(port)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **pythonpath_env()},
    )
    assert result.returncode == 1
    assert result.stderr == f"demo app blog: port {port} is busy (127.0.0.1:{port} is already in use)\n"


def three_apps(tmp_path: Path) -> tuple[Path, dict[str, int], int]:
    """A config like configs/three-apps.jsonc on free ports: the file, the apps' ports, the proxy port."""
    ports = {name: free_port() for name in ("web", "docs", "api")}
    proxy_port = free_port()
    config = {
        "applications": {
            "web": {"development": {"local": f"127.0.0.1:{ports['web']}"}},
            "docs": {
                "development": {"local": f"127.0.0.1:{ports['docs']}"},
                "routing": [{"paths": ["/docs", "/docs/:path*"]}],
            },
            "api": {
                "development": {"local": f"127.0.0.1:{ports['api']}"},
                "routing": [{"paths": ["/api/:path*"]}],
            },
        },
        "options": {"localProxyPort": proxy_port},
    }
    config_file = tmp_path / "microfrontends.json"
    config_file.write_text(json.dumps(config))
    return config_file, ports, proxy_port


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        demo_command("run", *args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **pythonpath_env(), "HOME": str(tmp_path)},
    )


def test_run_refuses_a_busy_port_before_starting_anything(tmp_path):
    config_file, ports, _ = three_apps(tmp_path)
    with busy_port(ports["docs"]):
        result = run_demo(tmp_path, "--config", str(config_file))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"demo: application docs (http://127.0.0.1:{ports['docs']}): port ")
    assert f"port {ports['docs']} is busy" in result.stderr
    assert all(refuses_connections(port) for name, port in ports.items() if name != "docs")


def test_run_reports_a_config_error_in_one_line(tmp_path):
    config_file = tmp_path / "microfrontends.json"
    config_file.write_text('{"applications": {"web": {"development": {"local": "http://x/path"}}}}')
    result = run_demo(tmp_path, "--config", str(config_file))
    assert result.returncode == 1
    assert result.stderr.startswith(f"demo: {config_file}: applications.web.development.local")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_scripts_demo_serves_through_the_launcher_and_stops_on_ctrl_c(tmp_path, children):
    """From the config's folder, with a relative --config and a --port of its own: the proxy is the
    launcher (one line per request, no forward proxy on *:8080)."""
    config_file, ports, configured_port = three_apps(tmp_path)
    proxy_port = free_port()
    demo = Child(
        "scripts/demo",
        [str(ROOT / "scripts" / "demo"), "--config", config_file.name, "--port", str(proxy_port)],
        cwd=tmp_path,
        env={"HOME": str(tmp_path)},
    )
    children.append(demo)
    output = demo.wait_for("Press Ctrl-C to stop.", 60)
    assert f"mfe-proxy demo: open http://localhost:{proxy_port}/" in output
    assert f"  docs  http://localhost:{proxy_port}/docs  (/docs, /docs/:path*)" in output

    status, _, body = get(proxy_port, "/docs/intro")
    assert status == 200
    assert '<meta name="mfe-demo-app" content="docs">' in body
    assert re.search(r"GET /docs/intro -> docs 200 in \d+ ms", demo.wait_for("GET /docs/intro -> ", 10))
    assert "listening at *:" not in demo.output()
    assert refuses_connections(configured_port)

    assert demo.stop(grace=20) == 0, demo.output()
    assert any(line.endswith("mfe-proxy summary:") for line in demo.output().splitlines())
    assert all(refuses_connections(port) for port in [*ports.values(), proxy_port])


@pytest.mark.timeout(120)
def test_scripts_smoke_passes():
    smoke = subprocess.Popen(
        [str(ROOT / "scripts" / "smoke")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = smoke.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the smoke run stop what it started; SIGKILL only if it does not.
        smoke.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = smoke.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            smoke.kill()
            stdout, stderr = smoke.communicate()
        pytest.fail(f"scripts/smoke ran over 100 s:\n{stdout}\n{stderr}")
    lines = stdout.splitlines()
    assert smoke.returncode == 0, f"{stdout}\n{stderr}"
    assert re.fullmatch(r"\d+ passed, 0 failed", lines[-1]), stdout
    assert all(line.startswith("PASS ") for line in lines[:-1]), stdout
