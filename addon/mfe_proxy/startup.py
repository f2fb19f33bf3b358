"""Turning a config into a running proxy: the config as served (`Setup`: the applications run locally,
the environment applied, the router), the mitmproxy options it implies, and the banner printed once
the proxy listens. Pure: option values in, decisions out."""

import dataclasses
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfe_proxy.config import load_config
from mfe_proxy.environment import Environment
from mfe_proxy.errors import MfeError
from mfe_proxy.model import Application, Config, Origin
from mfe_proxy.router import Router

LOOPBACK = "127.0.0.1"
# Bodies up to this size are buffered whole (and so inspectable in mitmweb); larger ones stream.
STREAM_LARGE_BODIES = "1m"


def own_options(config: Config, port: int, changed: Callable[[str], bool]) -> dict[str, Any]:
    """The mitmproxy options that make it this config's development proxy on `port`, leaving out
    every option the user set (`changed(name)`): the user wins."""
    wanted: dict[str, Any] = {
        "mode": [f"reverse:{config.default_application.upstream.url}"],
        "listen_host": LOOPBACK,
        "listen_port": port,
        # Eager connections open the reverse target at once, so a down default application would
        # break every client connection.
        "connection_strategy": "lazy",
        # Applications build absolute URLs, redirects and cookies from the browser's Host.
        "keep_host_header": True,
        "stream_large_bodies": STREAM_LARGE_BODIES,
    }
    return {name: value for name, value in wanted.items() if not changed(name)}


@dataclass(frozen=True, slots=True)
class Setup:
    """A config as the proxy serves it: the applications run locally, the environment applied, and the
    router built. Replaced whole, never changed, so that a request sees one config from start to end."""

    config: Config
    local: frozenset[str] | None  # None: every application is local
    environment: Environment
    router: Router
    # Per application, the protection bypass secret for its fallback: (secret, the variable holding it).
    bypass: Mapping[str, tuple[str, str]]

    @property
    def proxy_port(self) -> int:
        return self.environment.proxy_port(self.config.proxy_port)

    def is_local(self, app: Application) -> bool:
        return self.local is None or app.name in self.local

    def targets(self) -> dict[str, Origin]:
        """Where each application is served from when it is up (the routing endpoint's table)."""
        return {
            name: app.upstream if self.is_local(app) else (app.fallback or app.upstream)
            for name, app in self.config.applications.items()
        }


def load(config_option: str, local_option: str, directory: Path, process: Mapping[str, str]) -> Setup:
    """The config named by `mfe_config` (or found in `directory`), `mfe_local_apps` and the environment
    variables Vercel's proxy honours, read from `process` and the .env files of `directory`."""
    config = load_config(Path(config_option) if config_option else None, directory)
    local = local_applications(local_option, config)
    environment = Environment.read(directory, process)
    config = with_app_port(config, environment, local)
    default = config.default_application.name
    bypass = {
        name: secret
        for name, app in config.applications.items()
        if (secret := environment.bypass_secret(default if app.inherits_fallback else name))
    }
    return Setup(config, local, environment, Router(config, local), bypass)


def with_app_port(config: Config, environment: Environment, local: frozenset[str] | None) -> Config:
    """`config` with every application at http://localhost:<MFE_APP_PORT>, when that is set (Vercel
    refuses it beside several local applications), else unchanged."""
    port = environment.app_port(len(config.applications) if local is None else len(local))
    if port is None:
        return config
    upstream = Origin("http", "localhost", port)
    applications = {
        name: dataclasses.replace(app, upstream=upstream) for name, app in config.applications.items()
    }
    default = applications[config.default_application.name]
    return dataclasses.replace(config, applications=applications, default_application=default)


def busy_address(host: str, port: int) -> bool:
    """Whether something else listens on (or holds) `host:port` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def busy_port_message(host: str, port: int, config: Config) -> str:
    return (
        f"mfe-proxy cannot listen on {host}:{port}: the port is busy (another proxy?). Stop what uses it, "
        f"or pick another port with options.localProxyPort in {config.file} or --set listen_port=N."
    )


def local_applications(value: str, config: Config) -> frozenset[str] | None:
    """The applications named by the mfe_local_apps option; None when it is empty (all are local)."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        return None
    unknown = [name for name in names if name not in config.applications]
    if unknown:
        raise MfeError(
            f"mfe_local_apps names {', '.join(unknown)}, not in {config.file} "
            f"(its applications: {', '.join(config.applications)})"
        )
    return frozenset(names)


def proxy_url(listen_addresses: list[tuple[str, int]]) -> str:
    """The URL to open in a browser for the first address the proxy listens on."""
    host, port = listen_addresses[0][:2]
    if host in ("", "0.0.0.0", "::", LOOPBACK, "::1"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(
    config: Config,
    listen_addresses: list[tuple[str, int]],
    local: frozenset[str] | None,
    reachable: Mapping[str, bool],
) -> str:
    """What start-up prints: the proxy URL, then a line per application with where it is served
    from, its paths, its fallback and whether it answers right now."""
    listening = ", ".join(
        f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}" for host, port, *_ in listen_addresses
    )
    rows = []
    for app in config.applications.values():
        paths = ", ".join(p.source for route in app.routes for p in route.paths)
        paths = paths or ("default" if app.is_default else "no paths")
        fallback = app.fallback.url if app.fallback else "no fallback"
        if local is not None and app.name not in local:
            state = "remote"
        else:
            state = "up" if reachable.get(app.name) else "down"
        rows.append((app.name, app.upstream.url, paths, fallback, state))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"mfe-proxy serving {proxy_url(listen_addresses)} (listening on {listening}) for {config.file}",
        *(
            "  "
            + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
            for row in rows
        ),
    ]
    return "\n".join(lines)
