"""System checks of the project shell: environment variables still set under the names
they had before the one ``PORTAL_`` prefix (config/environment.py)."""

from __future__ import annotations

from django.core.checks import Warning, register

from config.environment import env


@register()
def former_variable_names(app_configs, **kwargs) -> list[Warning]:
    """One warning per former name that supplied a setting, naming the variable to set."""
    return [
        Warning(
            f"{former} is read under its former name: set {name} instead.",
            hint=(
                f"Rename {former} to {name} in the environment file; the former name is "
                "still read while the new one is unset (docs/operations/configuration.md)."
            ),
            id="config.W001",
        )
        for former, name in sorted(env.former_in_use.items())
    ]
