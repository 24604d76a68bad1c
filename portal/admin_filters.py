"""List filters for the Django admin that speak the portal's words."""

from __future__ import annotations

from django.contrib import admin


def set_or_not_filter(field: str, *, title: str, when_set: str, when_not: str):
    """A filter on whether a nullable timestamp is set, labelled as people say it
    ("Archived" / "Current") instead of Django's "Not empty" / "Empty"."""

    class SetOrNotFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [("no", when_not), ("yes", when_set)]

        def queryset(self, request, queryset):
            if self.value() in ("yes", "no"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "no"})
            return queryset

    SetOrNotFilter.title = title
    return SetOrNotFilter
