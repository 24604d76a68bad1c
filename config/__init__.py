"""The project shell: settings, URLs, the Celery app, WSGI, middleware, health, metrics,
the embedded supervisor and broker, and gunicorn. It sits above every app; no app imports
it. Importing it names the settings module (``settings_module_default``), has the process
end without walking its heap (``config.process_exit``) and loads the Celery app, so that
every task any app defines binds to it."""

from __future__ import annotations

import os
import warnings

SETTINGS_MODULE = "config.settings"
# Where the settings lived before they moved here. A deployment's environment file or
# unit may still name it; it is read as this module, with a warning, never as an error
# that would keep the portal down after an upgrade.
FORMER_SETTINGS_MODULES = frozenset({"portal.settings"})


def settings_module_default() -> None:
    """``DJANGO_SETTINGS_MODULE``: this project's settings unless the environment names
    others; a former name of this project's settings is replaced, with a warning."""
    named = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if named in FORMER_SETTINGS_MODULES:
        warnings.warn(
            f"DJANGO_SETTINGS_MODULE={named} is the settings' former name: they are "
            f"{SETTINGS_MODULE} now. Change it in the environment file (or remove it: "
            f"{SETTINGS_MODULE} is the default); docs/operations/upgrade.md.",
            FutureWarning,
            stacklevel=2,
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)


settings_module_default()

from config import process_exit  # noqa: E402

# Every portal process imports this package: each ends without walking its heap.
process_exit.register()

from config.celery import app as celery_app  # noqa: E402  (after the settings are named)

__all__ = ["celery_app", "settings_module_default"]
