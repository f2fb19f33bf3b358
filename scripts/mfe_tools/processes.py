"""Child processes for the tools and the end-to-end tests: start one with its output (stdout and stderr
together) in a log file or a pipe, wait until it is ready, stop it by its PID, show the end of its output.

    child = Child("the proxy", argv, log=workdir / "proxy.log")
    try:
        child.wait_for("mfe-proxy serving", 30)  # or a probe: lambda: answers(port)
        ...
    finally:
        child.stop()  # SIGINT, then SIGKILL after a grace period
"""

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from mfe_tools import ROOT

STOP_GRACE = 5.0
REPORT_LINES = 20
KEEP_LINES = 200
POLL_INTERVAL = 0.05
# A pipe stays open while something the child started still holds it; the reader is not waited for longer.
READER_JOIN_TIMEOUT = 2.0

# What `Child.wait_for` waits for: a text in the output, or a probe that answers True once the child is ready.
type Ready = str | Callable[[], bool]


class ProcessError(Exception):
    """A child that could not start, ended before it was ready or was late; the message names it and
    ends with its last output."""


def pythonpath_env() -> dict[str, str]:
    """PYTHONPATH with this checkout's addon/ and scripts/ first, for children started as
    `python -m mfe_tools...`: they import the core and the tools from here, installed or not."""
    paths = [str(ROOT / "addon"), str(ROOT / "scripts")]
    if inherited := os.environ.get("PYTHONPATH"):
        paths.append(inherited)
    return {"PYTHONPATH": os.pathsep.join(paths)}


class Child:
    """One child process, its stdout and stderr together: in `log` when given (read back whole), else in
    a pipe that a thread reads line by line, keeping the last `keep` lines (None: all) and echoing them
    to our stdout when `echo`.

    `env` adds to our environment. `own_group` gives the child a process group of its own, so that
    Ctrl-C in a terminal reaches only us and we stop the child ourselves, in our order. Error messages
    end with the last `report_lines` lines of output (None: all of it)."""

    def __init__(
        self,
        label: str,
        argv: Sequence[str],
        log: Path | None = None,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        echo: bool = False,
        keep: int | None = KEEP_LINES,
        own_group: bool = False,
        report_lines: int | None = REPORT_LINES,
    ) -> None:
        if log is not None and echo:
            raise ValueError("echo needs the output in a pipe, not in a log file")
        self.label = label
        self.log = log
        self.report_lines = report_lines
        self._echo = echo
        self._lines: deque[str] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        try:
            if log is None:
                self.process = _popen(argv, subprocess.PIPE, cwd, env, own_group)
            else:
                with log.open("wb") as sink:
                    self.process = _popen(argv, sink, cwd, env, own_group)
        except OSError as error:
            raise ProcessError(f"cannot start {label} ({argv[0]}): {error}") from None
        self.pid = self.process.pid
        if log is None:
            self._reader = threading.Thread(target=self._read, name=f"read {label}", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self._lock:
                self._lines.append(line)
            if self._echo:
                print(line, flush=True)

    @property
    def returncode(self) -> int | None:
        """The child's exit status, or None while it runs."""
        return self.process.poll()

    def output(self) -> str:
        """What the child printed so far (from a pipe: the lines kept)."""
        if self.log is not None:
            return self.log.read_text(errors="replace")
        with self._lock:
            return "".join(f"{line}\n" for line in self._lines)

    def tail(self, lines: int | None = REPORT_LINES) -> str:
        """The last `lines` lines of output (None: all), indented, for a message."""
        printed = self.output().splitlines()
        shown = printed if lines is None else printed[-lines:]
        return "\n".join(f"    {line}" for line in shown) or "    (no output)"

    def wait_for(self, ready: Ready, timeout: float) -> str:
        """Wait until `ready` holds (its text is in the output, or the probe answers True) and return the
        output; ProcessError if the child ends first or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        if callable(ready):
            early, late = "before it was ready", f"was not ready after {timeout:g} s"
        else:
            early, late = f"before printing {ready!r}", f"did not print {ready!r} within {timeout:g} s"
        while True:
            # Asked before the output is read: once it has ended, that output is all there will be.
            returncode = self.process.poll()
            if returncode is not None:
                self._finish_reading()
            if ready() if callable(ready) else ready in self.output():
                return self.output()
            if returncode is not None:
                raise self._error(f"exited with status {returncode} {early}")
            if time.monotonic() > deadline:
                raise self._error(late)
            time.sleep(POLL_INTERVAL)

    def wait_exit(self, timeout: float | None = None) -> int:
        """Wait for the child to end on its own and return its status. One that still runs after
        `timeout` seconds is killed, so that nothing is left behind, and ProcessError raised."""
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise self._error(f"still ran after {timeout:g} s") from None
        self._finish_reading()
        return returncode

    def stop(self, sig: int = signal.SIGINT, grace: float = STOP_GRACE) -> int:
        """Send `sig` to the child's PID (SIGINT: the graceful stop of mitmproxy and of the servers here),
        SIGKILL if it still runs after `grace` seconds; return its status. Nothing if it already ended."""
        self.process.send_signal(sig)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._finish_reading()
        return self.process.returncode

    def kill(self) -> int:
        """SIGKILL: the child ends at once, with no clean-up of its own (as a crashed dev server does)."""
        self.process.kill()
        self.process.wait()
        self._finish_reading()
        return self.process.returncode

    def _finish_reading(self) -> None:
        if self._reader is not None:
            self._reader.join(READER_JOIN_TIMEOUT)

    def _error(self, problem: str) -> ProcessError:
        return ProcessError(f"{self.label} {problem}:\n{self.tail(self.report_lines)}")


def _popen(
    argv: Sequence[str],
    stdout: int | IO[bytes],
    cwd: Path | None,
    env: Mapping[str, str] | None,
    own_group: bool,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        # Readiness lines must arrive when printed, not when a buffer fills.
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        process_group=0 if own_group else None,
    )
