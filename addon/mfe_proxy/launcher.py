"""mitmproxy with mfe-proxy's addons, set up before it starts: what `mfe-proxy` runs (`mfe_proxy.cli`).

Every argument goes to mitmdump (mitmweb for `--web`), and any option given there wins over the
launcher's choices. Compared with `mitmdump -s addon/mfe_router.py`, the launcher

- reads the config before mitmproxy starts, so that reverse mode to the default application,
  127.0.0.1 and `options.localProxyPort` (the options the addon would otherwise switch to once
  running) are mitmproxy's options from the first moment: mitmproxy's default listener, a forward
  proxy on every interface, never binds, and a bad config, a bad or unknown `mfe_` option or a busy
  port stops start-up with a message and exit status 1 before anything listens;
- turns off mitmdump's line per request (`flow_detail=0`) for mfe-proxy's own (`RequestLog`);
- runs mitmproxy on uvloop's event loop, where installed;
- loads mfe-proxy's addons itself, before mitmproxy reads its arguments, so that `mfe_` options are
  known (and checked) like mitmproxy's own;
- has mitmproxy hand each event only to the addons that handle it
  (`mitmproxy_internals.CachingAddonManager`);
- and, run with `python -O` (as `mfe-proxy` and scripts/mfe-proxy do), skips mitmproxy's debug-only
  checks (`if __debug__`: a type check of every field of every request and response, an event type
  check at every step of its state machines).

The measurements behind these choices are in docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from mitmproxy import ctx, options
from mitmproxy.tools import cmdline, main
from mitmproxy.tools.dump import DumpMaster
from mitmproxy.tools.web.master import WebMaster

from mfe_proxy import addons, startup
from mfe_proxy.addons import options as mfe_options
from mfe_proxy.addons.configuration import Configuration
from mfe_proxy.errors import MfeError
from mfe_proxy.mitmproxy_internals import CachingAddonManager

# Options the launcher sets on top of the addon's own (startup.own_options), unless the user did.
QUIET_FLOWS = {"flow_detail": 0}


def launcher_options(
    config_options: dict[str, Any], set_by_user: Callable[[str], bool], known: Callable[[str], bool]
) -> dict[str, Any]:
    """What the launcher sets before mitmproxy starts: the config's options (`own_options`) and
    `QUIET_FLOWS`, except those the user set and those this tool does not have (mitmweb has no
    `flow_detail`)."""
    wanted = {**config_options, **QUIET_FLOWS}
    return {name: value for name, value in wanted.items() if known(name) and not set_by_user(name)}


# -- masters -----------------------------------------------------------------------------------------


class _Launched:
    """Mixed into mitmproxy's masters: mfe-proxy's addons, the caching dispatch, and a record of the
    options set from the command line or mitmproxy's config file (which the launcher leaves alone)."""

    options: options.Options
    addons: Any

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts)  # type: ignore[call-arg]
        CachingAddonManager.adopt(self.addons)
        loaded = addons.make()
        self.configuration = next(addon for addon in loaded if isinstance(addon, Configuration))
        # A bad option value is refused before anything listens, as mitmproxy refuses its own.
        self.configuration.runtime.strict = True
        self.addons.add(*loaded)
        self.set_by_user: set[str] = set()
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


def _listen_address(opts: options.Options, own: dict[str, Any]) -> tuple[str, int]:
    host = own.get("listen_host", opts.listen_host) or "0.0.0.0"
    return host, own.get("listen_port", opts.listen_port)


def prepare(args: Any) -> dict[str, Any]:
    """mitmproxy's `extra` step, run once the arguments are applied: the options to add."""
    master = cast(_Launched, ctx.master)
    opts = master.options
    master.stop_recording()
    declared = [option.name for option in addons.declared_options()]
    typo = mfe_options.unknown(opts.deferred, declared)
    if typo is not None:
        raise StartError(f"mfe-proxy cannot start: {typo}")
    web_host = opts.web_host if "web_host" in opts else ""
    if "web_port" in opts and startup.busy_address(web_host or "127.0.0.1", opts.web_port):
        raise StartError(
            f"mitmweb cannot listen on {web_host or '127.0.0.1'}:{opts.web_port}: the port is busy; "
            "pick another with --set web_port=N"
        )
    try:
        setup = startup.load(opts.mfe_config, opts.mfe_local_apps, Path.cwd(), os.environ)
    except MfeError as error:
        raise StartError(f"mfe-proxy cannot start: {error}") from None
    config = setup.config
    own = launcher_options(
        startup.own_options(config, setup.proxy_port, master.set_by_user.__contains__),
        master.set_by_user.__contains__,
        opts.__contains__,
    )
    # With a mode of the user's, where it listens is theirs to sort out with mitmproxy.
    if "mode" in own and startup.busy_address(*(address := _listen_address(opts, own))):
        raise StartError(startup.busy_port_message(*address, config))
    # For the addon, the options set here are its own (it compares the port of a reloaded config
    # with the one it chose).
    master.configuration.own_options = dict(own)
    # mitmdump's own `extra`: a filter expression on the command line filters what is shown and saved.
    if filters := getattr(args, "filter_args", None):
        expression = " ".join(filters)
        own |= {
            "save_stream_filter": expression,
            "readfile_filter": expression,
            "dumper_filter": expression,
        }
    return own


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

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> uvloop.Loop:
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


def launch(web: bool, args: Sequence[str]) -> int:
    """Run mitmdump (mitmweb when `web`) with mfe-proxy and `args`; the exit status."""
    use_uvloop()
    try:
        if web:
            main.run(LaunchedWebMaster, _mitmweb_parser, args, prepare)
        else:
            main.run(LaunchedDumpMaster, cmdline.mitmdump, args, prepare)
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
