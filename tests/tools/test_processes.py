"""The process helper (scripts/mfe_tools/processes.py) with real child processes: small Python programs
that print a ready line, exit early, stay silent or ignore SIGINT. Every child is stopped in teardown."""

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mfe_tools.processes import Child, ProcessError

# Prints its arguments one a line (the ready line last), then runs until a signal ends it.
READY_THEN_RUN = "import sys, time\nfor line in sys.argv[1:]: print(line)\ntime.sleep(60)"
IGNORES_SIGINT = (
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready')\ntime.sleep(60)"
)


def python(program: str, *args: str) -> list[str]:
    return [sys.executable, "-c", program, *args]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """`spawn(argv, to_log=False, **options) -> Child`, its output in a log file or a pipe."""
    started: list[Child] = []

    def start(argv: list[str], to_log: bool = False, **options) -> Child:
        log = tmp_path / f"child{len(started)}.log" if to_log else None
        child = Child(f"child {len(started)}", argv, log, **options)
        started.append(child)
        return child

    yield start
    for child in started:
        child.stop(signal.SIGKILL)


@pytest.mark.parametrize("to_log", [False, True], ids=["pipe", "log"])
def test_waits_for_the_ready_line_and_stops_on_sigint(spawn, to_log):
    child = spawn(python(READY_THEN_RUN, "starting", "ready at last"), to_log)
    output = child.wait_for("ready at last", 10)
    assert output == "starting\nready at last\n"
    assert child.returncode is None
    # Python ends on an unhandled SIGINT by the signal itself.
    assert child.stop() == -signal.SIGINT
    assert child.returncode == -signal.SIGINT


@pytest.mark.parametrize("to_log", [False, True], ids=["pipe", "log"])
def test_a_child_that_exits_before_it_is_ready_fails_with_its_last_output(spawn, to_log):
    program = "import sys\nfor i in range(30): print(f'line {i}')\nsys.exit(3)"
    child = spawn(python(program), to_log)
    with pytest.raises(ProcessError) as raised:
        child.wait_for("ready", 10)
    message = str(raised.value)
    assert message.startswith("child 0 exited with status 3 before printing 'ready':\n")
    # The last 20 lines, indented.
    assert message.endswith("\n".join(f"    line {i}" for i in range(10, 30)))
    assert "line 9\n" not in message


def test_a_late_child_fails_after_the_timeout_and_still_runs(spawn):
    child = spawn(python(READY_THEN_RUN, "still starting"))
    started = time.monotonic()
    with pytest.raises(
        ProcessError, match=r"^child 0 did not print 'ready' within 0\.5 s:\n    still starting$"
    ):
        child.wait_for("ready", 0.5)
    assert time.monotonic() - started >= 0.5
    assert child.returncode is None


def test_a_probe_decides_readiness(spawn, tmp_path):
    flag = tmp_path / "flag"
    child = spawn(python(READY_THEN_RUN))
    with pytest.raises(ProcessError, match=r"^child 0 was not ready after 0\.2 s:\n    \(no output\)$"):
        child.wait_for(flag.exists, 0.2)
    flag.touch()
    assert child.wait_for(flag.exists, 1) == ""


def test_a_child_that_ignores_sigint_is_killed_after_the_grace_period(spawn):
    child = spawn(python(IGNORES_SIGINT))
    child.wait_for("ready", 10)
    started = time.monotonic()
    assert child.stop(grace=0.5) == -signal.SIGKILL
    assert time.monotonic() - started >= 0.5


def test_wait_exit_kills_a_child_that_does_not_end(spawn):
    child = spawn(python(IGNORES_SIGINT), to_log=True)
    with pytest.raises(ProcessError, match=r"^child 0 still ran after 0\.3 s:\n    ready$"):
        child.wait_exit(0.3)
    assert child.returncode == -signal.SIGKILL


def test_wait_exit_returns_the_status_and_all_output(spawn):
    child = spawn(python("print('done')\nraise SystemExit(4)"), keep=None)
    assert child.wait_exit(10) == 4
    assert child.output() == "done\n"
    assert child.stop() == 4  # nothing to stop any more


def test_a_pipe_keeps_the_last_lines_and_echoes_every_one(spawn, capsys):
    child = spawn(python("for i in range(5): print(i)"), echo=True, keep=2)
    assert child.wait_exit(10) == 0
    assert child.output() == "3\n4\n"
    assert capsys.readouterr().out == "0\n1\n2\n3\n4\n"


def test_stderr_joins_stdout_and_env_adds_to_ours(spawn):
    program = (
        "import os, sys\nprint(os.environ['MFE_TEST_VALUE'], file=sys.stderr)\nprint(os.environ['PATH'])"
    )
    child = spawn(python(program), env={"MFE_TEST_VALUE": "added"}, report_lines=None)
    assert child.wait_exit(10) == 0
    assert sorted(child.output().splitlines()) == sorted(["added", os.environ["PATH"]])


def test_own_group_gives_the_child_a_process_group_of_its_own(spawn):
    child = spawn(python(READY_THEN_RUN, "ready"), own_group=True)
    child.wait_for("ready", 10)
    assert os.getpgid(child.pid) == child.pid != os.getpgid(0)


def test_a_program_that_cannot_start_is_reported(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(ProcessError, match=f"^cannot start the tool \\({missing}\\): "):
        Child("the tool", [str(missing)])


def test_echo_needs_a_pipe(tmp_path):
    with pytest.raises(ValueError, match="echo"):
        Child("child", python("pass"), tmp_path / "child.log", echo=True)
