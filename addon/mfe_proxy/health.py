"""Which upstreams are reachable, known without a check on every request.

mitmproxy 12.3.1 ignores a response set in the `error` hook, so the down page has to be decided
before mitmproxy tries to connect. A TCP connect before every request would cost about a fifth of the
proxy's throughput; instead an upstream counts as up while mitmproxy holds an open connection to it,
or for `recheck` seconds after a check succeeded, and only then is it checked, by one plain TCP
connect shared by every request waiting on it. An application that stops closes all its connections,
so it is noticed on the next request. A down upstream is rechecked at most every `recheck` seconds;
requests in between get the last answer without waiting.

Pure asyncio, no mitmproxy import: the addon reports connection events and asks `reachable`.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

type Address = tuple[str, int]
type Connector = Callable[[Address], Awaitable[None]]

_NEVER = float("-inf")


async def tcp_connect(address: Address) -> None:
    """Open and close a TCP connection; raises OSError when nothing accepts it."""
    _, writer = await asyncio.open_connection(*address)
    writer.close()
    # A dev server that is shutting down may reset the connection while it closes; that is still an
    # answer: something accepted the connection.
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Health:
    """Reachability of upstream addresses, kept from connection events and occasional checks."""

    def __init__(self, recheck: float = 0.5, timeout: float = 2.0, connect: Connector = tcp_connect) -> None:
        self.recheck = recheck
        self.timeout = timeout
        self._connect = connect
        self._open: dict[Address, int] = {}  # connections mitmproxy holds, per address
        self._up: dict[Address, float] = {}  # when a check last succeeded (monotonic)
        self._down: dict[Address, float] = {}  # when a check or a connection last failed
        self._checks: dict[Address, asyncio.Future[bool]] = {}

    def is_down(self, address: Address) -> bool:
        return address in self._down

    def connected(self, address: Address) -> None:
        self._open[address] = self._open.get(address, 0) + 1
        self._down.pop(address, None)

    def disconnected(self, address: Address) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)
            self._up.pop(address, None)

    def failed(self, address: Address) -> None:
        self._up.pop(address, None)
        self._down[address] = time.monotonic()

    async def reachable(self, address: Address) -> bool:
        """Whether `address` accepts connections: at once when it is known either way, otherwise
        after one TCP connect shared by every request that asks meanwhile."""
        if address in self._open:
            return True
        now = time.monotonic()
        if now - self._up.get(address, _NEVER) < self.recheck:
            return True
        if now - self._down.get(address, _NEVER) < self.recheck:
            return False
        check = self._checks.get(address)
        if check is None:
            check = asyncio.ensure_future(self._check(address))
            self._checks[address] = check
        return await asyncio.shield(check)

    async def _check(self, address: Address) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                await self._connect(address)
        except (OSError, TimeoutError):
            self.failed(address)
            return False
        else:
            self._up[address] = time.monotonic()
            self._down.pop(address, None)
            return True
        finally:
            del self._checks[address]
