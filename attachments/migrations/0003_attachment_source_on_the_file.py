"""The door of an attachment's file is the file's own ``source`` now: the attachment's
column is no longer written (nullable, so new rows leave it empty) and leaves the
models. A later release drops the column, once no process of this one's predecessor,
which still reads and writes it, runs anywhere."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("attachments", "0002_dashboard_upload_source"),
        ("files", "0011_file_source"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="patientattachment",
                    name="source",
                    field=models.CharField(max_length=20, null=True, blank=True),
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name="patientattachment", name="source"),
            ],
        ),
    ]
