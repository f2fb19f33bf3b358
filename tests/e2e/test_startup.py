"""Starting and stopping the real proxy: the banner, options, start-up errors, the port it listens on
and the summary it prints on exit."""

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e.harness import READY, spawn_proxy
from helpers import ADDON, busy_port, free_port, local

# mitmdump's log lines start with a time stamp; the banner's continuation lines do not.
TIMESTAMP = re.compile(r"^\[[\d:.]+\](?:\[[^\]]*\])? ?")
SUMMARY_LINE = re.compile(
    r"^\s+(\S+): (\d+) requests, (\d+) WebSocket connections; "
    r"client->app (\d+) messages (\d+) B, app->client (\d+) messages (\d+) B$"
)


def banner_rows(output: str) -> dict[str, list[str]]:
    """The application lines that follow the readiness line, split into columns by application name."""
    lines = [TIMESTAMP.sub("", line) for line in output.splitlines()]
    start = next(index for index, line in enumerate(lines) if line.startswith(READY))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def assert_clean_failure(process, *expected: str) -> str:
    returncode, output = process.wait_exit()
    assert returncode != 0, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"
    assert READY not in output
    return output


def test_banner_lists_every_application(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    api_port, docs_fallback = free_port(), free_port()
    proxy = start_proxy(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {
                    "development": {"local": local(docs), "fallback": f"http://127.0.0.1:{docs_fallback}"},
                    "routing": [{"paths": ["/docs", "/docs/:path*"]}, {"flag": "x", "paths": ["/beta"]}],
                },
                "api": {"development": {"local": api_port}, "routing": [{"paths": ["/api/:path*"]}]},
            }
        }
    )
    output = proxy.output()
    assert f"{READY} http://localhost:{proxy.port}" in output
    rows = banner_rows(output)
    assert list(rows) == ["web", "docs", "api"]
    web_row, docs_row, api_row = rows["web"], rows["docs"], rows["api"]
    assert web_row == ["web", web.url, "default", "no fallback", "up"]
    assert docs_row[:2] == ["docs", docs.url]
    assert {"/docs", "/docs/:path*", "/beta"} <= set(re.split(r"[,\s]+", docs_row[2]))
    assert docs_row[3:] == [f"http://127.0.0.1:{docs_fallback}", "up"]
    assert api_row == ["api", f"http://localhost:{api_port}", "/api/:path*", "no fallback", "down"]


def test_banner_marks_applications_that_are_not_local(start_proxy, upstream):
    web, docs = upstream("web"), upstream("docs")
    proxy = start_proxy(
        {
            "applications": {
                "web": {"development": {"local": local(web), "fallback": "http://127.0.0.1:1"}},
                "docs": {"development": {"local": local(docs)}, "routing": [{"paths": ["/docs"]}]},
            }
        },
        "--set",
        "mfe_local_apps=web",
    )
    rows = banner_rows(proxy.output())
    assert rows["web"][-1] == "up"
    assert rows["docs"][-1] == "remote"


def test_options_are_listed():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mitmdump"), "-s", str(ADDON), "--options"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    options = dict(re.findall(r"^(mfe_\w+):\s*(.*)$", result.stdout, re.MULTILINE))
    # Numbers are declared as text and parsed by the addons, as mitmproxy's own addons do.
    assert options == {
        "mfe_allowed_hosts": "''",
        "mfe_config": "''",
        "mfe_keep_flows": "'5000'",
        "mfe_local_apps": "''",
        "mfe_request_log": "true",
        "mfe_ws_idle_timeout": "'0'",
        "mfe_ws_keep_messages": "'100'",
        "mfe_ws_max_connections": "'1000'",
    }


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {
                "applications": {
                    "web": {"development": {"local": 3000}},
                    "docs": {"routing": [{"paths": ["/docs", "/docs/"]}]},
                }
            },
            "applications.docs.routing[0].paths[1]",
        ),
        (
            {"applications": {"web": {"development": {"localPort": 3000}}}},
            "applications.web.development.localPort",
        ),
        ('{"applications": {"web": {}},}\n  oops', "line 2, column 3"),
    ],
)
def test_config_error(start_proxy, config, field):
    proxy = start_proxy(config, config_name="site-config.json", expect_ready=False)
    assert_clean_failure(proxy, "site-config.json", field)


def test_missing_config_file(start_proxy, tmp_path):
    missing = tmp_path / "nowhere" / "mfe.json"
    proxy = start_proxy(None, "--set", f"mfe_config={missing}", expect_ready=False)
    assert_clean_failure(proxy, str(missing))


def test_no_config_in_the_working_directory(start_proxy, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proxy = start_proxy(None, cwd=empty, expect_ready=False)
    assert_clean_failure(proxy, "microfrontends.json", "mfe_config")


def test_config_found_in_the_working_directory(start_proxy, upstream, tmp_path):
    web = upstream("web")
    site = tmp_path / "site"
    site.mkdir()
    document = json.dumps({"applications": {"web": {"development": {"local": local(web)}}}})
    # A comment and a trailing comma: JSONC, as the .jsonc name says.
    (site / "microfrontends.jsonc").write_text("// found without mfe_config\n" + document[:-1] + ",}\n")
    proxy = start_proxy(None, cwd=site)
    assert proxy.get("/x").json()["app"] == "web"


def test_misspelled_option_stops_start_up_with_a_suggestion(start_proxy, upstream):
    web = upstream("web")
    document = {"applications": {"web": {"development": {"local": local(web)}}}}
    proxy = start_proxy(document, "--set", "mfe_confg=other.json", expect_ready=False)
    assert_clean_failure(proxy, "unknown option mfe_confg (did you mean mfe_config?)")


@pytest.mark.parametrize("given_by", ["listen_port", "localProxyPort"])
def test_busy_port(start_proxy, upstream, given_by):
    web = upstream("web")
    with busy_port() as port:
        document: dict = {"applications": {"web": {"development": {"local": local(web)}}}}
        if given_by == "listen_port":
            proxy = start_proxy(document, "--set", f"listen_port={port}", expect_ready=False)
        else:
            document["options"] = {"localProxyPort": port}
            proxy = start_proxy(document, expect_ready=False)
        assert_clean_failure(proxy, str(port), "busy")


def test_explicit_listen_port_wins_over_the_config(start_proxy, upstream):
    web = upstream("web")
    configured, explicit = free_port(), free_port()
    proxy = start_proxy(
        {
            "applications": {"web": {"development": {"local": local(web)}}},
            "options": {"localProxyPort": configured},
        },
        "--set",
        f"listen_port={explicit}",
    )
    assert proxy.port == explicit
    assert f"{READY} http://localhost:{explicit}" in proxy.output()
    assert proxy.get("/").json()["app"] == "web"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", configured), 2):
        pass


def test_listens_on_the_configured_port(start_proxy, upstream):
    web = upstream("web")
    port = free_port()
    proxy = start_proxy(
        {"applications": {"web": {"development": {"local": local(web)}}}, "options": {"localProxyPort": port}}
    )
    assert proxy.port == port
    assert f"{READY} http://localhost:{port}" in proxy.output()
    assert proxy.get("/").json()["app"] == "web"


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every listening TCP socket on `port`, from the kernel's tables."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local_address, state = line.split()[1], line.split()[3]
            address, _, hex_port = local_address.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_listens_on_loopback_only(start_proxy, upstream):
    web = upstream("web")
    proxy = start_proxy({"applications": {"web": {"development": {"local": local(web)}}}})
    # 127.0.0.1 in the table's byte order; no IPv6 or wildcard listener.
    assert listening_addresses(proxy.port) == {"0100007F"}


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_summary_on_exit(start_proxy, upstream, stop_signal):
    web, docs = upstream("web"), upstream("docs")
    proxy = start_proxy(
        {
            "applications": {
                "web": {"development": {"local": local(web)}},
                "docs": {"development": {"local": local(docs)}, "routing": [{"paths": ["/docs/:path*"]}]},
                "api": {"development": {"local": free_port()}, "routing": [{"paths": ["/api/:path*"]}]},
            }
        }
    )
    for target in ["/", "/a", "/b", "/docs/x", "/docs/y"]:
        proxy.get(target)
    returncode, output = proxy.stop(stop_signal)
    assert returncode == 0, output
    lines = [TIMESTAMP.sub("", line) for line in output.splitlines()]
    start = lines.index("mfe-proxy summary:")
    counts = {}
    for line in lines[start + 1 : start + 4]:
        found = SUMMARY_LINE.match(line)
        assert found, line
        counts[found.group(1)] = (int(found.group(2)), int(found.group(3)))
    assert counts == {"web": (3, 0), "docs": (2, 0), "api": (0, 0)}


ROUTING_ENDPOINT = "/.well-known/vercel/microfrontends/routing"


def poll_until_routed(port: int, settle: float, deadline: float) -> list[str]:
    """What a CI script polling the routing endpoint sees, attempt by attempt ("refused", "reset" or
    the status), from now until `settle` seconds after its first 200."""
    seen: list[str] = []
    routed_at = None
    while time.monotonic() < (deadline if routed_at is None else routed_at + settle):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", ROUTING_ENDPOINT, headers={"Host": f"localhost:{port}"})
            status = connection.getresponse().status
            seen.append(str(status))
            if status == 200 and routed_at is None:
                routed_at = time.monotonic()
        except ConnectionRefusedError:
            seen.append("refused")
        except (ConnectionError, http.client.HTTPException, TimeoutError) as error:
            seen.append(type(error).__name__)
        finally:
            connection.close()
        time.sleep(0.005)
    return seen


def test_a_script_polling_the_routing_endpoint_is_never_refused_once_it_saw_200(
    tmp_path, upstream, mitmproxy_confdir
):
    # The plain form binds mitmproxy's own listener on the port first (mitmproxy starts its servers
    # while the script loads), then the addon's: readiness is the routing endpoint's 200, not an open port.
    web = upstream("web")
    port = free_port()
    config = tmp_path / "microfrontends.json"
    config.write_text(json.dumps({"applications": {"web": {"development": {"local": local(web)}}}}))
    command = [
        str(Path(sys.executable).with_name("mitmdump")),
        "-s",
        str(ADDON),
        "--set",
        f"confdir={mitmproxy_confdir}",
        "--set",
        f"mfe_config={config}",
        "--set",
        f"listen_port={port}",
    ]
    for attempt in range(3):
        proxy = spawn_proxy(command, tmp_path, tmp_path / f"output{attempt}.log", port)
        try:
            seen = poll_until_routed(port, settle=1.5, deadline=time.monotonic() + 20)
            proxy.wait_for(READY)
        finally:
            proxy.terminate()
        assert "200" in seen, seen
        after = seen[seen.index("200") :]
        assert set(after) == {"200"}, after
        assert len(after) > 20, after
