"""factory_boy factories for the tenancy models and file requests."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from filerequests.shortlinks import short_link_id_new
from portal.accounts.models import Account, Staff, User
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
