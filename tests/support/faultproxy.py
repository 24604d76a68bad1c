"""Proxies on loopback that misbehave on command, for fault tests against real servers.

``FaultyHttpProxy`` forwards HTTP to an upstream server (SeaweedFS's S3) and, when told,
answers the next N requests with S3's ``500 InternalError`` or hangs on them
(reads the request, says nothing, then drops the connection). ``TcpProxy``
forwards raw TCP (PostgreSQL) and can be cut: live connections are dropped and
new ones refused until it is restored on the same port.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from deploy.services import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
S3_INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message>"
    b"<RequestId>fault-proxy</RequestId></Error>"
)


class FaultyHttpProxy:
    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.faults: deque[tuple[str, float]] = deque()
        self.lock = threading.Lock()
        self.healed = threading.Event()
        self.counts = {"forwarded": 0, "failed": 0, "hung": 0}
        # (method, path, Range header or None, bytes answered) of each forwarded request.
        self.forwarded: list[tuple[str, str, str | None, int]] = []
        self.server: ThreadingHTTPServer | None = None

    # --- switches ------------------------------------------------------------------

    def fail(self, count: int, status: int = 500) -> None:
        """The next ``count`` requests answer ``status`` with S3's InternalError body."""
        with self.lock:
            self.healed.clear()
            self.faults.extend([("fail", status)] * count)

    def hang(self, count: int, seconds: float) -> None:
        """The next ``count`` requests get no answer for ``seconds`` (or until ``heal``),
        then their connection is dropped."""
        with self.lock:
            self.healed.clear()
            self.faults.extend([("hang", seconds)] * count)

    def heal(self) -> None:
        with self.lock:
            self.faults.clear()
            self.healed.set()

    def pending_faults(self) -> int:
        with self.lock:
            return len(self.faults)

    def next_fault(self) -> tuple[str, float] | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    # --- life --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultyHttpProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def handle_any(self):
                body = self.read_body()
                fault = proxy.next_fault()
                if fault and fault[0] == "fail":
                    proxy.counts["failed"] += 1
                    self.send_response_only(int(fault[1]))
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(S3_INTERNAL_ERROR)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(S3_INTERNAL_ERROR)
                    return
                if fault and fault[0] == "hang":
                    proxy.counts["hung"] += 1
                    proxy.healed.wait(fault[1])
                    self.close_connection = True
                    return
                self.forward(body)

            def forward(self, body: bytes):
                upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
                try:
                    upstream.putrequest(
                        self.command, self.path, skip_host=True, skip_accept_encoding=True
                    )
                    for name, value in self.headers.items():
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            upstream.putheader(name, value)
                    if body or self.command in ("POST", "PUT"):
                        upstream.putheader("Content-Length", str(len(body)))
                    upstream.endheaders(body or None)
                    answer = upstream.getresponse()
                    data = answer.read()
                    self.send_response_only(answer.status, answer.reason)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    length = (
                        answer.getheader("Content-Length", "0")
                        if self.command == "HEAD"
                        else str(len(data))
                    )
                    self.send_header("Content-Length", length)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    proxy.counts["forwarded"] += 1
                    proxy.forwarded.append(
                        (self.command, self.path, self.headers.get("Range"), len(data))
                    )
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.heal()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class TcpProxy:
    """A TCP forwarder that can be cut (connections dropped, new ones refused) and restored."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.cuts = 0

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self.accept_loop, args=(listener,), daemon=True).start()
        return self

    def accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(source, target), daemon=True).start()

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self.lock:
                    self.connections.discard(sock)

    def cut(self) -> None:
        """Refuse new connections and drop every live one, as a dead server would."""
        self.cuts += 1
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self.listener.close()
            self.listener = None
        with self.lock:
            live = list(self.connections)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.start()

    def stop(self) -> None:
        self.cut()
