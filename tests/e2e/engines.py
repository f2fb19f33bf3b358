"""The engines the shared end-to-end tests run against, with the same expectations: `mitmproxy`, the
addon in mitmdump (as `start_proxy` starts it), and `nginx`, a real nginx serving the configuration
`mfe-proxy export nginx` writes for the same config. Where nginx cannot do what the proxy does, the
test says so in a branch that names the row of `DIFFERENCES` it relies on (`documented`)."""

import os
from pathlib import Path

import pytest

from e2e.harness import Endpoint
from helpers import free_port
from mfe_proxy import startup
from mfe_proxy.nginx.differences import DIFFERENCES, Difference
from mfe_proxy.nginx.export import render
from nginx.harness import Nginx

ENGINES = ("mitmproxy", "nginx")
# On a test of what only the addon has (its log lines, summary, options) that uses `serve`, or a fixture
# built on it: the test then runs against the addon alone.
MITMPROXY_ONLY = pytest.mark.parametrize("engine", ["mitmproxy"])


class NginxEngine(Endpoint):
    """nginx serving the export of `config_file` on a port the OS hands out, until `terminate()`. The
    file is read as the proxy and `mfe-proxy export nginx` read it: the same checks, .env files of its
    folder and environment variables; every application is served at its `development.local`."""

    def __init__(self, config_file: Path) -> None:
        setup = startup.load(str(config_file), "", config_file.parent, os.environ)
        port = free_port()
        super().__init__(port)
        self.conf = render(setup.config, listen=("127.0.0.1", port), standalone=True)
        self.nginx = Nginx(self.conf, port)
        self.pid = self.nginx.pid

    def log(self) -> str:
        return self.nginx.log()

    def terminate(self) -> None:
        """Teardown: stops the master by its PID (and its workers with it)."""
        self.nginx.stop()


def documented(behaviour: str) -> Difference:
    """The row of DIFFERENCES whose behaviour starts with `behaviour`. A shared test expects something
    else of nginx only where a row says so: once the row is gone, the test fails here."""
    rows = [row for row in DIFFERENCES if row.behaviour.startswith(behaviour)]
    assert len(rows) == 1, f"DIFFERENCES has {len(rows)} rows about {behaviour!r}"
    return rows[0]
