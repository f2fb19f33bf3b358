"""The upstream server the benchmark measures against, one process per application:

    python -m mfe_tools.bench.upstream --port N --name APP

It answers every request with a small fixed body naming its application and echoes every WebSocket
message, so that a proxy's cost is not hidden behind a dev server's."""

import argparse
import asyncio
import contextlib

from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.server import ServerProtocol

from mfe_tools.bench.workload import APP_HEADER, APPS, HOST, body_of

READY = "listening on"


class UpstreamProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive with one fixed response per request head, and a WebSocket echo for an
    upgrade request. The benchmark sends only bodiless GETs, so the end of a head is the end of a
    request."""

    def __init__(self, app: str) -> None:
        self.app = app
        body = body_of(app)
        self.response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.websocket: ServerProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if self.websocket is not None:
            self.websocket.receive_data(data)
            self._echo()
            return
        self.buffer += data
        if b"pgrade" not in self.buffer:  # the fast path: no head here asks for a WebSocket
            answers = self.buffer.count(b"\r\n\r\n")
            if answers:
                self.buffer = self.buffer[self.buffer.rindex(b"\r\n\r\n") + 4 :]
                self.transport.write(self.response * answers)
            return
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            if b"\r\nupgrade: websocket" in head.lower():
                self.websocket = ServerProtocol(max_size=None)
                self.buffer = b""
                self.websocket.receive_data(head + b"\r\n\r\n" + rest)
                self._echo()
                return
            self.buffer = rest
            self.transport.write(self.response)

    def _echo(self) -> None:
        assert self.transport is not None and self.websocket is not None
        websocket = self.websocket
        for event in websocket.events_received():
            if isinstance(event, WsRequest):
                response = websocket.accept(event)
                response.headers[APP_HEADER] = self.app
                websocket.send_response(response)
            elif isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    websocket.send_text(event.data, fin=event.fin)
                elif event.opcode is Opcode.BINARY:
                    websocket.send_binary(event.data, fin=event.fin)
                elif event.opcode is Opcode.CONT:
                    websocket.send_continuation(event.data, fin=event.fin)
        for chunk in websocket.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                self.transport.close()  # the closing handshake is done


async def serve_upstream(port: int, app: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(app), HOST, port)
    print(f"upstream {app} {READY} {HOST}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", choices=APPS, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_upstream(args.port, args.name))


if __name__ == "__main__":
    main()
