"""scripts/bootstrap, run for real in a scratch copy of the repository with a PATH we control."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
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
        '[project]\nname = "scratch"\nversion = "0"\n[project.optional-dependencies]\ntest = []\n'
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


def run(scratch: dict, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(scratch["repo"] / "scripts" / "bootstrap")],
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
