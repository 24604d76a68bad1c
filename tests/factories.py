"""factory_boy factories for the tenancy models, file requests, and files.

``FileFactory(ready=True)`` is a file as processing leaves it: its bytes judged, cleaned
and stored by the pipeline's own steps (``files.pipeline.processing.forms_make`` and
``ready_store``) in the test's storage, with a thumbnail for an image, but without a
worker, an upload or the ``file.ready`` event.
"""

from __future__ import annotations

import datetime
import io
import uuid

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from filerequests.shortlinks import short_link_id_new
from files.models import Facet, File, Purpose, UploadTicket, temp_prefix
from files.pipeline import processing
from files.services import request_body_site_copy
from portal.accounts.models import Account, Staff, User
from portal.audit.services import Actor
from portal.patients.models import Patient


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Clinic {n}")
    plan = Account.Plan.FULL


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@clinic.example")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(DjangoModelFactory):
    class Meta:
        model = Staff

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Dr Staff {n}")
    role = Staff.Role.CLINICIAN


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Smith"
    date_of_birth = datetime.date(1980, 6, 17)
    mobile = factory.Sequence(lambda n: f"+447911{n % 1000000:06d}")


class FileRequestFactory(DjangoModelFactory):
    """A request as the API makes it, without the text message (use the service for that)."""

    class Meta:
        model = "filerequests.FileRequest"

    account = factory.SubFactory(AccountFactory)
    patient = factory.LazyAttribute(lambda o: PatientFactory(account=o.account))
    staff = factory.LazyAttribute(lambda o: StaffFactory(account=o.account))
    staff_name = "Dr Rachel Williams"
    prompt = "Please take a close-up photo of the rash on the back of your right hand."
    type = "photo"
    short_link_id = factory.LazyFunction(short_link_id_new)
    short_link_expires_at = factory.LazyFunction(
        lambda: timezone.now() + datetime.timedelta(days=7)
    )


# The declared type of a file, from its name's extension, as a client would declare it.
DECLARED_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}


def declared_type_for(name: str) -> str:
    return DECLARED_TYPES.get(name.rpartition(".")[2].lower(), "image/jpeg")


def content_for(declared_type: str) -> bytes:
    """Small real bytes of the declared type: a 40x30 image, or a one-page PDF."""
    from tests.files import samples

    if declared_type == "application/pdf":
        return samples.pdf()
    if declared_type == "image/png":
        return samples.png((40, 30))
    if declared_type == "image/webp":
        return samples.webp((40, 30))
    return samples.jpeg((40, 30))


def processed_in_place(file: File, create: bool, content: bytes | None, **kwargs) -> None:
    """Run the pipeline's judging and storing steps on ``content`` (default: small bytes
    of the file's declared type): the same keys, facets, size and checksum as a worker's
    run. A file the pipeline would reject raises here."""
    if not create:
        return
    original = io.BytesIO(content if content is not None else content_for(file.declared_type))
    cleaned, stored, thumbnail = processing.forms_make(file, original)
    asked_processed_at = file.processed_at  # a test's own time wins over "now"
    processing.ready_store(file, cleaned, stored, thumbnail)
    if asked_processed_at is not None:
        file.processed_at = asked_processed_at
        file.save(update_fields=["processed_at"])


class FileFactory(DjangoModelFactory):
    """A file of a patient (pending unless told otherwise). Through a request when given
    ``file_request``: sent by the patient's link as a photo; else from the practice
    system (X-on) as a document. Pass ``account`` with ``patient``.

    ``ready=True``: processed (see the module's docstring); ``content=<bytes>`` gives its
    bytes (e.g. ``tests.files.samples.jpeg((800, 600))``). ``rejected=True``: refused
    with a reason, nothing stored."""

    class Meta:
        model = File
        skip_postgeneration_save = True

    class Params:
        actor = factory.LazyAttribute(
            lambda o: (
                Actor.for_patient_link(o.file_request.pk) if o.file_request else Actor.system()
            )
        )
        ready = factory.Trait(
            state=File.State.READY,
            processing_attempts=1,
            content=factory.PostGeneration(processed_in_place),
        )
        rejected = factory.Trait(
            state=File.State.REJECTED,
            processing_attempts=1,
            processed_at=factory.LazyFunction(timezone.now),
            rejection_reason="The file type could not be recognised. Send a JPEG, PNG, "
            "WebP or HEIC photo.",
        )

    file_request = None
    account = factory.LazyAttribute(
        lambda o: o.file_request.account if o.file_request else AccountFactory()
    )
    patient = factory.LazyAttribute(
        lambda o: o.file_request.patient if o.file_request else PatientFactory(account=o.account)
    )
    source = factory.LazyAttribute(
        lambda o: File.Source.REQUEST if o.file_request else File.Source.XON
    )
    purpose = factory.LazyAttribute(lambda o: Purpose.PHOTO if o.file_request else Purpose.DOCUMENT)
    original_name = factory.Sequence(lambda n: f"IMG_{n:04d}.jpg")
    declared_type = factory.LazyAttribute(lambda o: declared_type_for(o.original_name))
    max_size = factory.LazyFunction(lambda: settings.FILES_MAX_UPLOAD_BYTES)
    actor_kind = factory.LazyAttribute(lambda o: o.actor.kind)
    actor_id = factory.LazyAttribute(lambda o: o.actor.id)
    actor_label = factory.LazyAttribute(lambda o: o.actor.label)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        file = model_class(*args, **kwargs)
        request_body_site_copy(file)  # as every door does when it makes the file
        file.save()
        return file


class FacetFactory(DjangoModelFactory):
    """A rendition of a ready photo asked for with ``imageSize`` and not made yet (the
    row the API writes before queueing the worker). ``failed=True``: the worker could
    not make it. A ready file's content and thumbnail come with ``FileFactory(ready=True)``."""

    class Meta:
        model = Facet

    class Params:
        failed = factory.Trait(state=Facet.State.FAILED)

    file = factory.SubFactory(FileFactory, ready=True)
    name = factory.Sequence(lambda n: Facet.rendition_name(200 + n, 150))
    state = Facet.State.PENDING


class UploadTicketFactory(DjangoModelFactory):
    """An upload ticket as ``files.services.upload_ticket_issue`` issues it (without its
    audit row or quota check): a fresh temporary prefix of its account and patient, the
    largest upload allowed, and the usual lifetime. ``expired=True``: past its time."""

    class Meta:
        model = UploadTicket

    class Params:
        actor = factory.LazyFunction(Actor.system)
        expired = factory.Trait(
            expires_at=factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(seconds=1))
        )

    id = factory.LazyFunction(uuid.uuid4)
    account = factory.SubFactory(AccountFactory)
    patient = factory.LazyAttribute(lambda o: PatientFactory(account=o.account))
    purpose = Purpose.PHOTO
    key_prefix = factory.LazyAttribute(
        lambda o: temp_prefix(
            account_id=o.account.pk, patient_id=o.patient.pk if o.patient else None, token=o.id
        )
    )
    max_size = factory.LazyFunction(lambda: settings.FILES_MAX_UPLOAD_BYTES)
    expires_at = factory.LazyFunction(
        lambda: timezone.now() + datetime.timedelta(seconds=settings.FILES_UPLOAD_TICKET_SECONDS)
    )
    actor_kind = factory.LazyAttribute(lambda o: o.actor.kind)
    actor_id = factory.LazyAttribute(lambda o: o.actor.id)
    actor_label = factory.LazyAttribute(lambda o: o.actor.label)
