"""Cliniko's paging: 50 a page by default, up to 100 with ``per_page``; the body carries
the list under the resource's name, ``total_entries`` and ``links`` (``self``, and
``next``/``previous`` where there is such a page)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.utils.urls import replace_query_param

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100

PAGING_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
    OpenApiParameter("per_page", OpenApiTypes.INT, description="Entries a page, 1 to 100."),
]


def positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["must be a whole number"]}) from None
    if value < 1 or (maximum is not None and value > maximum):
        limit = f"between 1 and {maximum}" if maximum else "1 or more"
        raise ValidationError({name: [f"must be {limit}"]})
    return value


def cliniko_page(request, queryset, *, resource: str, serialize) -> dict:
    """One page of ``queryset`` as Cliniko lists it."""
    per_page = positive_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    page = positive_int(request, "page", 1)
    total = queryset.count()
    start = (page - 1) * per_page
    items = list(queryset[start : start + per_page]) if start < total else []
    url = request.build_absolute_uri()
    links = {"self": url}
    if start + per_page < total:
        links["next"] = replace_query_param(url, "page", page + 1)
    if page > 1:
        last_page = max(1, -(-total // per_page))
        links["previous"] = replace_query_param(url, "page", min(page - 1, last_page))
    return {resource: [serialize(item) for item in items], "total_entries": total, "links": links}


def cliniko_page_schema(name: str, item_serializer) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            "patient_attachments": item_serializer(many=True),
            "total_entries": serializers.IntegerField(),
            "links": inline_serializer(
                name=f"{name}Links",
                fields={
                    "self": serializers.URLField(),
                    "next": serializers.URLField(required=False),
                    "previous": serializers.URLField(required=False),
                },
            ),
        },
    )
