"""The config model's derived values (mfe_proxy.model): generated ports, default asset prefixes, origins
written as URLs."""

import pytest

from mfe_proxy.model import Origin, default_asset_prefix, generated_port

# -- derived values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "port"), [("web", 5588), ("docs", 6955), ("blog", 4850), ("test-450", 7724)]
)
def test_generated_port_matches_the_references(name, port):
    assert generated_port(name) == port


def test_generated_port_wraps_like_javascript_for_long_and_non_ascii_names():
    for name in ("a" * 200, "ünïcødé-app", "😀-emoji", ""):
        assert 3000 <= generated_port(name) < 8000
    assert generated_port("") == 3000


@pytest.mark.parametrize(("name", "prefix"), [("docs", "vc-ap-e3e2a9"), ("blog", "vc-ap-126ac9")])
def test_default_asset_prefix_is_md5_based(name, prefix):
    assert default_asset_prefix(name) == prefix


# -- origins -------------------------------------------------------------------------------------


def test_origin_formats_ipv6_and_default_ports():
    assert Origin("http", "::1", 3000).url == "http://[::1]:3000"
    assert Origin("http", "localhost", 80).url == "http://localhost"
    assert Origin("https", "example.com", 8443).netloc == "example.com:8443"
