"""Upstream reachability (mfe_proxy.health), against real sockets on 127.0.0.1: a listening asyncio
server for an application that is up, a port bound and closed again for one that is down. Checks are
counted by wrapping the real `tcp_connect` in the `connect` callable Health takes."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from helpers import free_port
from mfe_proxy.health import Address, Health, tcp_connect

# A check that never finishes must fail the test, not hang the suite.
pytestmark = pytest.mark.timeout(10)


def closed_port() -> Address:
    """An address nothing listens on: a port the OS handed out, bound and closed again."""
    return ("127.0.0.1", free_port())


class Server:
    """A listening asyncio server that counts the connections it accepted."""

    def __init__(self) -> None:
        self.accepted = 0
        self.address: Address = ("127.0.0.1", 0)
        self._server: asyncio.Server | None = None
        self._accepted = asyncio.Event()

    async def start(self, port: int = 0) -> "Server":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.address = self._server.sockets[0].getsockname()[:2]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def wait_accepted(self) -> None:
        await asyncio.wait_for(self._accepted.wait(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._accepted.set()
        writer.close()


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[Server]:
    server = await Server().start()
    try:
        yield server
    finally:
        await server.stop()


class Counting:
    """A `connect` callable: records each attempt, then does what `inner` (the real TCP connect) does."""

    def __init__(self, inner: Callable[[Address], Awaitable[None]] = tcp_connect, delay: float = 0) -> None:
        self.attempts: list[Address] = []
        self._inner = inner
        self._delay = delay

    async def __call__(self, address: Address) -> None:
        self.attempts.append(address)
        if self._delay:
            await asyncio.sleep(self._delay)
        await self._inner(address)


# -- tcp_connect -------------------------------------------------------------------------------------


def test_tcp_connect_opens_a_real_connection_to_a_listening_port():
    async def run() -> int:
        async with listening() as server:
            await tcp_connect(server.address)
            await server.wait_accepted()
            return server.accepted

    assert asyncio.run(run()) == 1


def test_tcp_connect_to_a_closed_port_raises_oserror():
    with pytest.raises(OSError):
        asyncio.run(tcp_connect(closed_port()))


# -- checks ------------------------------------------------------------------------------------------


def test_an_unknown_address_is_checked_once_then_up():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            assert not health.is_down(server.address)
            assert await health.reachable(server.address) is True
            assert connect.attempts == [server.address]
            await server.wait_accepted()
            assert server.accepted == 1
            # Known up for `recheck` seconds: no new connection.
            assert await health.reachable(server.address) is True
            assert connect.attempts == [server.address]
            assert not health.is_down(server.address)

    asyncio.run(run())


def test_a_closed_port_is_down_and_the_answer_is_kept_within_recheck():
    connect = Counting()
    address = closed_port()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        assert await health.reachable(address) is False
        assert health.is_down(address)
        assert connect.attempts == [address]
        for _ in range(3):
            assert await health.reachable(address) is False
        assert connect.attempts == [address]

    asyncio.run(run())


def test_a_down_address_is_rechecked_after_recheck_seconds_and_found_up_again():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=0.2, connect=connect)
        server = await Server().start()
        address = server.address
        await server.stop()
        assert await health.reachable(address) is False
        # The application starts again on its port: within the window the last answer stands.
        server = await Server().start(address[1])
        try:
            assert await health.reachable(address) is False
            assert len(connect.attempts) == 1
            await asyncio.sleep(0.25)
            assert await health.reachable(address) is True
            assert len(connect.attempts) == 2
            assert not health.is_down(address)
        finally:
            await server.stop()

    asyncio.run(run())


def test_an_up_address_is_rechecked_after_recheck_seconds_and_found_down():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=0.2, connect=connect)
        server = await Server().start()
        address = server.address
        assert await health.reachable(address) is True
        await server.stop()
        assert await health.reachable(address) is True  # still within the window: no check
        assert len(connect.attempts) == 1
        await asyncio.sleep(0.25)
        assert await health.reachable(address) is False
        assert len(connect.attempts) == 2
        assert health.is_down(address)

    asyncio.run(run())


def test_addresses_are_kept_apart():
    connect = Counting()
    down = closed_port()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            assert await health.reachable(down) is False
            assert await health.reachable(server.address) is True
            assert health.is_down(down)
            assert not health.is_down(server.address)
            assert connect.attempts == [down, server.address]

    asyncio.run(run())


@pytest.mark.parametrize("up", [True, False])
def test_concurrent_requests_share_one_check(up):
    connect = Counting(delay=0.05)

    async def run() -> list[bool]:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            address = server.address if up else closed_port()
            results = await asyncio.gather(*(health.reachable(address) for _ in range(5)))
            assert connect.attempts == [address]
            return results

    assert asyncio.run(run()) == [up] * 5


def test_a_cancelled_request_does_not_cancel_the_shared_check():
    connect = Counting(delay=0.05)

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            first = asyncio.create_task(health.reachable(server.address))
            second = asyncio.create_task(health.reachable(server.address))
            await asyncio.sleep(0.01)  # both wait on the check now
            first.cancel()
            assert await second is True
            assert first.cancelled()
            assert await health.reachable(server.address) is True
            assert connect.attempts == [server.address]

    asyncio.run(run())


def test_a_check_that_takes_longer_than_timeout_counts_as_down():
    async def hang(address: Address) -> None:
        await asyncio.sleep(5)

    connect = Counting(inner=hang)
    address = closed_port()

    async def run() -> bool:
        health = Health(recheck=60, timeout=0.05, connect=connect)
        started = time.monotonic()
        result = await health.reachable(address)
        assert time.monotonic() - started < 1
        assert health.is_down(address)
        # The timed-out answer is kept like any other down answer.
        assert await health.reachable(address) is False
        assert connect.attempts == [address]
        return result

    assert asyncio.run(run()) is False


# -- connection events -------------------------------------------------------------------------------


def test_an_address_with_open_connections_is_up_without_a_check():
    # A closed port: a check would answer False, so True can only come from the connection count.
    connect = Counting()
    address = closed_port()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        health.connected(address)
        health.connected(address)
        health.disconnected(address)
        assert await health.reachable(address) is True  # one connection still open
        assert connect.attempts == []
        health.disconnected(address)
        assert await health.reachable(address) is False  # none left: checked
        assert connect.attempts == [address]

    asyncio.run(run())


def test_a_connection_clears_a_down_answer():
    connect = Counting()
    address = closed_port()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        assert await health.reachable(address) is False
        assert health.is_down(address)
        health.connected(address)
        assert not health.is_down(address)
        assert await health.reachable(address) is True
        assert connect.attempts == [address]

    asyncio.run(run())


def test_the_last_disconnect_forgets_an_earlier_successful_check():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            assert await health.reachable(server.address) is True
            health.connected(server.address)
            health.disconnected(server.address)
            # Within the recheck window, but an application that stops closes its connections: check.
            assert await health.reachable(server.address) is True
            assert len(connect.attempts) == 2

    asyncio.run(run())


def test_failed_makes_an_address_down_without_a_check():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=60, connect=connect)
        async with listening() as server:
            assert await health.reachable(server.address) is True
            health.failed(server.address)
            assert health.is_down(server.address)
            # The server still listens, but the failure is the last answer for `recheck` seconds.
            assert await health.reachable(server.address) is False
            assert connect.attempts == [server.address]

    asyncio.run(run())


def test_failed_is_rechecked_after_recheck_seconds():
    connect = Counting()

    async def run() -> None:
        health = Health(recheck=0.1, connect=connect)
        async with listening() as server:
            health.failed(server.address)
            assert await health.reachable(server.address) is False
            assert connect.attempts == []
            await asyncio.sleep(0.15)
            assert await health.reachable(server.address) is True
            assert connect.attempts == [server.address]
            assert not health.is_down(server.address)

    asyncio.run(run())
