from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Connects each worker's own heartbeat to Celery's worker signals. Django app
        # loading: the heartbeat writes models, importable only once the apps are loaded.
        from portal.ops import heartbeat  # noqa: F401
