"""The status document and its Prometheus rendering, from a real config and real counters."""

import json

from mfe_proxy.config import load_config
from mfe_proxy.stats import Stats
from mfe_proxy.status import PROMETHEUS, document, prometheus, status_page


def three_apps(tmp_path):
    path = tmp_path / "microfrontends.json"
    path.write_text(
        json.dumps(
            {
                "applications": {
                    "web": {
                        "development": {"local": 3000, "fallback": "web.example.com"},
                    },
                    "docs": {"development": {"local": 3001}, "routing": [{"paths": ["/docs/:path*"]}]},
                    'we"ird\\app': {"development": {"local": 3002}, "routing": [{"paths": ["/w"]}]},
                }
            }
        )
    )
    return load_config(path)


def test_document(tmp_path):
    config = three_apps(tmp_path)
    stats = Stats(config.applications)
    stats.apps["docs"].requests = 7
    connection = stats.open("docs", "/docs/_hmr", "http://localhost:3001", 0.0)
    connection.message(True, 10)
    connection.message(False, 30)
    connection.message(False, 2)
    doc = document(config, frozenset({"web", "docs"}), stats.apps, {"web": True, "docs": False})
    assert doc["config"] == str(tmp_path / "microfrontends.json")
    assert doc["applications"]["docs"] == {
        "default": False,
        "local": True,
        "upstream": "http://localhost:3001",
        "fallback": "https://web.example.com",
        "reachable": False,
        "requests": 7,
        "websockets": {"open": 1, "total": 1},
        "messages": {"to_application": 1, "to_client": 2},
        "bytes": {"to_application": 10, "to_client": 32},
    }
    assert doc["applications"]["web"]["default"] is True
    assert doc["applications"]["web"]["reachable"] is True
    assert doc["applications"]['we"ird\\app']["local"] is False
    page = status_page(doc)
    assert page.status == 200
    assert json.loads(page.body) == doc


def test_prometheus(tmp_path):
    config = three_apps(tmp_path)
    stats = Stats(config.applications)
    stats.apps["web"].requests = 3
    stats.open("web", "/_hmr", "http://localhost:3000", 0.0).message(True, 5)
    doc = document(config, None, stats.apps, {"web": True})
    page = prometheus(doc)
    assert page.content_type == PROMETHEUS
    lines = page.body.decode().splitlines()
    assert 'mfe_proxy_requests_total{application="web"} 3' in lines
    assert 'mfe_proxy_up{application="web"} 1' in lines
    assert 'mfe_proxy_up{application="docs"} 0' in lines
    assert 'mfe_proxy_websocket_connections_open{application="web"} 1' in lines
    assert 'mfe_proxy_websocket_messages_total{application="web",direction="to_application"} 1' in lines
    assert 'mfe_proxy_websocket_bytes_total{application="web",direction="to_application"} 5' in lines
    assert 'mfe_proxy_requests_total{application="we\\"ird\\\\app"} 0' in lines
    # Each metric family is described once, before its samples.
    assert lines.count("# TYPE mfe_proxy_requests_total counter") == 1
    samples = [line for line in lines if not line.startswith("#")]
    assert len(samples) == 4 * 3 + 2 * 2 * 3
