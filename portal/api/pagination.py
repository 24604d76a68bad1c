from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """50 a page by default, up to 100 with ``per_page``, as Cliniko pages."""

    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 100
