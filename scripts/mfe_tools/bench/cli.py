"""The benchmark: what the proxy costs, measured in one run against direct requests and bare mitmdump.

    scripts/bench [--write] [--duration SECONDS] [--no-vercel] [--no-nginx]

Setups: direct to an upstream; bare mitmdump in reverse mode; bare mitmdump with the launcher's
tuning; mitmdump with the addon (and with one application down); the addon through the launcher
(scripts/mfe-proxy, the recommended way); Vercel's Node proxy when Node.js is installed; nginx serving
the export (`mfe-proxy export nginx`) when nginx is installed. Measurements:
HTTP requests/s, latency and page loads, WebSocket round trips and messages/s, the proxy's memory over
a long WebSocket connection, start-up time, and micro-benchmarks of routing and config loading. The
load generator (this process), each proxy and each upstream are separate processes. See
docs/BENCHMARKS.md.
"""

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mfe_tools import ROOT
from mfe_tools.bench.load import (
    Target,
    cpu_per,
    latencies,
    page_load,
    page_load_with_cpu,
    throughput,
    ws_memory,
    ws_rate,
    ws_round_trips,
)
from mfe_tools.bench.micro import config_load_ms, route_lookup_us
from mfe_tools.bench.report import checks, checks_table, environment, load_average, micro_table, table
from mfe_tools.bench.setups import (
    addon,
    bare_mitmdump,
    direct,
    exported_nginx,
    nginx_binary,
    start_times,
    upstreams,
    vercel,
    vercel_cli,
)
from mfe_tools.bench.workload import (
    CONFIG_APPLICATIONS,
    DOWN_APP,
    LATENCY_REQUESTS,
    PAGE_REQUESTS,
    PAGE_ROUNDS,
    PATTERN_COUNTS,
    ROUNDS,
    WS_MEMORY_MESSAGES,
    WS_ROUND_TRIPS,
    WS_SIZES,
    WS_SMALL,
    BenchError,
)
from mfe_tools.processes import ProcessError
from mfe_tools.results_doc import ResultsDocError, results_section, write_results

DOC = ROOT / "docs" / "BENCHMARKS.md"


def interleaved[T](
    targets: Mapping[str, Target], sample: Callable[[Target], T], rounds: int = ROUNDS
) -> dict[str, list[T]]:
    """`rounds` samples of every setup, taken round by round: load from elsewhere on the machine then
    spreads over all setups instead of skewing the one measured at that moment."""
    samples: dict[str, list[T]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, target in targets.items():
            samples[name].append(sample(target))
    return samples


def percentiles(runs: Sequence[Sequence[float]]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of every sample in `runs`."""
    cuts = statistics.quantiles([seconds for run in runs for seconds in run], n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def measure(
    targets: Mapping[str, Target], duration: float, workdir: Path, progress: Callable[[str], None]
) -> dict[str, dict[str, float]]:
    """Every figure of every setup; the down setup only loads pages (it is about the down page)."""
    results: dict[str, dict[str, float]] = {name: {} for name in targets}
    up = {name: target for name, target in targets.items() if name != "down"}
    progress("HTTP requests/s")
    for name, rates in interleaved(up, lambda target: throughput(target, duration / ROUNDS, workdir)).items():
        results[name]["rps"] = statistics.median(rates)
    progress("HTTP latency")
    for name, runs in interleaved(up, lambda target: latencies(target, LATENCY_REQUESTS // ROUNDS)).items():
        results[name]["p50"], results[name]["p99"] = percentiles(runs)
    progress("page loads")
    for target in targets.values():
        page_load(target)  # warm-up
    for name, samples in interleaved(targets, page_load_with_cpu, PAGE_ROUNDS).items():
        results[name]["page"] = statistics.median(seconds for seconds, _ in samples) * 1000
        cpu = cpu_per([cpu for _, cpu in samples], len(samples) * PAGE_REQUESTS)
        if cpu is not None:
            results[name]["cpu_request"] = cpu
    # Before the other WebSocket measurements: memory they leave behind would hide this one's growth.
    progress(f"proxy memory over {WS_MEMORY_MESSAGES:,} WebSocket messages")
    for name, target in up.items():
        if target.pid is not None:
            before, after = ws_memory(target, WS_MEMORY_MESSAGES)
            results[name]["rss_before"], results[name]["rss_growth"] = before, after - before
    progress("WebSocket round trips")
    for name, runs in interleaved(
        up, lambda target: ws_round_trips(target, WS_ROUND_TRIPS // ROUNDS)
    ).items():
        results[name]["ws_p50"], results[name]["ws_p99"] = percentiles(runs)
    for size in WS_SIZES:
        progress(f"WebSocket messages/s, {size} B")
        seconds = duration / ROUNDS
        for name, samples in interleaved(
            up, lambda target, size=size, seconds=seconds: ws_rate(target, size, seconds)
        ).items():
            results[name][f"ws_rate_{size}"] = statistics.median(rate for rate, _ in samples)
            cpus = [cpu for _, cpu in samples]
            if size == WS_SMALL and None not in cpus:
                results[name]["cpu_message"] = statistics.mean(cpu for cpu in cpus if cpu is not None) * 1e6
    return results


def bench(
    duration: float, with_vercel: bool, with_nginx: bool, progress: Callable[[str], None]
) -> tuple[str, str]:
    """Run everything; the report's sections (figures, then targets)."""
    with tempfile.TemporaryDirectory(prefix="mfe-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        progress("micro-benchmarks: route lookup, config load")
        routes = {count: route_lookup_us(count) for count in PATTERN_COUNTS}
        config_ms = config_load_ms(CONFIG_APPLICATIONS, workdir)
        cli = vercel_cli(progress) if with_vercel else None
        nginx = nginx_binary() if with_nginx else None
        if with_nginx and nginx is None:
            progress("exported nginx skipped: no nginx (scripts/nginx installs Debian's)")
        progress("starting the setups")
        ports = stack.enter_context(upstreams(workdir))
        targets = {
            "direct": stack.enter_context(direct(ports)),
            "bare": stack.enter_context(bare_mitmdump(ports, workdir)),
            "tuned": stack.enter_context(bare_mitmdump(ports, workdir, tuned=True)),
            "addon": stack.enter_context(addon(ports, workdir)),
            "down": stack.enter_context(addon(ports, workdir, down=DOWN_APP)),
            "launcher": stack.enter_context(addon(ports, workdir, launcher=True)),
        }
        if cli is not None:
            targets["vercel"] = stack.enter_context(vercel(cli, ports, workdir))
        if nginx is not None:
            targets["nginx"] = stack.enter_context(exported_nginx(nginx, ports, workdir))
        results = measure(targets, duration, workdir, progress)
        for name, seconds in start_times(ports, workdir, cli, progress).items():
            results[name]["start"] = seconds
    figures = f"{table(results)}\n\nPure core, in this process:\n\n{micro_table(routes, config_ms)}"
    return figures, checks_table(checks(results, routes))


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"put the results into {DOC.relative_to(ROOT)}")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of each rate measurement, per setup (default 5)"
    )
    parser.add_argument("--no-vercel", action="store_true", help="leave Vercel's Node.js proxy out")
    parser.add_argument("--no-nginx", action="store_true", help="leave nginx serving the export out")
    args = parser.parse_args()

    load_generator = "wrk" if shutil.which("wrk") else "built-in asyncio client"
    load_before = load_average()
    started = time.monotonic()

    def progress(step: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {step}", file=sys.stderr, flush=True)

    try:
        if args.write:
            results_section(DOC)  # a document that cannot take the results should fail now, not after the run
        progress(f"benchmarking (load generator: {load_generator}; load average {load_before})")
        figures, targets = bench(args.duration, not args.no_vercel, not args.no_nginx, progress)
        node = None
        if not args.no_vercel and shutil.which("node"):
            node = subprocess.run(
                ["node", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
        section = f"{environment(load_generator, load_before, node)}\n\n{figures}\n\nTargets:\n\n{targets}"
        print(f"done in {time.monotonic() - started:.0f} s\n\n{section}")
        if args.write:
            write_results(DOC, section)
            print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    except (BenchError, ProcessError, ResultsDocError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0
