from django.apps import AppConfig


class ShellConfig(AppConfig):
    """The project shell as an installed app: its management commands (run_embedded) and
    system checks; no models."""

    name = "config"
    label = "config"
    verbose_name = "Project shell"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
