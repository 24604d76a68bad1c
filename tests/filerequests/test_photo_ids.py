"""The patient's photos are kept once: each carries an id the phone made, sent with its
ticket request and its confirmation, and a photo sent again (a retry after a lost
answer, a double tap, two copies at once, a page reopened after the tab closed) is
recognised and counted once, in the database and in storage. Ids are per request: the
same id under another request or another clinic is another photo."""

from __future__ import annotations

import datetime
import io
import threading
import uuid

import boto3
import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from files.models import File, UploadTicket
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.patient_phone import jpeg_bytes

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}
PHOTO = jpeg_bytes(640, 480, (40, 60, 90))
PHOTO_ID_MESSAGE = "This photo's id is not valid. Remove the photo and add it again."


@pytest.fixture
def file_request(account):
    return FileRequestFactory(
        account=account, patient=PatientFactory(account=account, date_of_birth=DOB)
    )


def verified_client(file_request) -> Client:
    client = Client()
    assert client.post(f"/r/{file_request.short_link_id}", RIGHT).status_code == 302
    return client


def post_json(client: Client, url: str, body: dict):
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )


def ticket(client: Client, photo_id, data: bytes = PHOTO):
    return post_json(
        client,
        "/r/upload/ticket",
        {"size": len(data), "name": "IMG_0001.JPG", "type": "image/jpeg", "photoId": photo_id},
    )


def store(client: Client, answer: dict, data: bytes = PHOTO) -> None:
    fields = dict(answer["fields"])
    fields["file"] = io.BytesIO(data)
    fields["file"].name = "IMG_0001.JPG"
    assert client.post(answer["url"], fields).status_code in (200, 201, 204)


def confirm(client: Client, ticket_id: str, photo_id, **extra):
    return post_json(
        client,
        "/r/upload/confirm",
        {"ticketId": ticket_id, "photoId": photo_id, "description": "left hand", **extra},
    )


def send(client: Client, photo_id, data: bytes = PHOTO) -> dict:
    """Ticket, storage post and confirmation, as the page does; the confirmation."""
    answer = ticket(client, photo_id, data)
    assert answer.status_code == 200, answer.content
    store(client, answer.json(), data)
    confirmed = confirm(client, answer.json()["ticketId"], photo_id, sizeOnPhone=3_000_000)
    assert confirmed.status_code == 200, confirmed.content
    return confirmed.json()


def stored_objects(private_storage) -> list[str]:
    return sorted(str(path) for path in private_storage.rglob("*") if path.is_file())


@pytest.mark.django_db(transaction=True)
def test_the_same_photo_uploaded_twice_is_kept_once(file_request, private_storage):
    """GIVEN a photo uploaded, whose answer the phone never saw, so it sent it again with
    a second ticket (both uploads arrived)
    WHEN both confirmations arrive with the photo's id
    THEN the second answers the first's file, marked already received; the request holds
    one file with the note, the sizes sent and on the phone, and storage one object (the
    second upload removed, its ticket abandoned)."""
    client = verified_client(file_request)
    photo_id = str(uuid.uuid4())
    first_ticket, second_ticket = ticket(client, photo_id).json(), ticket(client, photo_id).json()
    store(client, first_ticket)
    store(client, second_ticket)
    assert len(stored_objects(private_storage)) == 2

    first = confirm(client, first_ticket["ticketId"], photo_id, sizeOnPhone=3_000_000).json()
    again = confirm(client, second_ticket["ticketId"], photo_id, sizeOnPhone=3_000_000).json()

    assert again == {"fileId": first["fileId"], "state": "pending", "alreadyReceived": True}
    (file,) = File.objects.filter(file_request=file_request)
    assert str(file.id) == first["fileId"]
    assert str(file.client_photo_id) == photo_id
    assert file.description == "left hand"
    assert file.size_sent == len(PHOTO)
    assert file.size_on_phone == 3_000_000
    (kept,) = stored_objects(private_storage)
    assert kept.endswith(file.temp_key)
    states = sorted(UploadTicket.objects.filter(file_request=file_request).values_list("state"))
    assert states == [("abandoned",), ("confirmed",)]


@pytest.mark.django_db
def test_a_photo_held_already_gets_no_ticket(file_request):
    """GIVEN a photo the clinic holds
    WHEN a reopened page asks for a ticket for it again
    THEN the answer names the file held, already received, and no ticket is issued."""
    client = verified_client(file_request)
    photo_id = str(uuid.uuid4())
    first = send(client, photo_id)

    answer = ticket(client, photo_id)

    assert answer.status_code == 200
    assert answer.json() == {"fileId": first["fileId"], "state": "pending", "alreadyReceived": True}
    assert UploadTicket.objects.filter(file_request=file_request).count() == 1


@pytest.mark.django_db
def test_a_double_tap_confirms_once(file_request):
    """GIVEN one upload
    WHEN its confirmation is sent twice (a double tap, or a retry of one that arrived)
    THEN both answer the same file, and the request holds one."""
    client = verified_client(file_request)
    photo_id = str(uuid.uuid4())
    answer = ticket(client, photo_id).json()
    store(client, answer)

    first = confirm(client, answer["ticketId"], photo_id)
    second = confirm(client, answer["ticketId"], photo_id)

    assert first.status_code == second.status_code == 200
    assert first.json()["fileId"] == second.json()["fileId"]
    assert File.objects.filter(file_request=file_request).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("copies", [2, 4])
def test_copies_of_a_photo_confirmed_at_once_are_kept_once(file_request, private_storage, copies):
    """GIVEN copies of one photo uploaded with their own tickets (retries in flight)
    WHEN their confirmations arrive at the same moment, from separate connections
    THEN every answer names one and the same file; the request holds one file and
    storage one object."""
    client = verified_client(file_request)
    photo_id = str(uuid.uuid4())
    tickets = []
    for _ in range(copies):
        answer = ticket(client, photo_id).json()
        store(client, answer)
        tickets.append(answer["ticketId"])
    barrier = threading.Barrier(copies)
    answers: list[dict] = []

    def confirm_copy(ticket_id: str) -> None:
        barrier.wait()
        try:
            response = confirm(client, ticket_id, photo_id)
            answers.append({"status": response.status_code, **response.json()})
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm_copy, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (file,) = File.objects.filter(file_request=file_request)
    assert [a["status"] for a in answers] == [200] * copies
    assert {a["fileId"] for a in answers} == {str(file.id)}
    assert sum(1 for a in answers if a.get("alreadyReceived")) == copies - 1
    assert len(stored_objects(private_storage)) == 1


@pytest.mark.django_db
def test_the_same_id_under_another_request_is_another_photo(file_request, account):
    """GIVEN a photo id the clinic holds under one request of the patient
    WHEN a photo with that id is sent for their other request
    THEN it is a new file of the other request, and the first request's file is neither
    named in the answer nor changed."""
    photo_id = str(uuid.uuid4())
    first = send(verified_client(file_request), photo_id)
    other = FileRequestFactory(account=account, patient=file_request.patient)

    client = verified_client(other)
    assert ticket(client, photo_id).json().get("alreadyReceived") is None
    second = send(client, photo_id)

    assert second["fileId"] != first["fileId"]
    assert "alreadyReceived" not in second
    assert File.objects.get(pk=second["fileId"]).file_request_id == other.id
    assert File.objects.get(pk=first["fileId"]).file_request_id == file_request.id


@pytest.mark.django_db
def test_the_same_id_in_another_clinic_is_another_photo(file_request, other_account):
    """GIVEN a photo id one clinic holds
    WHEN another clinic's patient sends a photo with that id
    THEN it is that clinic's own new file; the first clinic's file is never answered."""
    photo_id = str(uuid.uuid4())
    first = send(verified_client(file_request), photo_id)
    elsewhere = FileRequestFactory(
        account=other_account, patient=PatientFactory(account=other_account, date_of_birth=DOB)
    )

    second = send(verified_client(elsewhere), photo_id)

    assert second["fileId"] != first["fileId"]
    assert File.objects.get(pk=second["fileId"]).account_id == other_account.id
    assert File.objects.filter(client_photo_id=photo_id).count() == 2


MALFORMED = [
    "not-a-uuid",
    "",
    "12345678123456781234567812345678",  # no hyphens
    "{12345678-1234-5678-1234-567812345678}",
    "urn:uuid:12345678-1234-5678-1234-567812345678",
    "12345678-1234-5678-1234-56781234567\x00",
    "12345678-1234-5678-1234-5678123456789" * 100,
    123,
    True,
    ["12345678-1234-5678-1234-567812345678"],
    {"id": "12345678-1234-5678-1234-567812345678"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("photo_id", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_photo_id_is_refused_with_a_message(file_request, photo_id):
    """GIVEN a patient past the check
    WHEN the ticket request, the confirmation or the question of which photos the
    clinic holds carries an id that is no UUID (text, numbers, lists, padding, braces)
    THEN each is answered 400 with a message the page can show, and nothing is issued
    or stored."""
    client = verified_client(file_request)
    good = ticket(client, str(uuid.uuid4())).json()
    store(client, good)

    asked = ticket(client, photo_id)
    confirmed = confirm(client, good["ticketId"], photo_id)
    known = post_json(client, "/r/upload/known", {"photoIds": [photo_id]})

    for response in (asked, confirmed, known):
        assert response.status_code == 400
        assert response.json() == {"error": PHOTO_ID_MESSAGE}
    assert UploadTicket.objects.filter(file_request=file_request).count() == 1
    assert File.objects.filter(file_request=file_request).count() == 0


@pytest.mark.django_db
def test_a_reopened_page_learns_which_of_its_photos_the_clinic_holds(file_request, account):
    """GIVEN a phone that sent one of its three photos, then closed the tab
    WHEN the link is opened again (a new session) and the page asks about its photo ids,
    with another request's photo id among them
    THEN only its own received photo is answered (with its photo id); the new session
    may follow it and see it on the confirmation, which counts it."""
    photo_ids = [str(uuid.uuid4()) for _ in range(3)]
    sent = send(verified_client(file_request), photo_ids[0])
    other_request = FileRequestFactory(account=account, patient=file_request.patient)
    send(verified_client(other_request), photo_ids[1])

    client = verified_client(file_request)
    known = post_json(client, "/r/upload/known", {"photoIds": photo_ids})

    assert known.status_code == 200
    (only,) = known.json()["files"]
    assert only["id"] == sent["fileId"]
    assert only["photoId"] == photo_ids[0]
    assert only["state"] == "processing"
    status = client.get("/r/upload/status").json()["files"]
    assert [photo["id"] for photo in status] == [sent["fileId"]]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"photoIds": "x"}, {"photoIds": [None] * 101}])
def test_the_question_of_known_photos_needs_a_list(file_request, body):
    client = verified_client(file_request)
    assert post_json(client, "/r/upload/known", body).status_code == 400


def test_the_question_of_known_photos_needs_a_verified_session(db, file_request):
    client = Client()
    client.get(f"/r/{file_request.short_link_id}")
    response = post_json(client, "/r/upload/known", {"photoIds": []})
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_confirmation_counts_every_photo_the_phone_names(file_request):
    """GIVEN a phone that sent one photo, lost its session (the tab closed), opened the
    link again and sent the second
    WHEN it finishes, naming both photos by their ids
    THEN the confirmation counts the 2 photos the clinic holds from it, not only the one
    this session sent; another request's photo named among them is not counted."""
    first_id, second_id, stranger_id = (str(uuid.uuid4()) for _ in range(3))
    send(verified_client(file_request), first_id)
    other_request = FileRequestFactory(account=file_request.account, patient=file_request.patient)
    send(verified_client(other_request), stranger_id)
    client = verified_client(file_request)
    send(client, second_id)

    finished = post_json(
        client, "/r/upload/finish", {"photoIds": [first_id, second_id, stranger_id]}
    )

    assert finished.status_code == 200
    page = client.get("/r/done").content.decode()
    assert "2 photos" in page
    assert len(client.get("/r/upload/status").json()["files"]) == 2


def bucket_objects(s3_bucket) -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
    )
    listed = s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    return sorted(entry["Key"] for entry in listed)


def s3_store(answer: dict, data: bytes = PHOTO) -> None:
    """The browser's POST straight to the bucket, with the ticket's signed policy."""
    posted = requests.post(
        answer["url"],
        data=answer["fields"],
        files={"file": ("IMG_0001.JPG", data, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text


@pytest.mark.django_db(transaction=True)
def test_the_same_photo_uploaded_twice_to_s3_is_kept_once(file_request, s3_bucket):
    """GIVEN S3 storage (SeaweedFS enforcing the ticket's policy) and a photo whose first
    answer the phone never saw, so both its uploads reached the bucket
    WHEN both confirmations arrive with the photo's id
    THEN the clinic holds one file, and the bucket one object: the second copy removed."""
    client = verified_client(file_request)
    photo_id = str(uuid.uuid4())
    first_ticket, second_ticket = ticket(client, photo_id).json(), ticket(client, photo_id).json()
    assert first_ticket["url"].startswith(settings.S3_ENDPOINT_URL)
    s3_store(first_ticket)
    s3_store(second_ticket)
    assert len(bucket_objects(s3_bucket)) == 2

    first = confirm(client, first_ticket["ticketId"], photo_id).json()
    again = confirm(client, second_ticket["ticketId"], photo_id).json()

    assert again["alreadyReceived"] is True and again["fileId"] == first["fileId"]
    (file,) = File.objects.filter(file_request=file_request)
    assert file.size_sent == len(PHOTO)
    assert bucket_objects(s3_bucket) == [file.temp_key]
