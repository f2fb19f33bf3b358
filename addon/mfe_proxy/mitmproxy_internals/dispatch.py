"""Each event handed only to the addons that handle it (`CachingAddonManager`, for the launcher)."""

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import Any

from mitmproxy import addonmanager, exceptions, hooks

from mfe_proxy.mitmproxy_internals.check import source_holds

_addon_errors = logging.getLogger(addonmanager.__name__)


def _not_callable(name: str, addon: object) -> Callable[..., None]:
    def handler(*_: object) -> None:
        raise exceptions.AddonManagerError(f"Addon handler {name} ({addon}) not callable")

    return handler


class CachingAddonManager(addonmanager.AddonManager):
    """mitmproxy's AddonManager, but `trigger_event` calls only the handlers that exist.

    mitmproxy walks all of its ~40 addons (and their sub-addons) for every event, about eight events
    per HTTP request, looking each handler up by name, with a context manager and a coroutine per
    addon: most of its dispatch cost, for handlers that mostly do not exist. Here the handlers of each
    event are looked up once, grouped by top-level addon, and again after any addon is added or
    removed or an option changes (the script loader reorders its scripts then). Order, awaiting,
    `AddonHalt` and the logging of an addon's error (which skips the rest of that top-level addon) are
    mitmproxy's (tests/test_launcher.py compares the two on the same addons and events)."""

    _handlers: dict[str, list[list[Callable[..., Any]]]]
    _arguments: dict[type[hooks.Hook], tuple[str, ...]]

    @classmethod
    def adopt(cls, manager: addonmanager.AddonManager) -> "CachingAddonManager":
        """Turn the manager that mitmproxy's Master created into this class, in place: the addons,
        option subscriptions and signals that hold it keep working."""
        manager.__class__ = cls
        adopted: CachingAddonManager = manager  # type: ignore[assignment]
        adopted._handlers = {}
        adopted._arguments = {}
        adopted.master.options.changed.connect(adopted._options_changed)
        return adopted

    def _forget(self) -> None:
        self._handlers.clear()
        # A script addon sets what it traverses (its module) only after `register` returns, and the
        # script loader its list after `remove`: forget again once the current callback is done.
        with contextlib.suppress(RuntimeError):  # no running loop (tests, tools): nothing to wait for
            asyncio.get_running_loop().call_soon(self._handlers.clear)

    def _options_changed(self, updated: set[str]) -> None:
        self._forget()

    def register(self, addon: Any) -> Any:
        try:
            return super().register(addon)
        finally:
            self._forget()

    def remove(self, addon: Any) -> None:
        try:
            super().remove(addon)
        finally:
            self._forget()

    def clear(self) -> None:
        super().clear()
        self._forget()

    def _collect(self, name: str) -> list[list[Callable[..., Any]]]:
        groups = []
        for top in self.chain:
            handlers = []
            for addon in addonmanager.traverse([top]):
                handler = getattr(addon, name, None)
                if not handler or inspect.ismodule(handler):
                    continue  # a module imported under a hook's name is no handler (as in mitmproxy)
                handlers.append(handler if callable(handler) else _not_callable(name, addon))
            if handlers:
                groups.append(handlers)
        return groups

    async def trigger_event(self, event: hooks.Hook) -> None:
        groups = self._handlers.get(event.name)
        if groups is None:
            groups = self._handlers[event.name] = self._collect(event.name)
        if not groups:
            return
        names = self._arguments.get(type(event))
        if names is None:
            # Hook.args() looks the dataclass fields up on every call; they never change.
            names = self._arguments[type(event)] = tuple(field.name for field in dataclasses.fields(event))
        args = [getattr(event, name) for name in names]
        for handlers in groups:
            try:
                for handler in handlers:
                    result = handler(*args)
                    if result is not None and inspect.isawaitable(result):
                        await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as error:
                traceback = addonmanager.cut_traceback(error.__traceback__, "trigger_event")
                _addon_errors.error(f"Addon error: {error}", exc_info=(type(error), error, traceback))


CHECKS = (
    (
        "AddonManager dispatches through `chain` and `traverse`",
        lambda: (
            source_holds(addonmanager.AddonManager, "self.chain", "def trigger_event", "traverse(")
            and callable(getattr(addonmanager, "cut_traceback", None))
        ),
    ),
)
