"""Helpers shared by the unit tests and the end-to-end tests: where the repository is, ports on
127.0.0.1, and microfrontends.json documents. The end-to-end harness (real proxy processes) is in
tests/e2e/harness.py and tests/e2e/conftest.py; the addons' test harness in tests/addons/harness.py."""

import contextlib
import json
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from mfe_proxy.config import parse_config
from mfe_proxy.errors import ConfigError
from mfe_proxy.model import Config

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon" / "mfe_router.py"
# Every valid config the suite has loaded so far, by its document (tests/conftest.py records them).
SUITE_CONFIGS: dict[str, Config] = {}

# -- ports -------------------------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now (also the way to get a port that refuses connections)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def busy_port(port: int = 0, backlog: int | None = None) -> Iterator[int]:
    """Hold `port` of 127.0.0.1 (0: one the OS hands out) busy for the block, listening with `backlog`
    (default: the socket module's): nothing else can listen there, and connections to it are completed
    by the kernel but never answered. Yields the port."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        if backlog is None:
            holder.listen()
        else:
            holder.listen(backlog)
        yield holder.getsockname()[1]


# -- configs -----------------------------------------------------------------------------------------


def local(server: object) -> str:
    """`development.local` of a dev server that listens on 127.0.0.1: anything with a `port` (a
    stand-in upstream, an application process), or the port itself."""
    return f"127.0.0.1:{getattr(server, 'port', server)}"


DOCS_AND_BELOW = ("/docs", "/docs/:path*")  # docs serving /docs itself too


def two_apps(
    web: object = None,
    docs: object = None,
    *,
    docs_paths: Sequence[str] = ("/docs/:path*",),
    proxy_port: int | None = None,
    **top: object,
) -> dict:
    """A config of two applications: `web`, the default, and `docs`, which serves `docs_paths`.

    Each of `web` and `docs` is the dev server it runs on (anything with a `port`, or a port: its
    `development.local`, see `local`), or the application's entry as written (a dict; `docs_paths`
    then plays no part), or None: no `development` (the generated port). `proxy_port` comes first, as
    `options.localProxyPort`; the other top-level keys (`options`, `version`, ...) are `top`."""

    def entry(app: object, routing: list | None) -> dict:
        if isinstance(app, dict):
            return app
        written: dict = {} if app is None else {"development": {"local": local(app)}}
        if routing is not None:
            written["routing"] = routing
        return written

    document: dict = {} if proxy_port is None else {"options": {"localProxyPort": proxy_port}}
    document["applications"] = {
        "web": entry(web, None),
        "docs": entry(docs, [{"paths": list(docs_paths)}]),
    }
    return {**document, **top}


def with_local(local: object, name: str = "docs") -> dict:
    """A config whose child application `name` has `local` as its `development.local`."""
    return {
        "applications": {"web": {}, name: {"development": {"local": local}, "routing": [{"paths": ["/x"]}]}}
    }


def load(document: object | str, file: str = "microfrontends.json") -> Config:
    """Parse and validate `document` (written as JSON; a str as it is) as the config file `file`."""
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_config(text.encode(), file)


def error_of(document: object | str, file: str = "microfrontends.json") -> ConfigError:
    """The `ConfigError` that loading `document` (as `load`) raises."""
    with pytest.raises(ConfigError) as caught:
        load(document, file)
    return caught.value
