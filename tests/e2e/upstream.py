"""A stand-in for an application's dev server: a real HTTP/1.1 server on 127.0.0.1 that answers every
request with a JSON report of what it received (`app`, `method`, `path` as sent, `headers` as a list
of [name, value], `body_length`, `body_sha256`), except for the response shapes a proxy can get wrong,
served on paths that end in: `/sse` (an event stream), `/chunked` (a chunked body sent piece by piece),
`/big?bytes=N`, `/redirect?to=URL` (307) and `/status/N`. Any prefix may come before them, so that
`/docs/sse` is the event stream of the application that serves /docs."""

import contextlib
import hashlib
import json
import random
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SSE_EVENTS = 3
SSE_INTERVAL = 0.5  # seconds between two events of /sse
CHUNKS = 4
CHUNK_INTERVAL = 0.3  # seconds between two chunks of /chunked
_WRITE_SIZE = 64 * 1024
_NO_BODY_STATUSES = {204, 304}
_SPECIAL = re.compile(r"/(sse|chunked|big|redirect|status/\d{3})$")


def big_body(size: int) -> bytes:
    """What /big?bytes=<size> sends: random (incompressible, never repeating) but reproducible."""
    return random.Random(size).randbytes(size)


def sse_event(index: int) -> bytes:
    return f"id: {index}\ndata: event {index}\n\n".encode()


def chunk(index: int) -> bytes:
    return f"chunk {index}\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"
    # A stuck test must not leave a thread blocked on a socket forever.
    timeout = 30
    # Dev servers (Node) set TCP_NODELAY, and so does this: a response's head and body go in two sends,
    # and on a connection kept alive Nagle's algorithm would hold the body back until the head is
    # acknowledged, which a delayed ACK puts off by 40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the report of each request is in `requests`."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    # Trailers, if any, end with an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _handle(self) -> None:
        body = self._read_body()
        report = {
            "app": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self.server.requests.append(report)
        path, _, query = self.path.partition("?")
        params = {key: values[0] for key, values in parse_qs(query).items()}
        special = _SPECIAL.search(path)
        route = special.group(1) if special else ""
        if route == "sse":
            self._stream("text/event-stream", [sse_event(i) for i in range(SSE_EVENTS)], SSE_INTERVAL)
        elif route == "chunked":
            self._stream("text/plain", [chunk(i) for i in range(CHUNKS)], CHUNK_INTERVAL)
        elif route == "big":
            self._send_big(int(params["bytes"]))
        elif route == "redirect":
            self._send(307, b"", "text/plain", (("Location", params["to"]),))
        elif route.startswith("status/"):
            status = int(route.removeprefix("status/"))
            self._send(status, b"" if status in _NO_BODY_STATUSES else json.dumps(report).encode())
        else:
            self._send(200, json.dumps(report).encode())

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        for name, value in extra_headers:
            self.send_header(name, value)
        if status not in _NO_BODY_STATUSES:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self, content_type: str, pieces: list[bytes], interval: float) -> None:
        """Send `pieces` as chunks, `interval` seconds apart, each flushed to the socket at once."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(interval)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _send_big(self, size: int) -> None:
        body = big_body(size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for start in range(0, size, _WRITE_SIZE):
            self.wfile.write(body[start : start + _WRITE_SIZE])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.requests: list[dict] = []
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), _Handler)


class Upstream:
    """One application's dev server, serving in a background thread until `stop()`; over https with
    `tls` (a stand-in deployment)."""

    def __init__(self, name: str, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self._server = _Server(name, port)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        # A short poll interval makes stop() quick: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"upstream-{name}", daemon=True
        )
        self._thread.start()

    @property
    def requests(self) -> list[dict]:
        """What the server received, oldest first (see the module docstring for the fields)."""
        return self._server.requests

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections, as a dev server that exits would; the
        proxy must then see the application as down, not keep using an old connection."""
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._server.connections):
            # A handler may have closed its connection meanwhile.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join()
