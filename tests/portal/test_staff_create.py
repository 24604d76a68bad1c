"""``staff_create`` is one transaction: a member it refuses leaves no user, password or
row of its half-done work behind."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from portal.accounts.models import Staff
from portal.accounts.services import staff_create

pytestmark = pytest.mark.django_db


def test_refused_second_membership_keeps_the_users_password(account):
    """GIVEN a staff member of this clinic WHEN they are created again in the same clinic
    with another password THEN it is refused, and their password is the one they had."""
    staff_create(account=account, email="gp@clinic.example", password="first-secret-1")
    with pytest.raises(ValidationError):
        staff_create(account=account, email="gp@clinic.example", password="second-secret-2")
    user = get_user_model().objects.get(email="gp@clinic.example")
    assert user.check_password("first-secret-1")
    assert Staff.objects.filter(user=user).count() == 1
