"""The benchmark's report: the table of figures with their ratios to bare mitmdump and to direct, the
micro-benchmarks' table, the targets each judged from the same run, and the machine it ran on."""

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mfe_tools.bench.workload import (
    CONFIG_APPLICATIONS,
    CONNECTIONS,
    DOWN_APP,
    PAGE_REQUESTS,
    VERCEL_VERSION,
    WS_IN_FLIGHT,
    WS_MEMORY_MESSAGES,
    WS_SIZES,
    WS_SMALL,
)
from mfe_tools.results_doc import measured_on

SETUPS = {
    "direct": "direct",
    "bare": "bare mitmdump",
    "tuned": "bare mitmdump, launcher's tuning",
    "addon": "mfe-proxy addon (mitmdump -s)",
    "down": f"mfe-proxy addon, {DOWN_APP} down",
    "launcher": "mfe-proxy, scripts/mfe-proxy",
    "vercel": f"Vercel's proxy {VERCEL_VERSION} (Node.js)",
    "nginx": "nginx serving mfe-proxy export nginx",
}
FIGURES = {
    "rps": (f"HTTP requests/s, {CONNECTIONS} connections", "{:,.0f}"),
    "p50": ("HTTP latency p50, 1 connection (ms)", "{:.3f}"),
    "p99": ("HTTP latency p99, 1 connection (ms)", "{:.3f}"),
    "page": (f"page load, {PAGE_REQUESTS} requests (ms)", "{:.1f}"),
    "cpu_request": ("proxy CPU per request, in the page loads (\u00b5s)", "{:.0f}"),
    "ws_p50": (f"WebSocket round trip p50, {WS_SMALL} B (ms)", "{:.3f}"),
    "ws_p99": (f"WebSocket round trip p99, {WS_SMALL} B (ms)", "{:.3f}"),
    **{
        f"ws_rate_{size}": (f"WebSocket messages/s, {size:,} B, {WS_IN_FLIGHT} in flight", "{:,.0f}")
        for size in WS_SIZES
    },
    "cpu_message": (f"proxy CPU per WebSocket message relayed, {WS_SMALL} B (\u00b5s)", "{:.0f}"),
    "rss_before": (f"proxy RSS before {WS_MEMORY_MESSAGES:,} WebSocket messages (MiB)", "{:.1f}"),
    "rss_growth": (
        f"proxy RSS growth over {WS_MEMORY_MESSAGES:,} WebSocket messages, half each way (MiB)",
        "{:+.1f}",
    ),
    "start": ("start to first routed response (s)", "{:.2f}"),
}


def ratio(value: float, reference: float | None) -> str:
    """`value` over `reference` (`1.23` and a multiplication sign), or a dash when there is no reference."""
    if reference is None or reference == 0:
        return "\u2014"
    return f"{value / reference:.2f}\u00d7"


def table(results: Mapping[str, Mapping[str, float]]) -> str:
    rows = [
        "| measurement | setup | value | vs bare mitmdump | vs direct |",
        "|---|---|--:|--:|--:|",
    ]
    for figure, (label, number) in FIGURES.items():
        for setup, setup_label in SETUPS.items():
            value = results.get(setup, {}).get(figure)
            if value is None:
                continue
            ratios = [ratio(value, results.get(ref, {}).get(figure)) for ref in ("bare", "direct")]
            rows.append(f"| {label} | {setup_label} | {number.format(value)} | {' | '.join(ratios)} |")
            label = ""
    return "\n".join(rows)


def micro_table(routes: Mapping[int, float], config_ms: float) -> str:
    smallest = routes[min(routes)]
    rows = ["| measurement | value | vs 10 patterns |", "|---|--:|--:|"]
    rows += [
        f"| route lookup, {count:,} path patterns (\u00b5s) | {us:.2f} | {ratio(us, smallest)} |"
        for count, us in routes.items()
    ]
    rows.append(f"| config load, {CONFIG_APPLICATIONS:,} applications (ms) | {config_ms:.0f} | \u2014 |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Check:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def _compare(
    results: Mapping[str, Mapping[str, float]],
    setup: str,
    reference: str,
    figure: str,
    bound: float,
    higher: bool,
) -> tuple[str, bool | None]:
    value, base = results.get(setup, {}).get(figure), results.get(reference, {}).get(figure)
    if value is None or base is None:
        return "not measured", None
    share = value / base
    # Three decimals: two would show 0.969 as 0.97 next to "not met".
    return f"{share:.3f}\u00d7", share >= bound if higher else share <= bound


def checks(results: Mapping[str, Mapping[str, float]], routes: Mapping[int, float]) -> list[Check]:
    """The issue's targets, each with what this run measured and whether it holds."""
    found: list[Check] = []
    pairs = (
        ("addon", "bare", "addon vs bare mitmdump"),
        ("launcher", "tuned", "launcher vs its bare mitmdump"),
    )
    for setup, reference, label in pairs:
        for figure, bound, higher, what in (
            ("rps", 0.97, True, "HTTP requests/s >= 0.97\u00d7"),
            ("page", 1.03, False, "page load time <= 1.03\u00d7"),
            *(
                (f"ws_rate_{size}", 0.97, True, f"WebSocket messages/s ({size:,} B) >= 0.97\u00d7")
                for size in WS_SIZES
            ),
            ("p99", 1.05, False, "HTTP p99 latency <= 1.05\u00d7"),
        ):
            measured, met = _compare(results, setup, reference, figure, bound, higher)
            found.append(Check(f"{label}: {what}", measured, met))
    for setup in ("addon", "launcher"):
        growth = results.get(setup, {}).get("rss_growth")
        found.append(
            Check(
                f"{SETUPS[setup]}: RSS growth over {WS_MEMORY_MESSAGES:,} WebSocket messages < 5 MiB",
                "not measured" if growth is None else f"{growth:+.1f} MiB",
                None if growth is None else growth < 5,
            )
        )
    largest, smallest = routes[max(routes)], routes[min(routes)]
    found.append(
        Check(
            f"route lookup at {max(routes):,} patterns < 10 \u00b5s", f"{largest:.2f} \u00b5s", largest < 10
        )
    )
    growth = max(routes) / min(routes)
    found.append(
        Check(
            f"route lookup grows sub-linearly from {min(routes)} to {max(routes):,} patterns "
            f"(< {growth:.0f}\u00d7)",
            f"{largest / smallest:.2f}\u00d7",
            largest / smallest < growth,
        )
    )
    for setup in ("addon", "launcher"):
        start = results.get(setup, {}).get("start")
        found.append(
            Check(
                f"{SETUPS[setup]}: start to first routed response < 2 s",
                "not measured" if start is None else f"{start:.2f} s",
                None if start is None else start < 2,
            )
        )
    measured, met = _compare(results, "bare", "launcher", "page", 1.3, True)
    found.append(Check("launcher serves page loads >= 1.3\u00d7 faster than bare mitmdump", measured, met))
    if "nginx" in results:
        measured, met = _compare(results, "launcher", "nginx", "page", 5.0, True)
        target = "exported nginx serves page loads > 5\u00d7 faster than the launcher"
        found.append(Check(target, measured, met))
    if "vercel" in results:
        # No target, a gap to report: Vercel's page load time over the launcher's (above 1: ours is faster).
        measured, _ = _compare(results, "vercel", "launcher", "page", 1.0, True)
        found.append(
            Check("the gap to Vercel's proxy: its page load time over the launcher's", measured, None)
        )
    return found


def checks_table(found: Sequence[Check]) -> str:
    marks = {True: "met", False: "**not met**", None: "\u2014"}
    rows = ["| target | measured | |", "|---|--:|---|"]
    rows += [f"| {check.target} | {check.measured} | {marks[check.met]} |" for check in found]
    return "\n".join(rows)


def load_average() -> str:
    with contextlib.suppress(OSError, IndexError):
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def environment(load_generator: str, load_before: str, node: str | None) -> str:
    return (
        f"{measured_on()}, "
        f"{f'Node.js {node}, ' if node else ''}load generator: {load_generator}. "
        f"Load average (1, 5, 15 min) before the run: {load_before}; after: {load_average()}."
    )
