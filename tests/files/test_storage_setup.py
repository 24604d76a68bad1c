"""``manage.py storage_setup`` and the start-up bucket check.

Run against SeaweedFS (the suite's store) for the bucket, CORS, encryption and lifecycle;
SeaweedFS answers NotImplemented to the public-access-block API, so that item is proved
on moto's server (started here on demand), the one place the suite still uses moto.
"""

from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from files.checks import bucket_check, bucket_check_forget
from portal.settings import storage_settings_for
from tests.plugins.services import start_moto

ORIGIN = "https://portal.clinic.example"


def run(*args) -> str:
    out = io.StringIO()
    call_command("storage_setup", *args, stdout=out)
    return out.getvalue()


def client_for(endpoint: str, settings):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
    )


@pytest.fixture
def new_bucket(settings):
    """S3 storage on a bucket name that does not exist yet."""
    bucket = f"setup-{uuid.uuid4().hex[:12]}"
    settings.PORTAL_PUBLIC_BASE_URL = ORIGIN + "/"
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings_for(bucket)}
    bucket_check_forget()
    yield bucket
    bucket_check_forget()


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory) -> str:
    return start_moto(Path(tmp_path_factory.mktemp("moto")))


def states(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines()[1:]:
        words = line.split()
        state = next(w for w in words if w in {"ok", "applied", "missing", "unsupported", "error"})
        found[" ".join(words[: words.index(state)])] = state
    return found


def test_check_reports_a_missing_bucket_and_changes_nothing(new_bucket, settings):
    """GIVEN a bucket that does not exist WHEN storage_setup --check runs THEN it fails naming
    the bucket and creates nothing."""
    with pytest.raises(CommandError, match=f"Bucket {new_bucket} needs: bucket"):
        run("--check")
    buckets = client_for(settings.S3_ENDPOINT_URL, settings).list_buckets()["Buckets"]
    assert new_bucket not in [b["Name"] for b in buckets]


def test_setup_creates_and_configures_the_bucket_then_changes_nothing(new_bucket, settings):
    """GIVEN a missing bucket WHEN storage_setup runs THEN it creates the bucket, lets the
    portal's origin POST, sets AES256 and the lifecycle rule (public-access block:
    unsupported by SeaweedFS); run again, every item is already ok."""
    first = states(run())
    assert first == {
        "bucket": "applied",
        "cors": "applied",
        "public access block": "unsupported",
        "encryption": "applied",
        "lifecycle": "applied",
    }
    s3 = client_for(settings.S3_ENDPOINT_URL, settings)
    (rule,) = s3.get_bucket_cors(Bucket=new_bucket)["CORSRules"]
    assert (rule["AllowedOrigins"], rule["AllowedMethods"]) == ([ORIGIN], ["POST"])
    encryption = s3.get_bucket_encryption(Bucket=new_bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=new_bucket)["Rules"]
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}

    again = states(run())
    assert set(again.values()) <= {"ok", "unsupported"}
    assert "applied" not in again.values()
    assert states(run("--check")) == again


def test_setup_keeps_the_buckets_other_rules(new_bucket, settings):
    """GIVEN a bucket with its own CORS rule for another origin WHEN storage_setup runs THEN
    that rule stays beside the portal's."""
    s3 = client_for(settings.S3_ENDPOINT_URL, settings)
    s3.create_bucket(Bucket=new_bucket)
    other = {"AllowedOrigins": ["https://other.example"], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=new_bucket, CORSConfiguration={"CORSRules": [other]})
    run()
    origins = [r["AllowedOrigins"] for r in s3.get_bucket_cors(Bucket=new_bucket)["CORSRules"]]
    assert origins == [["https://other.example"], [ORIGIN]]


def test_setup_with_encryption_off_asks_for_none(new_bucket, settings):
    """GIVEN S3_SERVER_SIDE_ENCRYPTION empty WHEN storage_setup runs THEN encryption is
    reported as not asked for, and nothing is set."""
    settings.S3_SERVER_SIDE_ENCRYPTION = ""
    assert states(run())["encryption"] == "ok"


def test_public_access_block_on_a_store_that_has_it(new_bucket, settings, moto_url):
    """GIVEN a store with the public-access-block API (moto; SeaweedFS lacks it) WHEN
    storage_setup runs THEN all four blocks are on; run again, ok."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for(new_bucket, endpoint_url=moto_url),
    }
    assert states(run())["public access block"] == "applied"
    block = client_for(moto_url, settings).get_public_access_block(Bucket=new_bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())
    assert states(run())["public access block"] == "ok"


def test_startup_check_warns_about_what_is_missing_once_per_process(new_bucket, settings):
    """GIVEN a missing bucket WHEN the system check runs THEN it warns (never an error) with
    the command to run; the answer is kept for the process (asked once); after the
    setup and a fresh process, nothing is reported."""
    warnings = bucket_check()
    assert [w.id for w in warnings] == ["files.W011"]
    assert all(w.level < 40 for w in warnings) and "storage_setup" in warnings[0].hint
    run()
    assert bucket_check() == warnings  # the same process does not ask the store again
    bucket_check_forget()
    assert bucket_check() == []


def test_embedded_storage_has_nothing_to_set_up():
    """GIVEN the embedded storage WHEN storage_setup runs THEN it says so and succeeds."""
    bucket_check_forget()
    assert "nothing to set up" in run()
    assert bucket_check() == []


def test_startup_check_warns_when_the_store_does_not_answer(settings):
    """GIVEN S3 configured on an address where nothing listens WHEN the system check runs
    THEN it warns that the bucket could not be inspected (a warning, not a crash)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for("any", endpoint_url=f"http://127.0.0.1:{dead_port}"),
    }
    bucket_check_forget()
    try:
        [warning] = bucket_check()
    finally:
        bucket_check_forget()
    assert warning.id == "files.W010" and warning.level < 40
    assert "S3_ENDPOINT_URL" in warning.hint
