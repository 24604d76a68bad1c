from django.apps import AppConfig


class FileRequestsConfig(AppConfig):
    name = "filerequests"
    label = "filerequests"
    verbose_name = "File requests"

    def ready(self):
        from filerequests import signals  # noqa: F401 (a new clinic's reply templates)
        from filerequests.answering import ticket_closed_reason
        from files.tickets import ticket_refusal_register

        ticket_refusal_register(ticket_closed_reason)

        from django.db.models.signals import post_save

        from filerequests.request_templates import clinic_created

        post_save.connect(
            clinic_created, sender="accounts.Account", dispatch_uid="request_templates"
        )
