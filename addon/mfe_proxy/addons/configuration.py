"""The config the proxy serves: read when mitmproxy runs (a bad one stops start-up), the options it
implies set, the banner printed once the proxy's own listener is up, and the file watched: a change
applies whole to new requests, or not at all."""

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from mfe_proxy import mitmproxy_internals, startup
from mfe_proxy.addons import options
from mfe_proxy.addons.runtime import Runtime
from mfe_proxy.errors import MfeError
from mfe_proxy.startup import Setup

logger = logging.getLogger("mfe-proxy")

# How often the config file is looked at. A change is applied once the file has stayed the same for
# one more tick, so that a half-written file is not read.
TICK = 0.25

type Stamp = tuple[int, int, int]


class Configuration:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # The options the launcher set before start-up: its own, as those set at `running` are.
        self.own_options: Mapping[str, Any] = {}
        self._own_port: int | None = None  # the port the proxy chose (None: the user's)
        self._forgiving = contextlib.ExitStack()
        self._stamp: Stamp | None = None  # the config file's, when last read
        self._changed: Stamp | None = None  # a new stamp seen, to apply next tick
        # Held so that the tasks are not collected: the event loop keeps tasks weakly.
        self._tasks: list[asyncio.Task[None]] = []

    OPTIONS = (
        options.Option(
            "mfe_config",
            "",
            "The microfrontends config file (microfrontends.json, .jsonc, .yaml). "
            "Default: the first of those in the working directory.",
        ),
        options.Option(
            "mfe_local_apps",
            "",
            "Comma-separated applications that run locally; the others go to their fallback. "
            "Default: all are local.",
        ),
    )

    def load(self, loader: Loader) -> None:
        options.declare(loader, self.OPTIONS)
        self._forgiving.enter_context(
            mitmproxy_internals.forgive_default_listener(
                lambda: logger.info(
                    "mitmproxy's default listener could not start; mfe-proxy does not need it"
                )
            )
        )

    def configure(self, updated: set[str]) -> None:
        if "mode" in updated and ctx.options.has_changed("mode") and not self.runtime.running:
            # A mode the user or the launcher chose: its listener is the one that stays.
            self._forgiving.close()
        if self.runtime.running and updated & {"mfe_config", "mfe_local_apps"}:
            try:
                self._use(self._load())
            except MfeError as error:
                raise exceptions.OptionsError(str(error)) from None

    def running(self) -> None:
        # mitmproxy keeps options no addon declares aside without a word: a typo would go unnoticed.
        names = ctx.options.keys()  # an OptManager is no mapping one can iterate over
        typo = options.unknown(ctx.options.deferred, (name for name in names if name.startswith("mfe_")))
        if typo is not None:
            logger.error(f"mfe-proxy cannot start: {typo}")
            return
        # At start-up the config is read here, where a bad one can stop mitmproxy cleanly.
        try:
            setup = self._load()
        except MfeError as error:
            logger.error(f"mfe-proxy cannot start: {error}")
            return
        for warning in setup.config.warnings:
            logger.warning(f"{setup.config.file}: {warning}")
        own = startup.own_options(setup.config, setup.proxy_port, ctx.options.has_changed)
        busy = _busy_port(own)
        if busy is not None:
            logger.error(startup.busy_port_message(*busy, setup.config))
            return
        self._own_port = {**self.own_options, **own}.get("listen_port")
        ctx.options.update(**own)
        self._tasks = [asyncio.ensure_future(self._announce(setup)), asyncio.ensure_future(self._watch())]

    def done(self) -> None:
        self._forgiving.close()
        for task in self._tasks:
            task.cancel()

    def _load(self) -> Setup:
        return startup.load(ctx.options.mfe_config, ctx.options.mfe_local_apps, Path.cwd(), os.environ)

    def _use(self, setup: Setup) -> None:
        self.runtime.use(setup)
        self._stamp = self._changed = _stamp(setup.config.file)

    async def _announce(self, setup: Setup) -> None:
        server: Any = ctx.master.addons.get("proxyserver")
        # Waits for the server update that the option change started.
        await server.setup_servers()
        self._forgiving.close()
        addresses = server.listen_addrs()
        if not addresses:
            logger.error("mfe-proxy is not listening anywhere; see the errors above")
            ctx.master.shutdown()
            return
        # Only now, on the listener that stays, does the proxy route (and a script polling the routing
        # endpoint get its 200); until then every request gets 503.
        self._use(setup)
        apps = [app for app in setup.config.applications.values() if setup.is_local(app)]
        health = self.runtime.health
        answers = await asyncio.gather(
            *(health.reachable((app.upstream.host, app.upstream.port)) for app in apps)
        )
        reachable = {app.name: up for app, up in zip(apps, answers, strict=True)}
        logger.info(startup.banner(setup.config, addresses, setup.local, reachable))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        """Live reload: a changed config file applies to new requests, whole or not at all."""
        setup = self.runtime.setup
        if setup is None:
            return
        stamp = _stamp(setup.config.file)
        if stamp == self._stamp:
            self._changed = stamp
            return
        if stamp != self._changed:  # still changing: wait for it to settle
            self._changed = stamp
            return
        self._stamp = stamp
        file = setup.config.file
        if stamp is None:
            logger.warning(f"mfe-proxy: {file} is gone; routing stays as it was until it is back")
            return
        try:
            new = startup.load(
                ctx.options.mfe_config or file, ctx.options.mfe_local_apps, Path.cwd(), os.environ
            )
        except MfeError as error:
            logger.error(f"mfe-proxy: the changed config cannot be used, routing stays as it was: {error}")
            return
        for warning in new.config.warnings:
            logger.warning(f"{file}: {warning}")
        if self._own_port is not None and new.proxy_port != self._own_port:
            logger.warning(
                f"mfe-proxy: {file} now sets localProxyPort {new.proxy_port}; the proxy keeps listening on "
                f"{self._own_port} until it is restarted"
            )
        self._use(new)
        logger.info(f"mfe-proxy reloaded {file}: {', '.join(new.config.applications)}")


def _stamp(file: str) -> Stamp | None:
    """What tells that a file changed: replaced (editors save by renaming), resized or rewritten."""
    try:
        stat = Path(file).stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _busy_port(own: dict[str, Any]) -> tuple[str, int] | None:
    """The address the proxy is about to listen on, if something else holds it already; checked
    before switching so that the message can say what to do. A user-given mode is left to mitmproxy."""
    if "mode" not in own:
        return None
    host = own.get("listen_host", ctx.options.listen_host) or "0.0.0.0"
    port = own.get("listen_port", ctx.options.listen_port)
    server: Any = ctx.master.addons.get("proxyserver")
    if port is None or any(address[1] == port for address in server.listen_addrs()):
        return None  # mitmproxy's own listener holds it and frees it when the mode changes
    return (host, port) if startup.busy_address(host, port) else None
