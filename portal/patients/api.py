"""``/api/v1/patients``: create, list, read and update a clinic's patients."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.pagination import PortalPagination, paginated_schema
from portal.api.serializers import E164MobileField, StrictSerializer
from portal.patients import selectors, services
from portal.patients.phone import MobileNumberError, parse_e164_mobile


def validate_date_of_birth(value):
    if value > timezone.localdate():
        raise serializers.ValidationError("Date of birth cannot be in the future.")
    if value.year < 1900:
        raise serializers.ValidationError("Date of birth must be after 1900.")
    return value


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField(
        help_text="The patient's number within the clinic; accepted wherever an id is."
    )
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    mobile = E164MobileField(allow_null=True)
    is_shell = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class PatientCreateSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    date_of_birth = serializers.DateField(validators=[validate_date_of_birth])
    mobile = E164MobileField(required=False, allow_null=True, allow_blank=True)


class PatientUpdateSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    date_of_birth = serializers.DateField(required=False, validators=[validate_date_of_birth])
    mobile = E164MobileField(required=False, allow_null=True, allow_blank=True)


def get_patient_or_404(request, patient_id):
    patient = selectors.patient_get(account=request.auth.account, patient_id=patient_id)
    if patient is None:
        raise NotFound("No patient with this id exists in your account.")
    return patient


class PatientListCreateApi(APIView):
    @extend_schema(
        operation_id="patients_list",
        parameters=[
            OpenApiParameter("mobile", OpenApiTypes.STR, description="E.164 mobile number."),
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                description="Words of the name, each in the given or family name: at most "
                f"{selectors.NAME_SEARCH_MAX_WORDS} words, "
                f"{selectors.NAME_SEARCH_MAX_LENGTH} characters.",
            ),
            OpenApiParameter("date_of_birth", OpenApiTypes.DATE),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("per_page", OpenApiTypes.INT),
        ],
        responses=paginated_schema(PatientOutputSerializer),
    )
    def get(self, request):
        mobile = None
        if request.query_params.get("mobile"):
            try:
                mobile = parse_e164_mobile(request.query_params["mobile"])
            except MobileNumberError as exc:
                raise ValidationError({"mobile": [str(exc)]}) from exc
        date_of_birth = None
        if request.query_params.get("date_of_birth"):
            field = serializers.DateField()
            try:
                date_of_birth = field.to_internal_value(request.query_params["date_of_birth"])
            except ValidationError as exc:
                raise ValidationError({"date_of_birth": exc.detail}) from exc
        name = request.query_params.get("name", "")
        try:
            selectors.name_search_check(name)
        except selectors.NameSearchRefused as exc:
            raise ValidationError({"name": [str(exc)]}) from exc
        patients = selectors.patient_list(
            account=request.auth.account,
            mobile=mobile,
            name=name,
            date_of_birth=date_of_birth,
        )
        paginator = PortalPagination()
        page = paginator.paginate_queryset(patients, request, view=self)
        return paginator.get_paginated_response(PatientOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="patients_create",
        request=PatientCreateSerializer,
        responses={201: PatientOutputSerializer},
    )
    def post(self, request):
        serializer = PatientCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_create(
            account=request.auth.account, actor=request.auth.actor, **serializer.validated_data
        )
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    @extend_schema(operation_id="patients_retrieve", responses=PatientOutputSerializer)
    def get(self, request, patient_id):
        patient = get_patient_or_404(request, patient_id)
        return Response(PatientOutputSerializer(patient).data)

    @extend_schema(
        operation_id="patients_update",
        request=PatientUpdateSerializer,
        responses=PatientOutputSerializer,
    )
    def patch(self, request, patient_id):
        patient = get_patient_or_404(request, patient_id)
        serializer = PatientUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_update(
            patient=patient, actor=request.auth.actor, **serializer.validated_data
        )
        return Response(PatientOutputSerializer(patient).data)
