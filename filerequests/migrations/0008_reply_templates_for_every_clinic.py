"""Every clinic that exists starts with the default reply templates (new clinics get
them when they are created: filerequests.signals)."""

from django.db import migrations

# A copy of filerequests.replies.DEFAULT_TEMPLATES as it was when this ran.
DEFAULTS = [
    (
        "No action needed",
        "{clinic}: thank you for sending your photos, {first_name}. A clinician has looked "
        "at them and no further action is needed. Please contact us if anything changes.",
    ),
    (
        "Please book an appointment",
        "{clinic}: thank you for your photos, {first_name}. A clinician has looked at them "
        "and would like to see you. Please call us to book an appointment.",
    ),
    (
        "Referred",
        "{clinic}: thank you for your photos, {first_name}. A clinician has looked at them "
        "and has referred you on. You will be contacted about the next step.",
    ),
    (
        "Photos received",
        "{clinic}: thank you for your photos, {first_name}. We have received them and a "
        "clinician will look at them. We will contact you if we need anything else.",
    ),
]


def seed(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    ReplyTemplate = apps.get_model("filerequests", "ReplyTemplate")
    for account in Account.objects.all().iterator():
        ReplyTemplate.objects.bulk_create(
            [
                ReplyTemplate(account=account, name=name, body=body, position=position)
                for position, (name, body) in enumerate(DEFAULTS)
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_password_reset_throttle"),
        ("filerequests", "0007_review_outcome_replies_record_reports"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
