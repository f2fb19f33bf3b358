"""Quoting values in messages (mfe_proxy.errors)."""

from mfe_proxy.errors import quote


def test_quote_keeps_lone_surrogates_escaped_and_other_text_readable():
    assert quote("caf\u00e9 \ud800") == '"café \\ud800"'
    quote("\udcff").encode("utf-8")
