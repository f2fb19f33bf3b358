"""What a test can see of another process from /proc (Linux): resident memory and open file descriptors.
Used to show that the proxy leaks neither sockets nor memory under faults and load."""

import time
from pathlib import Path

MIB = 1024 * 1024


def _status(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def rss(pid: int) -> int:
    """Resident memory now, in bytes."""
    return _status(pid, "VmRSS")


def peak_rss(pid: int) -> int:
    """The most resident memory the process has had since it started, in bytes."""
    return _status(pid, "VmHWM")


def open_fds(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def wait_for_fds(pid: int, count: int, timeout: float = 15) -> int:
    """Wait until `pid` has at most `count` open file descriptors; return how many it has then (more
    than `count` if the wait timed out, for the caller's assertion to show)."""
    deadline = time.monotonic() + timeout
    while True:
        now = open_fds(pid)
        if now <= count or time.monotonic() > deadline:
            return now
        time.sleep(0.05)
