"""Fixtures of the fault tests: committed data the portal's other processes can see."""

from __future__ import annotations

import pytest

from portal.accounts.services import api_key_create
from tests.factories import AccountFactory, PatientFactory
from tests.files import samples


@pytest.fixture
def clinic(transactional_db):
    """An account with a patient and an API key, committed (other processes read it)."""
    account = AccountFactory(name="Fault Clinic")
    return {
        "account": account,
        "patient": PatientFactory(account=account),
        "key": api_key_create(account=account, name="fault tests").plaintext,
    }


def photo(index: int) -> bytes:
    """A distinct small photo per index (so checksums differ)."""
    return samples.jpeg((320 + index, 240), colour=(index * 37 % 256, 90, 160))
