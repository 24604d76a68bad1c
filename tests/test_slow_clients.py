"""Slow clients cannot stop the web server answering (security review, issue 13 #14).

gunicorn started exactly as ``make run`` and the scaled shape start it
(``-c portal/gunicorn_conf.py``), with one process of four threads so that a handful of
attackers is more than it has threads. Six connections send a request to
``/storage/upload`` (no account needed) a byte a second, or stall; meanwhile a normal
request must still be answered. Before the slow-client guard (portal/gunicorn_worker.py),
plain ``gthread`` kept answering nothing for as long as the attackers kept sending.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.plugins.services import free_port, wait_until
from tests.support.worker import BASE_DIR, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ATTACKERS = 6
THREADS = 4
ATTACK_SECONDS = 60
BODY_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="key"\r\n\r\naccounts/x/temp/y.jpg\r\n--b\r\n'
)


@contextlib.contextmanager
def gunicorn(tmp_path):
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(BASE_DIR / "portal" / "gunicorn_conf.py"),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(THREADS),
        "portal.wsgi:application",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=worker_env(), stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until(
                lambda: requests.get(f"{url}/healthz", timeout=5).status_code == 200,
                what="gunicorn",
                timeout=60,
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{log_path.read_text(errors='replace')[-3000:]}") from None
        yield url, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)


def request_head(port: int, *, length: int) -> bytes:
    return (
        f"POST /storage/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def attack(port: int, kind: str, deadline: float, outcome: dict, index: int) -> None:
    """One slow client, until the server lets it go or the deadline passes; records which."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = request_head(port, length=100_000)
    try:
        if kind == "slow headers":
            trickle = head
        elif kind == "slow body":
            sock.sendall(head)
            trickle = BODY_HEAD + b"x" * 100_000
        else:  # "stalled body": a good start, then nothing
            sock.sendall(head + BODY_HEAD)
            trickle = b""
        for byte_index in range(len(trickle)):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
            sock.sendall(trickle[byte_index : byte_index + 1])
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.recv(65536)  # an answer, or the end of the connection: the server let go
        outcome[index] = "cut off"
    except TimeoutError:
        outcome[index] = "still connected"
    except OSError:
        outcome[index] = "cut off"
    finally:
        sock.close()


@pytest.mark.parametrize("kind", ["slow body", "slow headers", "stalled body"])
def test_slow_clients_do_not_stop_normal_requests(tmp_path, kind):
    """GIVEN gunicorn as shipped, one process of four threads
    WHEN six clients send a request to /storage/upload a byte a second (or stall)
    THEN a normal request is still answered, the slow clients are cut off, and the log
    says so."""
    with gunicorn(tmp_path) as (url, log_path):
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + ATTACK_SECONDS
        outcome: dict[int, str] = {}
        attackers = [
            threading.Thread(target=attack, args=(port, kind, deadline, outcome, n), daemon=True)
            for n in range(ATTACKERS)
        ]
        for attacker in attackers:
            attacker.start()
        time.sleep(2)  # every thread is now busy with an attacker
        answer = requests.get(f"{url}/healthz", timeout=45)
        assert answer.status_code == 200
        for attacker in attackers:
            attacker.join(timeout=ATTACK_SECONDS + 10)
        log = log_path.read_text(errors="replace")
    assert list(outcome.values()).count("cut off") == ATTACKERS, outcome
    assert "Cut off a slow client 127.0.0.1" in log
    assert "/storage/upload" not in log.split("Cut off a slow client", 1)[1].splitlines()[0]


def test_a_fast_large_upload_is_not_cut_off(tmp_path):
    """GIVEN the guard WHEN a client sends a 5 MB body at full speed THEN the request is
    answered by the application (its policy check), not cut off."""
    with gunicorn(tmp_path) as (url, log_path):
        answer = requests.post(
            f"{url}/storage/upload",
            data={"key": "accounts/x/temp/y.jpg"},
            files={"file": ("y.jpg", b"\xff" * (5 * 1024 * 1024), "image/jpeg")},
            timeout=60,
        )
        assert 400 <= answer.status_code < 500
        assert "Cut off a slow client" not in log_path.read_text(errors="replace")
