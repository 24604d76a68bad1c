from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """50 a page by default, up to 100 with ``per_page``, as Cliniko pages."""

    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 100


def paginated_schema(item_serializer_class):
    """The OpenAPI shape of a PortalPagination page of ``item_serializer_class``, for
    views that paginate by hand (``@extend_schema(responses=paginated_schema(X))``)."""

    name = item_serializer_class.__name__.removesuffix("Serializer").removesuffix("Output")
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer_class(many=True),
        },
    )
