"""Standard Webhooks v1 signatures: the specification's test vector and the official
library's verification of our signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from standardwebhooks import Webhook

from portal.webhooks import signing

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_specification_test_vector():
    """GIVEN the Standard Webhooks specification's published test vector
    WHEN we sign its message THEN we produce its published signature."""
    assert (
        signing.signature(
            secret=VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
        )
        == VECTOR_SIGNATURE
    )


def test_signature_matches_the_official_library_for_a_generated_secret():
    """GIVEN a freshly generated secret WHEN we and the official library sign the same
    message THEN the signatures are identical."""
    secret = signing.secret_generate()
    timestamp = 1_700_000_000
    ours = signing.signature(secret=secret, msg_id="evt_1", timestamp=timestamp, body=b'{"a":1}')
    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(timestamp, tz=UTC), '{"a":1}')
    assert ours == theirs


def test_generated_secrets_are_whsec_and_at_least_24_random_bytes():
    """GIVEN two generated secrets THEN both are whsec_ + base64 of ≥ 24 bytes, and differ."""
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) >= 24
