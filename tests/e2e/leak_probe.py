"""A probe addon for fault tests, loaded into the proxy after the real one (`-s leak_probe.py`): on
SIGUSR1 it logs `leak-probe: tasks=<T> connections=<C> flows=<F>`, the proxy's asyncio tasks, the client
connections mitmproxy handles, and the HTTP flows still alive. A test compares the counts before and
after a fault: anything left behind by a broken connection shows up as a count that stays higher."""

import asyncio
import gc
import logging
import signal
from typing import Any

from mitmproxy import ctx, http


def _report() -> None:
    proxyserver: Any = ctx.master.addons.get("proxyserver")
    gc.collect()
    flows = sum(1 for item in gc.get_objects() if type(item) is http.HTTPFlow)
    tasks = len(asyncio.all_tasks())
    logging.info(f"leak-probe: tasks={tasks} connections={len(proxyserver.connections)} flows={flows}")


def running() -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _report)
