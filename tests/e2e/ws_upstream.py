"""A stand-in for an application's dev server speaking WebSocket (hot module reload): a real `websockets`
server on 127.0.0.1 that records every connection as the application saw it.

Behaviour by the request path (the application sees the full path, `/docs/...` included, so only the end
of the path counts):
- `.../push?n=<N>`: sends `push-0` ... `push-<N-1>` on connect, then echoes;
- `.../close/<code>[?after=<N>]`: echoes N messages (default 0), then closes with `code` and
  `APP_CLOSE_REASON`;
- anything else: echoes each message back unchanged, text as text and binary as binary.
"""

import itertools
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event
from websockets.sync.server import ServerConnection, serve

APP_CLOSE_REASON = "app-bye"


def push_message(index: int) -> str:
    return f"push-{index}"


@dataclass
class Connection:
    """One WebSocket connection as the application saw it."""

    path: str  # the request target: path and query
    headers: Headers  # the upgrade request's headers, Host included
    offered_extensions: str  # the Sec-WebSocket-Extensions header of the request ("" when absent)
    extensions: list[str]  # the names of the extensions negotiated, e.g. ["permessage-deflate"]
    pings: list[bytes]  # payloads of the pings received, in order
    messages: list[str | bytes] = field(default_factory=list)  # received, in order
    close_code: int | None = None  # from the close frame received, None when none came
    close_reason: str | None = None
    closed: threading.Event = field(default_factory=threading.Event)

    def wait_closed(self, timeout: float = 5.0) -> None:
        """The proxy answers a client's close itself and passes it on, so the application may see it a
        little after the client's `close()` returned."""
        assert self.closed.wait(timeout), f"{self.path}: the application saw no end of the connection"


class _RecordingConnection(ServerConnection):
    """A server connection that also records the pings it receives (websockets answers them itself)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.pings: list[bytes] = []

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings.append(bytes(event.data))
        super().process_event(event)


class WsUpstream:
    """One application's WebSocket dev server, serving in a background thread until `stop()`.

    `compression=False` refuses permessage-deflate, as a server without it would."""

    def __init__(self, compression: bool = True) -> None:
        self.connections: list[Connection] = []
        self._opened = threading.Condition()
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            compression="deflate" if compression else None,
            create_connection=_RecordingConnection,
            ping_interval=None,  # no keepalive pings: every ping recorded comes from the client
            max_size=None,  # messages of several MiB
            open_timeout=5,
            close_timeout=5,
        )
        self.port: int = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"ws-upstream-{self.port}")
        self._thread.start()

    def wait_connections(self, count: int, timeout: float = 5.0) -> list[Connection]:
        """The connections recorded once there are `count` of them. The client may finish its handshake
        before the server's handler has recorded the connection, hence the wait."""
        with self._opened:
            reached = self._opened.wait_for(lambda: len(self.connections) >= count, timeout)
        assert reached, f"expected {count} connection(s) on {self.url}, got {len(self.connections)}"
        return self.connections

    def stop(self) -> None:
        """Stop listening and close open connections (code 1001), as a dev server that exits would."""
        self._server.shutdown()
        self._thread.join()

    def _handle(self, connection: _RecordingConnection) -> None:
        request = connection.request
        assert request is not None  # the handler runs after the handshake
        record = Connection(
            path=request.path,
            headers=request.headers,
            offered_extensions=", ".join(request.headers.get_all("Sec-WebSocket-Extensions")),
            extensions=[extension.name for extension in connection.protocol.extensions],
            pings=connection.pings,
        )
        with self._opened:
            self.connections.append(record)
            self._opened.notify_all()
        route, _, query = request.path.partition("?")
        params = {key: values[0] for key, values in parse_qs(query).items()}
        *_, before_last, last = route.split("/")
        try:
            if last == "push":
                for index in range(int(params["n"])):
                    connection.send(push_message(index))
            if before_last == "close":
                self._echo(connection, record, int(params.get("after", 0)))
                connection.close(int(last), APP_CLOSE_REASON)
            else:
                self._echo(connection, record, None)
        except ConnectionClosed:
            pass  # the client (through the proxy) closed with a code other than 1000/1001
        finally:
            received = connection.protocol.close_rcvd
            if received is not None:
                record.close_code, record.close_reason = received.code, received.reason
            record.closed.set()

    @staticmethod
    def _echo(connection: ServerConnection, record: Connection, count: int | None) -> None:
        """Echo `count` messages, or all of them until the connection closes when `count` is None."""
        for message in itertools.islice(connection, count):
            record.messages.append(message)
            connection.send(message)
