from django.apps import AppConfig
from django.db.models.signals import post_save


class FileRequestsConfig(AppConfig):
    name = "filerequests"
    label = "filerequests"
    verbose_name = "File requests"

    def ready(self):
        # Django app loading: each of these imports models, loadable only from here on.
        from filerequests import signals  # noqa: F401 (a new clinic's reply templates)
        from filerequests.answering import ticket_closed_reason
        from filerequests.request_templates import clinic_created
        from files.tickets.policies import ticket_refusal_register

        ticket_refusal_register(ticket_closed_reason)
        post_save.connect(
            clinic_created, sender="accounts.Account", dispatch_uid="request_templates"
        )
