"""List endpoints answer a page of 50 (`?page=2`, `?page_size=` up to 500) with `count`, `next`, `previous`."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
