"""A file part for Django's multipart encoder (``django.test.client.encode_multipart``),
as the tests that post forms to the storage endpoint and the API build them."""

from __future__ import annotations


class NamedBytes:
    """``data`` sent as a file part named ``name``."""

    def __init__(self, name: str, data: bytes):
        self.name, self.data = name, data

    def read(self):
        return self.data
