"""HTTP clients for the real stack: each door in, driven over loopback with ``requests``
as an integrator or a patient's browser would, and the checks made afterwards."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import boto3
import requests
from django.conf import settings

TIMEOUT = 60


def keyed(api_key: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-API-Key"] = api_key
    return session


def xon_upload(session, base_url: str, *, user_id, name: str, data: bytes, type="image/jpeg"):
    """X-on's Base64 JSON door; the ``requests`` answer."""
    return session.post(
        f"{base_url}/api/v1/files",
        json={
            "files": [{"name": name, "type": type, "contents": base64.b64encode(data).decode()}],
            "userId": str(user_id),
        },
        timeout=TIMEOUT,
    )


def claros_upload(session, base_url: str, *, patient_id, filename: str, data: bytes):
    return session.post(
        f"{base_url}/api/v1/patients/{patient_id}/pdf/",
        data={"filename": filename},
        files={"file": (filename, data, "application/pdf")},
        timeout=TIMEOUT,
    )


def post_to_storage(url: str, fields, *, filename: str, data: bytes, content_type: str):
    """A browser-style POST of a presigned form: fields in order, the file last."""
    return requests.post(
        url, data=list(fields), files={"file": (filename, data, content_type)}, timeout=TIMEOUT
    )


def location_of(answer: requests.Response, url: str, fields) -> str:
    """The ``Location`` of a 201 PostResponse (AWS and the embedded endpoint answer it;
    moto answers no body and SeaweedFS an empty ``<Location>``, so the client joins the
    presign ``url`` and the key, as the integrator guide tells integrators to)."""
    if answer.content and (location := ET.fromstring(answer.content).findtext("Location")):
        return location
    key = dict(fields)["key"]
    return f"{url.rstrip('/')}/{quote(key, safe='')}"


def cliniko_upload(session, base_url: str, *, patient_id, filename: str, data: bytes):
    """Presign, post to storage, create the attachment: the create call's answer."""
    presigned = session.get(
        f"{base_url}/api/v1/patients/{patient_id}/attachment_presigned_post", timeout=TIMEOUT
    )
    presigned.raise_for_status()
    post = presigned.json()
    fields = list(post["fields"].items())
    key = dict(fields)["key"].replace("${filename}", filename)
    answer = post_to_storage(
        post["url"], fields, filename=filename, data=data, content_type="application/pdf"
    )
    if answer.status_code != 201:
        return answer
    fields = [(n, key if n == "key" else v) for n, v in fields]
    return session.post(
        f"{base_url}/api/v1/patient_attachments",
        json={
            "patient_id": str(patient_id),
            "upload_url": location_of(answer, post["url"], fields),
        },
        timeout=TIMEOUT,
    )


class PatientBrowser:
    """The patient page as a phone would use it: open the link, pass the date-of-birth
    check, then ask for a ticket, post the photo to storage and confirm, per photo."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def csrf_headers(self) -> dict:
        return {"X-CSRFToken": self.session.cookies.get("csrftoken", "")}

    def verify(self, short_link_id: str, date_of_birth) -> requests.Response:
        link = f"{self.base_url}/r/{short_link_id}"
        page = self.session.get(link, timeout=TIMEOUT)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        return self.session.post(
            link,
            data={
                "csrfmiddlewaretoken": token[1] if token else "",
                "day": str(date_of_birth.day),
                "month": str(date_of_birth.month),
                "year": str(date_of_birth.year),
            },
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def ticket(self, size: int) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/r/upload/ticket",
            json={"size": size},
            headers=self.csrf_headers(),
            timeout=TIMEOUT,
        )

    def upload(self, *, filename: str, data: bytes, content_type="image/jpeg"):
        ticket = self.ticket(len(data))
        if ticket.status_code != 200:
            return ticket
        body = ticket.json()
        answer = post_to_storage(
            body["url"], body["fields"], filename=filename, data=data, content_type=content_type
        )
        if answer.status_code not in (200, 201, 204):
            return answer
        return self.confirm(body["ticketId"])

    def confirm(self, ticket_id: str, note: str = "") -> requests.Response:
        return self.session.post(
            f"{self.base_url}/r/upload/confirm",
            json={"ticketId": ticket_id, "description": note},
            headers=self.csrf_headers(),
            timeout=TIMEOUT,
        )


def s3_client():
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
    )


def bucket_keys(bucket: str, prefix: str = "") -> list[str]:
    """Every object in the bucket (the S3 server), read directly, not through the app."""
    paginator = s3_client().get_paginator("list_objects_v2")
    keys = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
