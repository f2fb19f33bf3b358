"""The recommended way to run mfe-proxy: mitmproxy with the addon, set up before it starts.

    scripts/mfe-proxy [--web] [mitmdump or mitmweb arguments ...]

Every argument but `--web` (mitmweb instead of mitmdump) goes to mitmproxy, and any option given there
wins over the launcher's choices. Compared with `mitmdump -s addon/mfe_router.py`, the launcher

- reads the config before mitmproxy starts, so that reverse mode to the default application,
  127.0.0.1 and `options.localProxyPort` (the options the addon would otherwise switch to once
  running) are mitmproxy's options from the first moment: mitmproxy's default listener, a forward
  proxy on every interface, never binds, and a bad config or a busy port stops start-up with the
  addon's message and exit status 1 before anything listens;
- turns off mitmdump's line per request (`flow_detail=0`); the WebSocket lines, the banner and the
  summary stay;
- runs mitmproxy on uvloop's event loop, where installed;
- has mitmproxy hand each event only to the addons that handle it (`CachingAddonManager`);
- and, run as scripts/mfe-proxy does (`python -O`), skips mitmproxy's debug-only checks (`if
  __debug__`: a type check of every field of every request and response, an event type check at
  every step of its state machines).

The measurements behind these choices are in docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from mitmproxy import addonmanager, ctx, exceptions, hooks, options
from mitmproxy.tools import cmdline, main
from mitmproxy.tools.dump import DumpMaster
from mitmproxy.tools.web.master import WebMaster

from mfe_proxy import startup
from mfe_proxy.errors import MfeError

ADDON = Path(__file__).resolve().with_name("mfe_router.py")
WEB_FLAG = "--web"
# Options the launcher sets on top of the addon's own (startup.derived_options), unless the user did.
QUIET_FLOWS = {"flow_detail": 0}

_addon_errors = logging.getLogger(addonmanager.__name__)


# -- arguments ---------------------------------------------------------------------------------------


def split_arguments(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The tool to run (`mitmdump`, or `mitmweb` for `--web`) and the arguments for it."""
    tool = "mitmweb" if WEB_FLAG in argv else "mitmdump"
    return tool, [arg for arg in argv if arg != WEB_FLAG]


def _scripts_given(args: Sequence[str]) -> Iterable[str]:
    """The values of every `-s`/`--scripts` in `args`, in each form argparse accepts."""
    for index, arg in enumerate(args):
        if arg in ("-s", "--scripts"):
            if index + 1 < len(args):
                yield args[index + 1]
        elif arg.startswith("--scripts="):
            yield arg.partition("=")[2]
        elif arg.startswith("-s") and not arg.startswith("--"):
            yield arg[2:]


def with_addon(args: Sequence[str], addon: Path = ADDON) -> list[str]:
    """`args` with `-s <addon>` in front, unless they load the addon themselves (loading it twice
    would register two routers)."""
    for script in _scripts_given(args):
        if Path(script).expanduser().resolve() == addon:
            return list(args)
    return ["-s", str(addon), *args]


def launcher_options(
    config_options: dict[str, Any], set_by_user: Callable[[str], bool], known: Callable[[str], bool]
) -> dict[str, Any]:
    """What the launcher sets before mitmproxy starts: the config's options (`derived_options`) and
    `QUIET_FLOWS`, except those the user set and those this tool does not have (mitmweb has no
    `flow_detail`)."""
    wanted = {**config_options, **QUIET_FLOWS}
    return {name: value for name, value in wanted.items() if known(name) and not set_by_user(name)}


# -- event dispatch ----------------------------------------------------------------------------------


def _not_callable(name: str, addon: object) -> Callable[..., None]:
    def handler(*_: object) -> None:
        raise exceptions.AddonManagerError(f"Addon handler {name} ({addon}) not callable")

    return handler


class CachingAddonManager(addonmanager.AddonManager):
    """mitmproxy's AddonManager, but `trigger_event` calls only the handlers that exist.

    mitmproxy walks all of its ~40 addons (and their sub-addons) for every event, about eight
    events per HTTP request, looking each handler up by name, with a context manager and a
    coroutine per addon: most of mitmproxy's dispatch cost, for handlers that mostly do not exist.
    Here the handlers of each event are looked up once, grouped by top-level addon, and looked up
    again after any addon is added or removed, or an option changes (the script loader reorders its
    scripts then). Order, awaiting, `AddonHalt` and the logging of an addon's error (which skips the
    rest of that top-level addon, as in mitmproxy) are mitmproxy's.
    """

    _handlers: dict[str, list[list[Callable[..., Any]]]]
    _arguments: dict[type[hooks.Hook], tuple[str, ...]]

    @classmethod
    def adopt(cls, manager: addonmanager.AddonManager) -> "CachingAddonManager":
        """Turn the manager that mitmproxy's Master created into this class, in place: the addons,
        option subscriptions and signals that hold it keep working."""
        manager.__class__ = cls
        adopted = cast(CachingAddonManager, manager)
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

    def _args(self, event: hooks.Hook) -> list[Any]:
        names = self._arguments.get(type(event))
        if names is None:
            # Hook.args() looks the dataclass fields up on every call; they never change.
            names = self._arguments[type(event)] = tuple(field.name for field in dataclasses.fields(event))
        return [getattr(event, name) for name in names]

    async def trigger_event(self, event: hooks.Hook) -> None:
        groups = self._handlers.get(event.name)
        if groups is None:
            groups = self._handlers[event.name] = self._collect(event.name)
        if not groups:
            return
        args = self._args(event)
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


# -- masters -----------------------------------------------------------------------------------------


class _Launched:
    """Mixed into mitmproxy's masters: the caching dispatch, a record of the options set from the
    command line or mitmproxy's config file (which the launcher leaves alone), and the options the
    launcher chose (`mfe_launcher_options`, read by the addon)."""

    options: options.Options
    addons: addonmanager.AddonManager

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts)  # type: ignore[call-arg]
        CachingAddonManager.adopt(self.addons)
        self.set_by_user: set[str] = set()
        self.mfe_launcher_options: dict[str, Any] = {}
        # Every option change from here until `extra` runs comes from the user's arguments.
        self.options.changed.connect(self._record)

    def _record(self, updated: set[str]) -> None:
        self.set_by_user |= updated

    def stop_recording(self) -> None:
        self.options.changed.disconnect(self._record)


class LaunchedDumpMaster(_Launched, DumpMaster):
    pass


class LaunchedWebMaster(_Launched, WebMaster):
    pass


# -- start-up ----------------------------------------------------------------------------------------


class StartError(Exception):
    """A start-up failure with a message for a person: printed, then exit status 1."""


def _option_text(opts: options.Options, name: str) -> str:
    """A string option of the addon, which mitmproxy holds back (deferred) until the script loads."""
    if name in opts:
        return cast(str, getattr(opts, name))
    value = opts.deferred.get(name, "")
    if isinstance(value, options.optmanager._UnconvertedStrings):
        return value.val[-1] if value.val else ""
    return str(value)


def _listen_address(opts: options.Options, chosen: dict[str, Any]) -> tuple[str, int]:
    host = chosen.get("listen_host", opts.listen_host) or "0.0.0.0"
    return host, chosen.get("listen_port", opts.listen_port)


def prepare(args: Any) -> dict[str, Any]:
    """mitmproxy's `extra` step, run once the arguments are applied: the options to add."""
    master = cast(_Launched, ctx.master)
    opts = master.options
    master.stop_recording()
    try:
        loaded = startup.load(
            _option_text(opts, "mfe_config"), _option_text(opts, "mfe_local_apps"), Path.cwd(), os.environ
        )
    except MfeError as error:
        raise StartError(f"mfe-proxy cannot start: {error}") from None
    config = loaded.config
    chosen = launcher_options(
        startup.derived_options(config, loaded.proxy_port, master.set_by_user.__contains__),
        master.set_by_user.__contains__,
        opts.__contains__,
    )
    # With a mode of the user's, where it listens is theirs to sort out with mitmproxy.
    if "mode" in chosen and startup.busy_address(*(address := _listen_address(opts, chosen))):
        raise StartError(startup.busy_port_message(*address, config))
    # For the addon, the options set here are its own (it compares the port of a reloaded config
    # with the one it chose); it reads them from the master.
    master.mfe_launcher_options = dict(chosen)
    # mitmdump's own `extra`: a filter expression on the command line filters what is shown and saved.
    if filters := getattr(args, "filter_args", None):
        expression = " ".join(filters)
        chosen |= {
            "save_stream_filter": expression,
            "readfile_filter": expression,
            "dumper_filter": expression,
        }
    return chosen


def _accepting(factory: Callable[..., asyncio.Task[Any]]) -> Callable[..., asyncio.Task[Any]]:
    """`factory`, called without the `eager_start=None` that uvloop 0.23 passes to every task factory:
    Python 3.13's eager task factory, which mitmproxy installs, refuses the argument."""

    def create(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if "eager_start" in kwargs and kwargs["eager_start"] is None:
            del kwargs["eager_start"]
        return factory(loop, coro, **kwargs)

    return create


def use_uvloop() -> bool:
    """Make asyncio.run (which mitmproxy calls) create uvloop's loop; False where uvloop is missing."""
    try:
        import uvloop  # optional: not on Windows
    except ImportError:
        return False

    class Loop(uvloop.Loop):
        def set_task_factory(self, factory: Callable[..., asyncio.Task[Any]] | None) -> None:
            super().set_task_factory(None if factory is None else _accepting(factory))

    class Policy(uvloop.EventLoopPolicy):
        def _loop_factory(self) -> uvloop.Loop:
            return Loop()

    with warnings.catch_warnings():
        # Event loop policies are deprecated from Python 3.14 on, yet the only way to choose the loop
        # of the asyncio.run that mitmproxy calls.
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(Policy())
    return True


def _mitmweb_parser(opts: options.Options) -> argparse.ArgumentParser:
    parser = cmdline.mitmweb(opts)
    # mitmproxy's runner reads `filter_args` before calling `extra`; only mitmdump's parser has them.
    parser.set_defaults(filter_args=None)
    return parser


def launch(argv: Sequence[str]) -> int:
    tool, args = split_arguments(argv)
    use_uvloop()
    try:
        if tool == "mitmweb":
            main.run(LaunchedWebMaster, _mitmweb_parser, with_addon(args), prepare)
        else:
            main.run(LaunchedDumpMaster, cmdline.mitmdump, with_addon(args), prepare)
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1:]))
