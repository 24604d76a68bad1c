"""An upload handler that refuses a file as soon as it passes a size limit.

Django's upload handlers see the body chunk by chunk while it streams in; this
one sits first, so a file over the limit stops the read at the chunk that
crosses it (or before any read, when Content-Length already says so), instead
of being spooled whole and measured afterwards.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler

from portal.api.errors import PayloadTooLarge

# Room for the multipart boundaries, part headers and the small form fields.
MULTIPART_ALLOWANCE = 64 * 1024


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the {limit:,} bytes allowed.")


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + MULTIPART_ALLOWANCE:
            raise too_large(self.limit)
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise too_large(self.limit)
        return raw_data

    def file_complete(self, file_size):
        return None
