"""Raw sockets for traffic no well-behaved client library would send: exact bytes of HTTP requests and
WebSocket frames, and an upstream that records every byte the proxy forwards to it."""

import contextlib
import re
import socket
import struct
import threading
import time
from typing import NamedTuple

TIMEOUT = 5.0
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_MASK = b"\x37\xfa\x21\x3d"


class RecordingUpstream:
    """A TCP server that records the bytes of every connection it accepts and answers each request
    head it sees with `OK_RESPONSE`: it shows exactly what the proxy forwarded, smuggled requests
    included, where a parsing server would hide them behind its own error."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._connections: list[bytearray] = []
        self._sockets: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name=f"recording-{self.port}", daemon=True)
        self._thread.start()

    def received(self) -> bytes:
        """Everything received so far, all connections in the order they were accepted."""
        with self._lock:
            return b"".join(bytes(data) for data in self._connections)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # stopped: the listener was shut down
            with self._lock:
                data = bytearray()
                self._connections.append(data)
                self._sockets.add(connection)
            threading.Thread(target=self._serve, args=(connection, data), daemon=True).start()

    def _serve(self, connection: socket.socket, data: bytearray) -> None:
        connection.settimeout(30)
        answered = 0
        try:
            while chunk := connection.recv(65536):
                with self._lock:
                    data += chunk
                heads = data.count(b"\r\n\r\n")
                connection.sendall(OK_RESPONSE * (heads - answered))
                answered = heads
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(connection)
            connection.close()

    def stop(self) -> None:
        # shutdown(), unlike close(), wakes the thread blocked in accept().
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for connection in self._sockets:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._thread.join()


class Reply(NamedTuple):
    """What came back on a connection: the status of the first response (None when none came), all the
    bytes, and whether the proxy closed the connection (False: still open when the wait ended)."""

    status: int | None
    data: bytes
    closed: bool

    @property
    def body(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[2]


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _complete(data: bytes) -> bool:
    """Whether `data` holds a whole response: a 101 head, or a head with a Content-Length body."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    if head.startswith(b"HTTP/1.1 101 "):
        return True
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return length is not None and len(body) >= int(length[1])


def read_reply(sock: socket.socket, wait: float = TIMEOUT, until_closed: bool = True) -> Reply:
    """Read until the proxy closes the connection or `wait` seconds pass; with `until_closed` false,
    stop as soon as one whole response has arrived."""
    data = b""
    closed = False
    deadline = time.monotonic() + wait
    while not (not until_closed and _complete(data)):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return Reply(int(match[1]) if match else None, data, closed)


def send(sock: socket.socket, data: bytes) -> None:
    """Send `data`; a proxy that refuses a request may close the connection before taking all of it,
    and then what it answered is still there to read."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def exchange(port: int, request: bytes, wait: float = TIMEOUT) -> Reply:
    """Send `request` on a new connection and read what comes back until the proxy closes it."""
    with connect(port) as sock:
        send(sock, request)
        return read_reply(sock, wait)


# -- WebSocket ---------------------------------------------------------------------------------------


def upgrade_request(host: str, path: str, headers: str | None = None) -> bytes:
    """A WebSocket upgrade request; `headers` replaces the key and version lines (each ending CRLF)."""
    if headers is None:
        headers = f"Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n"
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n{headers}\r\n"
    ).encode()


def frame(
    opcode: int,
    payload: bytes,
    fin: bool = True,
    mask: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    """One frame exactly as given: `rsv` the three reserved bits (4 = RSV1), `length` a declared
    payload length other than the real one."""
    declared = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask else 0
    if declared < 126:
        header = bytes([first, mask_bit | declared])
    elif declared < 1 << 16:
        header = bytes([first, mask_bit | 126]) + struct.pack("!H", declared)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack("!Q", declared)
    if not mask:
        return header + payload
    return header + _MASK + bytes(byte ^ _MASK[index % 4] for index, byte in enumerate(payload))


class Frame(NamedTuple):
    fin: bool
    opcode: int
    payload: bytes


def parse_frames(data: bytes) -> list[Frame]:
    """The complete unmasked (server-to-client) frames at the start of `data`."""
    frames = []
    while len(data) >= 2:
        length, offset = data[1] & 0x7F, 2
        if length == 126:
            (length,), offset = struct.unpack("!H", data[2:4]), 4
        elif length == 127:
            (length,), offset = struct.unpack("!Q", data[2:10]), 10
        if len(data) < offset + length:
            break
        frames.append(Frame(bool(data[0] & 0x80), data[0] & 0x0F, data[offset : offset + length]))
        data = data[offset + length :]
    return frames


def close_code(frames: list[Frame]) -> tuple[int | None, str] | None:
    """The code and reason of the first close frame among `frames`; None when there is none."""
    for item in frames:
        if item.opcode == 0x8:
            if len(item.payload) < 2:
                return None, ""
            return struct.unpack("!H", item.payload[:2])[0], item.payload[2:].decode(errors="replace")
    return None
