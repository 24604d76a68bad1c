"""``manage.py run_embedded`` (what ``make run`` serves with): a worker that dies is started
again and its task is delivered again; the web server never stops for it; Ctrl-C stops
everything; a port already taken is a start-up error said in words."""

from __future__ import annotations

import datetime
import socket
import subprocess
import sys

import pytest
import requests

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
    with embedded_shape(tmp_path, extra_env={"FILES_PROCESSING_PAUSE_SECONDS": "4"}) as shape:
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
