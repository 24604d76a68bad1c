"""The embedded shape soaked: started exactly as ``make run`` starts it (migrate, demo
set-up, ``manage.py run_embedded``: gunicorn, a Celery worker and beat on the SQLite
broker, SQLite, private files), then driven over HTTP for a bounded time through every
door at once, with a webhook endpoint taking every ``file.ready`` and beat's periodic
tasks (Medable's collector every 2 s, the sweeps, the heartbeat) running throughout.

Printed at the end: uploads driven, ready exactly once, lost, worker restarts and
crashes, web errors (5xx or a connection refused), webhook deliveries, beat's tasks.

``make soak-embedded`` runs it for ``SOAK_SECONDS`` (default 900); ``make test`` runs a
two-minute version.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from tests.attachments import samples as attachment_samples
from tests.files import samples
from tests.support import clients
from tests.support.embedded import api_key_for, embedded_shape, file_request
from tests.support.receiver import WebhookReceiver

DOORS = ("x-on base64", "claros pdf", "cliniko presigned", "patient page ticket", "medable photo")
DRIVERS = 2
PAUSE_BETWEEN_UPLOADS_SECONDS = 1.5
UPLOADS_PER_FILE_REQUEST = 10
SHORT_SECONDS = 120


class Driver:
    """Drives the doors from several threads and keeps what it drove and what went wrong."""

    def __init__(self, shape, account_id: str, key: str):
        self.shape = shape
        self.account_id = account_id
        self.key = key
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.mobiles = itertools.count(100_000)
        self.driven: list[tuple[str, str, str]] = []  # (door, kind of id, id)
        self.web_errors: list[str] = []
        self.refusals: list[str] = []
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = clients.keyed(self.key)
        return self.local.session

    def new_patient(self) -> dict:
        with self.lock:
            number = next(self.mobiles)
        return file_request(
            self.session(),
            self.shape,
            self.account_id,
            mobile=f"+447777{number:06d}",
            date_of_birth="1980-06-17",
        )

    def patient_browser(self) -> clients.PatientBrowser:
        uses = getattr(self.local, "browser_uses", UPLOADS_PER_FILE_REQUEST)
        if uses >= UPLOADS_PER_FILE_REQUEST:
            created = self.new_patient()
            browser = clients.PatientBrowser(self.shape.url)
            verified = browser.verify(created["shortLinkId"], _date(1980, 6, 17))
            self.check("patient page verify", verified, (302,))
            self.local.browser, self.local.browser_uses = browser, 0
        self.local.browser_uses += 1
        return self.local.browser

    def patient_id(self) -> str:
        """A patient for one upload, made now and then (one file request each)."""
        if not hasattr(self.local, "patient") or next(self.counter) % 7 == 0:
            self.local.patient = self.new_patient()["patientId"]
        return self.local.patient

    def check(self, what: str, answer: requests.Response, good: tuple[int, ...]) -> bool:
        if answer.status_code in good:
            return True
        with self.lock:
            target = self.web_errors if answer.status_code >= 500 else self.refusals
            target.append(f"{what}: {answer.status_code} {answer.text[:200]}")
        return False

    def upload(self, index: int) -> None:
        door = DOORS[index % len(DOORS)]
        try:
            found = self._upload(door, index)
        except requests.RequestException as error:
            with self.lock:
                self.web_errors.append(f"{door}: {type(error).__name__}: {error}")
            return
        if found:
            with self.lock:
                self.driven.append((door, *found))

    def _upload(self, door: str, index: int):
        session = self.session()
        url = self.shape.url
        if door == "x-on base64":
            answer = clients.xon_upload(
                session, url, user_id=self.patient_id(), name=f"p{index}.jpg", data=photo(index)
            )
            return ("file", answer.json()[0]["id"]) if self.check(door, answer, (201,)) else None
        if door == "claros pdf":
            answer = clients.claros_upload(
                session, url, patient_id=self.patient_id(), filename=f"d{index}.pdf",
                data=attachment_samples.pdf(padding=index),
            )  # fmt: skip
            return ("attachment", answer.json()["id"]) if self.check(door, answer, (201,)) else None
        if door == "cliniko presigned":
            answer = clients.cliniko_upload(
                session, url, patient_id=self.patient_id(), filename=f"c{index}.pdf",
                data=attachment_samples.pdf(padding=index),
            )  # fmt: skip
            return ("attachment", answer.json()["id"]) if self.check(door, answer, (201,)) else None
        if door == "patient page ticket":
            answer = self.patient_browser().upload(filename=f"IMG_{index}.JPG", data=photo(index))
            return ("file", answer.json()["fileId"]) if self.check(door, answer, (200,)) else None
        patient_id = self.new_patient()["patientId"]  # one Medable photo per patient
        answer = session.put(
            f"{url}/api/v1/patients/{patient_id}/photo",
            json={"content": f"m{index}.jpg"},
            timeout=clients.TIMEOUT,
        )
        if not self.check(door, answer, (200,)):
            return None
        [entry] = answer.json()["uploads"]
        stored = clients.post_to_storage(
            entry["uploadUrl"],
            [(field["key"], field["value"]) for field in entry["fields"]],
            filename=f"m{index}.jpg",
            data=photo(index),
            content_type="image/jpeg",
        )
        return ("photo of patient", patient_id) if self.check(door, stored, (201, 204)) else None


def _date(year: int, month: int, day: int):
    import datetime

    return datetime.date(year, month, day)


def photo(index: int) -> bytes:
    return samples.jpeg((200 + index % 50, 150), colour=(index % 256, (index * 7) % 256, 99))


def hexid(value: str) -> str:
    """Django keeps UUIDs in SQLite as 32 hex digits."""
    return value.replace("-", "")


def file_ids(shape, driven) -> list[str | None]:
    with shape.database() as db:
        found = []
        for _door, kind, ident in driven:
            if kind == "file":
                found.append(hexid(ident))
                continue
            table, column = (
                ("attachments_patientattachment", "id")
                if kind == "attachment"
                else ("attachments_patientphoto", "patient_id")
            )
            row = db.execute(
                f"SELECT file_id FROM {table} WHERE {column} = ?", (hexid(ident),)
            ).fetchone()
            found.append(row[0] if row and row[0] else None)
        return found


def final_states(shape, ids) -> dict[str, tuple]:
    """id -> (state, temp_key, facet names, file.ready events)."""
    with shape.database() as db:
        answer = {}
        for file_id in ids:
            row = db.execute(
                "SELECT state, temp_key, width FROM files_file WHERE id = ?", (file_id,)
            ).fetchone()
            facets = sorted(
                name
                for (name,) in db.execute(
                    "SELECT name FROM files_facet WHERE file_id = ?", (file_id,)
                )
            )
            dashed = (
                f"{file_id[:8]}-{file_id[8:12]}-{file_id[12:16]}-{file_id[16:20]}-{file_id[20:]}"
            )
            events = db.execute(
                "SELECT count(*) FROM webhooks_event WHERE type = 'file.ready' "
                "AND json_extract(payload, '$.data.fileId') = ?",
                (dashed,),
            ).fetchone()[0]
            answer[file_id] = (row[0] if row else None, row[1] if row else None, facets, events,
                               bool(row and row[2]))  # fmt: skip
        return answer


def beat_heartbeats_since(shape, began: datetime) -> int:
    """How many workers ran beat's ``ops.heartbeat`` task since ``began`` (UTC, naive).

    Beat's routine "Sending due task" line is at DEBUG, so beat is seen at work by what
    its tasks leave behind: the heartbeat task writes the row of the worker's host name
    alone, the worker's own heartbeat thread that of ``name #instance``.
    """
    with shape.database() as db:
        rows = db.execute("SELECT worker, seen_at FROM ops_workerheartbeat").fetchall()
    return sum(
        1 for worker, seen_at in rows if " #" not in worker and str(seen_at) >= began.isoformat(" ")
    )


def ready_exactly_once(state) -> bool:
    status, temp_key, facets, events, is_image = state
    expected = ["content", "thumbnail"] if is_image else ["content"]
    return status == "ready" and not temp_key and facets == expected and events == 1


def run_soak(tmp_path, seconds: float) -> dict:
    receiver = WebhookReceiver().start()
    extra_env = {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    try:
        with embedded_shape(tmp_path, extra_env=extra_env) as shape:
            account_id, key = api_key_for(shape, "Soak Clinic")
            driver = Driver(shape, account_id, key)
            endpoint = driver.session().post(
                f"{shape.url}/api/v1/webhooks",
                json={"url": receiver.url(), "events": ["file.ready"]},
                timeout=30,
            )
            assert endpoint.status_code == 201, endpoint.text
            started = time.monotonic()
            soak_began = datetime.now(UTC).replace(tzinfo=None)
            deadline = started + seconds
            index = itertools.count()

            def drive() -> None:
                while time.monotonic() < deadline:
                    driver.upload(next(index))
                    time.sleep(PAUSE_BETWEEN_UPLOADS_SECONDS)

            with ThreadPoolExecutor(max_workers=DRIVERS) as pool:
                for future in [pool.submit(drive) for _ in range(DRIVERS)]:
                    future.result()

            def settled() -> bool:
                ids = file_ids(shape, driver.driven)
                states = final_states(shape, [i for i in ids if i])
                return None not in ids and all(
                    s[0] in ("ready", "rejected") for s in states.values()
                )

            drain_deadline = time.monotonic() + 300
            while not settled() and time.monotonic() < drain_deadline:
                time.sleep(2)
            ids = file_ids(shape, driver.driven)
            states = final_states(shape, [i for i in ids if i])
            ready_once = sum(1 for s in states.values() if ready_exactly_once(s))
            expected_hooks = sum(s[3] for s in states.values())
            hook_deadline = time.monotonic() + 120
            while (
                time.monotonic() < hook_deadline and len(delivered_ids(receiver)) < expected_hooks
            ):
                time.sleep(1)
            log = shape.log()
            beat_heartbeats = beat_heartbeats_since(shape, soak_began)
    finally:
        receiver.stop()
    problems = [f"{door} {ident}: {states.get(file_id)}" for (door, _, ident), file_id
                in zip(driver.driven, ids, strict=True)
                if file_id is None or not ready_exactly_once(states[file_id])]  # fmt: skip
    figures = {
        "seconds": round(seconds),
        "uploads_driven": len(driver.driven),
        "by_door": {door: sum(1 for d in driver.driven if d[0] == door) for door in DOORS},
        "ready_exactly_once": ready_once,
        "lost": len(driver.driven) - ready_once,
        "worker_restarts": len(re.findall(r"supervisor: (worker|beat) .* restarting", log)),
        "web_restarts": len(re.findall(r"supervisor: web .* restarting", log)),
        "worker_crashes": log.count("Unrecoverable error"),
        "web_errors": len(driver.web_errors) + len(re.findall(r'HTTP/1\.[01]" 5\d\d ', log)),
        "refused": len(driver.refusals),
        "webhook_file_ready_delivered": len(delivered_ids(receiver)),
        "webhook_file_ready_expected": expected_hooks,
        "beat_heartbeats_run": beat_heartbeats,
        "tasks_succeeded": log.count("] succeeded in "),
    }
    print(f"\nembedded soak: {json.dumps(figures)}")
    if problems or driver.web_errors or driver.refusals:
        print(
            "problems:", *problems[:20], *driver.web_errors[:20], *driver.refusals[:20], sep="\n  "
        )
    return figures


def delivered_ids(receiver: WebhookReceiver) -> set[str]:
    return {r.headers.get("webhook-id") for r in receiver.accepted()}


def assert_clean(figures: dict) -> None:
    assert figures["uploads_driven"] > 0
    assert figures["lost"] == 0
    assert figures["worker_restarts"] == 0 and figures["worker_crashes"] == 0
    assert figures["web_restarts"] == 0 and figures["web_errors"] == 0
    assert figures["refused"] == 0
    assert figures["webhook_file_ready_delivered"] == figures["webhook_file_ready_expected"]
    assert figures["beat_heartbeats_run"] > 0


@pytest.mark.slow
@pytest.mark.xdist_group("embedded")
def test_embedded_shape_two_minutes_through_every_door(tmp_path):
    """GIVEN the embedded shape started as make run starts it WHEN every door, webhooks and
    beat run at once for two minutes THEN every upload is ready exactly once, nothing is
    lost, no worker restarts or crashes, no web error, every file.ready is delivered."""
    assert_clean(run_soak(tmp_path, SHORT_SECONDS))


@pytest.mark.soak
def test_embedded_shape_soak(tmp_path):
    """``make soak-embedded``: the same for SOAK_SECONDS (default 15 minutes)."""
    assert_clean(run_soak(tmp_path, float(os.environ.get("SOAK_SECONDS", "900"))))
