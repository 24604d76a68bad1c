"""The embedded shape's Celery broker: a kombu transport on one SQLite file.

Why not kombu's own transports:

- ``filesystem://`` writes a message file in place, so a consumer can read a file another
  process has created but not yet written (``JSONDecodeError``, celery/kombu#1551: the
  worker dies), and it deletes the file the moment it is read, so a message whose worker
  is killed before the task ends is gone, ``acks_late`` or not.
- ``sqla+sqlite://`` (SQLAlchemy) is atomic, but it marks a message invisible when it is
  handed out and nothing ever makes it visible again: a worker killed with messages in
  hand loses them. It would also add SQLAlchemy as a dependency.

This transport keeps every message as a row until it is acknowledged:

- publishing is one ``INSERT`` in its own transaction: no reader ever sees half a message;
- handing out is one ``UPDATE … RETURNING`` that stamps the row with its consumer and a
  lease, so two workers never take the same message;
- the acknowledgement deletes the row; a reject with requeue (Celery's
  ``task_reject_on_worker_lost`` when a pool process dies) clears the stamp;
- a consumer that dies without a word (SIGKILL, power cut) leaves rows stamped with its
  name: they become available again as soon as another consumer on this machine sees
  that its process is gone, and in any case when its lease lapses (a live consumer
  renews its leases from a background thread, so a long task keeps its message).

The file lives in the data folder, in WAL mode with ``synchronous=FULL`` (a committed
message survives a crash of the machine, not only of the process) and a busy timeout,
so the web processes, beat and workers share it safely. Fanout exchanges (Celery's
remote-control broadcasts) stay within one process, as in kombu's memory transport.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES, virtual

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    owner TEXT,
    lease_until REAL,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS message_ready ON message (queue, owner, id);
"""

DEFAULT_LEASE_SECONDS = 60.0
RECLAIM_EVERY_SECONDS = 1.0
HOSTNAME = socket.gethostname()


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def owner_is_gone(owner: str) -> bool:
    """Whether the consumer named ``owner`` ("host:pid:token") is known to be dead.

    Only a process on this machine can be checked; any other owner waits for its lease.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOSTNAME or not pid_text.isdigit():
        return False
    return not _process_is_alive(int(pid_text))


class Database:
    """The broker file's connections in this process, safe across threads and fork().

    SQLite must not be used across ``fork()``: a child that inherits a connection (or
    SQLite's per-file lock bookkeeping, or one of its mutexes held by another thread at
    the moment of the fork) can hang or lose its locks. Celery's worker forks its pool
    processes, which publish tasks. So every statement runs under one lock per process,
    and just before a fork that lock is taken and every connection closed; the parent
    reopens lazily, the child starts with none.
    """

    _instances: dict[str, Database] = {}  # one per file per process
    _fork_lock = threading.RLock()

    @classmethod
    def for_path(cls, path: str, busy_timeout_seconds: float) -> Database:
        with cls._fork_lock:
            if path not in cls._instances:
                cls._instances[path] = cls(path, busy_timeout_seconds)
            return cls._instances[path]

    def __init__(self, path: str, busy_timeout_seconds: float):
        self.path = path
        self.busy_timeout_seconds = busy_timeout_seconds
        self._connections: dict[int, sqlite3.Connection] = {}  # thread id -> connection
        self.run(SCHEMA, script=True)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_seconds,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _connection(self) -> sqlite3.Connection:
        thread_id = threading.get_ident()
        if thread_id not in self._connections:
            self._connections[thread_id] = self._open()
        return self._connections[thread_id]

    def query(self, sql: str, parameters=()) -> list[tuple]:
        """Rows of one statement, read to the end (so no statement is left open)."""
        with Database._fork_lock:
            return self._connection().execute(sql, parameters).fetchall()

    def run(self, sql: str, parameters=(), *, script: bool = False) -> int:
        """Run one statement (or a script); the number of rows it changed."""
        with Database._fork_lock:
            connection = self._connection()
            if script:
                connection.executescript(sql)
                return 0
            return connection.execute(sql, parameters).rowcount

    def close_thread_connection(self) -> None:
        with Database._fork_lock:
            connection = self._connections.pop(threading.get_ident(), None)
            if connection is not None:
                connection.close()

    def _close_all(self) -> None:
        for connection in self._connections.values():
            with contextlib.suppress(sqlite3.Error):
                connection.close()
        self._connections.clear()

    @classmethod
    def before_fork(cls) -> None:
        cls._fork_lock.acquire()
        for database in cls._instances.values():
            database._close_all()

    @classmethod
    def after_fork_in_parent(cls) -> None:
        cls._fork_lock.release()

    @classmethod
    def after_fork_in_child(cls) -> None:
        cls._fork_lock = threading.RLock()
        for database in cls._instances.values():
            database._connections.clear()


os.register_at_fork(
    before=Database.before_fork,
    after_in_parent=Database.after_fork_in_parent,
    after_in_child=Database.after_fork_in_child,
)


class QoS(virtual.QoS):
    """Acknowledgements and rejections act on the message's row, not on memory only."""

    def ack(self, delivery_tag):
        self.channel.message_delete(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if requeue:
            self.channel.message_release([delivery_tag])
        else:
            self.channel.message_delete(delivery_tag)
        self._quick_ack(delivery_tag)

    def restore_unacked(self):
        """Give back every message this consumer holds (called when the channel closes)."""
        self._flush()
        held = [tag for tag in self._delivered if tag not in self._dirty]
        self._delivered.clear()
        try:
            self.channel.message_release(held)
        except sqlite3.Error as exc:
            # Their leases lapse by themselves; nothing is lost.
            return [(exc, tag) for tag in held]
        return []


class Channel(virtual.Channel):
    QoS = QoS
    # Payloads are JSON text in the row; no Base64 round trip.
    body_encoding = None
    from_transport_options = (
        *virtual.Channel.from_transport_options,
        "database_path",
        "lease_seconds",
        "busy_timeout_seconds",
    )
    database_path: str | None = None
    lease_seconds = DEFAULT_LEASE_SECONDS
    busy_timeout_seconds = 30.0

    def __init__(self, connection, **kwargs):
        super().__init__(connection, **kwargs)
        if not self.database_path:
            raise ValueError("The sqlite-queue transport needs transport option database_path.")
        self.database = self.connection.database_for(self.database_path, self.busy_timeout_seconds)
        self.owner = f"{HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._next_reclaim = 0.0
        self._renewer: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- the queue operations kombu's virtual channel asks for ---------------------

    def _put(self, queue, message, **kwargs):
        self.database.run(
            "INSERT INTO message (queue, payload) VALUES (?, ?)", (queue, json.dumps(message))
        )

    def _get(self, queue, timeout=None):
        self._reclaim_lost()
        if not self.database.query(
            "SELECT 1 FROM message WHERE queue = ? AND owner IS NULL LIMIT 1", (queue,)
        ):
            raise Empty()
        rows = self.database.query(
            "UPDATE message SET owner = ?, lease_until = ?, deliveries = deliveries + 1 "
            "WHERE id = (SELECT id FROM message WHERE queue = ? AND owner IS NULL "
            "ORDER BY id LIMIT 1) RETURNING id, payload, deliveries",
            (self.owner, time.time() + self.lease_seconds, queue),
        )
        if not rows:
            raise Empty()
        [(message_id, payload, deliveries)] = rows
        message = json.loads(payload)
        # The row id is the delivery tag: acknowledging deletes exactly this row.
        message["properties"]["delivery_tag"] = str(message_id)
        if deliveries > 1:
            message["properties"].setdefault("delivery_info", {})["redelivered"] = True
        self._start_renewing()
        return message

    def _size(self, queue):
        return self.database.query(
            "SELECT count(*) FROM message WHERE queue = ? AND owner IS NULL", (queue,)
        )[0][0]

    def _purge(self, queue):
        return self.database.run("DELETE FROM message WHERE queue = ? AND owner IS NULL", (queue,))

    def _delete(self, queue, *args, **kwargs):
        super()._delete(queue, *args, **kwargs)
        self.database.run("DELETE FROM message WHERE queue = ?", (queue,))

    def _new_queue(self, queue, **kwargs):
        """Queues need no declaring: a queue is the rows that name it."""

    def _has_queue(self, queue, **kwargs):
        return True

    # --- acknowledgement, release and recovery ------------------------------------

    def message_delete(self, delivery_tag) -> None:
        self.database.run("DELETE FROM message WHERE id = ?", (int(delivery_tag),))

    def message_release(self, delivery_tags) -> None:
        ids = [int(tag) for tag in delivery_tags]
        if ids:
            placeholders = ",".join("?" * len(ids))
            self.database.run(
                f"UPDATE message SET owner = NULL, lease_until = NULL "
                f"WHERE owner = ? AND id IN ({placeholders})",
                (self.owner, *ids),
            )

    def _reclaim_lost(self) -> None:
        """Make messages of dead or silent consumers available again (at most once a second)."""
        now = time.time()
        if now < self._next_reclaim:
            return
        self._next_reclaim = now + RECLAIM_EVERY_SECONDS
        owners = [
            owner
            for (owner,) in self.database.query(
                "SELECT DISTINCT owner FROM message WHERE owner IS NOT NULL"
            )
        ]
        gone = [owner for owner in owners if owner != self.owner and owner_is_gone(owner)]
        self.database.run(
            "UPDATE message SET owner = NULL, lease_until = NULL "
            "WHERE owner IS NOT NULL AND lease_until < ?",
            (now,),
        )
        for owner in gone:
            self.database.run(
                "UPDATE message SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,)
            )

    def _start_renewing(self) -> None:
        if self._renewer is not None and self._renewer.is_alive():
            return
        self._renewer = threading.Thread(
            target=self._renew_leases, name="sqlite-queue-lease", daemon=True
        )
        self._renewer.start()

    def _renew_leases(self) -> None:
        """Keep this consumer's messages while it lives, however long its tasks run."""
        interval = self.lease_seconds / 4
        while not self._stopped.wait(interval):
            with contextlib.suppress(sqlite3.Error):
                self.database.run(
                    "UPDATE message SET lease_until = ? WHERE owner = ?",
                    (time.time() + self.lease_seconds, self.owner),
                )
        self.database.close_thread_connection()

    def close(self):
        super().close()  # gives back unacknowledged messages through QoS.restore_unacked
        self._stopped.set()


class Transport(virtual.Transport):
    Channel = Channel
    # kombu sleeps this long whenever a poll finds nothing to hand out, including when
    # the worker's prefetch is full: a long sleep would idle a worker between tasks. An
    # empty poll is one indexed SELECT, so a tenth of a second costs nothing.
    polling_interval = 0.1
    default_port = 0
    driver_type = "sqlite"
    driver_name = "sqlite3"
    connection_errors = (*virtual.Transport.connection_errors, sqlite3.OperationalError)
    channel_errors = (*virtual.Transport.channel_errors, sqlite3.DatabaseError)

    def database_for(self, path: str, busy_timeout_seconds: float) -> Database:
        return Database.for_path(path, busy_timeout_seconds)

    def driver_version(self):
        return sqlite3.sqlite_version


def register() -> None:
    """Make ``sqlite-queue://`` a broker URL kombu understands."""
    TRANSPORT_ALIASES.setdefault("sqlite-queue", "config.sqlite_broker:Transport")
