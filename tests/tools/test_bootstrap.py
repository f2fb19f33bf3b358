"""scripts/bootstrap, run for real in a scratch copy of the repository with a PATH we control."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

TOOLS = ("bash", "dirname", "sha256sum", "cut", "cat", "find", "sort", "rm", "printf")
PYENV_SHIM = """#!/bin/sh
echo "pyenv: $(basename "$0"): command not found" >&2
exit 127
"""


@pytest.fixture
def scratch(tmp_path: Path) -> dict:
    """A repository holding only the bootstrap script and a dependency-free project, a bin folder
    with the shell tools the script needs, and an empty pyenv root."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap", repo / "scripts" / "bootstrap")
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "scratch"\nversion = "0"\n[project.optional-dependencies]\ndemo = []\ntest = []\n'
        "[tool.setuptools]\npy-modules = []\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    pyenv = tmp_path / "pyenv"
    (pyenv / "versions").mkdir(parents=True)
    env = {"PATH": str(bin_dir), "PYENV_ROOT": str(pyenv), "HOME": str(tmp_path)}
    return {"repo": repo, "bin": bin_dir, "pyenv": pyenv, "env": env}


def run(scratch: dict, *level: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(scratch["repo"] / "scripts" / "bootstrap"), *level],
        env={**scratch["env"], **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def add_pyenv_version(scratch: dict, version: str, interpreter: str) -> None:
    bin_dir = scratch["pyenv"] / "versions" / version / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3").symlink_to(interpreter)


def add_shim(scratch: dict, name: str) -> None:
    shim = scratch["bin"] / name
    shim.write_text(PYENV_SHIM)
    shim.chmod(0o755)


def test_without_a_suitable_python_it_says_what_to_install(scratch):
    add_shim(scratch, "python3.13")  # a pyenv shim for a version that is not selected
    old = shutil.which("python3.11") or "/usr/bin/python3.11"
    if Path(old).exists():
        (scratch["bin"] / "python3").symlink_to(old)
        add_pyenv_version(scratch, "3.11.0", old)
    result = run(scratch)
    assert result.returncode == 1
    assert "no Python >= 3.12 with venv support was found" in result.stderr
    assert "pyenv install 3.13" in result.stderr
    assert not (scratch["repo"] / ".venv").exists()


def test_a_bad_mfe_python_is_named(scratch):
    result = run(scratch, MFE_PYTHON="/nonexistent/python")
    assert result.returncode == 1
    assert "MFE_PYTHON=/nonexistent/python is not a usable Python >= 3.12" in result.stderr


@pytest.mark.timeout(600)  # two real installs from the package index
def test_finds_pyenvs_interpreter_past_failing_shims_and_reruns_as_a_no_op(scratch):
    add_shim(scratch, "python3.13")
    add_shim(scratch, "python3.12")
    add_pyenv_version(scratch, "3.100.0", "/nonexistent/python3")  # newest, but broken
    add_pyenv_version(scratch, "3.99.0", os.path.realpath(sys.executable))
    first = run(scratch)
    assert first.returncode == 0, first.stderr
    assert (
        f"creating {scratch['repo'] / '.venv'} with {scratch['pyenv']}/versions/3.99.0/bin/python3"
        in first.stderr
    )
    venv_python = scratch["repo"] / ".venv" / "bin" / "python"
    version = subprocess.run(
        [venv_python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "True"
    stamp = scratch["repo"] / ".venv" / ".mfe-bootstrap"
    before = stamp.stat().st_mtime_ns

    again = run(scratch)
    assert (again.returncode, again.stderr) == (0, "")
    assert stamp.stat().st_mtime_ns == before

    with (scratch["repo"] / "pyproject.toml").open("a") as file:
        file.write("# changed\n")
    changed = run(scratch)
    assert changed.returncode == 0, changed.stderr
    assert "updating" in changed.stderr
    assert stamp.stat().st_mtime_ns != before

    # Each level includes the ones before it: more is installed when asked for, never less.
    more = run(scratch, "test")
    assert (more.returncode, "updating" in more.stderr) == (0, True), more.stderr
    assert stamp.read_text().split()[1] == "2"
    for level in ("test", "demo", "run"):
        again = run(scratch, level)
        assert (again.returncode, again.stderr) == (0, ""), level


def test_an_unknown_level_is_a_usage_error(scratch):
    result = run(scratch, "everything")
    assert result.returncode == 2
    assert "usage: scripts/bootstrap [run|demo|test]" in result.stderr


# -- scripts/browser: Debian's chromium for the waiting page's browser tests ---------------------------

FAKE_APT_GET = """#!{bash}
printf '%s|%s\\n' "$DEBIAN_FRONTEND" "$*" >>"{calls}"
case "$1" in
update) : >"{updated}" ;;
install)
    if [ "{mode}" = broken ] || {{ [ "{mode}" = stale ] && [ ! -e "{updated}" ]; }}; then
        echo "E: Unable to locate package chromium" >&2
        exit 100
    fi
    printf '#!/bin/sh\\n' >"$MFE_CHROMIUM" && chmod +x "$MFE_CHROMIUM"
    ;;
esac
"""
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="scripts/browser installs chromium only as root")


@pytest.fixture
def browser_scratch(tmp_path: Path) -> dict:
    """scripts/browser with only bash (and chmod, for a fake apt-get) on PATH, and a chromium path
    that does not exist yet."""
    bin_dir = tmp_path / "browser-bin"
    bin_dir.mkdir()
    for tool in ("bash", "chmod"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    chromium = tmp_path / "browser-root" / "usr" / "bin" / "chromium"
    chromium.parent.mkdir(parents=True)
    return {
        "bin": bin_dir,
        "chromium": chromium,
        "calls": bin_dir.parent / "apt-get.calls",
        "env": {"PATH": str(bin_dir), "HOME": str(tmp_path), "MFE_CHROMIUM": str(chromium)},
    }


def run_browser(scratch: dict, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "browser")],
        env={**scratch["env"], **extra_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add_apt_get(scratch: dict, mode: str = "ok") -> None:
    """A fake apt-get that installs chromium ("ok"), only after an update ("stale"), or never ("broken")."""
    script = FAKE_APT_GET.format(
        bash=shutil.which("bash"),
        calls=scratch["calls"],
        updated=scratch["calls"].with_suffix(".updated"),
        mode=mode,
    )
    apt_get = scratch["bin"] / "apt-get"
    apt_get.write_text(script)
    apt_get.chmod(0o755)


def apt_calls(scratch: dict) -> list[str]:
    return scratch["calls"].read_text().splitlines() if scratch["calls"].exists() else []


INSTALL = "noninteractive|install -y -qq --no-install-recommends chromium"


def test_browser_present_is_a_silent_no_op(browser_scratch):
    browser_scratch["chromium"].write_text("#!/bin/sh\n")
    browser_scratch["chromium"].chmod(0o755)
    add_apt_get(browser_scratch)
    result = run_browser(browser_scratch)
    assert (result.returncode, result.stderr) == (0, "")
    assert apt_calls(browser_scratch) == []


def test_browser_missing_without_apt_get_says_what_to_install(browser_scratch):
    result = run_browser(browser_scratch)
    assert result.returncode == 1
    assert f"{browser_scratch['chromium']} is missing" in result.stderr
    assert "apt-get install chromium" in result.stderr
    assert "MFE_SKIP_BROWSER=1" in result.stderr


def test_browser_skipped_on_request(browser_scratch):
    add_apt_get(browser_scratch)
    result = run_browser(browser_scratch, MFE_SKIP_BROWSER="1")
    assert (result.returncode, result.stderr) == (0, "")
    assert apt_calls(browser_scratch) == []


@as_root
def test_browser_installed_with_apt_get(browser_scratch):
    add_apt_get(browser_scratch)
    result = run_browser(browser_scratch)
    assert result.returncode == 0, result.stderr
    assert "installing Debian's chromium" in result.stderr
    assert f"ready: {browser_scratch['chromium']}" in result.stderr
    assert apt_calls(browser_scratch) == [INSTALL]  # fresh package lists: no update
    assert os.access(browser_scratch["chromium"], os.X_OK)
    assert (run_browser(browser_scratch).returncode, apt_calls(browser_scratch)) == (0, [INSTALL])


@as_root
def test_browser_install_refreshes_stale_package_lists(browser_scratch):
    add_apt_get(browser_scratch, "stale")
    result = run_browser(browser_scratch)
    assert result.returncode == 0, result.stderr
    assert apt_calls(browser_scratch) == [INSTALL, "noninteractive|update -qq", INSTALL]
    assert "Unable to locate" not in result.stderr


@as_root
def test_browser_install_failure_shows_apt_gets_message(browser_scratch):
    add_apt_get(browser_scratch, "broken")
    result = run_browser(browser_scratch)
    assert result.returncode == 1
    assert "E: Unable to locate package chromium" in result.stderr
    assert "apt-get could not install chromium" in result.stderr
    assert f"{browser_scratch['chromium']} is missing" in result.stderr
