"""gunicorn's threaded worker, guarded against clients that send slowly or crowd in.

gunicorn's ``gthread`` worker hands each connection to a thread, which reads the request's
headers and body with blocking reads. A client that sends slowly holds that thread for as
long as it likes, and a handful of them (unauthenticated, on ``/storage/upload``) stop the
server answering anyone. A buffering proxy in front would absorb them; the embedded shape
has none, so each worker process here guards itself:

- every socket read a thread makes while serving a request is timed; a read that waits
  ``GUARD_STALL_SECONDS`` without a byte, or a request whose reads have waited
  ``GUARD_STALL_SECONDS`` in all while bringing less than ``GUARD_MIN_BYTES_PER_SECOND``
  on average, is cut off;
- whatever the rate, the request headers must have arrived ``GUARD_HEADER_SECONDS`` after
  their first byte; and the application may give what it reads before it knows who is
  sending a total deadline of its own (``portal.read_deadline``: the embedded storage's
  upload endpoint does so for the form fields before the signed policy). A client just
  above the byte rate cannot hold a thread for minutes that way;
- one client address holds at most ``GUARD_THREADS_PER_ADDRESS`` of a process's threads
  (default: half of them). Its further requests wait their turn without a thread, so a
  crowd of connections from one address leaves threads for everyone else, and a
  browser's parallel requests are queued, never refused;
- one client address holds at most ``GUARD_CONNECTIONS_PER_ADDRESS`` open connections to
  a process (default 64); a connection beyond that is closed as soon as it is accepted,
  so one address cannot take the process's 1000 connections.

Cutting off means the socket is shut down: the read returns, the thread is free again,
and a warning line says so, with the client's address, never the path. Refused
connections are logged once per address every ``REFUSAL_LOG_EVERY_SECONDS``, with their
count, not once each.

A phone on a poor network sends tens of kilobytes a second; a request's headers are a
few kilobytes. Time the application spends working, and time a kept-alive connection
waits between requests (in the main loop, not in a thread), do not count.

The limits are per address as the socket sees it: behind a proxy on the same machine
every client is the proxy's address, and one that does not buffer requests (nginx does)
shares one address's threads among all of them.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gunicorn import util
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from portal.read_deadline import ENVIRON_KEY

STALL_SECONDS = float(os.environ.get("GUARD_STALL_SECONDS", "10"))
MIN_BYTES_PER_SECOND = float(os.environ.get("GUARD_MIN_BYTES_PER_SECOND", "1024"))
HEADER_SECONDS = float(os.environ.get("GUARD_HEADER_SECONDS", "10"))
# 0: half the process's threads.
THREADS_PER_ADDRESS = int(os.environ.get("GUARD_THREADS_PER_ADDRESS", "0"))
CONNECTIONS_PER_ADDRESS = int(os.environ.get("GUARD_CONNECTIONS_PER_ADDRESS", "64"))
CHECK_EVERY_SECONDS = 0.5
REFUSAL_LOG_EVERY_SECONDS = 10.0
# Threads that close connections gracefully (RFC 9112 9.6: a short linger that drains what
# the client still sends, so its answer is not lost to a reset), away from the main loop.
CLOSING_THREADS = 4


def address_of(client) -> str | None:
    """The client's IP address, or None for a connection without one (a Unix socket)."""
    if isinstance(client, tuple) and client:
        return str(client[0])
    return None


class ReadWatch:
    """The reads of one request on one connection, as seen by the thread serving it."""

    def __init__(self, sock: socket.socket, client):
        self.sock = sock
        self.client = client
        self.waiting_since: float | None = None
        self.waited = 0.0
        self.received = 0
        self.cut = False
        self.reading_headers = True
        self.deadline: float | None = None
        self.deadline_seconds = 0.0
        self.deadline_for = ""

    def set_deadline(self, seconds: float | None, what: str) -> None:
        if seconds is None:
            self.deadline = None
            return
        self.deadline = time.monotonic() + seconds
        self.deadline_seconds = seconds
        self.deadline_for = what

    def verdict(self, now: float) -> str | None:
        """Why this request should be cut off now, or None. Only while the thread waits
        for the client: time the application spends working is not the client's."""
        if self.waiting_since is None or self.cut:
            return None
        if self.deadline is not None and now >= self.deadline:
            return f"{self.deadline_for} took longer than {self.deadline_seconds:g} s"
        current = now - self.waiting_since
        if current >= STALL_SECONDS:
            return f"no byte for {current:.0f} s"
        waited = self.waited + current
        if waited >= STALL_SECONDS and self.received < MIN_BYTES_PER_SECOND * waited:
            return f"{self.received} bytes in {waited:.0f} s of waiting"
        return None


class ReadGuard:
    """Watches the reads of every thread of one worker process; cuts off slow clients."""

    def __init__(self, log):
        self.log = log
        self.local = threading.local()
        self.watches: set[ReadWatch] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, name="slow-client-guard", daemon=True)
        self.thread.start()

    @contextlib.contextmanager
    def watching(self, sock, client):
        watch = ReadWatch(sock, client)
        self.local.watch = watch
        with self.lock:
            self.watches.add(watch)
        try:
            yield watch
        finally:
            with self.lock:
                self.watches.discard(watch)
            self.local.watch = None

    def current(self) -> ReadWatch | None:
        return getattr(self.local, "watch", None)

    def set_deadline(self, seconds: float | None, what: str = "the request") -> None:
        """The application's deadline for the reads of the request this thread serves
        (``environ["portal.read_deadline"]``); None lifts it."""
        watch = self.current()
        if watch is not None:
            watch.set_deadline(seconds, what)

    def headers_read(self) -> None:
        watch = self.current()
        if watch is not None:
            watch.reading_headers = False
            watch.set_deadline(None, "")

    def timed_read(self, read, unreader, size_hint):
        watch = self.current()
        if watch is None:
            return read(unreader, size_hint)
        if watch.reading_headers and watch.deadline is None:
            watch.set_deadline(HEADER_SECONDS, "the request headers")
        watch.waiting_since = time.monotonic()
        received = b""
        try:
            received = read(unreader, size_hint)
            return received
        finally:
            watch.waited += time.monotonic() - watch.waiting_since
            watch.waiting_since = None
            watch.received += len(received)

    def run(self) -> None:
        while True:
            time.sleep(CHECK_EVERY_SECONDS)
            now = time.monotonic()
            with self.lock:
                watches = list(self.watches)
            for watch in watches:
                reason = watch.verdict(now)
                if reason is None:
                    continue
                watch.cut = True
                with contextlib.suppress(OSError):
                    watch.sock.shutdown(socket.SHUT_RDWR)
                self.log.warning(
                    "Cut off a slow client %s: %s (at least %d bytes/s needed)",
                    address_of(watch.client) or watch.client,
                    reason,
                    MIN_BYTES_PER_SECOND,
                )


class GuardedConn(TConn):
    """A connection that tells its worker when it is closed, once."""

    def __init__(self, worker, *args):
        super().__init__(*args)
        self.worker = worker
        self.closed = False

    def close(self, graceful=False):
        if self.closed:
            return
        self.closed = True
        self.worker.connection_closed(self)
        if graceful:
            # gunicorn lingers up to 2 s draining the client here, on the main loop's
            # thread: a client trickling bytes would stop accepting and dispatching for
            # every other connection meanwhile.
            self.worker.closing.submit(util.close_graceful, self.sock)
        else:
            util.close(self.sock)


class GuardedThreadWorker(ThreadWorker):
    """``gthread`` with the slow-client guard; use as ``worker_class``.

    The per-address counts live on the main loop's thread (accept, dispatch, finish and
    close all run there), so they need no lock.
    """

    def init_process(self):
        self.read_guard = ReadGuard(self.log)
        self.closing = ThreadPoolExecutor(CLOSING_THREADS, thread_name_prefix="closing")
        self.threads_per_address = THREADS_PER_ADDRESS or max(1, self.cfg.threads // 2)
        self.open_by_address: collections.Counter[str] = collections.Counter()
        self.serving_by_address: collections.Counter[str] = collections.Counter()
        self.waiting_by_address: dict[str, collections.deque] = {}
        self.refused: dict[str, list] = {}  # address: [refused since logged, logged at]
        guard = self.read_guard
        original_chunk = SocketUnreader.chunk

        def chunk(unreader, size_hint=None):
            return guard.timed_read(original_chunk, unreader, size_hint)

        SocketUnreader.chunk = chunk
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        application = self.wsgi
        set_deadline = self.read_guard.set_deadline

        def with_read_deadline(environ, start_response):
            environ[ENVIRON_KEY] = set_deadline
            return application(environ, start_response)

        self.wsgi = with_read_deadline

    # --- connections per address --------------------------------------------------

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        address = address_of(client_addr)
        if address is not None and self.open_by_address[address] >= CONNECTIONS_PER_ADDRESS:
            util.close(client_sock)
            self.note_refusal(address)
            return
        self.nr_conns += 1
        if address is not None:
            self.open_by_address[address] += 1
        client_sock.setblocking(True)
        conn = GuardedConn(self, self.cfg, client_sock, client_addr, listener.getsockname())
        self.enqueue_req(conn)

    def connection_closed(self, conn) -> None:
        address = address_of(conn.client)
        if address is None:
            return
        self.open_by_address[address] -= 1
        if self.open_by_address[address] <= 0:
            del self.open_by_address[address]

    def note_refusal(self, address: str) -> None:
        now = time.monotonic()
        if len(self.refused) > 10_000:  # many addresses: forget the old ones
            self.refused = {a: r for a, r in self.refused.items() if now - r[1] < 60}
        counts = self.refused.setdefault(address, [0, 0.0])
        counts[0] += 1
        if now - counts[1] >= REFUSAL_LOG_EVERY_SECONDS:
            self.log.warning(
                "Refused connections from %s: %d open from it already (%d refused since "
                "the last line)",
                address,
                CONNECTIONS_PER_ADDRESS,
                counts[0],
            )
            counts[0], counts[1] = 0, now

    # --- threads per address ------------------------------------------------------

    def enqueue_req(self, conn):
        address = address_of(conn.client)
        if address is None:
            return super().enqueue_req(conn)
        if self.serving_by_address[address] >= self.threads_per_address:
            self.waiting_by_address.setdefault(address, collections.deque()).append(conn)
            return None
        self.serving_by_address[address] += 1
        return super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        address = address_of(conn.client)
        if address is not None:
            self.serving_by_address[address] -= 1
            if self.serving_by_address[address] <= 0:
                del self.serving_by_address[address]
        super().finish_request(conn, fs)
        if address is not None:
            self.dispatch_waiting(address)

    def dispatch_waiting(self, address: str) -> None:
        waiting = self.waiting_by_address.get(address)
        while waiting and self.serving_by_address[address] < self.threads_per_address:
            self.enqueue_req(waiting.popleft())
        if waiting is not None and not waiting:
            del self.waiting_by_address[address]

    def run(self):
        try:
            super().run()
        finally:
            # Lingering closes still queued are dropped: the process's exit closes them.
            self.closing.shutdown(wait=False, cancel_futures=True)

    # --- one request --------------------------------------------------------------

    def handle(self, conn):
        with self.read_guard.watching(conn.sock, conn.client):
            return super().handle(conn)

    def handle_request(self, req, conn):
        self.read_guard.headers_read()
        try:
            return super().handle_request(req, conn)
        finally:
            self.read_guard.set_deadline(None)
