"""The embedded storage: private files under the data folder.

No URL serves this folder. Bytes leave it only through the portal's own
download views, which check the caller and write an audit event, exactly as
with S3 (where nothing is public either).
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage


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
