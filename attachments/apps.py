from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "attachments"
    label = "attachments"
    verbose_name = "Patient attachments"

    def ready(self) -> None:
        from files.signals import file_processed

        file_processed.connect(
            on_file_processed, dispatch_uid="attachments.patient_attachment_processed"
        )


def on_file_processed(sender, file, **kwargs) -> None:
    from attachments.services import attachment_file_processed

    attachment_file_processed(file=file)
