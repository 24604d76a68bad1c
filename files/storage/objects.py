"""The embedded storage: private files under the data folder.

No URL serves this folder. Bytes leave it only through the portal's own
download views, which check the caller and write an audit event, exactly as
with S3 (where nothing is public either).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File as DjangoFile
from django.core.files.storage import FileSystemStorage, default_storage
from storages.utils import clean_name

from files.keys import path_problem, storage_key_check

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage


class PrivateFileSystemStorage(FileSystemStorage):
    def __init__(self, location=None, **kwargs):
        kwargs["base_url"] = None
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(location=location, **kwargs)

    def url(self, name):
        raise NotImplementedError(
            "Private storage has no public URLs; serve the file through the download view."
        )

    def path(self, name):
        """The file system path of ``name``, which never leaves the storage's root.

        Every operation (exists, delete, open, save, size, listdir) comes through
        here. Django's own check only keeps the *normalised* path inside the root,
        so ``<prefix>../../<another account's key>`` passed it; here a name that is
        not already clean is refused (``files.keys``), and the resolved path, links
        followed, must still be under the resolved root.
        """
        problem = path_problem(name, directory_allowed=True)
        if problem:
            raise SuspiciousFileOperation(f"Refused storage name: it {problem}.")
        full_path = super().path(name)
        root = Path(self.location).resolve()
        resolved = Path(full_path).resolve()
        if resolved != root and root not in resolved.parents:
            raise SuspiciousFileOperation("Refused storage name: it leaves the storage's root.")
        return full_path


def storage_is_s3(storage=None) -> bool:
    """Whether ``storage`` (the default storage unless given) is S3. Asked on every page's
    headers and every ticket: a class check, never the storage's ``connection`` (for S3
    that builds a boto3 session and its client the first time).

    django-storages' S3 module is not imported for the question: it brings boto3, a tenth
    of the CPU every process spends starting (0.08 of 0.9 s: each manage.py command, web
    worker and Celery worker) where the files are on disk. The storage's class is read
    first: the default storage is made on first use, and making an S3 one imports that
    module. After that, no storage can be S3 while the module was never imported."""
    kind = (storage if storage is not None else default_storage).__class__
    s3 = sys.modules.get("storages.backends.s3")
    return s3 is not None and issubclass(kind, s3.S3Storage)


def stored_bytes(key: str, start: int, length: int, *, chunk_size: int) -> Iterator[bytes]:
    """``length`` bytes of the stored object ``key`` from ``start``, in chunks.

    On S3 this is one ranged GET streamed as it arrives: django-storages' ``S3File``
    downloads the whole object into a temporary file on the first read, so a Range
    request for 1 KB of a 50 MB scan, or the first byte of any download, would wait
    for all of it.
    """
    if length <= 0:
        return
    storage = default_storage
    if storage_is_s3(storage):
        # The object's name as S3Storage itself would send it (its location prefix).
        name = storage._normalize_name(clean_name(key))
        answer = storage.connection.meta.client.get_object(
            Bucket=storage.bucket_name, Key=name, Range=f"bytes={start}-{start + length - 1}"
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as stored:
        stored.seek(start)
        remaining = length
        while remaining > 0:
            chunk = stored.read(min(chunk_size, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class StoredObject:
    """An object found under a prefix. ``key`` is as stored: a client posting straight to
    S3 may have chosen one the portal would refuse, so it is only ever deleted exactly
    (``objects_remove``), never passed through a storage's name normalisation."""

    key: str
    size: int


def _prefix_checked(prefix: str) -> str:
    problem = path_problem(prefix, directory_allowed=True)
    if problem or not prefix.endswith("/"):
        raise SuspiciousFileOperation(f"Refused storage prefix {prefix!r}: {problem or 'no /'}")
    return prefix


def _s3_location(storage: S3Storage) -> str:
    location = (storage.location or "").strip("/")
    return f"{location}/" if location else ""


def objects_under(prefix: str) -> list[StoredObject]:
    """Every object whose key starts with ``prefix``, at any depth (``listdir`` only sees
    one level, so an object posted under ``<prefix>a/b`` was never found)."""
    _prefix_checked(prefix)
    storage = default_storage
    if storage_is_s3(storage):
        location = _s3_location(storage)
        paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=location + prefix):
            for entry in page.get("Contents", []):
                found.append(StoredObject(entry["Key"][len(location) :], entry["Size"]))
        return found
    root = Path(storage.path(prefix))
    found = []
    for directory, _dirs, names in os.walk(root, followlinks=False):
        for name in names:
            full_path = Path(directory) / name
            relative = full_path.relative_to(root).as_posix()
            try:
                size = full_path.lstat().st_size
            except FileNotFoundError:
                continue
            found.append(StoredObject(prefix + relative, size))
    return found


def objects_remove(objects: list[StoredObject], *, prefix: str) -> int:
    """Delete exactly these listed objects under ``prefix``; the number deleted."""
    _prefix_checked(prefix)
    storage = default_storage
    removed = 0
    if storage_is_s3(storage):
        client = storage.connection.meta.client
        location = _s3_location(storage)
        for stored in objects:
            if stored.key.startswith(prefix):
                client.delete_object(Bucket=storage.bucket_name, Key=location + stored.key)
                removed += 1
        return removed
    root = Path(storage.path(prefix))
    resolved_root = root.resolve()
    for stored in objects:
        relative = stored.key[len(prefix) :]
        if not stored.key.startswith(prefix) or ".." in relative.split("/"):
            continue
        full_path = root / relative
        parent = full_path.parent.resolve()
        if parent != resolved_root and resolved_root not in parent.parents:
            continue
        with contextlib.suppress(FileNotFoundError):
            full_path.unlink()  # a link is removed, never what it points at
            removed += 1
    # Folders left empty go too, deepest first; the prefix's own folder with them.
    for directory, _dirs, _names in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            Path(directory).rmdir()
    return removed


# --- Writing and reading whole objects -------------------------------------------------

# The size every copy, digest and stream of stored bytes reads at a time.
CHUNK = 256 * 1024


def storage_put(key: str, content: IO[bytes]) -> str:
    """Write ``content`` at exactly ``key``, replacing what was there (as S3 does).

    The key is checked first (``StorageKeyError``): nothing is looked up, deleted or
    written under a name that is not already clean."""
    storage_key_check(key)
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, DjangoFile(content, name=key))
    if saved != key:  # another writer got there first between exists() and save()
        default_storage.delete(saved)
        raise OSError(f"storage key taken while writing: {key}")
    return saved


def digests_of(fp) -> tuple[str, str]:
    """SHA-256 (the pipeline's checksum) and SHA-1 (FHIR's ``Attachment.hash``), hex, in
    one read of the bytes."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    fp.seek(0)
    while chunk := fp.read(CHUNK):
        sha256.update(chunk)
        sha1.update(chunk)
    fp.seek(0)
    return sha256.hexdigest(), sha1.hexdigest()


class KeepOpen:
    """A file proxy that ignores ``close()``: Pillow closes what it opened from."""

    def __init__(self, fp):
        self._fp = fp

    def __getattr__(self, name):
        return getattr(self._fp, name)

    def close(self) -> None:
        pass
