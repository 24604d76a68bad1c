from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "attachments"
    label = "attachments"
    verbose_name = "Patient attachments"
