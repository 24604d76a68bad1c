"""gunicorn's threaded worker, with a guard against clients that send a request slowly.

gunicorn's ``gthread`` worker waits in its main loop for a connection's first bytes, but
once a request has started, a thread reads its headers and body with blocking reads and
no deadline: a client that sends a body a byte a second holds a thread for as long as it
likes, and a handful of them (unauthenticated, on ``/storage/upload``) stop the server
answering anyone (security review, issue 13 #14). A buffering proxy in front would absorb
them; the embedded shape has none, so each worker process here watches the reads itself:

- every socket read a thread makes while reading a request is timed;
- a read that waits ``GUARD_STALL_SECONDS`` without a byte, or a request whose reads have
  waited ``GUARD_STALL_SECONDS`` in all while bringing less than
  ``GUARD_MIN_BYTES_PER_SECOND`` on average, is cut off: the socket is shut down, the
  read returns, the thread is free again, and one warning line says so (with the
  client's address, never the path).

A phone on a poor network sends tens of kilobytes a second; the defaults cut a client
that sends less than 1 KB/s on average over ten seconds of waiting. Time the application
spends working, and time a kept-alive connection waits between requests (in the main
loop, not in a thread), do not count.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

STALL_SECONDS = float(os.environ.get("GUARD_STALL_SECONDS", "10"))
MIN_BYTES_PER_SECOND = float(os.environ.get("GUARD_MIN_BYTES_PER_SECOND", "1024"))
CHECK_EVERY_SECONDS = 0.5


class ReadWatch:
    """The reads of one request on one connection, as seen by the thread serving it."""

    def __init__(self, sock: socket.socket, client):
        self.sock = sock
        self.client = client
        self.waiting_since: float | None = None
        self.waited = 0.0
        self.received = 0
        self.cut = False

    def verdict(self, now: float) -> str | None:
        """Why this request should be cut off now, or None."""
        if self.waiting_since is None or self.cut:
            return None
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

    def timed_read(self, read, unreader, size_hint):
        watch = getattr(self.local, "watch", None)
        if watch is None:
            return read(unreader, size_hint)
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
                address = watch.client[0] if isinstance(watch.client, tuple) else watch.client
                self.log.warning(
                    "Cut off a slow client %s: %s (at least %d bytes/s needed)",
                    address,
                    reason,
                    MIN_BYTES_PER_SECOND,
                )


class GuardedThreadWorker(ThreadWorker):
    """``gthread`` with the slow-client guard; use as ``worker_class``."""

    def init_process(self):
        self.read_guard = ReadGuard(self.log)
        guard = self.read_guard
        original_chunk = SocketUnreader.chunk

        def chunk(unreader, size_hint=None):
            return guard.timed_read(original_chunk, unreader, size_hint)

        SocketUnreader.chunk = chunk
        super().init_process()

    def handle(self, conn):
        with self.read_guard.watching(conn.sock, conn.client):
            return super().handle(conn)
