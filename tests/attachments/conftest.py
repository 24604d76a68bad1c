"""Helpers of the attachment tests: posting to storage as a client would, processing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

import pytest
import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from files.models import File
from files.pipeline.processing import file_process


@dataclass
class StorageAnswer:
    status: int
    body: bytes

    def xml(self, tag: str) -> str:
        return ET.fromstring(self.body).findtext(tag)


def post_to_storage(
    url: str,
    fields: list[tuple[str, str]],
    *,
    filename: str,
    content: bytes,
    file_field: str = "file",
    content_type: str = "application/octet-stream",
) -> StorageAnswer:
    """A browser-style multipart POST: ``fields`` in their order, the file last.

    The embedded storage is the app's own endpoint (reached through Django's test
    client); S3 is SeaweedFS's real server (reached with ``requests``)."""
    if url.startswith(settings.PORTAL_PUBLIC_BASE_URL):
        data = dict(fields)
        data[file_field] = SimpleUploadedFile(filename, content, content_type=content_type)
        response = Client().post(urlsplit(url).path, data)
        return StorageAnswer(response.status_code, response.content)
    response = requests.post(
        url, data=fields, files={file_field: (filename, content, content_type)}, timeout=30
    )
    body = response.content
    empty_location = b"<Location></Location>" in body
    if response.status_code == 201 and (not body or empty_location):
        # moto answers 201 with no body and SeaweedFS with an empty <Location>; AWS answers
        # the bucket URL joined with the URL-escaped key (slashes too), which is what a
        # client builds itself from the presign ``url`` and the ``Key`` (docs/operations/
        # scaled.md: stores).
        key = dict(fields)["key"].replace("${filename}", filename)
        location = f"{url.rstrip('/')}/{quote(key, safe='')}"
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><PostResponse>"
            f"<Location>{escape(location)}</Location><Key>{escape(key)}</Key></PostResponse>"
        ).encode()
    return StorageAnswer(response.status_code, body)


@pytest.fixture
def process(django_capture_on_commit_callbacks):
    """Run the pipeline's processing function directly for every pending file of an
    account (what the worker's task does), with its after-commit clean-up."""

    def run(account) -> list[File]:
        pending = File.objects.filter(
            account=account, state__in=[File.State.PENDING, File.State.PROCESSING]
        )
        done = []
        for file in pending:
            with django_capture_on_commit_callbacks(execute=True):
                file_process(file_id=file.pk)
            done.append(File.objects.get(pk=file.pk))
        return done

    return run
