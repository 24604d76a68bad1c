"""`make run-scaled`: the scaled shape on one box (PostgreSQL, Redis, SeaweedFS, nginx, two
gunicorns, two workers, beat), driven through nginx like production, and nothing lost when
a worker and a gunicorn are killed."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deploy import services
from tests.attachments import samples as attachment_samples
from tests.files import samples
from tests.support import clients
from tests.support.worker import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
SERVER_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "PORTAL_ENVIRONMENT",
    "PORTAL_FILES_ROOT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
}
DOORS = ("xon", "claros", "cliniko", "request", "medable")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run_scaled")]


def run_scaled_started(log_path: Path, prefix: str) -> tuple[subprocess.Popen, int, Path]:
    """`make run-scaled` started on a block of free ports in a data folder of its own:
    the process (its own session), the first port and the data folder."""
    base = services.free_block(16)
    # As root, PostgreSQL runs as the postgres user, which cannot enter pytest's private
    # (0700) temporary folders: the run's data folder is a world-traversable one.
    data_dir = Path(tempfile.mkdtemp(prefix=prefix)) / "data"
    data_dir.parent.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(data_dir), "PORTAL_SCALED_PORT": str(base)})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            # The suite already runs in the installed venv with the system packages:
            # -o skips re-checking them (pip would run on every pyproject.toml edit).
            ["make", "--no-print-directory", "-o", "install", "-o", "system-deps", "run-scaled"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, base, data_dir


def processes_of(data_dir: Path, fragment: str) -> list[int]:
    """Pids whose command line holds ``fragment`` and whose PORTAL_DATA_DIR is this run's."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if fragment in cmdline and str(data_dir).encode() in environ:
            found.append(int(entry.name))
    return found


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def metrics(url: str, token: str) -> dict[tuple, float]:
    answer = requests.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    answer.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def uploads_by_state(url: str, token: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for (name, labels), value in metrics(url, token).items():
        if name == "portal_uploads_total":
            label = dict(labels)
            found.setdefault(label["state"], {})[label["door"]] = value
    return found


class Clinic:
    """The demo clinic's API key, one patient and one file request, through nginx."""

    def __init__(self, url: str, key: str):
        self.url = url
        self.api = clients.keyed(key)
        self.date_of_birth = dt.date(1970, 3, 4)
        self.patient_id = self.new_patient()

    def new_patient(self) -> str:
        patient = self.api.post(
            f"{self.url}/api/v1/patients",
            json={"first_name": "Ada", "last_name": "Scaled", "date_of_birth": "1970-03-04"},
            timeout=30,
        )
        assert patient.status_code == 201, patient.text
        return patient.json()["id"]

    def file_request(self, account_id: str) -> str:
        answer = self.api.post(
            f"{self.url}/api/v1/file-requests",
            json={
                "type": "photo",
                "prompt": "A photo of the wound, please.",
                "accountUserId": "7",
                "accountId": account_id,
                "staffName": "Dr Scaled",
                "patientMobile": "+447777123456",
                "patientDateOfBirth": self.date_of_birth.isoformat(),
                "patientFirstName": "Ada",
                "patientLastName": "Scaled",
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["shortLinkId"]

    def upload_everywhere(self, index: int, browser: clients.PatientBrowser) -> None:
        """One upload through each door, as the integrator or the patient's phone would."""
        photo = samples.jpeg((300 + index, 200), colour=(index * 40 % 256, 80, 120))
        pdf = attachment_samples.pdf(padding=index)
        answer = clients.xon_upload(
            self.api, self.url, user_id=self.patient_id, name=f"x{index}.jpg", data=photo
        )
        assert answer.status_code == 201, ("x-on", answer.text)
        answer = clients.claros_upload(
            self.api, self.url, patient_id=self.patient_id, filename=f"c{index}.pdf", data=pdf
        )
        assert answer.status_code == 201, ("claros", answer.text)
        answer = clients.cliniko_upload(
            self.api, self.url, patient_id=self.patient_id, filename=f"k{index}.pdf", data=pdf
        )
        assert answer.status_code == 201, ("cliniko", answer.text)
        answer = browser.upload(filename=f"IMG_{index}.JPG", data=photo)
        assert answer.status_code == 200, ("patient page", answer.text)
        # Medable's photo is one per patient (a new one replaces it): a patient per round.
        answer = self.api.put(
            f"{self.url}/api/v1/patients/{self.new_patient()}/photo",
            json={"content": f"m{index}.jpg"},
            timeout=30,
        )
        assert answer.status_code == 200, ("medable", answer.text)
        [entry] = answer.json()["uploads"]
        stored = clients.post_to_storage(
            entry["uploadUrl"],
            [(field["key"], field["value"]) for field in entry["fields"]],
            filename=f"m{index}.jpg",
            data=photo,
            content_type="image/jpeg",
        )
        assert stored.status_code in (200, 201, 204), ("medable", stored.text)


def test_make_run_scaled_serves_every_door_and_loses_nothing_when_processes_die(tmp_path):
    """GIVEN `make run-scaled` (nginx in front of two gunicorns, two workers, beat,
    PostgreSQL, Redis, SeaweedFS) WHEN a patient journey and an upload through every door
    run through nginx, a worker and a gunicorn are SIGKILLed, and every door is used again
    THEN the run names no variable to rename, every upload ends ready (none pending,
    processing or rejected), the killed processes were started again, /metrics needs its
    token, and Ctrl-C stops everything."""
    log_path = tmp_path / "run-scaled.log"
    process, base, data_dir = run_scaled_started(log_path, "portal-run-scaled-")
    url = f"http://127.0.0.1:{base}"
    try:
        wait_for(
            lambda: (
                "Ctrl-C stops everything." in log_path.read_text() or process.poll() is not None
            ),
            timeout=300,
            interval=0.5,
        )
        banner = log_path.read_text()
        assert process.poll() is None, banner[-3000:]
        key = re.search(r"API key\s+(\S+)", banner)[1]
        account_id = re.search(r"Account id\s+(\S+)", banner)[1]
        token = re.search(r"Authorization: Bearer (\S+)'", banner)[1]
        assert f"{url}/metrics" in banner
        # The run sets the portal's variables by their PORTAL_ names: the system checks its
        # migrate ran name no variable to rename.
        assert "former name" not in banner, banner[-3000:]

        health = requests.get(f"{url}/healthz", timeout=10).json()
        assert health["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 401

        clinic = Clinic(url, key)
        browser = clients.PatientBrowser(url)
        verified = browser.verify(clinic.file_request(account_id), clinic.date_of_birth)
        assert verified.status_code == 302, verified.text[:300]
        clinic.upload_everywhere(1, browser)

        # A worker and a gunicorn die outright (the supervisor starts them again).
        found = processes_of(data_dir, "-n worker1@")
        [worker] = [pid for pid in found if parent_of(pid) not in found]  # not its pool
        os.kill(worker, signal.SIGKILL)
        run_dir = data_dir / "scaled" / "portal" / "run"
        gunicorn = int((run_dir / f"gunicorn-127.0.0.1-{base + 1}.pid").read_text())
        os.kill(gunicorn, signal.SIGKILL)
        clinic.upload_everywhere(2, browser)
        clinic.upload_everywhere(3, browser)

        def settled():
            try:
                states = uploads_by_state(url, token)
            except requests.RequestException:  # a scrape during the gunicorn's restart
                return None
            waiting = sum(
                states.get(s, {}).get(d, 0) for s in ("pending", "processing") for d in DOORS
            )
            # Every door's three uploads have a final state: a Medable photo has no file at
            # all until beat's collector finds its bytes, so "nothing waiting" alone is not
            # enough (it held while those photos were still in storage, uncollected).
            finished = all(
                sum(states.get(s, {}).get(door, 0) for s in ("ready", "rejected")) >= 3
                for door in DOORS
            )
            return states if waiting == 0 and finished else None

        states = wait_for(settled, timeout=240, interval=2, message=log_path.read_text()[-3000:])
        assert states["ready"] == dict.fromkeys(DOORS, 3), states
        assert "rejected" not in states, states
        output = log_path.read_text()
        # Each killed process was said and started again, after the embedded shape's back-off.
        assert "starting worker1 again (restart 1)." in output, output[-3000:]
        assert "starting web1 again (restart 1)." in output, output[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert "Stopped." in log_path.read_text()
    assert processes_of(data_dir, "") == []
    shutil.rmtree(data_dir.parent, ignore_errors=True)
