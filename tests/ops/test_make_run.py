"""`make run` on the embedded defaults: serves the portal and a worker, and Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy.services import free_port
from tests.support.worker import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
SERVER_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "PORTAL_ENVIRONMENT",
    "PORTAL_FILES_ROOT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
}

pytestmark = pytest.mark.slow


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_make_run_serves_health_and_admin_then_stops_on_ctrl_c(tmp_path):
    """GIVEN no database, broker or storage configured WHEN `make run` starts THEN the demo
    login is printed, /healthz answers 200 for all three, the admin login page is served,
    a worker is running, and Ctrl-C (SIGINT) stops every process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(tmp_path / "data"), "PORT": str(port)})
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            timeout=90,
            message=f"portal did not become healthy:\n{log_path.read_text()}",
        )
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert '"database": "ok"' in body and '"broker": "ok"' in body and '"storage": "ok"' in body
        status, body = get(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200 and "Password" in body
        wait_for(
            lambda: " ready." in log_path.read_text(),
            timeout=60,
            message=f"the Celery worker did not start:\n{log_path.read_text()}",
        )
        output = log_path.read_text()
        assert "demo@clinic.example" in output and "API key" in output
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", f"processes left after Ctrl-C: {leftover.stdout}"
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 0


def test_make_run_on_another_port_takes_a_patient_upload_through_the_texted_link(tmp_path):
    """GIVEN `PORT=<p> make run` on a fresh data folder WHEN an integrator uses the printed
    API key to ask a patient for a photo, and the patient opens the link (the SMS printed
    by the console backend names it), confirms their date of birth and sends a photo
    THEN every link (banner, SMS, upload ticket) names port p, the photo ends ready, the
    banner says where the data lives and that two-factor sign-in is asked for, the server
    answers pages without Django's debug pages (DEBUG is off), serves static files
    (WhiteNoise), and its access log never shows the short link."""
    import datetime
    import re

    import requests

    from tests.files import samples
    from tests.support import clients
    from tests.support.embedded import embedded_shape, file_request

    with embedded_shape(tmp_path, via_make=True) as shape:
        base = shape.url
        banner = shape.log()
        key = re.search(r"API key\s+(\S+)", banner)[1]
        assert f"Dashboard   {base}/" in banner
        assert f"Data        {tmp_path / 'data'}" in banner
        assert "two-factor sign-in" in banner and "authenticator app" in banner
        account_id = re.search(r"Account id\s+(\S+)", banner)[1]

        api = clients.keyed(key)
        created = file_request(
            api, shape, account_id, mobile="+447777123456", date_of_birth="1980-06-17"
        )
        assert created["shortLinkUrl"].startswith(f"{base}/r/")
        texted = wait_for(
            lambda: re.search(r"--- SMS to \S+ .*?\n(.*?)\n---", shape.log(), re.S),
            timeout=60,
            message=f"no SMS printed:\n{shape.log()[-3000:]}",
        )
        # The SMS printed on the console names the same port (the worker's log redacts the
        # link's id: it is a credential), and the API hands the integrator the same link.
        assert f"{base}/r/" in texted[1], texted[1]
        link = created["shortLinkUrl"]

        patient = clients.PatientBrowser(base)
        short_link_id = link.rsplit("/", 1)[1]
        assert patient.verify(short_link_id, datetime.date(1980, 6, 17)).status_code == 302
        data = samples.jpeg((800, 600))
        ticket = patient.ticket(len(data))
        assert ticket.status_code == 200, ticket.text
        assert ticket.json()["url"].startswith(f"{base}/"), ticket.json()["url"]
        stored = clients.post_to_storage(
            ticket.json()["url"],
            ticket.json()["fields"],
            filename="IMG_1.JPG",
            data=data,
            content_type="image/jpeg",
        )
        assert stored.status_code in (200, 201, 204), stored.text
        confirmed = patient.confirm(ticket.json()["ticketId"], note="my rash")
        assert confirmed.status_code == 200, confirmed.text
        file_id = confirmed.json()["fileId"].replace("-", "")

        def photo_state() -> str:
            with shape.database() as db:
                row = db.execute("SELECT state FROM files_file WHERE id = ?", (file_id,))
                return row.fetchone()[0]

        wait_for(
            lambda: photo_state() == "ready",
            timeout=120,
            interval=1,
            message=f"the photo never became ready:\n{shape.log()[-3000:]}",
        )
        missing = requests.get(f"{base}/no-such-page", timeout=10)
        assert missing.status_code == 404
        assert "URLconf" not in missing.text and "DEBUG = True" not in missing.text
        login = requests.get(f"{base}/login/", timeout=10)
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', login.text)[1]
        assert requests.get(f"{base}{stylesheet}", timeout=10).status_code == 200  # WhiteNoise
        access_lines = [line for line in shape.log().splitlines() if '"GET /r/' in line]
        assert access_lines, "gunicorn logged no access to the patient page"
        assert not [line for line in access_lines if short_link_id in line], "short link logged"
    assert shape.leftover() == [], f"processes left after Ctrl-C: {shape.leftover()}"
