"""DRF's JSON parser, bounded in how deep a document may nest.

``json.load`` recurses once per level, so ``[`` x 100,000 raised ``RecursionError``,
which nothing turned into an answer: a 500 on every JSON endpoint, for anyone. And a
document just under the interpreter's limit would recurse again later (serializers,
error flattening). No request to this API nests deeper than a few levels, so anything
past ``MAX_JSON_DEPTH`` is a 400 with the portal's error body.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
TOO_DEEP = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep; no request needs that."


def json_depth_exceeds(document, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects in ``document`` nest deeper than ``limit`` (no recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(document):
            raise ParseError(TOO_DEEP)
        return document
