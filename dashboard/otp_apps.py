"""django-otp's TOTP app under the name people know it by, for the admin's app list.

Kept out of dashboard/apps.py: Django picks an app's default config from the classes
in its apps module, and a second one there would leave the dashboard's own unused.
"""

from django_otp.plugins.otp_totp.apps import DefaultConfig


class AuthenticatorAppsConfig(DefaultConfig):
    verbose_name = "Two-factor sign-in"
