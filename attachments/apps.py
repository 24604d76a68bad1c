from django.apps import AppConfig

from files.signals import file_processed


class AttachmentsConfig(AppConfig):
    name = "attachments"
    label = "attachments"
    verbose_name = "Patient attachments"

    def ready(self) -> None:
        file_processed.connect(
            on_file_processed, dispatch_uid="attachments.patient_attachment_processed"
        )


def on_file_processed(sender, file, **kwargs) -> None:
    # Django app loading: this module is imported before any model exists, and the
    # services import the models.
    from attachments.services import attachment_file_processed

    attachment_file_processed(file=file)
