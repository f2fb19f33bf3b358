"""From a config to a running proxy (mfe_proxy.startup): the mitmproxy options it sets itself, mfe_local_apps,
the proxy URL and the start-up banner."""

import re

import pytest

from helpers import busy_port, load
from mfe_proxy.errors import MfeError
from mfe_proxy.model import Config
from mfe_proxy.startup import banner, busy_address, local_applications, own_options, proxy_url

CONFIG = {
    "options": {"localProxyPort": 4100},
    "applications": {
        # The default application is not the first one: the reverse target must still be it.
        "docs": {
            "development": {"local": 3001},
            "routing": [{"paths": ["/docs", "/docs/:path*"]}, {"flag": "f", "paths": ["/new/:path*"]}],
        },
        "web": {"development": {"local": "https://web.localhost:3443", "fallback": "web.example.com"}},
        "api": {
            "development": {"local": "[::1]:3002", "fallback": "http://api.staging:8080"},
            "routing": [{"paths": ["/api/:path*"]}],
        },
    },
}

OPTION_NAMES = [
    "mode",
    "listen_host",
    "listen_port",
    "connection_strategy",
    "keep_host_header",
    "stream_large_bodies",
]


@pytest.fixture(scope="module")
def config() -> Config:
    return load(CONFIG)


# -- own options ---------------------------------------------------------------------------------


def test_own_options(config):
    assert own_options(config, config.proxy_port, lambda name: False) == {
        "mode": ["reverse:https://web.localhost:3443"],
        "listen_host": "127.0.0.1",
        "listen_port": 4100,
        "connection_strategy": "lazy",
        "keep_host_header": True,
        "stream_large_bodies": "1m",
    }


def test_derived_listen_port_defaults_to_3024():
    config = load({"applications": {"web": {"development": {"local": 3000}}}})
    options = own_options(config, config.proxy_port, lambda _: False)
    assert options["listen_port"] == 3024
    assert options["mode"] == ["reverse:http://localhost:3000"]


@pytest.mark.parametrize("changed_name", OPTION_NAMES)
def test_an_option_the_user_changed_is_left_out(config, changed_name):
    asked: list[str] = []

    def changed(name: str) -> bool:
        asked.append(name)
        return name == changed_name

    options = own_options(config, 4100, changed)
    assert sorted(options) == sorted(set(OPTION_NAMES) - {changed_name})
    assert sorted(asked) == sorted(OPTION_NAMES)


def test_every_option_changed_leaves_nothing(config):
    assert own_options(config, 4100, lambda name: True) == {}


# -- mfe_local_apps ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", ",", " , ,, "])
def test_no_local_applications_named_means_all(config, value):
    assert local_applications(value, config) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("docs", {"docs"}),
        (" web , docs ,, ", {"web", "docs"}),
        ("api,api", {"api"}),
        ("docs,web,api", {"docs", "web", "api"}),
    ],
)
def test_local_applications_are_parsed(config, value, expected):
    names = local_applications(value, config)
    assert isinstance(names, frozenset)
    assert names == expected


def test_unknown_local_applications_are_named_with_the_configs_applications():
    config = load(CONFIG, "apps/microfrontends.jsonc")
    with pytest.raises(MfeError) as caught:
        local_applications("docs, nope ,Web", config)
    assert str(caught.value) == (
        "mfe_local_apps names nope, Web, not in apps/microfrontends.jsonc (its applications: docs, web, api)"
    )


# -- proxy URL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addresses", "url"),
    [
        ([("127.0.0.1", 3024)], "http://localhost:3024"),
        ([("0.0.0.0", 8080)], "http://localhost:8080"),
        ([("", 3024)], "http://localhost:3024"),
        ([("::", 3024, 0, 0)], "http://localhost:3024"),
        ([("::1", 4000, 0, 0)], "http://localhost:4000"),
        ([("fe80::1", 3024, 0, 2)], "http://[fe80::1]:3024"),
        ([("192.168.1.5", 3024)], "http://192.168.1.5:3024"),
        ([("dev.localhost", 3024)], "http://dev.localhost:3024"),
        ([("10.0.0.2", 5000), ("127.0.0.1", 3024)], "http://10.0.0.2:5000"),  # the first address
    ],
)
def test_proxy_url(addresses, url):
    assert proxy_url(addresses) == url


# -- banner ------------------------------------------------------------------------------------------


def rows(text: str) -> dict[str, list[str]]:
    """The application lines of a banner, as cells, by application name."""
    table = {}
    for line in text.split("\n")[1:]:
        assert line.startswith("  ")
        cells = re.split(r" {2,}", line.strip())
        table[cells[0]] = cells[1:]
    return table


def test_banner_has_a_line_per_application(config):
    text = banner(config, [("127.0.0.1", 4100)], None, {"docs": True, "web": False})
    lines = text.split("\n")
    assert lines[0] == (
        "mfe-proxy serving http://localhost:4100 (listening on 127.0.0.1:4100) for microfrontends.json"
    )
    assert len(lines) == 1 + len(config.applications)
    assert rows(text) == {
        "docs": [
            "http://localhost:3001",
            "/docs, /docs/:path*, /new/:path*",
            "https://web.example.com",
            "up",
        ],
        "web": ["https://web.localhost:3443", "default", "https://web.example.com", "down"],
        "api": ["http://[::1]:3002", "/api/:path*", "http://api.staging:8080", "down"],  # not in reachable
    }
    assert [line.split()[0] for line in lines[1:]] == ["docs", "web", "api"]  # config order


def test_banner_columns_are_aligned(config):
    lines = banner(config, [("127.0.0.1", 4100)], None, {}).split("\n")[1:]
    starts = []
    for line in lines:
        cells = re.split(r" {2,}", line.strip())
        position, columns = 0, []
        for cell in cells:
            position = line.index(cell, position)
            columns.append(position)
            position += len(cell)
        starts.append(columns)
    assert len(starts) == 3
    assert all(columns == starts[0] for columns in starts), starts
    # Each column starts two spaces after the widest cell of the one before.
    widest_name = max(len(name) for name in config.applications)
    assert starts[0][1] == 2 + widest_name + 2


def test_banner_marks_applications_not_run_locally_as_remote(config):
    text = banner(config, [("127.0.0.1", 4100)], frozenset({"web"}), {"web": True, "docs": True, "api": True})
    assert {name: cells[-1] for name, cells in rows(text).items()} == {
        "docs": "remote",
        "web": "up",
        "api": "remote",
    }
    text = banner(config, [("127.0.0.1", 4100)], frozenset({"web", "api"}), {"api": True})
    assert {name: cells[-1] for name, cells in rows(text).items()} == {
        "docs": "remote",
        "web": "down",
        "api": "up",
    }


def test_banner_says_no_fallback():
    config = load(
        {
            "applications": {
                "web": {"development": {"local": 3000}},
                "docs": {
                    "development": {"local": 3001, "fallback": "docs.example.com"},
                    "routing": [{"paths": ["/docs"]}],
                },
            }
        }
    )
    assert rows(banner(config, [("127.0.0.1", 3024)], None, {"web": True, "docs": True})) == {
        "web": ["http://localhost:3000", "default", "no fallback", "up"],
        "docs": ["http://localhost:3001", "/docs", "https://docs.example.com", "up"],
    }


def test_banner_lists_every_listen_address(config):
    addresses = [("::1", 4100, 0, 0), ("", 4100), ("0.0.0.0", 4101)]
    first = banner(config, addresses, None, {}).split("\n")[0]
    assert first == (
        "mfe-proxy serving http://localhost:4100 "
        "(listening on [::1]:4100, *:4100, 0.0.0.0:4101) for microfrontends.json"
    )


def test_busy_address():
    with busy_port() as port:
        assert busy_address("127.0.0.1", port)
    assert not busy_address("127.0.0.1", port)
