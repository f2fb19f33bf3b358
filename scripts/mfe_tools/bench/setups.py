"""The setups the benchmark compares, each a context manager that starts its processes and yields the
Target to measure: direct to the upstreams, bare mitmdump (also with the launcher's tuning), mitmdump
with the addon (also with one application down), the launcher, Vercel's Node.js proxy, and nginx
serving the export (`mfe-proxy export nginx`); and the time each proxy takes from start to its first
routed response."""

import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from mfe_tools import ROOT
from mfe_tools.bench import upstream
from mfe_tools.bench.load import Client, Target
from mfe_tools.bench.workload import (
    APPS,
    HOST,
    PAGE,
    START_RUNS,
    START_TIMEOUT,
    VERCEL_PACKAGE,
    VERCEL_VERSION,
    BenchError,
    Request,
    body_of,
    write_config,
)
from mfe_tools.processes import Child, Ready, pythonpath_env
from mfe_tools.smoke import free_ports

BIN = Path(sys.executable).parent
LAUNCHER = ROOT / "scripts" / "mfe-proxy"
CACHE = ROOT / ".cache"
ADDON_READY = "mfe-proxy serving"


@contextlib.contextmanager
def running(name: str, argv: list[str], log: Path, ready: Ready) -> Iterator[Child]:
    """Run `argv` (output to `log`) until the block ends; the block starts once `ready` holds."""
    # A process group of its own: Ctrl-C reaches only the benchmark, which then stops its children in order.
    child = Child(name, argv, log, cwd=ROOT, env=pythonpath_env(), own_group=True)
    try:
        child.wait_for(ready, START_TIMEOUT)
        yield child
    finally:
        child.stop()


async def _probe(port: int, request: Request, expected: str) -> bool:
    try:
        client = await Client.open(port)
    except OSError:
        return False
    try:
        status, body = await client.get(request.encode(port))
        return status == 200 and body == body_of(expected)
    except (OSError, asyncio.IncompleteReadError):
        return False
    finally:
        await client.close()


def answers(port: int, request: Request = PAGE[0], expected: str = "web") -> Callable[[], bool]:
    """Whether `request` to `port` gets the answer of `expected`'s upstream right now."""
    return lambda: asyncio.run(_probe(port, request, expected))


# -- setups (each yields the Target to measure) ------------------------------------------------------


@contextlib.contextmanager
def upstreams(workdir: Path) -> Iterator[dict[str, int]]:
    """One upstream process per application; yields their ports."""
    ports = dict(zip(APPS, free_ports(len(APPS)), strict=True))
    with contextlib.ExitStack() as stack:
        for app, port in ports.items():
            log = workdir / f"upstream-{app}.log"
            argv = [sys.executable, "-m", upstream.__name__, "--port", str(port), "--name", app]
            stack.enter_context(running(f"upstream {app}", argv, log, upstream.READY))
        yield ports


@contextlib.contextmanager
def direct(ports: Mapping[str, int]) -> Iterator[Target]:
    """Straight to the default application's upstream: every path is answered by it."""
    yield Target(ports["web"], dict.fromkeys(APPS, "web"), None)


def mitmdump(workdir: Path, *arguments: str) -> list[str]:
    # A confdir of its own: mitmproxy writes its CA there at start-up, not into the user's home.
    return [str(BIN / "mitmdump"), "--set", f"confdir={workdir / 'mitmproxy'}", *arguments]


def bare_arguments(ports: Mapping[str, int], port: int) -> list[str]:
    """bare mitmdump's: reverse mode to the default application, lazy connections, the client's Host."""
    return [
        "--mode",
        f"reverse:http://{HOST}:{ports['web']}@{port}",
        "--listen-host",
        HOST,
        "--set",
        "connection_strategy=lazy",
        "--set",
        "keep_host_header=true",
        "-q",
    ]


# mitmdump with what the launcher changes in mitmproxy (-O, the event loop, the addon manager) and no
# addon: what the addon costs on top of mitmproxy as the launcher runs it.
TUNED_MITMDUMP = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from mfe_proxy import launcher
from mfe_proxy.mitmproxy_internals import CachingAddonManager
from mitmproxy.tools import cmdline, main
from mitmproxy.tools.dump import DumpMaster

class TunedDumpMaster(DumpMaster):
    def __init__(self, opts):
        super().__init__(opts)
        CachingAddonManager.adopt(self.addons)

launcher.use_uvloop()
main.run(TunedDumpMaster, cmdline.mitmdump, sys.argv[1:])
"""


@contextlib.contextmanager
def bare_mitmdump(ports: Mapping[str, int], workdir: Path, tuned: bool = False) -> Iterator[Target]:
    """mitmdump in reverse mode to the default application, no addon: the floor mitmproxy sets
    (with the launcher's tuning if `tuned`)."""
    [port] = free_ports(1)
    arguments = ["--set", f"confdir={workdir / 'mitmproxy'}", *bare_arguments(ports, port)]
    if tuned:
        argv = [sys.executable, "-O", "-c", TUNED_MITMDUMP, str(ROOT / "addon"), *arguments]
        name = "tuned mitmdump"
    else:
        argv, name = [str(BIN / "mitmdump"), *arguments], "bare mitmdump"
    with running(name, argv, workdir / f"{name.replace(' ', '-')}.log", answers(port)) as child:
        yield Target(port, dict.fromkeys(APPS, "web"), child.pid)


def addon_argv(workdir: Path, config: Path, port: int) -> list[str]:
    return mitmdump(
        workdir,
        "-s",
        str(ROOT / "addon" / "mfe_router.py"),
        "--set",
        f"mfe_config={config}",
        "--set",
        f"listen_host={HOST}",
        "--set",
        f"listen_port={port}",
        # Not -q: that hides the readiness line too. flow_detail=0 keeps per-request output off.
        "--set",
        "termlog_verbosity=info",
        "--set",
        "flow_detail=0",
    )


def launcher_argv(workdir: Path, config: Path) -> list[str]:
    """The recommended way: scripts/mfe-proxy with the config (which names the port) and nothing else."""
    return [str(LAUNCHER), "--set", f"confdir={workdir / 'mitmproxy'}", "--set", f"mfe_config={config}"]


@contextlib.contextmanager
def addon(
    ports: Mapping[str, int], workdir: Path, down: str | None = None, launcher: bool = False
) -> Iterator[Target]:
    """mitmdump with the addon and the benchmark's config, or the launcher with it; `down` names an
    application whose upstream refuses connections, so that its requests get the proxy's 502 page."""
    with contextlib.ExitStack() as stack:
        app_ports = dict(ports)
        if down is not None:
            # Bound but never listening: connections are refused, and no other process can take the port.
            closed = stack.enter_context(socket.socket())
            closed.bind((HOST, 0))
            app_ports[down] = closed.getsockname()[1]
        key = f"{'launcher' if launcher else 'addon'}-{down or 'up'}"
        [port] = free_ports(1)
        config = workdir / f"microfrontends-{key}.json"
        if launcher:
            write_config(config, app_ports, proxy_port=port)
            name, argv = "the launcher", launcher_argv(workdir, config)
        else:
            write_config(config, app_ports)
            name, argv = (
                f"mitmdump with the addon{f' ({down} down)' if down else ''}",
                addon_argv(workdir, config, port),
            )
        log = workdir / f"{key}.log"
        child = stack.enter_context(running(name, argv, log, ADDON_READY))
        yield Target(port, {app: None if app == down else app for app in APPS}, child.pid)


# Vercel's proxy listens on every interface; this preload keeps it on loopback.
LOOPBACK_PRELOAD = """
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === "number") {
    return listen.call(this, port, "127.0.0.1", ...rest.filter((arg) => typeof arg === "function"));
  }
  return listen.call(this, port, ...rest);
};
"""


def vercel_cli(progress: Callable[[str], None]) -> Path | None:
    """Vercel's proxy CLI, installed from the npm registry into the git-ignored .cache/ on first use;
    None (and why) when Node.js or npm is missing or the install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        progress("Vercel's proxy skipped: node or npm is not on PATH")
        return None
    prefix = CACHE / "vercel-mfe"
    package = prefix / "node_modules" / VERCEL_PACKAGE
    try:
        installed = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        installed = None
    if installed != VERCEL_VERSION:
        progress(f"installing {VERCEL_PACKAGE}@{VERCEL_VERSION} into {prefix.relative_to(ROOT)}")
        CACHE.mkdir(exist_ok=True)
        (CACHE / ".gitignore").write_text("*\n")  # the cache never reaches git
        prefix.mkdir(exist_ok=True)
        command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"]
        result = subprocess.run(
            [*command, "--save-exact", f"{VERCEL_PACKAGE}@{VERCEL_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            progress(f"Vercel's proxy skipped: npm install failed:\n{result.stderr.strip()}")
            return None
    return package / "dist" / "bin" / "cli.cjs"


def vercel_argv(cli: Path, workdir: Path, config: Path, port: int) -> list[str]:
    preload = workdir / "loopback.cjs"
    preload.write_text(LOOPBACK_PRELOAD)
    return [
        "node",
        "-r",
        str(preload),
        str(cli),
        "proxy",
        str(config),
        "--port",
        str(port),
        "--local-apps",
        *APPS,
    ]


@contextlib.contextmanager
def vercel(cli: Path, ports: Mapping[str, int], workdir: Path) -> Iterator[Target]:
    """Vercel's `microfrontends proxy` (Node.js) with the same config, every application local."""
    [port] = free_ports(1)
    config = workdir / "microfrontends-vercel.json"
    write_config(config, ports, for_vercel=True)
    argv = vercel_argv(cli, workdir, config, port)
    with running("Vercel's proxy", argv, workdir / "vercel.log", answers(port, PAGE[2], "docs")) as child:
        yield Target(port, {app: app for app in APPS}, child.pid)


def nginx_binary() -> str | None:
    """Debian's nginx (scripts/nginx installs it), or the one MFE_NGINX names; None when there is none."""
    named = os.environ.get("MFE_NGINX")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


@contextlib.contextmanager
def exported_nginx(nginx: str, ports: Mapping[str, int], workdir: Path) -> Iterator[Target]:
    """nginx serving what `mfe-proxy export nginx --standalone` writes for the benchmark's config: the
    production engine a shared preview machine runs. Its CPU and memory are in its workers, not in the
    process started here, so only its rates and times are measured."""
    [port] = free_ports(1)
    config = workdir / "microfrontends-nginx.json"
    write_config(config, ports, proxy_port=port)
    export = subprocess.run(
        [sys.executable, "-m", "mfe_proxy", "export", "nginx", "--config", str(config), "--standalone"],
        capture_output=True,
        text=True,
        env=pythonpath_env(),
        timeout=60,
        check=False,
    )
    if export.returncode != 0:
        raise BenchError(f"mfe-proxy export nginx failed:\n{export.stderr}")
    prefix = workdir / "nginx"
    prefix.mkdir()
    # nginx's workers drop root's rights: they must reach the prefix, inside the run's private folder.
    for folder in (workdir, prefix):
        folder.chmod(0o755)
    (prefix / "nginx.conf").write_text(export.stdout)
    argv = [nginx, "-p", str(prefix), "-c", "nginx.conf", "-e", "error.log"]
    with running("exported nginx", argv, workdir / "nginx.log", answers(port, PAGE[2], "docs")):
        yield Target(port, {app: app for app in APPS}, None)


# -- start-up ------------------------------------------------------------------------------------------


def first_response_s(name: str, argv: list[str], port: int, expected: str, log: Path) -> float:
    """Seconds from starting `argv` to the first routed answer on `port` (a docs page, answered by
    `expected`'s upstream); the process is stopped afterwards."""
    probe = answers(port, PAGE[2], expected)
    start = time.perf_counter()
    with running(name, argv, log, probe):
        return time.perf_counter() - start


def start_times(
    ports: Mapping[str, int], workdir: Path, cli: Path | None, progress: Callable[[str], None]
) -> dict[str, float]:
    """The median of START_RUNS start-ups of each proxy setup, taken in turns."""
    progress("start to first routed response")

    def bare(run: int) -> float:
        [port] = free_ports(1)
        argv = mitmdump(workdir, *bare_arguments(ports, port))
        return first_response_s("bare mitmdump", argv, port, "web", workdir / f"start-bare-{run}.log")

    def plain_addon(run: int) -> float:
        [port] = free_ports(1)
        config = workdir / "microfrontends-start.json"
        write_config(config, ports)
        argv = addon_argv(workdir, config, port)
        return first_response_s(
            "mitmdump with the addon", argv, port, "docs", workdir / f"start-addon-{run}.log"
        )

    def launched(run: int) -> float:
        [port] = free_ports(1)
        config = workdir / f"microfrontends-start-{port}.json"
        write_config(config, ports, proxy_port=port)
        argv = launcher_argv(workdir, config)
        return first_response_s("the launcher", argv, port, "docs", workdir / f"start-launcher-{run}.log")

    starts: dict[str, Callable[[int], float]] = {"bare": bare, "addon": plain_addon, "launcher": launched}
    if cli is not None:

        def node(run: int) -> float:
            [port] = free_ports(1)
            config = workdir / "microfrontends-vercel.json"
            write_config(config, ports, for_vercel=True)
            argv = vercel_argv(cli, workdir, config, port)
            return first_response_s("Vercel's proxy", argv, port, "docs", workdir / f"start-vercel-{run}.log")

        starts["vercel"] = node
    samples: dict[str, list[float]] = {name: [] for name in starts}
    for run in range(START_RUNS):
        for name, start in starts.items():
            samples[name].append(start(run))
    return {name: statistics.median(times) for name, times in samples.items()}
