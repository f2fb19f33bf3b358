"""The one home of mitmproxy's internals: its self-check finds nothing changed in the tested mitmproxy,
names what changed when something did, and stops the proxy then, at load and through a real mitmdump."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy import version
from mitmproxy.proxy import server
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.proxy.layers.http import _http1 as http1_layer
from mitmproxy.test import taddons

from helpers import ADDON
from mfe_proxy import mitmproxy_internals
from mfe_proxy.addons.lifecycle import Lifecycle
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.addons.websockets import WebSockets
from mfe_proxy.mitmproxy_internals import InternalsChanged, problems, require


def test_nothing_changed_in_the_tested_mitmproxy():
    assert version.VERSION.startswith(mitmproxy_internals.TESTED + ".")
    assert problems() == []
    require()


class _Elsewhere:
    """Stands in for a class of mitmproxy's whose code no longer does what mfe-proxy relies on."""

    def send(self) -> None:
        """Writes request heads some other way."""


@pytest.mark.parametrize(
    ("module", "name", "replacement", "described"),
    [
        (websocket_layer, "WebsocketLayer", _Elsewhere, "builds messages with its module's Fragmentizer"),
        (http1_layer, "Http1Client", _Elsewhere, "written with http1.assemble_request_head"),
        (server, "TimeoutWatchdog", _Elsewhere, "`timeout_watchdog` with `disarm()`"),
        (websocket_layer, "Fragmentizer", _Elsewhere, "an injected close frame becomes a WebSocket close"),
    ],
)
def test_a_change_is_named_with_the_mitmproxy_version(monkeypatch, module, name, replacement, described):
    monkeypatch.setattr(module, name, replacement)
    if name == "Fragmentizer":
        monkeypatch.setattr(mitmproxy_internals.websockets, "_ClosingFragmentizer", _Elsewhere)
    changed = problems()
    assert any(described in problem for problem in changed), changed
    with pytest.raises(InternalsChanged) as raised:
        require()
    message = str(raised.value)
    assert f"mitmproxy {version.VERSION} changed" in message
    assert described in message
    assert mitmproxy_internals.PIN in message


def test_the_proxy_does_not_start_when_something_changed(monkeypatch, caplog):
    mitmproxy_internals.uninstall()  # whatever an earlier test's addons left installed
    monkeypatch.setattr(server, "TimeoutWatchdog", _Elsewhere)
    runtime = Runtime()

    async def main() -> None:
        with taddons.context(Lifecycle(runtime, WebSockets(runtime))):
            pass

    asyncio.run(main())
    assert "mfe-proxy cannot start: mfe-proxy was tested with mitmproxy" in caplog.text
    # Nothing of mitmproxy was changed on the strength of a check that failed.
    assert websocket_layer.Fragmentizer is mitmproxy_internals.websockets._ORIGINAL_FRAGMENTIZER


def test_a_real_mitmdump_with_a_changed_mitmproxy_stops_saying_what_changed(tmp_path, mitmproxy_confdir):
    # A mitmproxy whose connection handlers no longer have a disarmable watchdog, made so before the
    # addon loads (a sitecustomize runs at interpreter start).
    (tmp_path / "sitecustomize.py").write_text(
        "from mitmproxy.proxy import server\nserver.TimeoutWatchdog.disarm = None\n"
    )
    config = tmp_path / "microfrontends.json"
    config.write_text(json.dumps({"applications": {"web": {"development": {"local": 3000}}}}))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("mitmdump")),
            *("-s", str(ADDON), "--set", f"confdir={mitmproxy_confdir}", "--set", f"mfe_config={config}"),
            *("--set", "listen_port=0"),
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"mitmproxy {version.VERSION} changed what it relies on" in output
    assert "`timeout_watchdog` with `disarm()`" in output
    assert "Traceback" not in output
