"""Webhook signing secrets encrypted at rest (portal.encryption): the columns become text
holding ``fernet:<token>``, and the secrets already stored are encrypted in place."""

from django.db import migrations

import portal.encryption

MODELS = ("WebhookEndpoint", "WebhookSigningSecret")


def encrypt_stored_secrets(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("webhooks", name)
        for row in model.objects.all().only("pk", "secret"):
            # Read as plaintext (legacy values have no prefix); saving encrypts.
            row.save(update_fields=["secret"])


def decrypt_stored_secrets(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("webhooks", name)
        table = schema_editor.quote_name(model._meta.db_table)
        with schema_editor.connection.cursor() as cursor:
            for pk, secret in model.objects.values_list("pk", "secret"):
                key = model._meta.pk.get_db_prep_value(pk, schema_editor.connection)
                cursor.execute(f"UPDATE {table} SET secret = %s WHERE id = %s", [secret, key])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_webhook_endpoints_deliveries_and_attempts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=portal.encryption.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="webhooksigningsecret",
            name="secret",
            field=portal.encryption.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_stored_secrets, decrypt_stored_secrets),
    ]
