"""A real nginx serving an exported configuration, for the tests: started in the foreground in a
temporary prefix on a 127.0.0.1 port the OS hands out, stopped by its PID.

nginx is Debian's (`scripts/nginx` installs it); nothing downloads one. When it is missing the tests
fail saying what to install: they are not skipped.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest

START_TIMEOUT = 10.0
TIMEOUT = 10.0


def nginx_binary() -> str:
    """nginx to run: $MFE_NGINX, or Debian's. Fails the test, saying what to install, when there is none."""
    named = os.environ.get("MFE_NGINX")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            pytest.fail(f"MFE_NGINX={named} is not an executable nginx", pytrace=False)
        return named
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        pytest.fail(
            "nginx is missing: the nginx export tests need Debian's nginx. Run scripts/nginx as root (it "
            "runs apt-get install nginx-light), or set MFE_NGINX to an nginx binary.",
            pytrace=False,
        )
    return found


def check(conf: str, standalone: bool = True) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `conf`, in a prefix of its own: a standalone configuration, or blocks that an
    existing nginx.conf includes in its `http` block."""
    with tempfile.TemporaryDirectory(prefix="mfe-nginx-t-") as prefix:
        path = Path(prefix) / "nginx.conf"
        if standalone:
            path.write_text(conf)
        else:
            (Path(prefix) / "mfe.conf").write_text(conf)
            path.write_text(f'pid nginx.pid;\nevents {{}}\nhttp {{\n    include "{prefix}/mfe.conf";\n}}\n')
        return subprocess.run(
            [
                nginx_binary(),
                "-t",
                "-q",
                "-p",
                prefix,
                "-c",
                str(path),
                "-e",
                str(Path(prefix) / "error.log"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


class Nginx:
    """One nginx master (and its workers) running `conf`, a standalone configuration listening on `port`."""

    def __init__(self, conf: str, port: int) -> None:
        # Readable by the worker processes, which drop root privileges when the tests run as root.
        self.prefix = Path(tempfile.mkdtemp(prefix="mfe-nginx-"))
        self.prefix.chmod(0o755)
        self.port = port
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(conf)
        self._output = self.prefix / "output.log"
        with self._output.open("wb") as sink:
            self.process = subprocess.Popen(
                [nginx_binary(), "-p", str(self.prefix), "-c", str(self.conf), "-e", "error.log"],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                # A group of its own, so that its workers can be found by the master's PID if it hangs.
                start_new_session=True,
            )
        self.pid = self.process.pid
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited ({self.process.returncode}):\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nginx did not listen on {self.port} within {START_TIMEOUT} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def log(self) -> str:
        """nginx's output and error log."""
        parts = [self._output, self.prefix / "error.log"]
        return "\n".join(path.read_text(errors="replace") for path in parts if path.exists())

    def stop(self) -> None:
        """Fast shutdown (SIGTERM to the master), then SIGKILL to its process group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                # The group is the master's own (start_new_session): this reaches its workers and no one else.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)


class Response(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[0] if values else None


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = TIMEOUT) -> Response:
    """Send `head` (request line and header lines, without the final empty line) and `body` exactly as
    given, with `Connection: close`; read the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
        data = bytearray()
        while chunk := connection.recv(65536):
            data += chunk
    return parse_response(bytes(data))


def request(
    port: int,
    method: str,
    target: str | bytes,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str | None = "localhost",
) -> Response:
    """One request with `target` on the wire exactly as given (str targets as UTF-8)."""
    raw_target = target if isinstance(target, bytes) else target.encode()
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1"]
    if host is not None:
        lines.append(b"Host: " + host.encode())
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}".encode())
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    return raw_request(port, b"\r\n".join(lines), body)


def parse_response(data: bytes) -> Response:
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    response = Response(int(status_line.split()[1]), headers, rest)
    if (response.header("transfer-encoding") or "").lower() == "chunked":
        return response._replace(body=_dechunk(rest))
    return response


def _dechunk(data: bytes) -> bytes:
    body = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += data[:size]
        data = data[size + 2 :]
    return bytes(body)
