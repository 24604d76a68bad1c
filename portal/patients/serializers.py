"""Serializer fields for a patient's details, shared by every dialect that takes them
(the patients API and the X-on file-request API)."""

from __future__ import annotations

from rest_framework import serializers

from portal.patients.phone import MobileNumberError, parse_e164_mobile


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
