"""The environment variables Vercel's proxy honours, read from the process and the .env files as it
reads them (docs/REFERENCE-BEHAVIOUR.md §8.11, §8.12)."""

import json

import pytest

from mfe_proxy.environment import Environment, bypass_variable
from mfe_proxy.errors import MfeError
from mfe_proxy.model import Origin
from mfe_proxy.startup import load

SITE = {
    "applications": {
        "web": {"development": {"local": 3000, "fallback": "web.example.com"}},
        "docs": {"development": {"local": 3001}, "routing": [{"paths": ["/docs/:path*"]}]},
    },
    "options": {"localProxyPort": 4100},
}


@pytest.mark.parametrize(
    ("value", "port"),
    [
        ("5000", 5000),
        (" 5000", 5000),  # parseInt: leading white space, then digits up to the first other character
        ("5000abc", 5000),
        ("0x1388", 5000),
        ("+5000", 5000),
        ("abc", 4100),  # not a number, 0, beyond 65535, negative, empty: the config's port
        ("0", 4100),
        ("70000", 4100),
        ("-5000", 4100),
        ("", 4100),
    ],
)
def test_the_proxy_port_from_mfe_local_proxy_port(value, port):
    assert Environment({"MFE_LOCAL_PROXY_PORT": value}).proxy_port(4100) == port


def test_the_process_environment_wins_over_env_files_and_the_first_file_over_the_rest(tmp_path):
    (tmp_path / ".env").write_text("MFE_LOCAL_PROXY_PORT=5001\nA=env\nB=env\nC=env\n")
    (tmp_path / ".env.production").write_text("A=production\nB=production\n")
    (tmp_path / ".env.local").write_text("A=local\n")
    (tmp_path / ".env.development").write_text("C=development\n")  # never read, as by Vercel
    environment = Environment.read(tmp_path, {"B": "process"})
    assert {name: environment.variables[name] for name in "ABC"} == {"A": "local", "B": "process", "C": "env"}
    assert environment.proxy_port(4100) == 5001


def test_a_worktree_runs_its_own_proxy_with_mfe_local_proxy_port(tmp_path):
    (tmp_path / "microfrontends.json").write_text(json.dumps(SITE))
    (tmp_path / ".env.local").write_text("MFE_LOCAL_PROXY_PORT=4200\n")
    assert load("", "", tmp_path, {}).proxy_port == 4200
    assert load("", "", tmp_path, {"MFE_LOCAL_PROXY_PORT": "4300"}).proxy_port == 4300


def test_mfe_app_port_moves_the_one_local_application(tmp_path):
    (tmp_path / "microfrontends.json").write_text(json.dumps(SITE))
    loaded = load("", "docs", tmp_path, {"MFE_APP_PORT": "3999"})
    assert loaded.config.applications["docs"].upstream == Origin("http", "localhost", 3999)
    assert loaded.config.default_application.upstream == Origin(
        "http", "localhost", 3999
    )  # every one, as Vercel
    unchanged = load("", "docs", tmp_path, {"MFE_APP_PORT": "nope"}).config
    assert unchanged.applications["docs"].upstream == Origin("http", "localhost", 3001)


@pytest.mark.parametrize("local", ["", "web,docs"])
@pytest.mark.parametrize("value", ["3999", "nope"])
def test_mfe_app_port_is_refused_beside_several_local_applications(tmp_path, local, value):
    (tmp_path / "microfrontends.json").write_text(json.dumps(SITE))
    with pytest.raises(MfeError, match="MFE_APP_PORT cannot be used when several applications run locally"):
        load("", local, tmp_path, {"MFE_APP_PORT": value})


@pytest.mark.parametrize(
    ("application", "variable"),
    [
        ("docs", "AUTOMATION_BYPASS_DOCS"),
        ("docs-app", "AUTOMATION_BYPASS_DOCS_APP"),
        ("caf\u00e9", "AUTOMATION_BYPASS_CAF_"),
        ("Mixed.Case v2", "AUTOMATION_BYPASS_MIXED_CASE_V2"),
        ("\U0001f600", "AUTOMATION_BYPASS___"),  # one character, two UTF-16 code units
    ],
)
def test_the_bypass_variable_is_named_as_vercel_names_it(application, variable):
    assert bypass_variable(application) == variable


@pytest.mark.parametrize(
    ("variables", "secret"),
    [
        ({"VERCEL_AUTOMATION_BYPASS_SECRET": "G"}, ("G", "VERCEL_AUTOMATION_BYPASS_SECRET")),
        (
            {"VERCEL_AUTOMATION_BYPASS_SECRET": "G", "AUTOMATION_BYPASS_DOCS": "D"},
            ("D", "AUTOMATION_BYPASS_DOCS"),
        ),
        # An empty per-application variable turns the header off, as Vercel's `??` then falsy test does.
        ({"VERCEL_AUTOMATION_BYPASS_SECRET": "G", "AUTOMATION_BYPASS_DOCS": ""}, None),
        ({"AUTOMATION_BYPASS_WEB": "W"}, None),
        ({}, None),
    ],
)
def test_the_bypass_secret_of_an_application(variables, secret):
    assert Environment(variables).bypass_secret("docs") == secret
