"""Webhook signing secrets are encrypted at rest, and still sign deliveries."""

from __future__ import annotations

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal.audit.services import Actor
from portal.encryption import PREFIX, decrypt, encrypt
from portal.webhooks.models import WebhookEndpoint, WebhookSigningSecret
from portal.webhooks.services import signing_secret_for, webhook_endpoint_create

pytestmark = pytest.mark.django_db


def stored_column(model, pk) -> str:
    """The secret column as the database holds it, bypassing the model field."""
    key = model._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {model._meta.db_table} WHERE id = %s", [key])
        return cursor.fetchone()[0]


def test_endpoint_and_account_secrets_are_stored_encrypted(account):
    """GIVEN a new endpoint and the account's one-off signing secret
    WHEN their rows are read straight from the database
    THEN neither column holds the secret; the models give it back whole."""
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/a",
        events=["file.ready"],
    )
    shown = endpoint.secret
    assert shown.startswith("whsec_")
    column = stored_column(WebhookEndpoint, endpoint.pk)
    assert column.startswith(PREFIX) and shown not in column
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == shown

    account_secret = signing_secret_for(account=account)
    column = stored_column(WebhookSigningSecret, account_secret.pk)
    assert column.startswith(PREFIX) and account_secret.secret not in column
    assert WebhookSigningSecret.objects.get(pk=account_secret.pk).secret == account_secret.secret


def test_rotating_keys_keeps_old_values_readable(settings):
    """GIVEN a value encrypted under one key WHEN a new key is put first
    THEN the value still reads; with the old key gone it is a clear configuration error."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = encrypt("whsec_example")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert decrypt(stored) == "whsec_example"
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(ImproperlyConfigured, match="cannot be read with the keys in force"):
        decrypt(stored)


def test_secret_key_fallbacks_keep_derived_keys_readable(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    stored = encrypt("whsec_example")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert decrypt(stored) == "whsec_example"


def test_migration_encrypts_secrets_stored_before_it(account):
    """GIVEN a secret stored in plain text (as before encryption)
    WHEN the migration's data step runs THEN the column is encrypted, the secret unchanged."""
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/b",
        events=["file.ready"],
    )
    key = WebhookEndpoint._meta.pk.get_db_prep_value(endpoint.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {WebhookEndpoint._meta.db_table} SET secret = %s WHERE id = %s",
            ["whsec_legacy", key],
        )
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_legacy"  # still reads
    migration = importlib.import_module(
        "portal.webhooks.migrations.0003_webhook_secrets_encrypted_at_rest"
    )
    migration.encrypt_stored_secrets(apps, None)
    assert stored_column(WebhookEndpoint, endpoint.pk).startswith(PREFIX)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_legacy"
