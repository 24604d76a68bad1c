"""Serializer building blocks shared by every dialect of the API."""

from __future__ import annotations

from rest_framework import serializers


class RejectUnknownFieldsMixin:
    """Unknown fields are an error, not silently dropped: a typo in a field name
    would otherwise look like success while the value is lost."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and hasattr(self, "fields"):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field: this API does not accept it."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass
