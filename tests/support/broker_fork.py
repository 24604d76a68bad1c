"""``python -m tests.support.broker_fork DATABASE FORKS``: fork FORKS children while two
threads of this process write to the broker file without pause; each child publishes one
message and exits. Prints how many children hung (killed after 15 s) or failed; exits 1
if any did. Celery's worker forks its pool processes while its broker connection lives.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from kombu import Connection

from config import sqlite_broker

sqlite_broker.register()


def main() -> None:
    path, forks = sys.argv[1], int(sys.argv[2])
    options = {"database_path": path}
    connection = Connection("sqlite-queue://localhost", transport_options=options)
    queue = connection.SimpleQueue("forks")
    queue.put({"n": -1})
    queue.get(timeout=5)  # held, unacknowledged: this process now renews a lease
    channel = queue.channel
    stop = threading.Event()

    def write_without_pause() -> None:
        while not stop.is_set():
            channel.database.run(
                "UPDATE message SET lease_until = lease_until WHERE owner = ?", (channel.owner,)
            )

    for _ in range(2):
        threading.Thread(target=write_without_pause, daemon=True).start()
    bad = 0
    for index in range(forks):
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)
            with Connection("sqlite-queue://localhost", transport_options=options) as child:
                child.SimpleQueue("forks").put({"n": index})
            os._exit(0)
        deadline = time.monotonic() + 15
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                bad += status != 0
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                bad += 1
                break
            time.sleep(0.01)
    stop.set()
    sys.stdout.write(f"{bad} of {forks} children hung or failed\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
