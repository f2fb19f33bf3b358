"""An application's origins (mfe_proxy.config.origins): every form and error of development.local and
development.fallback, and how a fallback is inherited."""

import pytest

from helpers import error_of, load, two_apps, with_local
from mfe_proxy.model import Origin

# -- development.local ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "origin"),
    [
        (3001, ("http", "localhost", 3001)),
        ("3002", ("http", "localhost", 3002)),
        (" 3003 ", ("http", "localhost", 3003)),
        ("my.localhost.me", ("http", "my.localhost.me", 6955)),
        ("my.localhost.me:8080", ("http", "my.localhost.me", 8080)),
        ("127.0.0.1:4000", ("http", "127.0.0.1", 4000)),
        ("[::1]:4000", ("http", "::1", 4000)),
        ("http://docs.localhost:4001", ("http", "docs.localhost", 4001)),
        ("https://docs.localhost:4002", ("https", "docs.localhost", 4002)),
        ("https://docs.localhost", ("https", "docs.localhost", 6955)),
        # Vercel's URL parser drops a scheme's default port, so the generated one applies (warned).
        ("https://docs.localhost:443", ("https", "docs.localhost", 6955)),
        ("docs.localhost:80", ("http", "docs.localhost", 6955)),
        ("docs.localhost:443", ("http", "docs.localhost", 443)),
        ("http://Docs.LocalHost:4003/", ("http", "docs.localhost", 4003)),
        ({"port": 3005}, ("http", "localhost", 3005)),
        ({"port": 3006, "host": "127.0.0.1", "protocol": "https"}, ("https", "127.0.0.1", 3006)),
        ({"host": "[::1]"}, ("http", "::1", 6955)),
        ({}, ("http", "localhost", 6955)),
    ],
)
def test_development_local_forms(local, origin):
    assert load(with_local(local)).applications["docs"].upstream == Origin(*origin)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (0, "0 is not a port number"),
        ("70000", "70000 is not a port number"),
        ("localhost:99999", '"localhost:99999" is not a valid host or URL: Port out of range'),
        ("localhost:0", "0 is not a port number"),
        ("ftp://localhost:21", "the protocol must be http or https"),
        (
            "localhost:3000/docs",
            '"localhost:3000/docs" has a path; write an origin only, like "http://localhost:3000"',
        ),
        ("http://user:pw@localhost:3000", "has credentials; write an origin only"),
        ("http://localhost:3000?x=1", "has a query; write an origin only"),
        ("http://", "has no valid host name"),
        ("bad host:3000", "has no valid host name"),
        (True, "must be a port, a host, host:port, a URL"),
        (3000.5, "must be a port, a host, host:port, a URL"),
        (["localhost"], "must be a port, a host, host:port, a URL"),
        ({"port": "3000"}, "must be a port number, not a string"),
        ({"port": 3000, "protocol": "ws"}, 'must be "http" or "https"'),
        ({"host": "a b"}, "is not a host name or IP address"),
    ],
)
def test_development_local_errors(local, expected):
    error = error_of(with_local(local))
    assert error.problems[0].where.startswith("applications.docs.development.local")
    assert expected in error.problems[0].message


# -- development.fallback ------------------------------------------------------------------------


def test_fallback_forms_and_inheritance():
    config = load(
        {
            "applications": {
                "web": {"development": {"fallback": "web.example.com"}},
                "docs": {
                    "development": {"fallback": "http://docs.example.com:8080/"},
                    "routing": [{"paths": ["/d"]}],
                },
                "api": {"routing": [{"paths": ["/api/:path*"]}]},
            }
        }
    )
    apps = config.applications
    assert apps["web"].fallback == Origin("https", "web.example.com", 443)
    assert apps["web"].fallback.url == "https://web.example.com"
    assert apps["docs"].fallback == Origin("http", "docs.example.com", 8080)
    assert apps["docs"].fallback.url == "http://docs.example.com:8080"
    assert apps["api"].fallback == apps["web"].fallback


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        ("example.com/docs", "has a path"),
        ("example.com?x=1", "has a query"),
        ("https://example.com/#top", "has a fragment"),
        ("https://user:pw@example.com", "has credentials"),
        ("https://user@example.com/x", "has a path and credentials"),
        ("ftp://example.com", "the protocol must be http or https"),
        (3000, "must be a host or URL"),
    ],
)
def test_fallback_errors(fallback, expected):
    error = error_of(two_apps(web={"development": {"fallback": fallback}}))
    assert error.problems[0].where == "applications.web.development.fallback"
    assert expected in error.problems[0].message
