"""Measured figures for docs/RELIABILITY.md. A test calls `record(...)` with what it tried and what it
measured; when `MFE_RELIABILITY_OUT` names a file (scripts/reliability sets it), each call appends one
JSON line to it, and scripts/mfe_tools/reliability.py turns the lines into the table. Otherwise
nothing happens.

Figures are plain numbers under the names scripts/mfe_tools/reliability.py knows how to print:
`connections` (held open at once), `opened` (connections opened and closed), `messages` (checked end to end),
`relayed` (messages through the proxy), `requests` (responses checked), `inputs` (malformed inputs
tried), `rss_before`, `rss_after`, `rss_peak`, `rss_growth` (bytes), `fds_before`, `fds_peak`,
`fds_after`, `tasks_before`, `tasks_after`, `flows_before`, `flows_after`, `seconds`; and `outcome`, a
sentence on what the peers saw, as the test asserted it. Each line also
names the test it belongs to (`scope`: the running test's node id, or a whole file for a figure about
all of its tests), so that the table can show whether that test passed."""

import json
import os
from pathlib import Path


def record(name: str, tried: str, scope: str | None = None, **figures: float | str) -> None:
    path = os.environ.get("MFE_RELIABILITY_OUT")
    if not path:
        return
    if scope is None:
        # "tests/e2e/test_load.py::test_x (call)"
        scope = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps({"name": name, "tried": tried, "scope": scope, **figures}) + "\n")
