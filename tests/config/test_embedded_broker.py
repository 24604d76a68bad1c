"""The embedded broker (config/sqlite_broker.py) hammered from several processes.

Four producer processes publish 1,000 messages as fast as they can while consumers take
them; one consumer SIGKILLs itself holding a message it has not acknowledged (a worker
killed in the middle of an ``acks_late`` task), and a replacement starts, as the
supervisor would start one. Every message must be handled: exactly once, or more than
once only when it was redelivered after the kill. No consumer may crash on a message.

The same test on kombu's ``filesystem://`` transport (what ``make run`` used before) is
expected to fail: the killed consumer's message is lost (the transport deletes a message
file as soon as it reads it), and a consumer may die reading a file a producer has not
finished writing (celery/kombu#1551).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.worker import BASE_DIR

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded")]

PRODUCERS = 4
PER_PRODUCER = 250


def transport(kind: str, tmp_path: Path) -> tuple[str, dict]:
    if kind == "sqlite-queue":
        return "sqlite-queue://", {"database_path": str(tmp_path / "broker.sqlite3")}
    folder = tmp_path / "broker"
    for name in ("queue", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.05,
    }


def hammer(url: str, options: dict, mode: str, *args: str) -> subprocess.Popen:
    """A producer or consumer process (tests/support/broker_hammer.py)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.broker_hammer",
            mode,
            url,
            json.dumps(options),
            *args,
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_records(records: list[Path]) -> tuple[list[str], list[str], list[str]]:
    """(handled ids, ids handled as redelivered, ids held by a killed consumer)."""
    handled, redelivered, held = [], [], []
    for record in records:
        if not record.exists():
            continue
        for line in record.read_text().splitlines():
            first, _, second = line.partition(" ")
            if first == "held":
                held.append(second)
            else:
                handled.append(first)
                if second == "1":
                    redelivered.append(first)
    return handled, redelivered, held


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite-queue",
        pytest.param(
            "filesystem",
            marks=pytest.mark.xfail(
                strict=True,
                reason="kombu's filesystem:// loses a killed consumer's message and can "
                "read half-written ones (the transport make run used before)",
            ),
        ),
    ],
)
def test_several_producers_and_a_killed_consumer_lose_nothing(tmp_path, kind):
    """GIVEN four producer processes publishing 1,000 messages while two consumers take them
    WHEN one consumer is SIGKILLed holding an unacknowledged message and a new one starts
    THEN every message is handled, none twice unless redelivered after the kill, and no
    consumer crashes."""
    url, options = transport(kind, tmp_path)
    records = [tmp_path / f"consumer-{name}.txt" for name in ("doomed", "steady", "replacement")]
    doomed = hammer(url, options, "consume", "--record", str(records[0]),
                    "--die-after", "20")  # fmt: skip
    steady = hammer(url, options, "consume", "--record", str(records[1]))
    producers = [
        hammer(url, options, "produce", "--prefix", f"p{n}", "--count", str(PER_PRODUCER))
        for n in range(PRODUCERS)
    ]
    replacement = None
    expected = {f"p{n}-{i}" for n in range(PRODUCERS) for i in range(PER_PRODUCER)}
    try:
        deadline = time.monotonic() + 120
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            if replacement is None and doomed.poll() is not None:  # reaped: its pid is gone
                replacement = hammer(url, options, "consume", "--record",
                                     str(records[2]))  # fmt: skip
            handled, _, _ = read_records(records)
            if set(handled) >= expected:
                break
            if len(handled) != last_count:
                last_count, last_change = len(handled), time.monotonic()
            elif time.monotonic() - last_change > 15 and all(
                p.poll() is not None for p in producers
            ):
                break  # nothing new for 15 s after the producers finished: the rest is lost
            time.sleep(0.2)
        for producer in producers:
            assert producer.wait(timeout=60) == 0, producer.stdout.read()
    finally:
        for record in records:
            Path(f"{record}.stop").touch()
        consumers = [c for c in (doomed, steady, replacement) if c is not None]
        for consumer in consumers:
            try:
                consumer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                consumer.kill()
                consumer.wait()

    handled, redelivered, held = read_records(records)
    counts = Counter(handled)
    lost = expected - set(handled)
    assert held, "the doomed consumer never held a message"
    assert doomed.returncode == -9
    crashed = {
        name: (consumer.returncode, consumer.stdout.read()[-2000:])
        for name, consumer in (("steady", steady), ("replacement", replacement))
        if consumer is not None and consumer.returncode != 0
    }
    assert not crashed, f"consumers crashed: {crashed}"
    assert not lost, f"{len(lost)} messages lost, e.g. {sorted(lost)[:5]} (held: {held})"
    twice = {message_id for message_id, count in counts.items() if count > 1}
    assert twice <= set(redelivered), f"handled twice without redelivery: {sorted(twice)[:5]}"
    assert set(held) <= set(redelivered), "the killed consumer's message was not redelivered"


def test_processes_forked_while_a_thread_is_inside_sqlite_can_publish(tmp_path):
    """GIVEN a process that holds a message (so it renews its lease) and two threads writing
    to the broker file without pause WHEN it forks 60 children, as Celery's worker forks its
    pool, and each child publishes THEN no child hangs or fails. (Before the transport
    closed its connections around fork(), 39 of 100 children hung inside SQLite.)"""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.broker_fork", str(tmp_path / "b.sqlite3"), "60"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "0 of 60 children hung or failed" in done.stdout
