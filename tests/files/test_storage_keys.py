"""Storage keys fuzzed against both storages, with other tenants' canaries that must survive.

The attack: a ticket holder (a patient with a link is one)
posts a ``key`` of ``<ticket prefix>../../<another account's key>``. It passes the
policy's ``starts-with`` check, and the embedded endpoint looked the name up and
deleted it before anything validated it. Every hostile key below is posted with a
real ticket, to the embedded endpoint and to the S3 server the suite runs (which may
or may not enforce the policy: each answer is allowed, only the outcome is judged).
Whatever the answer, the canaries (another account's stored file, another ticket's
upload of the same account, an object at the storage's root) keep their bytes, and
nothing of the attempt is left once the portal has looked at it.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test.client import encode_multipart
from django.utils import timezone

from files import services
from files.keys import StorageKeyError, path_problem, storage_key_check, ticket_key_check
from files.models import UploadTicket, permanent_prefix, temp_prefix
from files.pipeline.sweeps import stale_upload_sweep
from files.storage.objects import storage_put
from files.tickets.policies import presigned_post_for
from portal.audit.services import Actor
from tests.factories import PatientFactory
from tests.files.conftest import stored_keys
from tests.support.multipart import NamedBytes

pytestmark = pytest.mark.django_db
BOUNDARY = "StorageKeyFuzzBoundary"
ATTACK_BYTES = b"attacker's bytes"


def up_to_root(prefix: str) -> str:
    """``../`` as many times as ``prefix`` is deep: from the prefix back to the root."""
    return "../" * prefix.rstrip("/").count("/") + "../"


# Each entry: (id, builder of the key from the ticket's prefix P and the canary's key C).
HOSTILE_KEYS = [
    ("traversal-to-canary", lambda p, c: p + up_to_root(p) + c),
    ("traversal-deep", lambda p, c: p + "../" * 12 + c),
    ("traversal-one-up", lambda p, c: p + "../x.jpg"),
    ("traversal-in-the-middle", lambda p, c: p + "a/../../" + c.split("/", 1)[1]),
    ("dot-segment", lambda p, c: p + "./x.jpg"),
    ("dot-only", lambda p, c: p + "."),
    ("dot-dot-only", lambda p, c: p + ".."),
    ("empty-segment", lambda p, c: p + "/x.jpg"),
    ("double-slash-inside", lambda p, c: p + "a//x.jpg"),
    ("trailing-slash-folder", lambda p, c: p + "x.jpg/"),
    ("the-prefix-itself", lambda p, c: p),
    ("sub-path", lambda p, c: p + "sub/x.jpg"),
    ("deep-sub-path", lambda p, c: p + "a/b/c/d/x.jpg"),
    ("backslash-traversal", lambda p, c: p + "..\\..\\..\\" + c.replace("/", "\\")),
    ("backslash-in-name", lambda p, c: p + "x\\y.jpg"),
    ("nul-byte", lambda p, c: p + "x.jpg\x00.png"),
    ("nul-then-traversal", lambda p, c: p + "\x00/" + up_to_root(p) + c),
    ("newline", lambda p, c: p + "x\n.jpg"),
    ("carriage-return", lambda p, c: p + "x\r.jpg"),
    ("escape-char", lambda p, c: p + "x\x1b[2J.jpg"),
    ("delete-char", lambda p, c: p + "x\x7f.jpg"),
    ("percent-dot-dot", lambda p, c: p + "%2e%2e/%2e%2e/" + c),
    ("percent-slash", lambda p, c: p + "..%2f..%2f" + c.replace("/", "%2f")),
    ("percent-upper", lambda p, c: p + "%2E%2E%2F" + c),
    ("percent-backslash", lambda p, c: p + "..%5c..%5cx.jpg"),
    ("double-encoded", lambda p, c: p + "%252e%252e%252f" + c),
    ("percent-nul", lambda p, c: p + "x.jpg%00.png"),
    ("too-long-ascii", lambda p, c: p + "a" * (1025 - len(p)) + ".jpg"),
    ("too-long-multibyte", lambda p, c: p + "\u00e9" * 600 + ".jpg"),
    ("exactly-1025-bytes", lambda p, c: p + "b" * (1025 - len(p))),
    ("fullwidth-dots", lambda p, c: p + "\uff0e\uff0e/\uff0e\uff0e/" + c),
    ("fullwidth-slash", lambda p, c: p + "..\uff0f..\uff0f" + c),
    ("fullwidth-backslash", lambda p, c: p + "..\uff3c..\uff3cx.jpg"),
    ("one-dot-leader", lambda p, c: p + "\u2024\u2024/" + c),
    ("two-dot-leader", lambda p, c: p + "\u2025/" + c),
    ("small-full-stop", lambda p, c: p + "\ufe52\ufe52/x.jpg"),
    ("rtl-override", lambda p, c: p + "evil\u202egpj.exe"),
    ("zero-width-space", lambda p, c: p + "\u200b../" + c),
    ("line-separator", lambda p, c: p + "x\u2028.jpg"),
    ("not-nfc", lambda p, c: p + "cafe\u0301.jpg"),
    ("trailing-dot", lambda p, c: p + "x."),
    ("leading-space", lambda p, c: p + " x.jpg"),
    ("private-use", lambda p, c: p + "x\ue000.jpg"),
]


@pytest.fixture
def canaries(account, other_account):
    """Bytes of others the attacker's ticket must never reach: another account's stored
    file, another upload of the same account and an object at the storage's root."""
    other_patient = PatientFactory(account=other_account)
    keys = {
        permanent_prefix(
            account_id=other_account.pk, patient_id=other_patient.pk, file_id=uuid.uuid4()
        )
        + "content.jpg": b"another clinic's photo",
        temp_prefix(account_id=account.pk, patient_id=None, token=uuid.uuid4())
        + "x.jpg": b"another upload",
        "canary.jpg": b"the root's canary",
    }
    for key, data in keys.items():
        assert default_storage.save(key, ContentFile(data)) == key
    return keys


def assert_canaries_survive(canaries: dict[str, bytes]) -> None:
    for key, data in canaries.items():
        assert default_storage.exists(key), f"{key} was deleted"
        with default_storage.open(key, "rb") as stored:
            assert stored.read() == data, f"{key} was overwritten"


@pytest.fixture
def ticket(account, patient):
    return services.upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )


def post_embedded(client, post: dict, key: str, *, name: str = "x.jpg"):
    fields = {**post["fields"], "key": key}
    body = encode_multipart(BOUNDARY, {**fields, "file": NamedBytes(name, ATTACK_BYTES)})
    return client.generic(
        "POST",
        urlsplit(post["url"]).path,
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def canary_key(canaries) -> str:
    return next(iter(canaries))  # the other account's file


@pytest.mark.parametrize(
    "build", [build for _, build in HOSTILE_KEYS], ids=[i for i, _ in HOSTILE_KEYS]
)
def test_embedded_endpoint_refuses_hostile_keys_before_touching_storage(
    build, ticket, canaries, client
):
    """GIVEN a patient's upload ticket and other tenants' stored objects
    WHEN the ticket's policy is posted with a hostile key
    THEN an S3-style XML refusal (400 when the key passed the policy's starts-with, else
    403), the canaries unchanged, nothing stored, and the ticket still unused."""
    key = build(ticket.key_prefix, canary_key(canaries))
    before = sorted(stored_keys(""))

    response = post_embedded(client, presigned_post_for(ticket), key)

    assert_canaries_survive(canaries)
    expected = 400 if key.startswith(ticket.key_prefix) else 403
    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/xml"
    error = ElementTree.fromstring(response.content)
    assert error.findtext("Code") in {"InvalidArgument", "KeyTooLongError", "AccessDenied"}
    assert error.findtext("Message")
    assert_canaries_survive(canaries)
    assert sorted(stored_keys("")) == before
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.ISSUED


HOSTILE_FILENAMES = [
    ("traversal", lambda c: "../" * 9 + c),
    ("backslash-traversal", lambda c: "..\\" * 9 + c.replace("/", "\\")),
    ("nul", lambda c: "x.jpg\x00../../" + c),
    ("fullwidth", lambda c: "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0f" + c),
    ("percent", lambda c: "%2e%2e%2f%2e%2e%2f" + c),
    ("dots-only", lambda c: ".."),
    ("empty", lambda c: ""),
    ("very-long", lambda c: "\u00e9" * 300 + ".jpg"),
    ("rtl", lambda c: "evil\u202egpj.exe"),
    ("control", lambda c: "a\r\nb\x1b.jpg"),
]


@pytest.mark.parametrize(
    "build", [build for _, build in HOSTILE_FILENAMES], ids=[i for i, _ in HOSTILE_FILENAMES]
)
def test_embedded_endpoint_stores_a_hostile_file_name_as_one_clean_name(
    build, ticket, canaries, client
):
    """GIVEN a ticket whose key ends in ${filename}
    WHEN the browser's file name is hostile
    THEN the object is stored as the ticket's prefix and one clean name, and the canaries
    survive."""
    post = presigned_post_for(ticket)
    response = post_embedded(client, post, post["fields"]["key"], name=build(canary_key(canaries)))

    assert response.status_code == 201, response.content
    key = ElementTree.fromstring(response.content).findtext("Key")
    assert ticket_key_check(key, prefix=ticket.key_prefix) == key
    with default_storage.open(key, "rb") as stored:
        assert stored.read() == ATTACK_BYTES
    assert_canaries_survive(canaries)


def test_s3_hostile_keys_reach_no_other_object_and_are_swept(
    s3_bucket, account, patient, canaries, settings
):
    """GIVEN S3 and tickets whose policy allows keys starting with their prefix
    WHEN each hostile key is posted straight to the S3 server (which may store it, refuse
    it or normalise it), then confirmed with that key, then left to the stale sweep
    THEN every confirm is refused, the canaries keep their bytes, and after the sweep
    nothing is left under any ticket's prefix.

    One bucket for every key (the S3 server's buckets are not free), each key its own
    ticket; every failure is reported by the key's name."""
    failures = []
    tickets = {}
    for key_id, build in HOSTILE_KEYS:
        ticket = services.upload_ticket_issue(
            account=account,
            patient=patient,
            purpose="photo",
            issued_by=Actor.system(),
            max_size=1024,
        )
        tickets[key_id] = ticket
        key = build(ticket.key_prefix, canary_key(canaries))
        post = presigned_post_for(ticket)
        try:
            requests.post(
                post["url"],
                data={**post["fields"], "key": key},
                files={"file": ("x.jpg", ATTACK_BYTES)},
                timeout=30,
            )
        except (requests.RequestException, ValueError):
            pass  # a key that cannot even be sent is refused as well as any
        try:
            services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system(), key=key)
            failures.append(f"{key_id}: confirmed")
        except services.UploadMissing:
            pass
        try:
            assert_canaries_survive(canaries)
        except AssertionError as damage:
            failures.append(f"{key_id}: {damage}")

    UploadTicket.objects.filter(pk__in=[t.pk for t in tickets.values()]).update(
        expires_at=timezone.now()
        - dt.timedelta(seconds=settings.FILES_STALE_TICKET_GRACE_SECONDS + 60)
    )
    stale_upload_sweep()
    assert_canaries_survive(canaries)
    client = default_storage.connection.meta.client
    for key_id, ticket in tickets.items():
        listing = client.list_objects_v2(Bucket=s3_bucket, Prefix=ticket.key_prefix)
        if left := [entry["Key"] for entry in listing.get("Contents", [])]:
            failures.append(f"{key_id}: left after the sweep: {left}")
    assert failures == []


@pytest.mark.parametrize(
    "name",
    [
        "accounts/a/../../canary.jpg",
        "accounts/./x.jpg",
        "accounts//x.jpg",
        "/etc/passwd",
        "..",
        "x\x00.jpg",
        "x\\..\\y.jpg",
        "accounts/%2e%2e/canary.jpg",
        "\uff0e\uff0e/canary.jpg",
        "a" * 1025,
    ],
)
def test_embedded_storage_refuses_unclean_names_for_every_operation(name, canaries):
    """GIVEN the embedded storage WHEN any operation names an unclean path (one Django's
    own check lets through when it normalises inside the root, too)
    THEN it is refused, and no canary is touched."""
    for operation in (
        default_storage.exists,
        default_storage.delete,
        default_storage.size,
        lambda n: default_storage.save(n, ContentFile(b"x")),
        lambda n: default_storage.open(n, "rb"),
    ):
        with pytest.raises(SuspiciousFileOperation):
            operation(name)
    assert_canaries_survive(canaries)


def test_embedded_storage_path_never_follows_a_link_out_of_its_root(
    private_storage, tmp_path, canaries
):
    """GIVEN a link inside the storage's root that points outside it
    WHEN a name through that link is used THEN it is refused (resolved, then contained)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside the root")
    (private_storage / "accounts").mkdir(exist_ok=True)
    os.symlink(outside, private_storage / "accounts" / "link")

    with pytest.raises(SuspiciousFileOperation):
        default_storage.open("accounts/link/secret.txt", "rb")
    with pytest.raises(SuspiciousFileOperation):
        default_storage.delete("accounts/link/secret.txt")
    assert (outside / "secret.txt").read_bytes() == b"outside the root"


# A sub-path is a clean key (permanent keys have folders); only a ticket refuses one.
UNCLEAN_KEYS = [(i, build) for i, build in HOSTILE_KEYS if "sub-path" not in i]


@pytest.mark.parametrize(
    "build", [build for _, build in UNCLEAN_KEYS], ids=[i for i, _ in UNCLEAN_KEYS]
)
def test_storage_put_refuses_hostile_keys_before_deleting_anything(build, ticket, canaries):
    """GIVEN the embedded storage WHEN the portal's own write (exists, delete, save) is
    handed a hostile key THEN StorageKeyError before anything is looked up or deleted."""
    key = build(ticket.key_prefix, canary_key(canaries))
    with pytest.raises(StorageKeyError):
        storage_put(key, io.BytesIO(ATTACK_BYTES))
    assert_canaries_survive(canaries)


def test_s3_storage_put_refuses_hostile_keys_before_deleting_anything(s3_bucket, ticket, canaries):
    """GIVEN S3 (where django-storages normalises ``..`` away before it acts) WHEN the
    portal's own write is handed each hostile key THEN StorageKeyError every time, and
    the canaries keep their bytes."""
    accepted = []
    for key_id, build in UNCLEAN_KEYS:
        try:
            storage_put(build(ticket.key_prefix, canary_key(canaries)), io.BytesIO(b"x"))
            accepted.append(key_id)
        except StorageKeyError:
            pass
    assert accepted == []
    assert_canaries_survive(canaries)


def test_cliniko_upload_url_with_a_hostile_key_is_a_422_on_both_storages(
    storage_mode, api, account, patient, canaries
):
    """GIVEN a Cliniko presigned post WHEN the attachment is created with an ``upload_url``
    (the S3 ``Location``, key URL-encoded) naming each hostile key under its prefix
    THEN Cliniko's 422 on ``upload_url`` every time (never a 400 page or a 500), no
    attachment, and the canaries keep their bytes."""
    from urllib.parse import quote

    from attachments.models import PatientAttachment

    answers = {}
    for key_id, build in HOSTILE_KEYS:
        ticket = services.upload_ticket_issue(
            account=account,
            patient=patient,
            purpose="document",
            issued_by=Actor.system(),
            max_size=1024,
        )
        key = build(ticket.key_prefix, canary_key(canaries))
        upload_url = presigned_post_for(ticket)["url"].rstrip("/") + "/" + quote(key, safe="")
        response = api.post(
            "/api/v1/patient_attachments",
            {"patient_id": str(patient.id), "upload_url": upload_url},
            format="json",
        )
        if response.status_code != 422 or "upload_url" not in response.json().get("errors", {}):
            answers[key_id] = (response.status_code, response.content[:200])
    assert answers == {}
    assert PatientAttachment.objects.count() == 0
    assert_canaries_survive(canaries)


# --- The key rules at their boundaries: each limit alone, each refusal with its reason ----


def key_of(total: int, *, unit: str = "a") -> str:
    """A key of exactly ``total`` UTF-8 bytes whose segments are 200 bytes at most, so only
    the total limit can apply (``unit`` is one character of any width; the last segment
    is padded with ASCII to the exact length)."""
    width = len(unit.encode())
    key = ""
    while True:
        separator = "/" if key else ""
        remaining = total - len(key.encode()) - len(separator)
        if remaining <= 200:
            key += separator + unit * (remaining // width) + "b" * (remaining % width)
            break
        key += separator + unit * (200 // width)
    assert len(key.encode()) == total
    return key


@pytest.mark.parametrize("unit", ["a", "\u00e9", "\u20ac", "\U0001f600"])
def test_a_key_of_exactly_1024_bytes_is_clean_and_one_more_byte_is_refused(unit):
    """GIVEN keys whose every segment is well under 255 bytes, in characters of 1 to 4
    UTF-8 bytes WHEN the whole key is exactly 1,024 bytes THEN it is clean; at 1,025
    bytes it is refused for its length, and for nothing else."""
    clean = key_of(1024, unit=unit)
    too_long = key_of(1025, unit=unit)

    assert path_problem(clean) is None
    assert storage_key_check(clean) == clean
    assert path_problem(too_long) == "is longer than 1024 bytes"
    with pytest.raises(StorageKeyError) as refused:
        storage_key_check(too_long)
    assert refused.value.message == "The storage key is longer than 1024 bytes."


@pytest.mark.parametrize(
    ("clean", "too_long"),
    [
        ("a" * 255, "a" * 256),
        ("\u00e9" * 127 + "a", "\u00e9" * 128),  # 255 and 256 bytes in two-byte letters
        ("\u20ac" * 85, "\u20ac" * 85 + "a"),  # three-byte: 255 and 256
        ("\U0001f600" * 63 + "abc", "\U0001f600" * 64),  # four-byte: 255 and 256
    ],
    ids=["ascii", "two-byte", "three-byte", "four-byte"],
)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_segment_of_exactly_255_bytes_is_clean_and_256_is_refused(clean, too_long, where):
    """GIVEN keys far under 1,024 bytes WHEN one segment (first, middle or last) is exactly
    255 bytes THEN the key is clean; at 256 bytes it is refused for that segment."""

    def key(segment: str) -> str:
        return {
            "first": f"{segment}/x.jpg",
            "middle": f"accounts/{segment}/x.jpg",
            "last": f"accounts/{segment}",
        }[where]

    assert len(key(too_long).encode()) < 1024
    assert path_problem(key(clean)) is None
    assert path_problem(key(too_long)) == "has a path segment longer than 255 bytes"
    assert path_problem(key(too_long) + "/", directory_allowed=True) == (
        "has a path segment longer than 255 bytes"
    )


@pytest.mark.parametrize(
    ("char", "category"),
    [
        ("\x01", "Cc"),
        ("\x9f", "Cc"),
        ("\u200b", "Cf"),
        ("\u202e", "Cf"),
        ("\ufeff", "Cf"),
        ("\ue000", "Co"),
        ("\U000f0000", "Co"),
        ("\ud800", "Cs"),
        ("\udfff", "Cs"),
        ("\u0378", "Cn"),
        ("\U000e0080", "Cn"),
        ("\u2028", "Zl"),
        ("\u2029", "Zp"),
    ],
)
@pytest.mark.parametrize("where", ["alone", "inside", "before-traversal"])
def test_invisible_and_control_characters_are_refused_by_name(char, category, where):
    """GIVEN one character of each forbidden Unicode category (control, format, private
    use, a lone surrogate, unassigned, line and paragraph separators) WHEN it is in a key
    THEN the key is refused, naming the character's code point."""
    import unicodedata

    assert unicodedata.category(char) == category
    key = {
        "alone": f"accounts/{char}",
        "inside": f"accounts/x{char}y.jpg",
        "before-traversal": f"accounts/{char}../canary.jpg",
    }[where]
    reason = f"contains an invisible or control character (U+{ord(char):04X})"

    assert path_problem(key) == reason
    assert path_problem(key, directory_allowed=True) == reason
    with pytest.raises(StorageKeyError) as refused:
        storage_key_check(key)
    assert refused.value.message == f"The storage key {reason}."


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "is not text"),
        (b"accounts/x.jpg", "is not text"),
        ("", "is empty"),
        ("accounts/x\x00.jpg", "contains a NUL character"),
        ("accounts\\x.jpg", "contains a backslash"),
        ("accounts/x\\", "contains a backslash"),
        ("accounts/\uff0e\uff0e/x.jpg", "contains a look-alike of a path character (U+FF0E)"),
        ("accounts/a\uff0fb.jpg", "contains a look-alike of a path character (U+FF0F)"),
        ("accounts/\u2024x", "contains a look-alike of a path character (U+2024)"),
        ("accounts/\ufe6a2e", "contains a look-alike of a path character (U+FE6A)"),
        ("accounts/cafe\u0301.jpg", "is not in Unicode normal form C"),
        ("/accounts/x.jpg", "is absolute (starts with /)"),
        ("accounts/x.jpg/", "ends with / (a folder, not a file)"),
        ("accounts//x.jpg", "has an empty path segment (//)"),
        ("accounts/./x.jpg", "has a '.' path segment"),
        ("accounts/../x.jpg", "has a '..' path segment"),
        ("..", "has a '..' path segment"),
        (
            "accounts/ x.jpg",
            "has a path segment that starts or ends with a space, or ends with a dot",
        ),
        (
            "accounts/x.jpg ",
            "has a path segment that starts or ends with a space, or ends with a dot",
        ),
        (
            "accounts/x./y",
            "has a path segment that starts or ends with a space, or ends with a dot",
        ),
        ("accounts/x\t.jpg", "contains an invisible or control character (U+0009)"),
        ("accounts/%2e%2e/x.jpg", "contains a percent-encoded path character"),
        ("accounts/%2F", "contains a percent-encoded path character"),
        ("accounts/%5cx", "contains a percent-encoded path character"),
        ("accounts/%00x", "contains a percent-encoded path character"),
        ("accounts/%1Fx", "contains a percent-encoded path character"),
        ("accounts/%7fx", "contains a percent-encoded path character"),
        ("accounts/%25", "contains a percent-encoded path character"),
        ("accounts/%2541.jpg", "contains a percent-encoded path character"),
    ],
)
def test_each_unclean_key_is_refused_with_its_own_reason(key, reason):
    """GIVEN one way for a key to be unclean WHEN it is checked THEN the reason names that
    way (a person reading a refusal learns what to fix), and the storage check refuses it."""
    assert path_problem(key) == reason
    with pytest.raises(StorageKeyError) as refused:
        storage_key_check(key)
    assert refused.value.message == f"The storage key {reason}."


@pytest.mark.parametrize(
    "key",
    [
        "x",
        "accounts/1/patients/2/files/3/content.jpg",
        "accounts/caf\u00e9.jpg",
        "accounts/\u00e9t\u00e9/r\u00e9sum\u00e9.pdf",
        "accounts/\u5199\u771f.jpg",
        "accounts/photo (1).jpg",
        "accounts/a.b.c",
        "accounts/.hidden",
        "accounts/100%.jpg",
        "accounts/a%41.jpg",
        "accounts/%2",
        "accounts/%e9.jpg",
        "accounts/x~y_z-1+2=3,4;5@6.jpg",
    ],
)
def test_clean_keys_pass_unchanged(key):
    """GIVEN keys in their one clean form (accented and CJK names, a dot-file, a lone %
    and percent-encodings of characters that do not change a path's shape) WHEN checked
    THEN nothing is found and the key comes back as it was."""
    assert path_problem(key) is None
    assert storage_key_check(key) == key


PARAGRAPH_SEPARATOR = "contains an invisible or control character (U+2029)"


@pytest.mark.parametrize(
    ("name", "as_file", "as_folder"),
    [
        ("", "is empty", None),
        ("accounts/", "ends with / (a folder, not a file)", None),
        ("accounts/1/tmp/", "ends with / (a folder, not a file)", None),
        ("accounts/x.jpg", None, None),
        ("/", "is absolute (starts with /)", "is absolute (starts with /)"),
        ("accounts//", "ends with / (a folder, not a file)", "has an empty path segment (//)"),
        ("accounts/../", "ends with / (a folder, not a file)", "has a '..' path segment"),
        ("accounts/./", "ends with / (a folder, not a file)", "has a '.' path segment"),
        (
            "accounts/x./",
            "ends with / (a folder, not a file)",
            "has a path segment that starts or ends with a space, or ends with a dot",
        ),
        ("accounts/\u2029/", PARAGRAPH_SEPARATOR, PARAGRAPH_SEPARATOR),
        (
            "accounts/%2e%2e/",
            "ends with / (a folder, not a file)",
            "contains a percent-encoded path character",
        ),
    ],
)
def test_the_folder_form_accepts_the_root_and_a_trailing_slash_and_nothing_more(
    name, as_file, as_folder
):
    """GIVEN the folder form a listing uses (directory_allowed) WHEN a name is the root
    ("") or ends with one / THEN it is clean as a folder and refused as a file; every
    other rule applies to folders as well."""
    assert path_problem(name) == as_file
    assert path_problem(name, directory_allowed=True) == as_folder


def test_the_embedded_storage_lists_folders_and_refuses_unclean_ones(canaries):
    """GIVEN the embedded storage with stored objects WHEN the root and a folder are listed
    THEN both answer; a folder named with // or .. is refused before anything is read."""
    folders, files = default_storage.listdir("")
    assert "accounts" in folders
    assert "canary.jpg" in files
    assert default_storage.listdir("accounts/")[0]
    for unclean in ("accounts//", "accounts/../", "/accounts/", "accounts/\u2029/"):
        with pytest.raises(SuspiciousFileOperation):
            default_storage.listdir(unclean)


PREFIX = "accounts/1/tmp/7c2f/"


@pytest.mark.parametrize(
    ("key", "prefix", "message"),
    [
        (
            "accounts/2/tmp/7c2f/x.jpg",
            PREFIX,
            "The storage key is not under its upload ticket's prefix.",
        ),
        (
            "accounts/1/tmp/7c2e/x.jpg",
            PREFIX,
            "The storage key is not under its upload ticket's prefix.",
        ),
        ("x.jpg", PREFIX, "The storage key is not under its upload ticket's prefix."),
        ("accounts/1/tmp/7c2f", PREFIX, "The storage key is not under its upload ticket's prefix."),
        # A prefix without its / would let a sibling folder's names through.
        (
            "accounts/1/tmp/7c2fx.jpg",
            PREFIX[:-1],
            "The storage key is not under its upload ticket's prefix.",
        ),
        (
            "accounts/1/tmp/7c2f/x.jpg",
            PREFIX[:-1],
            "The storage key is not under its upload ticket's prefix.",
        ),
        (
            PREFIX + "a/x.jpg",
            PREFIX,
            "The storage key must be the upload ticket's prefix and "
            "one file name, with no further / (one ticket stores one file).",
        ),
        (
            PREFIX + "a/b/c/x.jpg",
            PREFIX,
            "The storage key must be the upload ticket's prefix "
            "and one file name, with no further / (one ticket stores one file).",
        ),
        (PREFIX + "../x.jpg", PREFIX, "The storage key has a '..' path segment."),
        (PREFIX, PREFIX, "The storage key ends with / (a folder, not a file)."),
        (
            PREFIX + "x\u2029.jpg",
            PREFIX,
            "The storage key contains an invisible or control character (U+2029).",
        ),
    ],
)
def test_ticket_key_check_refuses_anything_but_its_prefix_and_one_name(key, prefix, message):
    """GIVEN a ticket's prefix WHEN a key is checked against it directly (as the confirm
    call with a client's key does) THEN only the prefix and one clean name pass; a key
    elsewhere, in a sibling folder or deeper is refused, saying why."""
    with pytest.raises(StorageKeyError) as refused:
        ticket_key_check(key, prefix=prefix)
    assert refused.value.message == message


@pytest.mark.parametrize("name", ["x.jpg", "photo (2).heic", "caf\u00e9.png", "a" * 235])
def test_ticket_key_check_returns_a_clean_key_under_its_prefix(name):
    assert ticket_key_check(PREFIX + name, prefix=PREFIX) == PREFIX + name
