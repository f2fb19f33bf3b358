"""The launcher's pure parts: arguments, the options it chooses, the caching addon manager (checked
against mitmproxy's own AddonManager on the same addons and events) and the event loop set-up."""

import asyncio
import contextlib
import logging
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from mitmproxy import addonmanager, exceptions, hooks, http, options
from mitmproxy.master import Master
from mitmproxy.proxy.layers.http import _hooks as http_hooks
from mitmproxy.test import tflow

from mfe_proxy import launcher
from mfe_proxy.cli import ADDON, split_arguments, without_addon
from mfe_proxy.launcher import launcher_options
from mfe_proxy.mitmproxy_internals import CachingAddonManager

# -- arguments -----------------------------------------------------------------------------------------


def test_web_flag_chooses_mitmweb_and_is_not_passed_on():
    assert split_arguments(["--set", "a=b", "--web", "-q"]) == ("mitmweb", ["--set", "a=b", "-q"])
    assert split_arguments(["--web-port", "8090", "-q"]) == ("mitmdump", ["--web-port", "8090", "-q"])
    assert split_arguments([]) == ("mitmdump", [])


def test_other_arguments_and_scripts_are_kept():
    # The launcher loads the addons itself; other scripts load as the user asked.
    args = ["--set", "x=1", "-s", "other.py", "--scripts=third.py", "-sfourth.py"]
    assert without_addon(args) == args


@pytest.mark.parametrize(
    "given",
    [
        ["-s", "{addon}"],
        ["-s{addon}"],
        ["--scripts", "{addon}"],
        ["--scripts={addon}"],
        ["-s", "{indirect}"],
        ["-q", "-s", "{relative}"],
    ],
)
def test_addon_given_by_the_user_is_not_loaded_twice(given, monkeypatch):
    monkeypatch.chdir(ADDON.parent.parent)
    paths = {
        "addon": str(ADDON),
        "indirect": str(ADDON.parent.parent / "tests" / ".." / "addon" / ADDON.name),
        "relative": f"addon/{ADDON.name}",
    }
    args = [arg.format(**paths) for arg in given]
    assert without_addon([*args, "--set", "x=1"]) == [arg for arg in given if arg == "-q"] + ["--set", "x=1"]


def test_launcher_options_leave_the_users_alone():
    own = {"mode": ["reverse:http://localhost:3000"], "listen_port": 3024, "listen_host": "127.0.0.1"}
    user = {"listen_port", "flow_detail"}
    chosen = launcher_options(own, user.__contains__, lambda name: True)
    assert chosen == {"mode": ["reverse:http://localhost:3000"], "listen_host": "127.0.0.1"}


def test_launcher_options_quiet_the_per_flow_lines_where_the_tool_has_them():
    assert launcher_options({}, lambda name: False, lambda name: True) == {"flow_detail": 0}
    # mitmweb has no flow_detail option.
    assert launcher_options({"listen_port": 1}, lambda name: False, lambda name: name != "flow_detail") == {
        "listen_port": 1
    }


# -- the caching addon manager, against mitmproxy's -------------------------------------------------------


class Recorder:
    """An addon that records every hook call into a shared log, with sub-addons of its own."""

    def __init__(self, name: str, log: list[str], children: list[object] | None = None) -> None:
        self.name = name
        self.log = log
        self.addons = children or []

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.log.append(f"{self.name}.requestheaders")

    async def request(self, flow: http.HTTPFlow) -> None:
        await asyncio.sleep(0)
        self.log.append(f"{self.name}.request")

    def response(self, flow: http.HTTPFlow) -> None:
        self.log.append(f"{self.name}.response")
        if self.name == "b":
            raise ValueError("b fails")

    def error(self, flow: http.HTTPFlow) -> None:
        self.log.append(f"{self.name}.error")
        if self.name == "b2":
            raise exceptions.AddonHalt()


class Quiet:
    """A module under a hook's name is no handler; neither is a missing attribute."""

    name = "quiet"
    request = types.ModuleType("request")


class Broken:
    name = "broken"
    responseheaders = 42  # a hook's name, not callable: mitmproxy logs an error for each event

    def __repr__(self) -> str:
        return "Broken()"  # the same in both managers' messages


@contextlib.asynccontextmanager
async def master_with(manager_class: type[addonmanager.AddonManager]) -> AsyncIterator[Master]:
    master = Master(options.Options())
    if manager_class is CachingAddonManager:
        CachingAddonManager.adopt(master.addons)
    try:
        yield master
    finally:
        await master.done()  # takes the master's log handler off the root logger


async def scenario(manager_class: type[addonmanager.AddonManager], caplog: pytest.LogCaptureFixture) -> list:
    """The same events on the same addons; what was called, in order, and what was logged."""
    log: list[str] = []
    flow = tflow.tflow(resp=True)
    caplog.clear()
    async with master_with(manager_class) as master:
        master.addons.add(
            Recorder("a", log, [Recorder("a1", log), Recorder("a2", log, [Recorder("a21", log)])]),
            Quiet(),
            Broken(),
            Recorder("b", log, [Recorder("b1", log), Recorder("b2", log)]),
            Recorder("c", log),
        )
        with caplog.at_level(logging.ERROR):
            for hook in (
                hooks.RunningHook(),
                http_hooks.HttpRequestHeadersHook(flow),
                http_hooks.HttpRequestHook(flow),
                http_hooks.HttpResponseHeadersHook(flow),
                http_hooks.HttpResponseHook(flow),
                http_hooks.HttpErrorHook(flow),
            ):
                log.append(f"-- {hook.name}")
                await master.addons.trigger_event(hook)
            # Added after the first events: the next event must reach it.
            master.addons.add(Recorder("d", log))
            log.append("-- after adding d")
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
            master.addons.remove(master.addons.get("a"))
            log.append("-- after removing a")
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
    errors = [record.getMessage() for record in caplog.records]
    return [log, errors]


def test_caching_manager_calls_what_mitmproxys_calls_in_the_same_order(caplog):
    expected = asyncio.run(scenario(addonmanager.AddonManager, caplog))
    assert asyncio.run(scenario(CachingAddonManager, caplog)) == expected
    # The scenario exercises what it should: nesting, async handlers, an error that skips the rest
    # of its top-level addon, AddonHalt, a non-callable handler, and addons added and removed.
    log, errors = expected
    assert log.index("a21.requestheaders") < log.index("b.requestheaders")
    assert "b2.response" not in log and "c.response" in log
    after_error = log[log.index("-- error") + 1 :]
    assert after_error[:6] == ["a.error", "a1.error", "a2.error", "a21.error", "b.error", "b1.error"]
    assert "c.error" not in log
    assert "Addon error: b fails" in errors
    assert any("not callable" in error for error in errors)
    assert log[-1] == "d.requestheaders"
    assert "a.requestheaders" not in log[log.index("-- after removing a") :]


def test_caching_manager_sees_a_sub_addon_that_appears_after_register():
    """mitmproxy's script addon sets the module it traverses only after `register` returns, so an
    event dispatched in between cannot see it; the next one, on a later turn of the loop, must."""

    async def events() -> list[str]:
        log: list[str] = []
        flow = tflow.tflow()
        async with master_with(CachingAddonManager) as master:
            holder = Recorder("holder", log)
            master.addons.add(holder)
            late = Recorder("late", log)
            master.addons.register(late)
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
            holder.addons = [late]
            await asyncio.sleep(0)
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
        return log

    assert asyncio.run(events()) == ["holder.requestheaders", "holder.requestheaders", "late.requestheaders"]


class Reordering(Recorder):
    """Like mitmproxy's script loader: on an option change, its sub-addons change order."""

    def configure(self, updated: set[str]) -> None:
        self.addons = self.addons[::-1]


def test_caching_manager_follows_sub_addons_reordered_on_an_option_change():
    async def events() -> list[str]:
        log: list[str] = []
        flow = tflow.tflow()
        async with master_with(CachingAddonManager) as master:
            master.addons.add(Reordering("loader", log, [Recorder("first", log), Recorder("second", log)]))
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
            master.options.update(listen_port=1)
            await master.addons.trigger_event(http_hooks.HttpRequestHeadersHook(flow))
        return log

    assert asyncio.run(events()) == [
        "loader.requestheaders",
        "first.requestheaders",
        "second.requestheaders",
        "loader.requestheaders",
        "second.requestheaders",
        "first.requestheaders",
    ]


def test_options_errors_propagate_as_in_mitmproxy():
    class Strict:
        def running(self) -> None:
            raise exceptions.OptionsError("bad option")

    async def message(manager_class: type[addonmanager.AddonManager]) -> str:
        async with master_with(manager_class) as master:
            master.addons.add(Strict())
            with pytest.raises(exceptions.OptionsError) as raised:
                await master.addons.trigger_event(hooks.RunningHook())
        return str(raised.value)

    assert asyncio.run(message(CachingAddonManager)) == asyncio.run(message(addonmanager.AddonManager))


# -- the event loop -------------------------------------------------------------------------------------


def test_task_factory_drops_uvlooop_s_eager_start_none():
    seen: list[dict] = []

    def factory(loop: object, coro: object, **kwargs: object) -> str:
        seen.append(kwargs)
        return "task"

    create: Callable = launcher._accepting(factory)
    assert create(None, None, context=None, eager_start=None) == "task"
    create(None, None, name="x", eager_start=True)
    assert seen == [{"context": None}, {"name": "x", "eager_start": True}]


@pytest.fixture
def default_policy():
    yield
    asyncio.set_event_loop_policy(None)


def test_uvloop_runs_mitmproxys_eager_tasks(default_policy):
    """mitmproxy installs Python's eager task factory in its master; on uvloop 0.23 with Python 3.13
    that failed on every task until the launcher's loop adapted the factory."""
    uvloop = pytest.importorskip("uvloop")
    assert launcher.use_uvloop()

    async def scenario() -> tuple[type, list[str]]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        order: list[str] = []

        async def child() -> None:
            order.append("child started")
            await asyncio.sleep(0)
            order.append("child finished")

        task = asyncio.create_task(child())
        order.append("after create_task")  # eager: the child ran up to its first await already
        await task
        return type(loop), order

    loop_type, order = asyncio.run(scenario())
    assert issubclass(loop_type, uvloop.Loop)
    assert order == ["child started", "after create_task", "child finished"]


def test_the_addon_path_is_the_repositorys():
    assert Path(__file__).resolve().parent.parent / "addon" / "mfe_router.py" == ADDON
    assert ADDON.is_file()
