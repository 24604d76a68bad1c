"""The patient's pages, mounted at /r/ by config/urls.py."""

from django.urls import path

from filerequests import patient_views

app_name = "filerequests-patient"

urlpatterns = [
    # Fixed paths first: a short link id is 22 characters, so none of these is one.
    path("upload", patient_views.upload_page, name="upload"),
    path("upload/ticket", patient_views.upload_ticket, name="upload-ticket"),
    path("upload/confirm", patient_views.upload_confirm, name="upload-confirm"),
    path("upload/finish", patient_views.upload_finish, name="upload-finish"),
    path("upload/status", patient_views.upload_status, name="upload-status"),
    path("upload/known", patient_views.upload_known, name="upload-known"),
    path(
        "upload/thumbnail/<uuid:file_id>",
        patient_views.upload_thumbnail,
        name="upload-thumbnail",
    ),
    path("done", patient_views.done_page, name="done"),
    path("<str:short_link_id>", patient_views.short_link, name="short-link"),
]
