"""Set-up and look-ups on the benchmark stack's database, run in a process of its own.

The parent process of ``make bench`` never sets Django up (the thumbnail children configure
Django their own way for the peers), so what needs the ORM runs here, on the environment the
stack gives it, and answers one JSON line.

    python -m benchmarks.seed account            -> {"api_key", "account_id", "patient_id"}
    python -m benchmarks.seed token ACCOUNT_ID   -> {"token"}  (serving settings only)
    python -m benchmarks.seed states FILE_ID...  -> {"ready": n, "rejected": n, ...}
    python -m benchmarks.seed downloads FILE_ID  -> {"audited": n}  (file.download events)
    python -m benchmarks.seed rendition FILE_ID W H -> the imageSize=WxH facet: {"storage_key",
                                                      "size", "sha256", "name"}
"""

from __future__ import annotations

import datetime
import json
import os
import sys


def account() -> dict:
    from portal.accounts.services import account_create, api_key_create
    from portal.audit.services import Actor
    from portal.patients.services import patient_create

    clinic = account_create(name="Benchmark Clinic")
    issued = api_key_create(account=clinic, name="benchmark")
    patient = patient_create(
        account=clinic,
        actor=Actor.system(),
        date_of_birth=datetime.date(1980, 6, 17),
        first_name="Bench",
        last_name="Mark",
        mobile="+447911123456",
    )
    return {
        "api_key": issued.plaintext,
        "account_id": str(clinic.pk),
        "patient_id": str(patient.pk),
    }


def token(account_id: str) -> dict:
    """A staff member of the account with a DRF token (run under benchmarks.serving_settings,
    which installs ``rest_framework.authtoken``), for the conventional peer of the serving
    benchmark."""
    from rest_framework.authtoken.models import Token

    from portal.accounts.models import Staff, User

    user = User.objects.create_user(email="peer@bench.example", password=None)
    Staff.objects.create(account_id=account_id, user=user, display_name="Peer")
    return {"token": Token.objects.create(user=user).key}


def states(*file_ids: str) -> dict:
    from django.db.models import Count, Max

    from files.models import File

    files = File.objects.filter(pk__in=file_ids)
    counts = {row["state"]: row["n"] for row in files.values("state").annotate(n=Count("pk"))}
    last = files.aggregate(last=Max("processed_at"))["last"]
    return {**counts, "last_processed_at": last.timestamp() if last else None}


def downloads(file_id: str) -> dict:
    from portal.audit.models import AuditEvent

    return {"audited": AuditEvent.objects.filter(action="file.download", target_id=file_id).count()}


def rendition(file_id: str, width: str, height: str) -> dict:
    from files.models import Facet, File
    from files.pipeline.renditions import rendition_for

    file = File.objects.get(pk=file_id)
    name = rendition_for(file=file, width=int(width), height=int(height)) or Facet.CONTENT
    found = Facet.objects.get(file=file, name=name)
    return {
        "name": name,
        "storage_key": found.storage_key,
        "size": found.size,
        "sha256": found.sha256,
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    commands = {
        "account": account,
        "token": token,
        "states": states,
        "downloads": downloads,
        "rendition": rendition,
    }
    command, *arguments = sys.argv[1:]
    print(json.dumps(commands[command](*arguments)))
