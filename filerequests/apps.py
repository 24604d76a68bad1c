from django.apps import AppConfig


class FileRequestsConfig(AppConfig):
    name = "filerequests"
    label = "filerequests"
    verbose_name = "File requests"
