"""The reliability run: the hardening tests, the long ones marked `reliability` included, and what they
measured, as the table in docs/RELIABILITY.md.

    scripts/reliability [--write] [--fuzz-scale N] [-- PYTEST_ARGS ...]

Runs pytest on FILES with every marker selected and hypothesis's statistics on; the tests write their
figures as JSON lines to the file named by MFE_RELIABILITY_OUT (tests/e2e/figures.py), pytest writes a
JUnit report of every case, and hypothesis prints how many examples each property ran. This script reads
all three and prints the tables; with --write it replaces the Results section of docs/RELIABILITY.md.
It exits non-zero when a test failed (the tables, written or not, then say which).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mfe_tools import ROOT
from mfe_tools.processes import Child
from mfe_tools.results_doc import ResultsDocError, measured_on, results_section, write_results

DOC = ROOT / "docs" / "RELIABILITY.md"
FILES = (
    "tests/e2e/test_faults.py",
    "tests/e2e/test_load.py",
    "tests/e2e/test_raw_traffic.py",
    "tests/e2e/test_flow_cap_memory.py",
    "tests/config/test_malformed.py",
    "tests/e2e/test_malformed_config.py",
    "tests/test_fuzz.py",
)
# Files whose every test records figures of its own.
RECORDING_FILES = ("tests/e2e/test_faults.py", "tests/e2e/test_load.py", "tests/e2e/test_flow_cap_memory.py")
# Through the loader, and some of the same through a real mitmdump.
MALFORMED_CONFIGS = ("tests/config/test_malformed.py::", "tests/e2e/test_malformed_config.py::")
FUZZ = "tests/test_fuzz.py"
MIB = 1024 * 1024
# pytest stops the proxies and servers of the tests it was running when interrupted: time to let it.
PYTEST_STOP_GRACE = 60.0


class ReliabilityError(Exception):
    """A failure worth one message, not a traceback."""


# -- reading what the run left -----------------------------------------------------------------------


@dataclass
class Outcome:
    """The cases of one test function (one per parameter set)."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return self.passed + self.failed + self.skipped

    def describe(self) -> str:
        if self.cases == 0:
            return "not run"
        if self.failed == 0 and self.skipped == 0:
            return "passed" if self.cases == 1 else f"all {self.cases} passed"
        parts = [f"{self.passed} passed"]
        if self.failed:
            parts.append(f"**{self.failed} failed**")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)


def read_junit(path: Path) -> dict[str, Outcome]:
    """Outcomes by test function node id (`tests/e2e/test_load.py::test_x`), parameter sets merged."""
    try:
        tree = ElementTree.parse(path)
    except (OSError, ElementTree.ParseError) as error:
        raise ReliabilityError(f"pytest left no readable report ({error})") from None
    # A case that fails and then errors in teardown is reported twice: count it once, as failed.
    cases: dict[tuple[str, str], tuple[str, float]] = {}
    for case in tree.iter("testcase"):
        key = (case.get("classname", "").replace(".", "/") + ".py", case.get("name", ""))
        if case.find("skipped") is not None:
            state = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            state = "failed"
        else:
            state = "passed"
        previous, seconds = cases.get(key, ("passed", 0.0))
        cases[key] = (
            "failed" if "failed" in (state, previous) else state,
            seconds + float(case.get("time", 0)),
        )
    outcomes: dict[str, Outcome] = defaultdict(Outcome)
    for (module, name), (state, seconds) in cases.items():
        outcome = outcomes[f"{module}::{name.partition('[')[0]}"]
        outcome.seconds += seconds
        setattr(outcome, state, getattr(outcome, state) + 1)
        if state == "failed":
            outcome.failures.append(name)
    return outcomes


def read_hypothesis(output: str) -> dict[str, int]:
    """Examples that passed, by test node id, from pytest's `--hypothesis-show-statistics` output."""
    examples: dict[str, int] = {}
    current = None
    for line in output.splitlines():
        header = re.fullmatch(r"(\S+\.py::\S+):", line.strip())
        if header:
            current = header[1].partition("[")[0]
            examples.setdefault(current, 0)
            continue
        passing = re.search(r"- (\d+) passing", line)
        if passing and current is not None:
            examples[current] += int(passing[1])
    return examples


def read_figures(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- formatting --------------------------------------------------------------------------------------


def _mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def measured(figures: dict) -> str:
    """The figures of one record as one cell of the table."""
    parts = [figures["outcome"]] if figures.get("outcome") else []
    if "opened" in figures:
        parts.append(f"{figures['opened']:,} connections opened and closed")
    if "connections" in figures:
        parts.append(f"{figures['connections']:,} connections at once")
    if "messages" in figures:
        relayed = f" ({figures['relayed']:,} through the proxy)" if "relayed" in figures else ""
        parts.append(f"{figures['messages']:,} messages checked{relayed}, none lost, reordered or altered")
    if "requests" in figures:
        parts.append(f"{figures['requests']:,} responses checked, each from the right application")
    if "inputs" in figures:
        kinds = [
            f"{figures[key]} {label}"
            for key, label in (
                ("http_inputs", "HTTP"),
                ("smuggling_inputs", "smuggling"),
                ("websocket_inputs", "WebSocket"),
            )
            if key in figures
        ]
        parts.append(f"{figures['inputs']} malformed inputs ({', '.join(kinds)})" if kinds else "")
    if "rss_before" in figures:
        rss = f"proxy RSS {_mib(figures['rss_before'])} before, {_mib(figures['rss_after'])} after"
        if "rss_peak" in figures:
            rss += f", peak {_mib(figures['rss_peak'])}"
        if "rss_growth" in figures:
            rss += f"; growth **{_mib(figures['rss_growth'])}**"
        parts.append(rss)
    if "fds_before" in figures:
        peak = f", {figures['fds_peak']:,} at the peak" if "fds_peak" in figures else ""
        parts.append(f"proxy fds {figures['fds_before']} before{peak}, **{figures['fds_after']} after**")
    if "tasks_before" in figures:
        parts.append(
            f"asyncio tasks {figures['tasks_before']} before, {figures['tasks_after']} after; "
            f"live flows {figures['flows_before']} before, {figures['flows_after']} after"
        )
    if "seconds" in figures:
        parts.append(f"{figures['seconds']:.0f} s")
    return "; ".join(part for part in parts if part)


def result(scope: str, outcomes: dict[str, Outcome]) -> str:
    """Whether the test (or all tests of the file) that recorded a figure passed."""
    if scope.endswith(".py"):
        merged = Outcome()
        for node, outcome in outcomes.items():
            if node.startswith(scope + "::"):
                merged.passed += outcome.passed
                merged.failed += outcome.failed
                merged.skipped += outcome.skipped
        return merged.describe()
    outcome = outcomes.get(scope.partition("[")[0])
    return outcome.describe() if outcome else "?"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def row(figure: dict, outcomes: dict[str, Outcome]) -> str:
    return f"| {cell(figure['tried'])} | {cell(measured(figure))} | {result(figure['scope'], outcomes)} |"


def tables(figures: list[dict], outcomes: dict[str, Outcome], examples: dict[str, int]) -> str:
    by_file = [figure for figure in figures if figure["scope"].endswith(".py")]
    by_test = [figure for figure in figures if not figure["scope"].endswith(".py")]
    lines = ["### Faults and load", "", "| what was tried | measured | result |", "|---|---|---|"]
    lines += [row(figure, outcomes) for figure in by_test]
    recorded = {figure["scope"].partition("[")[0] for figure in by_test}
    for node, outcome in sorted(outcomes.items()):
        # A test that failed before it could record its figures still gets its row.
        if node.startswith(RECORDING_FILES) and node not in recorded:
            lines.append(f"| `{node.partition('::')[2]}` | (no figures recorded) | {outcome.describe()} |")

    lines += ["", "### Bad input", "", "| what was tried | how many | result |", "|---|---|---|"]
    lines += [row(figure, outcomes) for figure in by_file]
    for node, outcome in sorted(outcomes.items()):
        if node.startswith(MALFORMED_CONFIGS) and outcome.cases > 1:
            name = node.partition("::")[2]
            lines.append(f"| malformed configs: `{name}` | {outcome.cases} configs | {outcome.describe()} |")
    fuzzed = {node: count for node, count in sorted(examples.items()) if node.startswith(FUZZ + "::")}
    for node, count in fuzzed.items():
        lines.append(f"| fuzz: `{node.partition('::')[2]}` | {count:,} examples | {result(node, outcomes)} |")
    if fuzzed:
        total = sum(fuzzed.values())
        lines.append(f"| fuzz: all properties | {total:,} examples | {result(FUZZ, outcomes)} |")

    lines += ["", "### Every test", "", "| test | cases | result | seconds |", "|---|--:|---|--:|"]
    for node, outcome in sorted(outcomes.items()):
        lines.append(f"| `{node}` | {outcome.cases} | {outcome.describe()} | {outcome.seconds:.1f} |")
    failures = [name for outcome in outcomes.values() for name in outcome.failures]
    if failures:
        lines += ["", "Failed: " + ", ".join(f"`{name}`" for name in failures) + "."]
    return "\n".join(lines)


def environment(seconds: float, fuzz_scale: int) -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{measured_on()}; "
        f"the run took {seconds:.0f} s (fuzz scale {fuzz_scale}); load average after it: {load}."
    )


# -- main --------------------------------------------------------------------------------------------


def run_tests(workdir: Path, fuzz_scale: int, extra: list[str]) -> tuple[int, str, Path, Path]:
    """Run the tests, echoing pytest's output; return its exit code, its output, and the report files."""
    files = [name for name in FILES if (ROOT / name).exists()]
    missing = sorted(set(FILES) - set(files))
    if missing:
        print(f"reliability: not there, skipped: {', '.join(missing)}", file=sys.stderr)
    junit, figures = workdir / "junit.xml", workdir / "figures.jsonl"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *files,
        "-m",
        "reliability or not reliability",  # the default options deselect the long ones
        "--hypothesis-show-statistics",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]
    env = {"MFE_RELIABILITY_OUT": str(figures), "MFE_FUZZ_SCALE": str(fuzz_scale)}
    # Its own process group: Ctrl-C reaches only us, and pytest gets one SIGINT, from `stop`.
    pytest = Child("pytest", command, cwd=ROOT, env=env, echo=True, keep=None, own_group=True)
    try:
        returncode = pytest.wait_exit()
    finally:
        pytest.stop(grace=PYTEST_STOP_GRACE)
    return returncode, pytest.output(), junit, figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/reliability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"put the results into {DOC.relative_to(ROOT)}")
    parser.add_argument(
        "--fuzz-scale", type=int, default=1, help="run N times as many hypothesis examples (MFE_FUZZ_SCALE)"
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    if args.fuzz_scale < 1:
        parser.error("--fuzz-scale must be 1 or more")
    try:
        if args.write:
            results_section(DOC)  # a document that cannot take the results should fail now, not after the run
        with tempfile.TemporaryDirectory(prefix="mfe-reliability-") as tmp:
            started = time.monotonic()
            returncode, output, junit, figures_file = run_tests(Path(tmp), args.fuzz_scale, args.pytest_args)
            seconds = time.monotonic() - started
            if returncode not in (0, 1):  # 1: some tests failed, which the tables show
                raise ReliabilityError(f"pytest stopped with exit code {returncode}")
            outcomes = read_junit(junit)
            section = (
                f"{environment(seconds, args.fuzz_scale)}\n\n"
                f"{tables(read_figures(figures_file), outcomes, read_hypothesis(output))}"
            )
        print(f"\n{section}")
        if args.write:
            write_results(DOC, section)
            print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    except (ReliabilityError, ResultsDocError) as error:
        print(f"reliability: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reliability: interrupted", file=sys.stderr)
        return 130
    return returncode


if __name__ == "__main__":
    sys.exit(main())
