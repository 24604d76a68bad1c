from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        from files import checks  # noqa: F401  (registers the bucket check)
