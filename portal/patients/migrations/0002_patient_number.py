"""Patients get a number within their clinic (1, 2, 3, … in the order they were
added): the integer id Claros's seed types ``patient_id`` as."""

from django.db import migrations, models


def number_existing_patients(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    account_ids = Patient.objects.values_list("account_id", flat=True).distinct()
    for account_id in account_ids:
        patients = Patient.objects.filter(account_id=account_id).order_by("created_at", "id")
        for number, patient in enumerate(patients.only("pk"), start=1):
            Patient.objects.filter(pk=patient.pk).update(number=number)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="number",
            field=models.PositiveIntegerField(null=True, editable=False),
        ),
        migrations.RunPython(number_existing_patients, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="patient",
            name="number",
            field=models.PositiveIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                fields=("account", "number"), name="patient_number_per_account"
            ),
        ),
    ]
