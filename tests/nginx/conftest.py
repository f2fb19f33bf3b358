"""Fixtures of the nginx export tests: a config served by a real nginx in front of stand-in dev servers."""

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from e2e.upstream import Upstream
from helpers import free_port, load
from mfe_proxy.model import Config, Origin
from mfe_proxy.nginx.export import render
from nginx.harness import Nginx, nginx_binary


def compiled(source: str) -> re.Pattern[str]:
    """The regex the config loader compiles path pattern `source` to."""
    config = load({"applications": {"web": {}, "x": {"routing": [{"paths": [source]}]}}})
    return config.applications["x"].routes[0].paths[0].regex


@dataclass
class Served:
    """nginx serving `config` on `port`, each application at its stand-in in `upstreams`."""

    config: Config
    nginx: Nginx
    upstreams: dict[str, Upstream]
    conf: str

    @property
    def port(self) -> int:
        return self.nginx.port


type Serve = Callable[..., Served]


@pytest.fixture(scope="session", autouse=True)
def _nginx_installed() -> None:
    """Every test here needs nginx: without it each fails saying what to install."""
    nginx_binary()


@contextlib.contextmanager
def serving(document: dict, down: tuple[str, ...] = (), **options: object) -> Iterator[Served]:
    """Serve `document` through nginx, with a stand-in dev server for every application except those in
    `down` (their upstream is a port nothing listens on); `options` go to `render`."""
    config = load(document)
    upstreams: dict[str, Upstream] = {}
    nginx = None
    try:
        origins: dict[str, Origin | str] = {}
        for name in config.applications:
            if name in down:
                origins[name] = Origin("http", "127.0.0.1", free_port())
            else:
                upstreams[name] = Upstream(name)
                origins[name] = Origin("http", "127.0.0.1", upstreams[name].port)
        overrides = options.pop("upstreams", {})
        assert isinstance(overrides, dict)
        port = free_port()
        conf = render(
            config, listen=("127.0.0.1", port), upstreams={**origins, **overrides}, standalone=True, **options
        )
        nginx = Nginx(conf, port)
        yield Served(config, nginx, upstreams, conf)
    finally:
        if nginx is not None:
            nginx.stop()
        for upstream in upstreams.values():
            upstream.stop()


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(document, down=(), **render_options) -> Served`, stopped at the end of the test."""
    with contextlib.ExitStack() as stack:
        yield lambda document, down=(), **options: stack.enter_context(serving(document, down, **options))
