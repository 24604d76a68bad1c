"""Staff invitations.

The review found that inviting an address said whether it already had a sign-in
anywhere, and added another clinic's user at once, without asking them. Now the admin
gets the same answer for every address, and nobody joins until the person at that
address accepts: an existing user by signing in as themselves, a new address by
choosing a password through the same signed, expiring, single-use link.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.utils import timezone

from portal.accounts.models import Staff, StaffInvitation, User
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import (
    PASSWORD,
    confirmed_device_for,
    current_code,
    sign_in_through_the_pages,
)
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long new passphrase 42"


def invite(admin_client, email: str, role: str = "clinician", name: str = "Dr Invited"):
    return admin_client.post(
        "/settings/staff/",
        # "how" was the old form's choice (link or temporary password); ignored now.
        {"email": email, "display_name": name, "role": role, "how": "link"},
    )


def link_in_last_mail() -> str:
    return re.search(r"http://testserver(/invitations/\S+/)", mail.outbox[-1].body).group(1)


def admin_view_of(response, email: str) -> str:
    """What the admin sees of one invitation (the card and its row in the pending list),
    with the address and the moments taken out."""
    html = response.content.decode()
    card = re.search(r'data-testid="invited">(.*?)</div>', html, re.S).group(1)
    row = re.search(rf'data-testid="invitation-{re.escape(email)}">(.*?)</tr>', html, re.S)
    text = (card + row.group(1)).replace(email, "EMAIL")
    return re.sub(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d", "WHEN", text)


ADDRESS_KINDS = [
    "a new address",
    "a user of another clinic",
    "the same user, typed in capitals",
    "a user of no clinic",
    "the operator's superuser",
]


def address_of_kind(kind: str, other_account) -> tuple[str, User | None]:
    if kind == "a new address":
        return "new.person@elsewhere.example", None
    if kind == "a user of another clinic":
        user = StaffFactory(account=other_account, user__email="shared@elsewhere.example").user
        return user.email, user
    if kind == "the same user, typed in capitals":
        user = StaffFactory(account=other_account, user__email="caps@elsewhere.example").user
        return "CAPS@elsewhere.example", user
    if kind == "a user of no clinic":
        user = UserFactory(email="lonely@elsewhere.example")
        return user.email, user
    user = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    return user.email, user


# --- The admin learns nothing, and nobody joins unasked --------------------------------------


@pytest.mark.parametrize("kind", ADDRESS_KINDS)
def test_the_admin_gets_the_same_answer_for_every_address(
    admin_client, account, other_account, kind
):
    """GIVEN an address of each kind
    WHEN an admin invites it
    THEN the answer (status, message, pending list, audit line) is the same as for a
    new address; nobody is a member of this clinic yet; an existing user's password,
    memberships and sign-in are untouched."""
    email, user = address_of_kind(kind, other_account)
    memberships_before = list(user.memberships.values_list("pk", flat=True)) if user else []
    reference = invite(admin_client, "reference@nowhere.example")

    response = invite(admin_client, email)
    assert response.status_code == reference.status_code == 201
    shown = User.objects.normalize_email(email)
    assert admin_view_of(response, shown) == admin_view_of(reference, "reference@nowhere.example")
    card = re.search(r'data-testid="invited">(.*?)</div>', response.content.decode(), re.S)
    assert "already" not in card.group(1).lower()
    assert "They join Riverside Clinic as clinician when they accept it" in card.group(1)

    assert not Staff.objects.filter(account=account, user__email__iexact=email).exists()
    assert Staff.objects.filter(account=account).count() == 1  # the admin
    if user is not None:
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
        assert list(user.memberships.values_list("pk", flat=True)) == memberships_before
    event = AuditEvent.objects.filter(action="staff.invite", account=account).first()
    assert event.detail == {"role": "clinician"}


def test_answers_for_a_known_and_an_unknown_address_are_identical(
    admin_client, account, other_account
):
    """GIVEN one address with a sign-in elsewhere and one without
    WHEN both are invited THEN the admin's two pages differ only by the address."""
    StaffFactory(account=other_account, user__email="known@elsewhere.example")
    known = invite(admin_client, "known@elsewhere.example", name="Same Name")
    StaffInvitation.objects.all().update(withdrawn_at=timezone.now())
    unknown = invite(admin_client, "unknown@elsewhere.example", name="Same Name")
    assert known.status_code == unknown.status_code
    assert admin_view_of(known, "known@elsewhere.example") == admin_view_of(
        unknown, "unknown@elsewhere.example"
    )


# --- An existing user accepts by signing in as themselves ------------------------------------


def test_an_existing_user_signs_in_and_accepts(admin_client, account, other_account):
    """GIVEN a clinician of another clinic, invited here as receptionist
    WHEN they open the link THEN they are asked to sign in; once signed in they see
    the invitation and, on Accept, are a receptionist here too, and it is audited."""
    other = StaffFactory(account=other_account, user__email="dual@elsewhere.example")
    invite(admin_client, "dual@elsewhere.example", role="receptionist")
    link = link_in_last_mail()
    assert "You already have a sign-in" in mail.outbox[-1].body

    browser = Client()
    to_sign_in = browser.get(link)
    assert to_sign_in.status_code == 302
    assert to_sign_in["Location"].startswith("/login/?next=/invitations/")
    signed_in = sign_in_through_the_pages(browser, other.user, next_url=link)
    assert signed_in["Location"] == link
    page = browser.get(link)
    assert 'data-testid="invitation-accept"' in page.content.decode()
    assert not Staff.objects.filter(account=account, user=other.user).exists()

    accepted = browser.post(link)
    assert accepted["Location"] == "/"
    member = Staff.objects.get(account=account, user=other.user)
    assert member.role == Staff.Role.RECEPTIONIST
    assert Staff.objects.filter(account=other_account, user=other.user).exists()
    assert AuditEvent.objects.filter(
        action="staff.invitation_accept", account=account, target_id=str(member.pk)
    ).exists()
    assert "Riverside Clinic" in browser.get("/patients/").content.decode()


def test_a_user_with_an_authenticator_must_finish_signing_in_with_it(
    admin_client, account, other_account
):
    """GIVEN an admin of another clinic, with an authenticator, invited here
    WHEN a session signed in with the password only opens the link
    THEN it is sent to sign in with the code; after the code, Accept works."""
    other = StaffFactory(
        account=other_account, user__email="coded@elsewhere.example", role=Staff.Role.ADMIN
    )
    device = confirmed_device_for(other.user)
    invite(admin_client, other.user.email)
    link = link_in_last_mail()
    half = Client()
    half.force_login(other.user)
    assert half.post(link).status_code == 302
    assert not Staff.objects.filter(account=account, user=other.user).exists()

    browser = Client()
    browser.post("/login/", {"username": other.user.email, "password": PASSWORD, "next": link})
    assert browser.post("/login/verify/", {"token": current_code(device)})["Location"] == link
    assert browser.post(link)["Location"] == "/"
    assert Staff.objects.filter(account=account, user=other.user).exists()


def test_someone_signed_in_as_another_user_cannot_accept(admin_client, account, other_account):
    """GIVEN an invitation for one address WHEN a different signed-in user opens it
    (they got hold of the link) THEN 403 with what to do, and nobody joins."""
    StaffFactory(account=other_account, user__email="invitee@elsewhere.example")
    invite(admin_client, "invitee@elsewhere.example")
    link = link_in_last_mail()
    intruder = StaffFactory(account=other_account, user__email="intruder@elsewhere.example")
    browser = sign_in(Client(), intruder.user)
    for method in ("get", "post"):
        response = getattr(browser, method)(link)
        assert response.status_code == 403
        assert "This invitation is for another sign-in" in response.content.decode()
    assert not Staff.objects.filter(account=account, user__email__startswith="in").exists()


# --- A new address chooses its password -------------------------------------------------------


def test_a_new_address_chooses_a_password_and_then_signs_in(admin_client, account):
    """GIVEN an invitation to a new address
    WHEN the link is opened THEN a password is chosen (mistakes shown), the person is
    a member with the role, and signs in through the usual sign-in."""
    invite(admin_client, "fresh@clinic.example", role="receptionist")
    assert "choose your password" in mail.outbox[-1].body
    link = link_in_last_mail()
    browser = Client()
    assert 'data-testid="invitation-choose-password"' in browser.get(link).content.decode()
    mismatch = browser.post(link, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert mismatch.status_code == 400
    assert "The two passwords differ" in mismatch.content.decode()
    weak = browser.post(link, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 400
    assert not User.objects.filter(email="fresh@clinic.example").exists()

    done = browser.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/login/"
    member = Staff.objects.get(account=account, user__email="fresh@clinic.example")
    assert member.role == Staff.Role.RECEPTIONIST
    assert SESSION_KEY not in browser.session
    signed_in = sign_in_through_the_pages(browser, member.user, password=NEW_PASSWORD)
    assert signed_in["Location"] == "/"


def test_a_new_address_that_got_a_sign_in_meanwhile_must_sign_in_to_accept(admin_client, account):
    """GIVEN an invitation to an address that had no sign-in
    WHEN a user with that address exists by the time the link is used
    THEN the link asks them to sign in; their password cannot be set through it."""
    invite(admin_client, "late@clinic.example")
    link = link_in_last_mail()
    user = UserFactory(email="late@clinic.example")
    response = Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not Staff.objects.filter(account=account, user=user).exists()


# --- Links that must not work -----------------------------------------------------------------


def spoil(kind: str, link: str, admin_client) -> str:
    """A link of each kind that must not work, made from a good one."""
    invitation = StaffInvitation.objects.order_by("-created_at").first()
    if kind == "tampered":
        token = link.split("/")[2]
        return f"/invitations/{token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}/"
    if kind == "made up":
        return "/invitations/eyJpbnZpdGF0aW9uIjoiMSJ9:1abc:def/"
    if kind == "expired":
        StaffInvitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        return link
    if kind == "replaced by a newer invitation":
        invite(admin_client, invitation.email)
        return link
    if kind == "already used":
        Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        return link
    if kind == "address changed in the row":
        StaffInvitation.objects.filter(pk=invitation.pk).update(email="else@clinic.example")
        return link
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "tampered",
        "made up",
        "expired",
        "replaced by a newer invitation",
        "already used",
        "address changed in the row",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_link_that_must_not_work_is_refused_with_what_to_do(admin_client, account, kind, method):
    """GIVEN an invitation link that is tampered, made up, expired, replaced, used, or
    whose row no longer names the address it was signed for
    WHEN it is opened or posted THEN 410 with what to do, and nothing changes."""
    invite(admin_client, "target@clinic.example")
    link = spoil(kind, link_in_last_mail(), admin_client)
    members_before = Staff.objects.filter(account=account).count()
    users_before = User.objects.count()
    browser = Client()
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = browser.post(link, data) if method == "POST" else browser.get(link)
    assert response.status_code == 410
    assert "Ask your clinic's account admin to invite you again" in response.content.decode()
    assert Staff.objects.filter(account=account).count() == members_before
    assert User.objects.count() == users_before


def test_an_invitation_of_one_clinic_is_never_a_membership_of_another(
    admin_client, account, other_account
):
    """GIVEN an invitation from this clinic WHEN accepted THEN the membership is in this
    clinic only, whatever clinic the session had chosen."""
    other = StaffFactory(account=other_account, user__email="picker@elsewhere.example")
    invite(admin_client, other.user.email)
    link = link_in_last_mail()
    browser = sign_in(Client(), other.user)
    session = browser.session
    session["account_id"] = str(AccountFactory().pk)
    session.save()
    browser.post(link)
    joined = set(Staff.objects.filter(user=other.user).values_list("account_id", flat=True))
    assert joined == {other_account.pk, account.pk}


def test_inviting_a_member_of_this_clinic_says_so(admin_client, admin_staff, clinician):
    """GIVEN a member of this clinic WHEN invited again THEN the form says they already
    are (the admin sees them in the list anyway), and nothing is sent."""
    sent_before = len(mail.outbox)
    response = invite(admin_client, clinician.user.email.upper())
    assert response.status_code == 400
    assert "is already a member of Riverside Clinic" in response.content.decode()
    assert len(mail.outbox) == sent_before
