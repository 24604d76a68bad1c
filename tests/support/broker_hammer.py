"""Producer and consumer processes for the broker hammer test
(tests/config/test_embedded_broker.py).

``python -m tests.support.broker_hammer produce URL OPTIONS --prefix P --count N`` publishes
N messages ``{"id": "P-i"}`` to the ``hammer`` queue.

``python -m tests.support.broker_hammer consume URL OPTIONS --record FILE [--die-after K]``
consumes with prefetch 1 and acknowledges each message after writing "<id> <redelivered>"
to FILE (flushed and fsynced, so a line is never lost with the process). With
``--die-after K`` it writes "held <id>" for message K+1 and SIGKILLs itself before the
acknowledgement, as a worker killed in the middle of a task. It stops when the file
``FILE.stop`` appears and no message came for a second.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from kombu import Connection, Exchange, Queue

from config import sqlite_broker

sqlite_broker.register()
QUEUE = Queue("hammer", Exchange("hammer", type="direct"), routing_key="hammer")


def produce(connection: Connection, prefix: str, count: int) -> None:
    with connection.Producer() as producer:
        for index in range(count):
            producer.publish(
                {"id": f"{prefix}-{index}"},
                exchange=QUEUE.exchange,
                routing_key="hammer",
                declare=[QUEUE],
                serializer="json",
                retry=True,
            )


def consume(connection: Connection, record: Path, die_after: int | None) -> None:
    stop = Path(f"{record}.stop")
    handled = 0
    with record.open("a") as out:

        def on_message(body, message):
            nonlocal handled
            if die_after is not None and handled == die_after:
                out.write(f"held {body['id']}\n")
                out.flush()
                os.fsync(out.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            redelivered = bool(message.delivery_info.get("redelivered"))
            out.write(f"{body['id']} {int(redelivered)}\n")
            out.flush()
            os.fsync(out.fileno())
            message.ack()
            handled += 1

        with connection.Consumer([QUEUE], callbacks=[on_message], accept=["json"]) as consumer:
            consumer.qos(prefetch_count=1)
            while True:
                try:
                    connection.drain_events(timeout=1)
                except TimeoutError:
                    if stop.exists():
                        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["produce", "consume"])
    parser.add_argument("url")
    parser.add_argument("options")
    parser.add_argument("--prefix", default="p")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--die-after", type=int)
    args = parser.parse_args()
    with Connection(args.url, transport_options=json.loads(args.options)) as connection:
        if args.mode == "produce":
            produce(connection, args.prefix, args.count)
        else:
            consume(connection, args.record, args.die_after)
    sys.exit(0)


if __name__ == "__main__":
    main()
