#!/usr/bin/env python
"""Django's command-line utility for the Clinic File Portal."""

import sys


def main() -> None:
    # The project shell names the settings module (config.settings unless the
    # environment names others) and loads the Celery app.
    from django.core.management import execute_from_command_line

    import config  # noqa: F401

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
