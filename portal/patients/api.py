"""``/api/v1/patients``: create, list, read and update a clinic's patients."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import Conflict
from portal.api.pagination import PortalPagination, paginated_schema
from portal.api.serializers import StrictSerializer
from portal.patients import selectors, services
from portal.patients.birth_dates import FURTHEST_AHEAD_TIME_ZONE, date_of_birth_problem
from portal.patients.nhs_number import NhsNumberError, nhs_number_parse
from portal.patients.phone import MobileNumberError, parse_e164_mobile
from portal.patients.serializers import E164MobileField


def validate_date_of_birth(value):
    """Refuse a date after today. An API call carries no clinic's time zone, and a record
    system registering a baby born today must not be told it is in the future because the
    portal's clock (UTC) is still on yesterday, so "today" is the latest today on Earth."""
    problem = date_of_birth_problem(
        value, today=timezone.localdate(timezone=FURTHEST_AHEAD_TIME_ZONE)
    )
    if problem:
        raise serializers.ValidationError(problem)
    return value


NHS_NUMBER_HELP = (
    "The patient's NHS number: 10 digits, spaces or hyphens between them accepted "
    '("943 476 5919"), checked by its check digit and answered as the 10 digits; unique '
    "within the clinic. Blank or null: not known."
)


class NhsNumberField(serializers.CharField):
    """An NHS number as people write it (``943 476 5919``), read as its ten digits; ""
    where blank or null. A JSON number is refused: leading zeros would be lost."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", NHS_NUMBER_HELP)
        super().__init__(allow_blank=True, allow_null=True, trim_whitespace=True, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(
                'An NHS number is sent as a string of 10 digits, such as "943 476 5919"; '
                "spaces or hyphens between them are fine, no letters or other characters."
            )
        text = super().to_internal_value(data)
        if not text.strip():
            return ""
        try:
            return nhs_number_parse(text)
        except NhsNumberError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_empty_values(self, data):
        if data is None:
            return (True, "")
        return super().validate_empty_values(data)

    def to_representation(self, value):
        return value or None


NHS_NUMBER_TAKEN_RESPONSE = OpenApiResponse(
    description="Another patient of the clinic already has this NHS number."
)


def nhs_number_conflict(exc: services.NhsNumberTaken, field: str) -> Conflict:
    """409 for an NHS number another patient of the clinic holds, naming ``field``."""
    return Conflict(f"{field}: {exc}")


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField(
        help_text="The patient's number within the clinic; accepted wherever an id is."
    )
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    mobile = E164MobileField(allow_null=True)
    nhs_number = NhsNumberField(help_text="The 10 digits of the NHS number; null: not known.")
    is_shell = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class PatientCreateSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    date_of_birth = serializers.DateField(validators=[validate_date_of_birth])
    mobile = E164MobileField(required=False, allow_null=True, allow_blank=True)
    nhs_number = NhsNumberField(required=False, default="")


class PatientUpdateSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    date_of_birth = serializers.DateField(required=False, validators=[validate_date_of_birth])
    mobile = E164MobileField(required=False, allow_null=True, allow_blank=True)
    nhs_number = NhsNumberField(required=False)


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
            OpenApiParameter(
                "nhs_number",
                OpenApiTypes.STR,
                description="NHS number, with or without spaces: the clinic's patient holding it.",
            ),
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
        nhs_number = ""
        if request.query_params.get("nhs_number", "").strip():
            try:
                nhs_number = nhs_number_parse(request.query_params["nhs_number"])
            except NhsNumberError as exc:
                raise ValidationError({"nhs_number": [str(exc)]}) from exc
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
            nhs_number=nhs_number,
        )
        paginator = PortalPagination()
        page = paginator.paginate_queryset(patients, request, view=self)
        return paginator.get_paginated_response(PatientOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="patients_create",
        request=PatientCreateSerializer,
        responses={201: PatientOutputSerializer, 409: NHS_NUMBER_TAKEN_RESPONSE},
    )
    def post(self, request):
        serializer = PatientCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            patient = services.patient_create(
                account=request.auth.account, actor=request.auth.actor, **serializer.validated_data
            )
        except services.NhsNumberTaken as exc:
            raise nhs_number_conflict(exc, "nhs_number") from exc
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    @extend_schema(operation_id="patients_retrieve", responses=PatientOutputSerializer)
    def get(self, request, patient_id):
        patient = get_patient_or_404(request, patient_id)
        return Response(PatientOutputSerializer(patient).data)

    @extend_schema(
        operation_id="patients_update",
        request=PatientUpdateSerializer,
        responses={200: PatientOutputSerializer, 409: NHS_NUMBER_TAKEN_RESPONSE},
    )
    def patch(self, request, patient_id):
        patient = get_patient_or_404(request, patient_id)
        serializer = PatientUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            patient = services.patient_update(
                patient=patient, actor=request.auth.actor, **serializer.validated_data
            )
        except services.NhsNumberTaken as exc:
            raise nhs_number_conflict(exc, "nhs_number") from exc
        return Response(PatientOutputSerializer(patient).data)
