"""Each file says which door it came through (``File.source``), and the inbox's index
covers new files of every door.

An expand step: the column has a database default, so code of the previous release can
still insert files while both run. The back-fill names the door of the files already
stored from what their rows say today (an attachment's own source, the photo property,
a patient link as uploader; anything else came by the X-on files API), in batches, and
only where the door is still blank: safe to run again.
"""

from django.db import migrations, models

BATCH = 2000


def blank_ids(File, **filters):
    return File.objects.filter(source="", **filters).values_list("pk", flat=True)


def set_in_batches(File, ids_query, source):
    while True:
        ids = list(ids_query[:BATCH])
        if not ids:
            return
        File.objects.filter(pk__in=ids, source="").update(source=source)


def sources_backfill(apps, schema_editor):
    File = apps.get_model("files", "File")
    PatientAttachment = apps.get_model("attachments", "PatientAttachment")
    PatientPhoto = apps.get_model("attachments", "PatientPhoto")
    for source in ("cliniko", "claros", "dashboard"):
        attached = PatientAttachment.objects.filter(source=source).values("file_id")
        set_in_batches(File, blank_ids(File, pk__in=attached), source)
    photos = PatientPhoto.objects.filter(file__isnull=False).values("file_id")
    set_in_batches(File, blank_ids(File, pk__in=photos), "medable")
    set_in_batches(File, blank_ids(File, actor_kind="patient_link"), "request")
    set_in_batches(File, blank_ids(File), "xon")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("files", "0010_file_slot_body_site"),
        ("attachments", "0002_dashboard_upload_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="file",
            name="source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("request", "Sent by the patient"),
                    ("xon", "From the practice system"),
                    ("cliniko", "From the clinic system"),
                    ("claros", "PDF letter"),
                    ("medable", "Photo from the patient's app"),
                    ("dashboard", "Uploaded by staff"),
                    ("report", "Report saved to the record"),
                ],
                db_default="",
                default="",
                max_length=20,
            ),
        ),
        migrations.RunPython(sources_backfill, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="file", name="file_awaiting_review"),
        migrations.AddIndex(
            model_name="file",
            index=models.Index(
                condition=models.Q(("reviewed_at__isnull", True)),
                fields=["account", "created_at"],
                name="file_awaiting_review_any_door",
            ),
        ),
    ]
