"""The embedded storage: private files under the data folder.

No URL serves this folder. Bytes leave it only through the portal's own
download views, which check the caller and write an audit event, exactly as
with S3 (where nothing is public either).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files.storage import FileSystemStorage, default_storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


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
    if isinstance(storage, S3Storage):
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
