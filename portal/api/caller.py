"""Who is calling the API, and for which account."""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.models import Account, ApiKey, Staff
from portal.audit.services import Actor


@dataclass
class Caller:
    """The authenticated caller: an account's API key or a signed-in staff member.

    Views read ``request.auth`` (always a Caller once authenticated) and scope
    every query to ``caller.account``.
    """

    account: Account
    api_key: ApiKey | None = None
    staff: Staff | None = None

    # DRF treats the value in request.user as a user; an API-key caller has no
    # Django user, so the Caller stands in for one.
    is_authenticated = True
    is_anonymous = False

    @property
    def actor(self) -> Actor:
        if self.staff is not None:
            return Actor.for_staff(self.staff)
        assert self.api_key is not None
        return Actor.for_api_key(self.api_key)

    @property
    def pk(self):
        return self.staff.pk if self.staff else self.api_key.pk
