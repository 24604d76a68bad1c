"""The restore drill's two halves (tests/ops/test_backup_restore.py), run as a portal process of
its own against whatever database and storage its environment names:

    python -m tests.support.restore_drill populate   # makes a clinic; prints it as JSON
    python -m tests.support.restore_drill verify     # reads that JSON on stdin; prints
                                                     # what the restored portal answers

``populate`` goes through the portal's services (patients, uploads processed to
``ready`` with their facets, webhook endpoints with their secrets, the audit rows all of
that writes); ``verify`` asks the restored portal through its API and its models, as an
integrator and an operator would: every file downloaded and hashed, every secret read
back (decrypted with the keys in force), every audit row compared field by field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import io
import json
import os
import random
import sys

import django

# The upgrade drill runs this file in the previous release's checkout too, whose settings
# were portal.settings (config/ came later).
os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "config.settings" if importlib.util.find_spec("config") else "portal.settings",
)
django.setup()

from django.core.files.storage import default_storage  # noqa: E402
from PIL import Image  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from files.models import Facet, File  # noqa: E402
from files.services import file_create_from_stream  # noqa: E402
from portal.accounts.services import account_create, api_key_create  # noqa: E402
from portal.audit.models import AuditEvent  # noqa: E402
from portal.audit.services import Actor, audit_record  # noqa: E402
from portal.patients.services import patient_create  # noqa: E402
from portal.webhooks.events import ALL_EVENT_TYPES  # noqa: E402
from portal.webhooks.models import WebhookEndpoint, WebhookSigningSecret  # noqa: E402
from portal.webhooks.services import signing_secret_for, webhook_endpoint_create  # noqa: E402
from tests.files.samples import pdf  # noqa: E402

# Processing was files/processing.py in the previous release (files/ was grouped into
# sub-packages later), where the upgrade drill runs this file too.
file_process = importlib.import_module(
    "files.pipeline.processing"
    if importlib.util.find_spec("files.pipeline")
    else "files.processing"
).file_process

PATIENTS = 3
PHOTOS_PER_PATIENT = 3
ENDPOINTS = 3


def photo(seed: int) -> bytes:
    """A photo of noise (it does not compress away), a few hundred kilobytes."""
    generator = random.Random(seed)
    image = Image.frombytes("RGB", (480, 360), generator.randbytes(480 * 360 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def audit_rows() -> list[list[str]]:
    """Every audit row, every column."""
    return [
        [
            str(row.pk),
            row.occurred_at.isoformat(),
            str(row.account_id),
            row.actor_kind,
            row.actor_id,
            row.actor_label,
            row.action,
            row.target_type,
            row.target_id,
            str(row.ip_address),
            row.user_agent,
            json.dumps(row.detail, sort_keys=True),
        ]
        for row in AuditEvent.objects.order_by("occurred_at", "pk")
    ]


def populate() -> dict:
    actor = Actor.system()
    account = account_create(name="Drill Clinic")
    key = api_key_create(account=account, name="restore drill")
    files = []
    for number in range(PATIENTS):
        patient = patient_create(
            account=account,
            actor=actor,
            first_name=f"Drill{number}",
            last_name="Patient",
            date_of_birth=dt.date(1970 + number, 3, 14),
            mobile=f"+4479110000{number:02d}",
        )
        uploads = [
            (f"photo-{n}.jpg", "image/jpeg", "photo", photo(number * 10 + n))
            for n in range(PHOTOS_PER_PATIENT)
        ]
        uploads.append(("letter.pdf", "application/pdf", "document", pdf()))
        for name, declared, purpose, data in uploads:
            made = file_create_from_stream(
                account=account,
                patient=patient,
                purpose=purpose,
                original_name=name,
                declared_type=declared,
                stream=io.BytesIO(data),
                uploaded_by=actor,
            )
            done = file_process(file_id=made.pk)
            assert done.state == File.State.READY, (name, done.state, done.rejection_reason)
            audit_record(account=account, actor=actor, action="file.view", target=done)
            files.append(
                {
                    "id": str(done.pk),
                    "sha256": done.sha256,
                    "size": done.size,
                    "facets": sorted(
                        [facet.name, facet.storage_key, facet.sha256]
                        for facet in done.facets.filter(state=Facet.State.READY)
                    ),
                }
            )
    secrets = {}
    for number in range(ENDPOINTS):
        endpoint = webhook_endpoint_create(
            account=account,
            actor=actor,
            url=f"https://receiver{number}.clinic.example/hooks",
            events=ALL_EVENT_TYPES[: number + 1],
        )
        secrets[str(endpoint.pk)] = endpoint.secret
    signing = signing_secret_for(account=account)
    return {
        "api_key": key.plaintext,
        "files": files,
        "webhook_secrets": secrets,
        "signing_secret": [str(signing.pk), signing.secret],
        "audit": audit_rows(),
    }


def verify(expected: dict) -> dict:
    mismatches = []
    # The audit rows first: the downloads below add their own.
    found_audit = audit_rows()
    if found_audit != expected["audit"]:
        missing = [row for row in expected["audit"] if row not in found_audit]
        mismatches.append(f"audit rows differ: {len(missing)} missing, e.g. {missing[:2]}")
    decrypted = 0
    for endpoint_id, secret in expected["webhook_secrets"].items():
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None or endpoint.secret != secret:
            mismatches.append(f"webhook endpoint {endpoint_id}: secret not read back")
        else:
            decrypted += 1
    signing_id, signing_secret = expected["signing_secret"]
    if WebhookSigningSecret.objects.get(pk=signing_id).secret == signing_secret:
        decrypted += 1
    else:
        mismatches.append("the account signing secret was not read back")

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=expected["api_key"])
    downloaded = compared = facets = 0
    total_bytes = 0
    for entry in expected["files"]:
        answer = client.get(f"/api/v1/files/{entry['id']}")
        if answer.status_code != 200:
            mismatches.append(f"file {entry['id']}: {answer.status_code}")
            continue
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        downloaded += 1
        total_bytes += len(body)
        compared += 1
        if hashlib.sha256(body).hexdigest() != entry["sha256"] or len(body) != entry["size"]:
            mismatches.append(f"file {entry['id']}: the download's SHA-256 differs")
        for name, key, checksum in entry["facets"]:
            with default_storage.open(key, "rb") as stored:
                facet_sha = hashlib.sha256(stored.read()).hexdigest()
            facets += 1
            compared += 1
            if facet_sha != checksum:
                mismatches.append(f"file {entry['id']}: facet {name} differs")
    return {
        "files_downloaded": downloaded,
        "bytes_downloaded": total_bytes,
        "facets_checked": facets,
        "checksums_compared": compared,
        "secrets_decrypted": decrypted,
        "audit_rows": len(found_audit),
        "mismatches": mismatches,
    }


if __name__ == "__main__":
    if sys.argv[1] == "populate":
        print(json.dumps(populate()))
    else:
        print(json.dumps(verify(json.load(sys.stdin))))
