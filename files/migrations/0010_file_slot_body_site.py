from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0009_file_client_photo_id_sizes_sent"),
    ]

    operations = [
        migrations.AddField(
            model_name="file",
            name="slot_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AddField(
            model_name="file",
            name="slot_label",
            field=models.CharField(blank=True, db_default="", default="", max_length=60),
        ),
        migrations.AddField(
            model_name="file",
            name="body_site_code",
            field=models.CharField(blank=True, db_default="", default="", max_length=20),
        ),
        migrations.AddField(
            model_name="file",
            name="body_site_side",
            field=models.CharField(blank=True, db_default="", default="", max_length=10),
        ),
    ]
