"""The allowed hosts: which Host headers and WebSocket Origins the proxy accepts."""

import pytest

from mfe_proxy.errors import MfeError
from mfe_proxy.hosts import AllowedHosts, HostsError, hostname


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("localhost", "localhost"),
        ("LocalHost:3024", "localhost"),
        ("localhost.:3024", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:3024", "[::1]"),
        ("[::1]", "[::1]"),
        ("app.localhost:1", "app.localhost"),
        ("my_app.test", "my_app.test"),
        ("a", "a"),
        ("x:65535", "x"),
    ],
)
def test_valid_hosts(value, name):
    assert hostname(value) == name


@pytest.mark.parametrize(
    "value",
    [
        "",
        ":3024",
        "localhost:",
        "localhost:0",
        "localhost:65536",
        "localhost:123456",
        "localhost:3024:1",
        "user@localhost",
        "local host",
        "localhost/path",
        "localhost\r\nX: y",
        "[::1",
        "::1",
        "[zz::1]",
        "-bad.test",
        ".test",
        "ex%41mple.test",
        "localhost,evil.test",
        "ünïcode.test",
    ],
)
def test_malformed_hosts(value):
    assert hostname(value) is None


@pytest.fixture
def allowed() -> AllowedHosts:
    return AllowedHosts()


@pytest.mark.parametrize(
    "host",
    ["localhost:3024", "127.0.0.1:3024", "[::1]:3024", "docs.localhost:3024", "LOCALHOST", "a.b.localhost"],
)
def test_loopback_names_are_allowed_by_default(allowed, host):
    assert allowed.check_host([host]) is None


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("evil.test:3024", "evil.test"),
        ("localhost.evil.test", "localhost.evil.test"),
        ("evillocalhost", "evillocalhost"),
        ("127.0.0.2", "127.0.0.2"),
        ("192.168.1.5:3024", "192.168.1.5"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_other_hosts_are_forbidden(allowed, host, name):
    assert allowed.check_host([host]) == (403, name)


@pytest.mark.parametrize("values", [[], ["localhost", "localhost"], ["localhost", "evil.test"], ["bad host"]])
def test_missing_doubled_or_malformed_host_is_a_bad_request(allowed, values):
    assert allowed.check_host(values).status == 400


def test_extra_hosts_exact_and_subdomains():
    allowed = AllowedHosts.parse(" myapp.test , *.dev.test,192.168.1.5")
    for host in ("myapp.test:3024", "a.dev.test", "b.a.dev.test", "192.168.1.5:3024", "localhost"):
        assert allowed.check_host([host]) is None, host
    for host in ("dev.test", "other.myapp.test", "xdev.test"):
        assert allowed.check_host([host]).status == 403, host


def test_any_host():
    allowed = AllowedHosts.parse("*")
    assert allowed.check_host(["anything.example:1"]) is None
    assert allowed.check_host(["bad host"]).status == 400


@pytest.mark.parametrize("entry", ["localhost:3000", "http://x.test", "*", "**.test", "*.", "a b", "[::1"])
def test_bad_option_entries(entry):
    if entry == "*":
        AllowedHosts.parse(entry)
        return
    with pytest.raises(HostsError) as raised:
        AllowedHosts.parse(f"ok.test,{entry}")
    assert isinstance(raised.value, MfeError)
    assert f"mfe_allowed_hosts: {entry!r} is not a host name" in str(raised.value)


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://localhost:3024", None),
        ("https://app.localhost", None),
        ("http://127.0.0.1:3024", None),
        ("http://[::1]:3024", None),
        ("https://evil.test", 403),
        ("http://localhost.evil.test", 403),
        ("null", 403),
        ("file://", 403),
        ("chrome-extension://abc", 403),
        ("http://localhost:3024/path", 403),
        ("http://user@localhost", 403),
        ("", 403),
    ],
)
def test_origins(allowed, origin, status):
    refusal = allowed.check_origin(origin)
    assert (None if refusal is None else refusal.status) == status


def test_answers_are_cached_and_the_cache_is_bounded(allowed):
    for index in range(5000):
        allowed.check_host([f"h{index}.test"])
    assert len(allowed._hosts) <= 1024
    assert allowed.check_host(["h4999.test"]) == (403, "h4999.test")
