"""A stand-in dev server in a process of its own, so that a test can kill it (SIGKILL) in the middle of a
response or a WebSocket session, and so that load tests do not share the test process's CPU with it.

    python tests/e2e/app_process.py --name web [--port N] [--log-requests]

Prints `listening on <port>` once it accepts connections, then one line per event worth asserting on
(`upload ...`, `download ...`, `ws ...`). One port serves HTTP/1.1 (keep-alive) and WebSocket upgrades,
as a real dev server (Next.js, Vite) does. By the end of the request path:
- `/cut?size=N&send=M`: a response that declares `Content-Length: N`, sends M bytes of it, logs
  `cut sent M of N` and stalls;
- `/sse`: an event stream that sends `data: event <i>` every 50 ms until the client goes away;
- `/download?size=N`: N bytes; logs `download <complete|aborted> after <bytes sent> of N`;
- `/upload`: logs `upload receiving <Content-Length>`, reads the body, then logs
  `upload <complete|aborted> after <bytes read> of <Content-Length>`;
- anything else: 200 with the JSON `{"app": <name>, "path": <target>}` (and, with --log-requests,
  logs `request <method> <target>`);
- a WebSocket upgrade on any path: every frame echoed with its opcode and fragmentation; a path that
  ends in `/push?n=N` first sends `push-0` ... `push-<N-1>`; logs `ws open <target>` and
  `ws closed <code> after <messages> messages: <target>` (`none` for no close frame; an invalid
  handshake: `ws refused <status> <target>`).

`AppProcess` starts and stops one of these from a test.
"""

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qs

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from mfe_tools.processes import Child, pythonpath_env

START_TIMEOUT = 10
SSE_INTERVAL = 0.05
_READ_SIZE = 256 * 1024
_WRITE_SIZE = 64 * 1024
_MAX_HEAD = 64 * 1024


def push_message(index: int) -> str:
    return f"push-{index}"


def sse_event(index: int) -> bytes:
    return f"data: event {index}\n\n".encode()


def download_byte(index: int) -> int:
    """The byte at `index` of a /download body: a pattern a client can check piece by piece."""
    return index % 251


def download_body(start: int, size: int) -> bytes:
    return bytes(download_byte(i) for i in range(start, start + size))


# -- the server --------------------------------------------------------------------------------------


class _Request:
    __slots__ = ("head", "headers", "method", "target")

    def __init__(self, head: bytes) -> None:
        self.head = head
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.target, _ = lines[0].split(" ", 2)
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()

    @property
    def route(self) -> tuple[str, dict[str, str]]:
        path, _, query = self.target.partition("?")
        return path.rsplit("/", 1)[-1], {key: values[0] for key, values in parse_qs(query).items()}


def _log(line: str) -> None:
    print(line, flush=True)


def _response_head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class App:
    def __init__(self, name: str, log_requests: bool) -> None:
        self.name = name
        self.log_requests = log_requests

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                request = _Request(head)
                if request.headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(request, reader, writer)
                    return
                if not await self._http(request, reader, writer):
                    return
        except (ConnectionError, OSError):
            pass  # the client went away; what it interrupted has logged what it got
        finally:
            writer.close()

    async def _http(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection cannot serve another."""
        route, params = request.route
        if route == "upload":
            return await self._upload(request, reader, writer)
        length = int(request.headers.get("content-length", 0))
        if length:
            await reader.readexactly(length)
        if route == "cut":
            head = {"Content-Type": "application/octet-stream", "Content-Length": params["size"]}
            writer.write(_response_head("200 OK", head) + download_body(0, int(params["send"])))
            await writer.drain()
            _log(f"cut sent {params['send']} of {params['size']}")
            await asyncio.Event().wait()  # stalls until the test kills the process
        if route == "sse":
            await self._sse(writer)
            return False
        if route == "download":
            await self._download(int(params["size"]), writer)
            return True
        if self.log_requests:
            _log(f"request {request.method} {request.target}")
        body = json.dumps({"app": self.name, "path": request.target}).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        writer.write(_response_head("200 OK", head) + body)
        await writer.drain()
        return True

    async def _upload(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        expected = int(request.headers.get("content-length", 0))
        _log(f"upload receiving {expected}")
        received = 0
        while received < expected:
            data = await reader.read(min(_READ_SIZE, expected - received))
            if not data:
                _log(f"upload aborted after {received} of {expected}")
                return False
            received += len(data)
        _log(f"upload complete after {received} of {expected}")
        body = json.dumps({"app": self.name, "received": received}).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        writer.write(_response_head("200 OK", head) + body)
        await writer.drain()
        return True

    async def _sse(self, writer: asyncio.StreamWriter) -> None:
        head = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
        }
        writer.write(_response_head("200 OK", head))
        index = 0
        while True:
            event = sse_event(index)
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            index += 1
            await asyncio.sleep(SSE_INTERVAL)

    async def _download(self, size: int, writer: asyncio.StreamWriter) -> None:
        head = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        writer.write(_response_head("200 OK", head))
        sent = 0
        try:
            while sent < size:
                piece = download_body(sent, min(_WRITE_SIZE, size - sent))
                writer.write(piece)
                await writer.drain()
                sent += len(piece)
        except (ConnectionError, OSError):
            _log(f"download aborted after {sent} of {size}")
            raise
        _log(f"download complete after {sent} of {size}")

    async def _websocket(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        protocol = ServerProtocol(max_size=None)
        protocol.receive_data(request.head)
        (handshake,) = protocol.events_received()
        assert isinstance(handshake, Request)
        response = protocol.accept(handshake)
        protocol.send_response(response)
        if response.status_code != 101:
            _log(f"ws refused {response.status_code} {request.target}")
            await _flush(protocol, writer)
            return
        route, params = request.route
        _log(f"ws open {request.target}")
        if route == "push":
            for index in range(int(params["n"])):
                protocol.send_text(push_message(index).encode())
        messages = 0
        try:
            while True:
                if not await _flush(protocol, writer):
                    break
                data = await reader.read(_READ_SIZE)
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                for event in protocol.events_received():
                    if not isinstance(event, Frame):
                        continue
                    if event.opcode is Opcode.TEXT:
                        protocol.send_text(event.data, event.fin)
                    elif event.opcode is Opcode.BINARY:
                        protocol.send_binary(event.data, event.fin)
                    elif event.opcode is Opcode.CONT:
                        protocol.send_continuation(event.data, event.fin)
                    else:
                        continue
                    messages += event.fin
        finally:
            received = protocol.close_rcvd
            code = received.code if received is not None else "none"
            _log(f"ws closed {code} after {messages} messages: {request.target}")

    async def listen(self, port: int) -> None:
        server = await asyncio.start_server(self.serve, "127.0.0.1", port, limit=_MAX_HEAD, backlog=1024)
        _log(f"listening on {server.sockets[0].getsockname()[1]}")
        async with server:
            await server.serve_forever()


async def _flush(protocol: ServerProtocol, writer: asyncio.StreamWriter) -> bool:
    """Write what the protocol has to send; False once it has nothing more to say (connection over)."""
    for data in protocol.data_to_send():
        if data:
            writer.write(data)
        else:
            await writer.drain()
            return False
    await writer.drain()
    return not (protocol.close_rcvd is not None and protocol.close_sent is not None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-requests", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        import uvloop  # optional: a faster loop where it is installed

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(App(args.name, args.log_requests).listen(args.port))


# -- from a test -------------------------------------------------------------------------------------


class AppProcess:
    """One app_process.py subprocess, its output in a file (the process helper's `Child`)."""

    def __init__(self, name: str, log: Path, port: int = 0, log_requests: bool = False) -> None:
        self.name = name
        command = [sys.executable, __file__, "--name", name, "--port", str(port)]
        if log_requests:
            command.append("--log-requests")
        # The server runs this file, whose import of the process helper needs scripts/ on its path.
        self.child = Child(name, command, log, env=pythonpath_env(), report_lines=None)
        self.pid = self.child.pid
        line = self.wait_for("listening on ", START_TIMEOUT).split("listening on ", 1)[1]
        self.port = int(line.split()[0])
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.child.output()

    def wait_for(self, text: str, timeout: float = 10) -> str:
        return self.child.wait_for(text, timeout)

    def kill(self) -> None:
        """SIGKILL: the app dies with its sockets open, as a crashed dev server does."""
        self.child.kill()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after 5 s."""
        self.child.stop(signal.SIGTERM, grace=5)


if __name__ == "__main__":
    main()
