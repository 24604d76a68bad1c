"""State changes for accounts, staff and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from portal.accounts import keys
from portal.accounts.models import (
    Account,
    ApiKey,
    Staff,
    StaffInvitation,
    User,
    time_zone_validate,
)
from portal.audit.services import Actor, audit_record


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key and its plaintext, which exists only in this value: show it once."""

    api_key: ApiKey
    plaintext: str


def account_create(*, name: str, plan: str = Account.Plan.FULL) -> Account:
    account = Account(name=name.strip(), plan=plan)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def account_clinic_settings_update(
    *,
    account: Account,
    staff: Staff,
    name: str,
    phone_number,
    patient_safety_line: str,
    time_zone: str | None = None,
) -> Account:
    """Change what patients see of the clinic, and its time zone (an IANA name this
    machine knows, else ``ValidationError``); audited with the fields that changed
    (their names only: the audit log is not a second copy of the settings)."""
    changes = {
        "name": name.strip(),
        "phone_number": phone_number or "",
        "patient_safety_line": (patient_safety_line or "").strip(),
    }
    if time_zone is not None:
        time_zone_validate(time_zone)
        changes["time_zone"] = time_zone
    # Compared with the stored row, not ``account``: a ModelForm has already written the
    # new values onto the instance it validated.
    stored = Account.objects.select_for_update().get(pk=account.pk)
    changed = [field for field, value in changes.items() if getattr(stored, field) != value]
    for field, value in changes.items():
        setattr(stored, field, value)
        setattr(account, field, value)
    if changed:
        stored.save(update_fields=changed)
        audit_record(
            account=account,
            actor=Actor.for_staff(staff),
            action="account.clinic_settings_update",
            target=account,
            detail={"fields": changed},
        )
    return account


@transaction.atomic
def staff_create(
    *,
    account: Account,
    email: str,
    password: str | None,
    display_name: str = "",
    role: str = Staff.Role.CLINICIAN,
) -> Staff:
    """A staff member who can sign in. Re-uses the user when the e-mail is known."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    staff = Staff(
        account=account,
        user=user,
        display_name=display_name or email.split("@")[0],
        role=role,
    )
    staff.full_clean()
    staff.save()
    return staff


@transaction.atomic
def api_key_create(
    *, account: Account, name: str = "API key", created_by: Staff | None = None
) -> IssuedApiKey:
    generated = keys.generate_key()
    api_key = ApiKey.objects.create(
        account=account,
        name=name or "API key",
        prefix=generated.prefix,
        key_digest=generated.digest,
        created_by=created_by,
    )
    audit_record(
        account=account,
        actor=Actor.for_staff(created_by) if created_by else Actor.system(),
        action="api_key.create",
        target=api_key,
    )
    return IssuedApiKey(api_key=api_key, plaintext=generated.plaintext)


@transaction.atomic
def api_key_revoke(
    *, api_key: ApiKey, revoked_by: Staff | None = None, actor: Actor | None = None
) -> ApiKey:
    """Revoke at once: the next request with this key is refused. ``actor`` names who
    did it when that is not a staff member of the account (a Django admin)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        if actor is None:
            actor = Actor.for_staff(revoked_by) if revoked_by else Actor.system()
        audit_record(
            account=api_key.account,
            actor=actor,
            action="api_key.revoke",
            target=api_key,
        )
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key for this plaintext, or None. Records when it was last used.

    ``last_used_at`` is written at most once a minute per key, so a busy
    integration does not turn every read into a write.
    """
    prefix = keys.parse_prefix(plaintext)
    if prefix is None:
        return None
    api_key = (
        ApiKey.objects.select_related("account")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not keys.digests_match(plaintext, api_key.key_digest):
        return None
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    if api_key.last_used_at is None or now - api_key.last_used_at > resolution:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --- Staff membership, as account admins manage it from the dashboard ----------


class StaffChangeError(Exception):
    """A membership change that would leave the clinic in a bad state; says why."""


INVITATION_SALT = "portal.accounts.staff-invitation"


class InvitationUnusable(Exception):
    """The link is not one we made, has expired, was used, withdrawn or replaced."""


class InvitationForAnotherUser(Exception):
    """The invitation is for an address other than the signed-in user's."""


@transaction.atomic
def staff_invite(
    *,
    account: Account,
    email: str,
    display_name: str,
    role: str,
    invited_by: Staff,
) -> StaffInvitation:
    """Invite a person to the clinic by e-mail; they join only when they accept.

    The answer is the same whether the address already signs in (to this portal, for
    any clinic) or not: nothing here looks at other clinics' users. A newer
    invitation to the same address replaces a pending one."""
    email = User.objects.normalize_email(email.strip())
    if role not in Staff.Role.values:
        raise StaffChangeError("Choose one of the roles offered.")
    if Staff.objects.filter(account=account, user__email__iexact=email).exists():
        raise StaffChangeError(f"{email} is already a member of {account.name}.")
    now = timezone.now()
    StaffInvitation.objects.filter(
        account=account, email__iexact=email, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)
    invitation = StaffInvitation.objects.create(
        account=account,
        email=email,
        display_name=display_name.strip(),
        role=role,
        invited_by=invited_by,
        expires_at=now + timedelta(seconds=settings.STAFF_INVITATION_TTL_SECONDS),
    )
    audit_record(
        account=account,
        actor=Actor.for_staff(invited_by),
        action="staff.invite",
        target=invitation,
        detail={"role": role},
    )
    return invitation


def staff_invitation_token(invitation: StaffInvitation) -> str:
    """The signed token of the invitation's link (its id and address; expiry checked
    both by the signature's age and the row)."""
    return signing.dumps(
        {"invitation": str(invitation.pk), "email": invitation.email.lower()},
        salt=INVITATION_SALT,
        compress=True,
    )


def staff_invitation_for_token(token: str) -> StaffInvitation:
    """The pending invitation a link names; InvitationUnusable when there is none."""
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.STAFF_INVITATION_TTL_SECONDS
        )
    except signing.BadSignature:
        raise InvitationUnusable() from None
    invitation = (
        StaffInvitation.objects.select_related("account")
        .filter(pk=payload.get("invitation"))
        .first()
    )
    if (
        invitation is None
        or invitation.email.lower() != payload.get("email")
        or not invitation.is_pending()
    ):
        raise InvitationUnusable()
    return invitation


def invited_user(invitation: StaffInvitation) -> User | None:
    """The user the invitation's address already belongs to, if any."""
    return User.objects.filter(email__iexact=invitation.email).first()


@transaction.atomic
def staff_invitation_accept(*, invitation: StaffInvitation, user: User) -> Staff:
    """``user`` (signed in as themselves) accepts: they become a member with the role
    the admin chose. Single use: the row is locked and marked accepted."""
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending():
        raise InvitationUnusable()
    if user.email.lower() != invitation.email.lower():
        raise InvitationForAnotherUser()
    staff = Staff.objects.filter(account_id=invitation.account_id, user=user).first()
    if staff is None:
        staff = Staff(
            account_id=invitation.account_id,
            user=user,
            display_name=invitation.display_name or user.email.split("@")[0],
            role=invitation.role,
        )
        staff.full_clean()
        staff.save()
    invitation.accepted_at = timezone.now()
    invitation.staff = staff
    invitation.save(update_fields=["accepted_at", "staff"])
    audit_record(
        account=invitation.account,
        actor=Actor.for_staff(staff),
        action="staff.invitation_accept",
        target=staff,
        detail={"role": staff.role, "invitation": str(invitation.pk)},
    )
    return staff


@transaction.atomic
def staff_invitation_accept_new_user(*, invitation: StaffInvitation, password: str) -> Staff:
    """A new address accepts by choosing its password: the user is made, then joins.
    Refused if the address has a sign-in by now (that person must sign in to accept)."""
    if invited_user(invitation) is not None:
        raise InvitationForAnotherUser()
    user = User.objects.create_user(email=invitation.email, password=password)
    return staff_invitation_accept(invitation=invitation, user=user)


def staff_invitations_pending(*, account: Account) -> list[StaffInvitation]:
    return list(
        StaffInvitation.objects.filter(
            account=account,
            accepted_at__isnull=True,
            withdrawn_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-created_at")
    )


def _other_admins(staff: Staff) -> list[Staff]:
    """The clinic's other admins, locked, so two admins cannot demote each other at once."""
    return list(
        Staff.objects.select_for_update()
        .filter(account_id=staff.account_id, role=Staff.Role.ADMIN, user__isnull=False)
        .exclude(pk=staff.pk)
    )


@transaction.atomic
def staff_role_change(*, staff: Staff, role: str, changed_by: Staff) -> Staff:
    if role not in Staff.Role.values:
        raise StaffChangeError("Choose one of the roles offered.")
    if staff.role == role:
        return staff
    if staff.is_admin and not _other_admins(staff):
        raise StaffChangeError("A clinic needs at least one account admin.")
    previous = staff.role
    staff.role = role
    staff.save(update_fields=["role"])
    audit_record(
        account=staff.account,
        actor=Actor.for_staff(changed_by),
        action="staff.role_change",
        target=staff,
        detail={"from": previous, "to": role},
    )
    return staff


@transaction.atomic
def staff_remove(*, staff: Staff, removed_by: Staff) -> None:
    """End a membership at once. Staff named on file requests stay as a name
    (the membership row loses its user), so the record keeps who asked."""
    if staff.pk == removed_by.pk:
        raise StaffChangeError("You cannot remove yourself; ask another account admin.")
    if staff.is_admin and not _other_admins(staff):
        raise StaffChangeError("A clinic needs at least one account admin.")
    audit_record(
        account=staff.account,
        actor=Actor.for_staff(removed_by),
        action="staff.remove",
        target=staff,
        detail={"role": staff.role},
    )
    try:
        with transaction.atomic():
            staff.delete()
    except ProtectedError:
        staff.user = None
        staff.role = Staff.Role.CLINICIAN
        staff.save(update_fields=["user", "role"])
