"""mitmweb's memory in an all-day session: with `mfe_keep_flows`, the flow list, and with it mitmweb's
memory, stops growing; with every flow kept (`mfe_keep_flows=0`), it grows with each request. A
reliability run (scripts/reliability), not part of the default suite: it makes 2 x 6,000 requests."""

import threading

import pytest

from e2e.figures import record
from e2e.harness import start_mitmweb
from e2e.procinfo import MIB, rss

REQUESTS = 6_000
CLIENTS = 6
BODY = 16 * 1024  # a JavaScript module
CAP = 1000


def serve_many(proxy) -> None:
    errors: list[str] = []

    def client(count: int) -> None:
        connection = proxy.connection()
        try:
            for index in range(count):
                connection.request("GET", f"/module/{index}/big?bytes={BODY}")
                response = connection.getresponse()
                if response.status != 200 or len(response.read()) != BODY:
                    errors.append(f"{response.status}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(REQUESTS // CLIENTS,)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def growth(start_proxy, web, keep_flows: int) -> tuple[int, int]:
    config = {"applications": {"web": {"development": {"local": f"127.0.0.1:{web.port}"}}}}
    proxy, _, _ = start_mitmweb(start_proxy, config, "--set", f"mfe_keep_flows={keep_flows}")
    # Warm up (imports, connections, caches), then measure from there.
    assert proxy.get(f"/warm/big?bytes={BODY}").status == 200
    before = rss(proxy.pid)
    serve_many(proxy)
    after = rss(proxy.pid)
    proxy.stop()
    return before, after


@pytest.mark.reliability
@pytest.mark.timeout(400)
def test_the_flow_cap_bounds_mitmwebs_memory(start_proxy, upstream):
    web = upstream("web")
    capped = growth(start_proxy, web, CAP)
    kept = growth(start_proxy, web, 0)
    capped_growth, kept_growth = capped[1] - capped[0], kept[1] - kept[0]
    for label, (before, after), keep in (("capped", capped, CAP), ("all kept", kept, 0)):
        record(
            f"mitmweb, mfe_keep_flows={keep} ({label})",
            f"{REQUESTS:,} requests of {BODY // 1024} KiB through mitmweb, mfe_keep_flows={keep} ({label})",
            scope="tests/e2e/test_flow_cap_memory.py::test_the_flow_cap_bounds_mitmwebs_memory",
            rss_before=before,
            rss_after=after,
        )
    # Keeping all 6,000 flows holds at least their bodies (about 94 MiB); the capped list holds 1,000.
    assert kept_growth > 60 * MIB, kept_growth / MIB
    assert capped_growth < kept_growth / 3, (capped_growth / MIB, kept_growth / MIB)
