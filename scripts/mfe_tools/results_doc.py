"""The documents that hold measured results (docs/BENCHMARKS.md from scripts/bench, docs/RELIABILITY.md
from scripts/reliability): which machine a run was measured on, and replacing a document's results
section while its hand-written rest stays as it is."""

import contextlib
import importlib.metadata
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

RESULTS_HEADING = "## Results"


class ResultsDocError(Exception):
    """A document that cannot take results; the message says why."""


def measured_on() -> str:
    """`Measured <when> UTC on <n> CPUs (<model>), Python <version>, mitmproxy <version>`."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {len(os.sched_getaffinity(0))} CPUs ({cpu}), "
        f"Python {platform.python_version()}, mitmproxy {importlib.metadata.version('mitmproxy')}"
    )


def results_section(doc: Path) -> tuple[list[str], int, int]:
    """The lines of `doc` and where the body of its results section starts and ends (the next `## `
    heading, or the end)."""
    try:
        lines = doc.read_text().splitlines()
    except OSError as error:
        raise ResultsDocError(f"cannot read {doc}: {error.strerror}") from None
    if RESULTS_HEADING not in lines:
        raise ResultsDocError(f"{doc} has no '{RESULTS_HEADING}' line to put the results under")
    start = lines.index(RESULTS_HEADING) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines, start, end


def write_results(doc: Path, section: str) -> None:
    """Replace the body of `doc`'s results section with `section`."""
    lines, start, end = results_section(doc)
    following = ["", *lines[end:]] if end < len(lines) else []
    doc.write_text("\n".join([*lines[:start], "", section, *following]) + "\n")
