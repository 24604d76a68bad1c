from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        # Django app loading: registers the bucket check once the settings and apps are.
        from files import checks  # noqa: F401
