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

from config.settings import storage_settings_for
from files.checks import bucket_check, bucket_check_forget
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
        if not line.startswith("  "):
            continue  # a closing remark, not an item
        words = line.split()
        state = next(w for w in words if w in {"ok", "applied", "missing", "unsupported", "error"})
        found[" ".join(words[: words.index(state)])] = state
    return found


def lifecycle_summary(rules: list[dict]) -> set[tuple]:
    """(prefix, what, days) of each enabled rule, however the store writes its filter."""
    found = set()
    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        if "AbortIncompleteMultipartUpload" in rule:
            days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            found.add((prefix, "abort incomplete multipart", days))
        if "Days" in rule.get("Expiration", {}):
            found.add((prefix, "expire", rule["Expiration"]["Days"]))
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
    rules = s3.get_bucket_lifecycle_configuration(Bucket=new_bucket)["Rules"]
    assert lifecycle_summary(rules) == {
        ("", "abort incomplete multipart", 1),
        ("temp/", "expire", settings.S3_TEMP_EXPIRE_DAYS),
    }

    again = states(run())
    assert set(again.values()) <= {"ok", "unsupported"}
    assert "applied" not in again.values()
    assert states(run("--check", "--accept-unsupported", "public-access-block")) == again


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


ACCEPTED_SPELLINGS = ["public-access-block", "public_access_block", "Public Access Block"]


def test_check_fails_in_words_on_what_the_store_cannot_verify(new_bucket):
    """GIVEN a bucket set up on a store without the public-access-block API (SeaweedFS)
    WHEN storage_setup --check runs THEN it exits non-zero saying it cannot verify that
    item and how to accept it once checked by other means; the setup itself said so too."""
    applied = run()
    assert "Not verified: public access block" in applied
    with pytest.raises(CommandError) as refused:
        run("--check")
    message = str(refused.value)
    assert f"Bucket {new_bucket}: cannot verify public access block" in message
    assert "--accept-unsupported public-access-block" in message


@pytest.mark.parametrize("spelling", ACCEPTED_SPELLINGS)
def test_an_item_checked_by_other_means_is_accepted_by_name(spelling, new_bucket):
    """GIVEN that store WHEN --check is told the operator checked the public-access block
    (any spelling of its name) THEN it passes, and says nothing is unverified."""
    run()
    output = run("--check", "--accept-unsupported", spelling)
    assert states(output)["public access block"] == "unsupported"
    assert "Not verified" not in output


@pytest.mark.parametrize("other", ["cors", "encryption", "public-access", "block"])
def test_accepting_another_item_does_not_accept_this_one(other, new_bucket):
    """GIVEN that store WHEN --check accepts some other name THEN it still fails on the
    public-access block."""
    run()
    with pytest.raises(CommandError, match="cannot verify public access block"):
        run("--check", "--accept-unsupported", other)


def test_check_passes_on_a_store_that_verifies_everything(new_bucket, settings, moto_url):
    """GIVEN a store with every API (moto) set up WHEN --check runs THEN it passes as is."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for(new_bucket, endpoint_url=moto_url),
    }
    run()
    output = run("--check")
    assert "Not verified" not in output
    assert set(states(output).values()) == {"ok"}


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


# --- The lifecycle of temp/ ----------------------------------------------------------


def rule(rule_id: str, rule_filter: dict, **action) -> dict:
    """A bucket lifecycle rule of the bucket's own, enabled."""
    return {"ID": rule_id, "Filter": rule_filter, "Status": "Enabled", **action}


def expire(days: int) -> dict:
    return {"Expiration": {"Days": days}}


OWN_RULES = {
    "a whole-bucket rule of its own (another ID)": rule(
        "site-wide", {"Prefix": ""}, AbortIncompleteMultipartUpload={"DaysAfterInitiation": 3}
    ),
    "a rule for another prefix": rule("logs", {"Prefix": "logs/"}, **expire(30)),
}
PATIENTS_FILES = "may be patients' files"
DANGEROUS_RULES = {
    "expires the whole bucket": (rule("tidy", {"Prefix": ""}, **expire(90)), PATIENTS_FILES),
    "expires accounts/": (
        rule("old-files", {"Prefix": "accounts/"}, **expire(365)),
        PATIENTS_FILES,
    ),
    "expires one clinic's files": (
        rule("one-clinic", {"Prefix": "accounts/abc/"}, **expire(365)),
        PATIENTS_FILES,
    ),
    "expires by tag (any object may carry it)": (
        rule("tagged", {"Tag": {"Key": "expire", "Value": "yes"}}, **expire(30)),
        PATIENTS_FILES,
    ),
    "expires temp/ sooner than the portal allows": (
        rule("hasty", {"Prefix": "temp/"}, **expire(1)),
        "sooner than 7 days",
    ),
}


@pytest.mark.parametrize("case", OWN_RULES)
def test_setup_adds_the_temp_rule_beside_the_buckets_own_lifecycle(case, new_bucket, settings):
    """GIVEN a bucket with a lifecycle rule of its own that endangers nothing WHEN
    storage_setup runs THEN the portal's two rules are added beside it, and it stays."""
    own = OWN_RULES[case]
    s3 = client_for(settings.S3_ENDPOINT_URL, settings)
    s3.create_bucket(Bucket=new_bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=new_bucket, LifecycleConfiguration={"Rules": [own]}
    )
    assert states(run())["lifecycle"] == "applied"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=new_bucket)["Rules"]
    assert own["ID"] in [r.get("ID") for r in rules]
    assert ("temp/", "expire", 7) in lifecycle_summary(rules)
    checked = run("--check", "--accept-unsupported", "public-access-block")
    assert states(checked)["lifecycle"] == "ok"


@pytest.mark.parametrize("case", DANGEROUS_RULES)
def test_a_rule_that_could_delete_what_the_portal_keeps_is_an_error(case, new_bucket, settings):
    """GIVEN a bucket whose own lifecycle rule would delete patients' files (whole bucket,
    accounts/, a clinic's prefix, by tag) or uploads still in use (temp/ too soon) WHEN
    storage_setup runs THEN it adds its rules but leaves that rule alone (not its to change),
    fails naming the rule and the danger, and the start-up check warns of it too."""
    dangerous, danger = DANGEROUS_RULES[case]
    s3 = client_for(settings.S3_ENDPOINT_URL, settings)
    s3.create_bucket(Bucket=new_bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=new_bucket, LifecycleConfiguration={"Rules": [dangerous]}
    )
    with pytest.raises(CommandError, match=f"rule {dangerous['ID']} .*{danger}"):
        run()
    rules = s3.get_bucket_lifecycle_configuration(Bucket=new_bucket)["Rules"]
    assert dangerous["ID"] in [r.get("ID") for r in rules]
    bucket_check_forget()
    lifecycle = [w for w in bucket_check() if "lifecycle" in w.msg]
    assert lifecycle and danger in lifecycle[0].msg


def test_setup_replaces_its_own_temp_rule_when_the_days_change(new_bucket, settings):
    """GIVEN the portal's rules in place WHEN S3_TEMP_EXPIRE_DAYS changes THEN the check
    reports it, and storage_setup rewrites the portal's rule (one temp/ rule, new days)."""
    run()
    settings.S3_TEMP_EXPIRE_DAYS = 10
    with pytest.raises(CommandError, match=r"lifecycle .*not expired after 10 days"):
        run("--check")
    assert states(run())["lifecycle"] == "applied"
    rules = client_for(settings.S3_ENDPOINT_URL, settings).get_bucket_lifecycle_configuration(
        Bucket=new_bucket
    )["Rules"]
    assert [r for r in lifecycle_summary(rules) if r[0] == "temp/"] == [("temp/", "expire", 10)]


@pytest.mark.parametrize(
    ("days", "grace_hours", "ticket_minutes", "refused"),
    [
        (7, 24, 15, False),
        (3, 24, 15, False),
        (2, 24, 15, True),
        (1, 24, 15, True),
        (2, 48, 15, True),
        (3, 24, 24 * 60, False),
        (2, 24, 24 * 60, True),
    ],
)
def test_start_up_refuses_a_temp_expiry_shorter_than_an_upload_may_wait(
    days, grace_hours, ticket_minutes, refused, settings
):
    """GIVEN S3_TEMP_EXPIRE_DAYS against the longest ticket and the stale-ticket grace WHEN
    the checks run THEN an expiry that could take an upload still in use is an error that
    names the least safe number of days."""
    from files.checks import temp_expiry_check

    settings.S3_TEMP_EXPIRE_DAYS = days
    settings.FILES_STALE_TICKET_GRACE_SECONDS = grace_hours * 3600
    settings.ATTACHMENTS_PHOTO_UPLOAD_SECONDS = ticket_minutes * 60
    errors = temp_expiry_check()
    assert bool(errors) == refused
    if refused:
        assert errors[0].id == "files.E012" and errors[0].level >= 40
        needed = -(-(ticket_minutes * 60 + grace_hours * 3600 + 24 * 3600) // (24 * 3600))
        assert f"at least {needed}" in errors[0].hint
