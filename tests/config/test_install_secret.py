"""The per-install secret and the storage-signing key.

With ``SECRET_KEY`` unset (what ``make run`` does) the portal signed the embedded
storage's POST policies with a constant from the repository: anyone could sign a
``starts-with $key ""`` policy and overwrite any object without an account. Now an
unset key is a random secret made on first run in the data folder, and policies are
signed with a key of their own, derived from it under a label.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test.client import encode_multipart
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.install_secret import derived_key
from files.tickets.policies import ALGORITHM, embedded_upload_url, signature_for

BASE_DIR = Path(__file__).resolve().parents[2]
# The constant the repository used to sign with when SECRET_KEY was unset.
OLD_CONSTANT = "development-only-secret-key-change-me-0123456789-abcdefghijklmnop"
# The keys as a process reads them from its settings, which is where the secret is made or
# read (loading the apps too would cost four times the CPU and decide nothing more).
SETTINGS_PRINTER = (
    "import json; from django.conf import settings; "
    "print(json.dumps([settings.SECRET_KEY, settings.STORAGE_SIGNING_KEY]))"
)


def settings_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "STORAGE_SIGNING_KEY", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PORTAL_ENVIRONMENT": "development",
            "PORTAL_DATA_DIR": str(data_dir),
            **extra,
        }
    )
    return env


def start(data_dir: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SETTINGS_PRINTER],
        cwd=BASE_DIR,
        env=settings_env(data_dir, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def keys_of(process: subprocess.Popen) -> tuple[str, str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    secret_key, storage_key = json.loads(out.strip().splitlines()[-1])
    return secret_key, storage_key


@pytest.mark.slow
def test_unset_secret_key_is_made_once_per_install_and_kept_private(tmp_path):
    """GIVEN no SECRET_KEY WHEN the portal starts twice in one data folder, and once in
    another THEN the first start writes a random secret (mode 0600) that the second reads
    again; the other install has its own; none is the old constant."""
    first = keys_of(start(tmp_path / "a"))
    again = keys_of(start(tmp_path / "a"))
    other = keys_of(start(tmp_path / "b"))

    assert first == again
    assert first[0] != other[0]
    assert OLD_CONSTANT not in (first[0], other[0])
    assert len(first[0]) >= 50
    secret_file = tmp_path / "a" / "secret_key"
    assert secret_file.read_text().strip() == first[0]
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


@pytest.mark.slow
def test_processes_starting_at_once_agree_on_one_secret(tmp_path):
    """GIVEN an empty data folder WHEN eight processes start at the same moment THEN all
    read the same secret, and no temporary file is left beside it."""
    processes = [start(tmp_path) for _ in range(8)]
    secrets = {keys_of(process)[0] for process in processes}

    assert len(secrets) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["secret_key"]


def test_a_secret_file_others_can_read_is_refused(tmp_path):
    """GIVEN a secret file readable by other users WHEN the portal starts THEN it refuses,
    saying how to fix it."""
    (tmp_path / "secret_key").write_text("x" * 80)
    (tmp_path / "secret_key").chmod(0o644)
    process = start(tmp_path)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "chmod 600" in err


def test_production_still_requires_secret_key(tmp_path):
    """GIVEN production WHEN SECRET_KEY is unset THEN the portal refuses to start (no
    per-install secret there: several machines must share one key)."""
    process = start(tmp_path, PORTAL_ENVIRONMENT="production", ALLOWED_HOSTS="portal.example")
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "SECRET_KEY must be set" in err
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.slow
def test_storage_signing_key_is_derived_apart_from_secret_key(tmp_path):
    """GIVEN SECRET_KEY set WHEN STORAGE_SIGNING_KEY is unset THEN it is derived under its
    own label (neither the secret itself nor Django's salted_hmac of it); when set, it is
    used as given."""
    derived = keys_of(start(tmp_path, SECRET_KEY="s" * 60))
    assert derived == (
        "s" * 60,
        derived_key("s" * 60, purpose="portal.files.storage-signing-key.v1"),
    )
    assert derived[1] != "s" * 60

    given = keys_of(start(tmp_path, SECRET_KEY="s" * 60, STORAGE_SIGNING_KEY="k" * 64))
    assert given == ("s" * 60, "k" * 64)


def forged_fields(key: str, sign) -> dict:
    """A policy an attacker writes: any key, signed by ``sign``."""
    now = timezone.now().astimezone(dt.UTC)
    credential = f"portal-embedded/{now:%Y%m%d}/{settings.S3_REGION}/s3/aws4_request"
    policy = {
        "expiration": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"bucket": settings.FILES_EMBEDDED_BUCKET},
            ["starts-with", "$key", ""],
            {"x-amz-algorithm": ALGORITHM},
            {"x-amz-credential": credential},
            {"x-amz-date": f"{now:%Y%m%dT%H%M%SZ}"},
        ],
    }
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    return {
        "key": key,
        "x-amz-algorithm": ALGORITHM,
        "x-amz-credential": credential,
        "x-amz-date": f"{now:%Y%m%dT%H%M%SZ}",
        "policy": encoded,
        "x-amz-signature": sign(encoded),
    }


class NamedBytes:
    name = "x.jpg"

    def read(self):
        return b"overwritten"


FORGERIES = [
    (
        "old-constant-salted-hmac",
        lambda v: salted_hmac(
            "files.embedded-post-policy", v, secret=OLD_CONSTANT, algorithm="sha256"
        ).hexdigest(),
    ),
    (
        "secret-key-salted-hmac",
        lambda v: salted_hmac("files.embedded-post-policy", v, algorithm="sha256").hexdigest(),
    ),
    (
        "secret-key-plain-hmac",
        lambda v: hmac.new(settings.SECRET_KEY.encode(), v.encode(), hashlib.sha256).hexdigest(),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("sign", [f[1] for f in FORGERIES], ids=[f[0] for f in FORGERIES])
def test_a_policy_signed_without_the_storage_key_overwrites_nothing(client, sign):
    """GIVEN a stored object WHEN someone posts a policy of their own ("starts-with $key ''")
    signed with the repository's old constant, or with SECRET_KEY itself THEN 403
    SignatureDoesNotMatch and the object keeps its bytes."""
    victim = "accounts/victim/patients/none/files/f/content.jpg"
    default_storage.save(victim, ContentFile(b"the clinic's photo"))

    body = encode_multipart("B", {**forged_fields(victim, sign), "file": NamedBytes()})
    response = client.generic(
        "POST",
        urlsplit(embedded_upload_url()).path,
        body,
        content_type="multipart/form-data; boundary=B",
    )

    assert response.status_code == 403, response.content
    assert ElementTree.fromstring(response.content).findtext("Code") == "SignatureDoesNotMatch"
    with default_storage.open(victim, "rb") as stored:
        assert stored.read() == b"the clinic's photo"


def test_the_portal_signs_with_the_storage_key():
    """GIVEN the settings WHEN a policy is signed THEN with STORAGE_SIGNING_KEY."""
    expected = hmac.new(settings.STORAGE_SIGNING_KEY.encode(), b"abc", hashlib.sha256)
    assert signature_for("abc") == expected.hexdigest()
    assert settings.STORAGE_SIGNING_KEY != settings.SECRET_KEY
