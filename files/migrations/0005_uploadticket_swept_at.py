# One object per ticket: the sweep empties a ticket's whole prefix once nothing can arrive.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0004_file_processing_worker"),
    ]

    operations = [
        migrations.AddField(
            model_name="uploadticket",
            name="swept_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "When the sweep last emptied the ticket's prefix, once nothing could arrive."
                ),
                null=True,
            ),
        ),
    ]
