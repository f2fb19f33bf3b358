"""`mfe-proxy export nginx` as a user runs it (mfe_proxy.nginx.command): the config read and checked as
the proxy reads it, the output accepted by `nginx -t` in both forms, usage errors and refused configs
with a message and a non-zero exit; and the README's table of differences as the code has it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from mfe_proxy import startup
from mfe_proxy.errors import MfeError
from mfe_proxy.nginx.differences import markdown_table
from nginx.harness import check

COMMAND = [sys.executable, "-m", "mfe_proxy", "export", "nginx"]
SITE = {
    "applications": {
        "web": {"development": {"local": 3000, "fallback": "http://127.0.0.1:9"}},
        "docs": {"development": {"local": 3001}, "routing": [{"paths": ["/docs/:path*"]}]},
    },
    "options": {"localProxyPort": 4123},
}


def export(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "microfrontends.json").write_text(json.dumps(SITE))
    return tmp_path


def test_the_config_in_the_current_folder_is_exported_for_an_http_block(site):
    result = export(cwd=site)
    assert (result.returncode, result.stderr) == (0, "")
    assert "listen 127.0.0.1:4123;" in result.stdout  # the config's localProxyPort
    assert "server 127.0.0.1:3000" in result.stdout or "server localhost:3000" in result.stdout
    assert "daemon off;" not in result.stdout
    checked = check(result.stdout, standalone=False)
    assert checked.returncode == 0, checked.stderr


def test_standalone_with_options_passes_nginx_t(site):
    result = export(
        "--standalone",
        "--listen",
        "0.0.0.0:8099",
        "--server-name",
        "preview.example.com",
        "--upstream",
        "docs=http://docs.preview.internal:3000",
        "--prefix",
        "/srv/preview",
        cwd=site,
    )
    assert result.returncode == 0, result.stderr
    for expected in (
        "daemon off;",
        "listen 0.0.0.0:8099;",
        "preview.example.com",
        "docs.preview.internal:3000",
        'pid "/srv/preview/nginx.pid";',
    ):
        assert expected in result.stdout, expected
    # nginx -t resolves upstream host names: the same output with a name it can resolve.
    local = result.stdout.replace("docs.preview.internal", "localhost").replace("/srv/preview/", "")
    checked = check(local)
    assert checked.returncode == 0, checked.stderr


def test_the_environment_moves_the_port_as_for_the_proxy(site):
    result = export(cwd=site, env={"MFE_LOCAL_PROXY_PORT": "4555"})
    assert result.returncode == 0, result.stderr
    assert "listen 127.0.0.1:4555;" in result.stdout


def test_a_config_the_proxy_refuses_fails_with_the_proxys_message(tmp_path):
    bad = tmp_path / "microfrontends.json"
    bad.write_text('{"applications": {"web": {"development": {"local": "http://x/path"}}}}')
    with pytest.raises(MfeError) as refused:
        startup.load(str(bad), "", tmp_path, {})
    result = export("--config", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"mfe-proxy cannot export: {refused.value}\n"
    assert "applications.web.development.local" in result.stderr


def test_warnings_go_to_standard_error(tmp_path):
    document = {"applications": {"web": {"development": {"local": 3000}}}}
    (tmp_path / "microfrontends.json").write_text(json.dumps(document))
    result = export(cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == (
        f"{tmp_path / 'microfrontends.json'}: applications.web.development: the default application has no "
        "`fallback`; Vercel refuses this config (\"Property 'fallback' is required in field "
        'applications/web/development"), so a deploy with it fails\n'
    )
    assert result.stdout.startswith("# nginx configuration exported by mfe-proxy")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("--upstream", "docs"), 1, "--upstream docs: give NAME=URL"),
        (("--upstream", "blog=http://127.0.0.1:1"), 1, "has no application blog (it has web, docs)"),
        (("--upstream", "docs=ftp://x"), 1, "give an http:// or https:// origin"),
        (("--listen", "nowhere"), 1, "--listen nowhere: give HOST:PORT"),
        (("--server-name", "a b"), 1, "--server-name a b: give a host name"),
        (("--prefix", "/srv/x"), 2, "--prefix takes an absolute folder, and only with --standalone"),
        (("--standalone", "--prefix", "relative"), 2, "--prefix takes an absolute folder"),
        (("--bogus",), 2, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_say_what_is_wrong(site, args, status, message):
    result = export(*args, cwd=site)
    assert (result.returncode, result.stdout) == (status, "")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_no_engine_is_a_usage_error(site):
    result = subprocess.run(
        [sys.executable, "-m", "mfe_proxy", "export"], cwd=site, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage: mfe-proxy export" in result.stderr


def test_the_checkout_wrapper_exports_too(site):
    result = subprocess.run(
        [str(ROOT / "scripts" / "mfe-proxy"), "export", "nginx", "--standalone"],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert check(result.stdout).returncode == 0


def test_the_readme_table_is_the_codes():
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- nginx-differences:[^>]*-->\n(.*?)<!-- /nginx-differences -->", readme, re.DOTALL)
    assert found, "the README has no generated table of nginx differences"
    assert found[1] == markdown_table()
