from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Staff dashboard"

    def ready(self):
        # Django app loading: the admin site's sign-in imports models, loadable from here on.
        from dashboard.admin_site import secure_admin_site

        secure_admin_site()
