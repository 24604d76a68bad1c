"""Serializer building blocks shared by every dialect of the API."""

from __future__ import annotations

from rest_framework import serializers

from portal.patients.phone import MobileNumberError, parse_e164_mobile


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


class E164MobileField(serializers.CharField):
    """A mobile number in E.164 form (``+447700900123``), returned as a PhoneNumber."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return parse_e164_mobile(text)
        except MobileNumberError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value):
        return value.as_e164 if value else None
