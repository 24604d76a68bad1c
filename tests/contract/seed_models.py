"""Typed clients' models, written from the seeds' field tables alone (pydantic, strict):
what a vendor's integrator generates from the document. An answer that does not parse
is a broken contract."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SeedModel(BaseModel):
    # Strict: "123" is not an Integer, null is not a String. Extra fields are allowed, as
    # a generated client ignores what its document does not name.
    model_config = ConfigDict(strict=True, extra="ignore")


class XonFile(SeedModel):
    """Seed 001, "File"."""

    id: str
    createdAt: datetime
    description: str | None
    expiresAt: datetime | None
    fileRequestId: str | None
    imageHeight: int | None
    imageWidth: int | None
    mimeType: str
    originalName: str
    size: int


class XonFileRequestFile(SeedModel):
    """Seed 004, "files[x]"."""

    id: str
    createdAt: datetime
    description: str | None
    expiresAt: datetime | None
    mimeType: str
    originalName: str
    size: int


class XonFileRequest(SeedModel):
    """Seed 004, "FileRequest"."""

    id: str
    accountId: str
    createdAt: datetime
    files: list[XonFileRequestFile]
    patientId: str
    prompt: str
    shortLinkExpiresAt: datetime | None
    shortLinkId: str
    staffId: str
    staffName: str
    type: str


class ClarosPdf(SeedModel):
    """Seed 002's 201 answer."""

    id: str
    url: str
    filename: str
    created_at: datetime
    patient_id: int
