"""What the FHIR door reads: an account's patients, and its ready files as documents."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from files.models import Facet, File
from portal.accounts.models import Account
from portal.ids import parse_uuid
from portal.patients.models import Patient

SERVED_FACETS = (Facet.CONTENT, Facet.THUMBNAIL)


def fhir_patients(*, account: Account) -> QuerySet[Patient]:
    return Patient.objects.filter(account=account).order_by("created_at", "id")


def fhir_document_files(*, account: Account) -> QuerySet[File]:
    """The account's files a record system may pull: ready, in a patient's record, not
    expired or purged, not archived; each with its door (``source``), patient, request,
    when it last changed (``last_updated``) and its content and thumbnail facets
    (``served_facets``), oldest first so a client polling with ``_lastUpdated`` pages
    forward through what is new."""
    files = (
        File.objects.filter(
            account=account,
            state=File.State.READY,
            patient__isnull=False,
            purged_at__isnull=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .filter(
            Q(patient_attachment__isnull=True) | Q(patient_attachment__archived_at__isnull=True)
        )
    )
    return with_document_parts(files.filter(has_servable_content())).order_by("last_updated", "id")


def fhir_file_get(*, account: Account, file_id) -> File | None:
    """One of the account's files by id, whatever its state (the view says why it
    cannot be served), with the same annotations as a search."""
    parsed = parse_uuid(file_id)
    if parsed is None:
        return None
    files = File.objects.filter(account=account, pk=parsed, patient__isnull=False)
    files = files.filter(~Q(state=File.State.READY) | has_servable_content())
    return with_document_parts(files).first()


def has_servable_content() -> Exists:
    """The file's cleaned original is stored and ready: a DocumentReference names its
    bytes as its one content entry, so a file without them is no document to offer."""
    return Exists(
        Facet.objects.filter(file=OuterRef("pk"), name=Facet.CONTENT, state=Facet.State.READY)
    )


def with_document_parts(files: QuerySet[File]) -> QuerySet[File]:
    """Each file with when it last changed (``last_updated``: when it became ready),
    patient, request, attachment, and its content and thumbnail facets
    (``served_facets``): one query, plus one for facets."""
    return (
        files.annotate(last_updated=Coalesce("processed_at", "created_at"))
        .select_related("patient", "file_request", "patient_attachment")
        .prefetch_related(
            Prefetch(
                "facets",
                queryset=Facet.objects.filter(
                    name__in=SERVED_FACETS, state=Facet.State.READY
                ).order_by(),
                to_attr="served_facets",
            )
        )
    )
