"""Real files for dashboard tests: stored through the pipeline's in-app door and processed
by calling the processing function itself, so thumbnails and states are the real thing."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from attachments.models import PatientAttachment
from attachments.services import attachment_record
from files.models import File, Purpose
from files.pipeline.processing import file_process
from files.services import file_create_from_stream
from portal.audit.services import Actor


def photo_bytes(size=(1200, 900), colour=(46, 110, 140)) -> bytes:
    """A small photo-like JPEG: a gradient with a shape, so thumbnails look like photos."""
    width, height = size
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 4):
        shade = int(90 * y / height)
        draw.rectangle(
            [0, y, width, y + 4], fill=(colour[0] + shade, colour[1], colour[2] - shade // 2)
        )
    draw.ellipse([width // 3, height // 4, 2 * width // 3, 3 * height // 4], fill=(214, 120, 100))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def stored_file(
    *,
    account,
    patient,
    name="photo.jpg",
    data: bytes | None = None,
    file_request=None,
    description=None,
    process=True,
    source=File.Source.XON,
) -> File:
    file = file_create_from_stream(
        account=account,
        patient=patient,
        purpose=Purpose.PHOTO if file_request else Purpose.DOCUMENT,
        original_name=name,
        declared_type="application/pdf" if name.endswith(".pdf") else "image/jpeg",
        stream=io.BytesIO(data if data is not None else photo_bytes()),
        uploaded_by=Actor.system(),
        file_request=file_request,
        description=description,
        source=source,
    )
    if process:
        file = file_process(file_id=file.id)
    return file


def attachment_with_file(*, account, patient, name="rash.jpg", **kwargs) -> PatientAttachment:
    kwargs.setdefault("source", File.Source.DASHBOARD)
    file = stored_file(account=account, patient=patient, name=name, **kwargs)
    return attachment_record(
        account=account,
        patient=patient,
        file=file,
        description=None,
        actor=Actor.system(),
    )
