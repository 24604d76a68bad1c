from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts, staff and API keys"

    def ready(self):
        # Registers the OpenAPI descriptions of our authentication classes.
        from portal.api import schema  # noqa: F401
