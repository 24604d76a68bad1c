"""``manage.py run_embedded`` (what ``make run`` serves with): a worker that dies is started
again and its task is delivered again; the web server never stops for it; Ctrl-C stops
everything; a port already taken is a start-up error said in words."""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from config.supervisor import StartupError, check_port_free
from tests.files import samples
from tests.support import clients
from tests.support.embedded import (
    BASE_DIR,
    api_key_for,
    embedded_env,
    embedded_shape,
    file_request,
)
from tests.support.worker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded")]


def test_a_killed_worker_is_restarted_and_its_task_is_delivered_again(tmp_path):
    """GIVEN the embedded shape processing an upload (held half-way by the test hook)
    WHEN the worker and its pool are SIGKILLed
    THEN the supervisor says so and starts a worker again, the web server answers all along,
    the upload's task is delivered again and the file ends ready; Ctrl-C then stops all."""
    hold = tmp_path / "hold-processing"
    hold.touch()
    with embedded_shape(
        tmp_path,
        extra_env={
            "PORTAL_ENVIRONMENT": "test",
            "PORTAL_FILES_PROCESSING_PAUSE_SECONDS": "120",
            "PORTAL_FILES_PROCESSING_HOLD_PATH": str(hold),
        },
    ) as shape:
        account_id, key = api_key_for(shape, "Restart Clinic")
        created = file_request(
            clients.keyed(key),
            shape,
            account_id,
            mobile="+447777100123",
            date_of_birth="1975-03-02",
        )
        patient = clients.PatientBrowser(shape.url)
        verified = patient.verify(created["shortLinkId"], datetime.date(1975, 3, 2))
        assert verified.status_code == 302
        confirmed = patient.upload(filename="IMG_1.JPG", data=samples.jpeg((640, 480)))
        assert confirmed.status_code == 200, confirmed.text
        file_id = confirmed.json()["fileId"].replace("-", "")
        shape.wait_log("paused half-way through processing", timeout=60)
        killed = shape.kill_program("worker")
        hold.unlink()  # the work was held when the worker died; the next delivery goes on

        shape.wait_log("supervisor: worker was killed by SIGKILL", timeout=30)
        assert requests.get(f"{shape.url}/healthz", timeout=10).status_code == 200
        shape.wait_log("supervisor: starting worker again (restart 1)", timeout=30)

        def file_state() -> str:
            with shape.database() as db:
                return db.execute(
                    "SELECT state FROM files_file WHERE id = ?", (file_id,)
                ).fetchone()[0]

        wait_for(
            lambda: file_state() == "ready",
            timeout=180,
            interval=1,
            message=f"the file never became ready after the restart:\n{shape.log()[-5000:]}",
        )
        assert shape.log().count("paused half-way through processing") >= 2
        with shape.database() as db:
            attempts = db.execute(
                "SELECT processing_attempts FROM files_file WHERE id = ?", (file_id,)
            ).fetchone()[0]
        assert attempts == 2  # the killed run, then the one that finished
        assert shape.program_pid("worker") not in (None, killed)
        assert requests.get(f"{shape.url}/healthz", timeout=10).status_code == 200
    assert shape.process.returncode == 0, shape.log()[-3000:]
    assert "supervisor: stopped." in shape.log()
    assert shape.leftover() == [], f"processes left after Ctrl-C: {shape.leftover()}"


def test_a_port_in_use_is_a_start_up_error_said_in_words(tmp_path):
    """GIVEN another program listening on the port WHEN run_embedded starts THEN it exits 1
    and says the port is in use and how to choose another, starting nothing."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
            cwd=BASE_DIR,
            env=embedded_env(tmp_path / "data", port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use by another program" in done.stderr
    assert "PORT=8080 make run" in done.stderr


def local_ports_in_state(port: int, state: str) -> int:
    """How many TCP sockets on this machine have local port ``port`` in ``state``
    (``/proc/net/tcp`` and ``tcp6``: 06 is TIME-WAIT, 0A is LISTEN)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    found += 1
    return found


def port_left_in_time_wait() -> int:
    """A port whose last connection the server side closed first, as gunicorn does when
    it is stopped with clients connected: the server's end waits in TIME-WAIT (60 s on
    Linux) and nothing listens on the port any more. The listener sets SO_REUSEADDR, as
    gunicorn's does (a TIME-WAIT left by a program that did not would stop gunicorn
    binding too)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        client.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        server.recv(1024)
        server.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        server.close()  # the server's end closes first ...
        client.recv(1024)
        client.close()  # ... and the client answers its FIN
    wait_for(
        lambda: local_ports_in_state(port, "06") > 0,
        timeout=10,
        message="the connection did not enter TIME-WAIT",
    )
    assert local_ports_in_state(port, "0A") == 0
    return port


def test_a_port_left_in_time_wait_is_free_to_start_on():
    """GIVEN a port whose last connection is in TIME-WAIT (what a stopped run leaves for a
    minute) WHEN the supervisor checks the port THEN it passes: nothing listens there."""
    port = port_left_in_time_wait()
    check_port_free(port)
    assert local_ports_in_state(port, "06") > 0  # still in TIME-WAIT while it passed


@pytest.mark.parametrize(
    "family, address",
    [
        (socket.AF_INET, "127.0.0.1"),
        (socket.AF_INET, "0.0.0.0"),
        (socket.AF_INET6, "::"),
    ],
    ids=["loopback", "every IPv4 address", "every IPv6 address"],
)
@pytest.mark.parametrize("reuse_address", [False, True], ids=["plain", "SO_REUSEADDR"])
def test_a_port_another_program_listens_on_is_refused_in_words(family, address, reuse_address):
    """GIVEN another program listening on the port (on loopback, on every address, with or
    without SO_REUSEADDR as servers set it) WHEN the supervisor checks the port THEN it
    refuses, saying the port is in use and how to choose another."""
    with socket.socket(family, socket.SOCK_STREAM) as taken:
        if reuse_address:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind((address, 0))
        except OSError:
            pytest.skip(f"this machine cannot listen on {address}")
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as refused:
            check_port_free(port)
    assert f"port {port} on 127.0.0.1 is in use by another program" in str(refused.value)
    assert "PORT=8080 make run" in str(refused.value)


def test_run_embedded_starts_at_once_on_a_port_the_last_run_left_in_time_wait(tmp_path):
    """GIVEN a port left in TIME-WAIT by a run just stopped WHEN run_embedded starts on it
    THEN it serves (it used to refuse for a minute: "port in use by another program"),
    and Ctrl-C stops it."""
    port = port_left_in_time_wait()
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
            cwd=BASE_DIR,
            env=embedded_env(tmp_path / "data", port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: "supervisor: serving on" in log_path.read_text() or process.poll() is not None,
            timeout=120,
            message="run_embedded neither served nor exited",
        )
        assert "supervisor: serving on" in log_path.read_text(), log_path.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0, log_path.read_text()[-3000:]
