"""`nginx -t` accepts the export of every config in configs/ and of a representative set: many
patterns, flags, asset prefixes, regex groups, odd application names, configs with warnings, https and
IPv6 origins, in both forms (standalone, and included in an existing nginx's `http` block)."""

import concurrent.futures
import random
from pathlib import Path

import pytest

from helpers import SUITE_CONFIGS, load
from mfe_proxy.config import load_config
from mfe_proxy.model import Config
from mfe_proxy.nginx.export import render
from nginx.harness import check
from nginx.test_routing_parity import CONFIG as PARITY_CONFIG

ROOT = Path(__file__).parent.parent.parent
CONFIG_FILES = sorted(
    path for path in (ROOT / "configs").iterdir() if path.suffix in (".json", ".jsonc", ".yaml")
)

REPRESENTATIVE = {
    "only-default": {"applications": {"web": {"development": {"local": 3000}}}},
    "parity": PARITY_CONFIG,
    "fallbacks-https-and-ipv6": {
        "applications": {
            "web": {"development": {"local": "[::1]:3000", "fallback": "web.example.com"}},
            "docs": {
                "development": {
                    "local": "https://docs.localhost:3001",
                    "fallback": "http://staging.internal:8080",
                },
                "routing": [{"paths": ["/docs/:path*"]}],
            },
            "api": {"development": {"local": "api.localhost"}, "routing": [{"paths": ["/api"]}]},
        },
        "options": {"localProxyPort": 4000},
    },
    "odd-names": {
        "applications": {
            "web": {"development": {"local": 3000}},
            "x y": {"routing": [{"paths": ["/xy"]}], "packageName": "pkg$x", "development": {"task": 'de"v'}},
            "a$b": {"routing": [{"paths": ["/ab/:p+"]}]},
            'q"t\\z': {"routing": [{"paths": ["/qt"]}]},
            "Ünï": {"routing": [{"paths": ["/u"]}]},
            "default": {"routing": [{"paths": ["/default"]}]},
            "~x": {"routing": [{"paths": ["/tilde"]}]},
            "0": {"routing": [{"paths": ["/zero"]}]},
        }
    },
    "warnings": {
        "applications": {
            "web": {"development": {"local": 3000}},
            "docs": {
                "routing": [
                    {"paths": ["/café", "/a b", "/:p(x|^y)", "/:q(z|w$)", "/:r(\\u00e9|e)", "/:s(\\qa|b)"]},
                    {"paths": ["/t/:a(en|fr)/:b(x|y\\1)", '/quote"d', "/caf%C3%A9/:x*"]},
                ]
            },
        }
    },
    "many": {
        "applications": {
            "web": {"development": {"local": 3000}},
            **{
                f"app{n}": {
                    "development": {"local": 3100 + n},
                    "assetPrefix": f"assets-{n}",
                    "routing": [
                        {"paths": [f"/s{n}", f"/s{n}/:path*", f"/:lang(en|fr)/s{n}/:p+", f"/f{n}/x.:ext"]},
                        {"flag": f"flag-{n}", "group": f"g{n}", "paths": [f"/flagged{n}/:path*"]},
                    ],
                }
                for n in range(40)
            },
        }
    },
}


def generated(seed: int) -> dict:
    """A valid config like tests/test_fuzz.py's: children with every kind of pattern, flags, fallbacks."""
    rng = random.Random(seed)
    applications: dict = {"web": {"development": {"local": rng.randint(1, 65535)}}}
    if rng.random() < 0.5:
        applications["web"]["development"]["fallback"] = "web.example.com"
    names = rng.sample(["docs", "api", "blog", "shop", "Ünï", "a.b", "x y", "2024"], rng.randint(0, 5))
    kinds = [
        "/{top}",
        "/{top}/:path*",
        "/{top}/:p+",
        "/{top}/:lang(en|fr)",
        "/{top}/x.:ext",
        "/{top}/:id(new|\\d+)",
    ]
    for number, name in enumerate(names):
        top = f"s{number}"
        routing = [{"paths": [kind.format(top=top) for kind in rng.sample(kinds, rng.randint(1, 3))]}]
        if rng.random() < 0.5:
            routing.append({"flag": f"flag-{number}", "paths": [f"/f{number}/:path*"]})
        app: dict = {"routing": routing, "development": {"local": f"127.0.0.1:{3001 + number}"}}
        if rng.random() < 0.5:
            app["development"]["fallback"] = f"http://{top}.example.com:8080"
        if rng.random() < 0.5:
            app["assetPrefix"] = f"assets-{number}"
        applications[name] = app
    if rng.random() < 0.5:
        others = "|".join(f"s{n}" for n in range(len(names))) or "none"
        applications["catch"] = {"routing": [{"paths": [f"/:path((?!{others}|f\\d|vc-ap-).*)"]}]}
    return {"applications": applications}


def assert_accepted(config: Config, **options: object) -> None:
    for standalone in (True, False):
        result = check(render(config, standalone=standalone, **options), standalone=standalone)
        assert result.returncode == 0, f"{config.file} (standalone={standalone}):\n{result.stderr}"


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda path: path.name)
def test_every_config_in_configs_exports_to_a_valid_nginx_configuration(path):
    assert_accepted(load_config(path))


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_representative_configs_export_to_valid_nginx_configurations(name):
    # Fallback host names are resolved by a resolver at request time: nginx -t must not need DNS.
    assert_accepted(load(REPRESENTATIVE[name]), resolver=["127.0.0.53"])


def test_the_representative_set_includes_configs_with_warnings():
    assert load(REPRESENTATIVE["warnings"]).warnings


@pytest.mark.parametrize("seed", range(12))
def test_generated_configs_export_to_valid_nginx_configurations(seed):
    assert_accepted(load(generated(seed)), resolver=["127.0.0.1"])


def test_every_option_exports_to_a_valid_nginx_configuration(tmp_path):
    config = load(PARITY_CONFIG)
    assert_accepted(
        config,
        listen=("::1", 8443),
        upstreams={"docs": "https://10.0.0.5:3001", "api": "http://[fd00::1]:80"},
        server_names=["preview.example.com", "*.preview.example.com"],
        trusted_certificates=None,
    )
    assert_accepted(config, server_names=["*"], prefix=str(tmp_path))


@pytest.mark.after_the_rest
def test_every_valid_config_the_suite_loaded_exports_to_a_valid_nginx_configuration():
    """Run after every other test: each valid config they loaded (tests/conftest.py records them)."""
    assert len(SUITE_CONFIGS) >= len(REPRESENTATIVE)  # this module's own, at least

    def refusal(document: str, config: Config) -> str | None:
        # A resolver: nginx -t must not need DNS for the fallbacks' host names.
        result = check(render(config, standalone=True, resolver=["127.0.0.1"]))
        return f"{document}:\n{result.stderr}" if result.returncode != 0 else None

    # Each nginx -t is a process of its own, mostly waiting to start: a few at a time.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = pool.map(refusal, SUITE_CONFIGS.keys(), SUITE_CONFIGS.values())
        refused = [found for found in results if found is not None]
    assert not refused, f"{len(refused)} of {len(SUITE_CONFIGS)} refused:\n" + "\n".join(refused[:5])
