import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def defaults_for_every_clinic(apps, schema_editor):
    """Every clinic that exists gets the shipped templates; new ones get them as made."""
    from filerequests.request_templates import default_templates_create

    Account = apps.get_model("accounts", "Account")
    RequestTemplate = apps.get_model("filerequests", "RequestTemplate")
    TemplateSlot = apps.get_model("filerequests", "TemplateSlot")
    for account in Account.objects.all().iterator():
        default_templates_create(
            account=account, template_model=RequestTemplate, slot_model=TemplateSlot
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_password_reset_throttle"),
        ("filerequests", "0008_reply_templates_for_every_clinic"),
    ]

    operations = [
        migrations.CreateModel(
            name="RequestTemplate",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("message", models.TextField(max_length=1000)),
                ("default_key", models.CharField(blank=True, default="", max_length=30)),
                ("position", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="request_templates",
                        to="accounts.account",
                    ),
                ),
            ],
            options={"ordering": ["position", "name"]},
        ),
        migrations.AddConstraint(
            model_name="requesttemplate",
            constraint=models.UniqueConstraint(
                fields=("account", "name"), name="request_template_one_name_per_clinic"
            ),
        ),
        migrations.CreateModel(
            name="TemplateSlot",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("label", models.CharField(max_length=60)),
                ("instruction", models.CharField(max_length=300)),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slots",
                        to="filerequests.requesttemplate",
                    ),
                ),
            ],
            options={"ordering": ["position", "id"]},
        ),
        migrations.AddField(
            model_name="filerequest",
            name="template",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="file_requests",
                to="filerequests.requesttemplate",
            ),
        ),
        migrations.AddField(
            model_name="filerequest",
            name="slots",
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
        migrations.AddField(
            model_name="filerequest",
            name="body_site_code",
            field=models.CharField(blank=True, db_default="", default="", max_length=20),
        ),
        migrations.AddField(
            model_name="filerequest",
            name="body_site_side",
            field=models.CharField(blank=True, db_default="", default="", max_length=10),
        ),
        migrations.RunPython(defaults_for_every_clinic, migrations.RunPython.noop),
    ]
