"""The staff dashboard's pages, mounted at / by portal/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from dashboard.views import api_keys, audit, auth, file_requests, home, patients, security, staff

app_name = "dashboard"

PASSWORD_EMAIL = "dashboard/emails/password_reset.txt"
PASSWORD_SUBJECT = "dashboard/emails/password_reset_subject.txt"

sign_in = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/verify/", auth.login_verify, name="login-verify"),
    path("login/enrol/", auth.login_enrol, name="login-enrol"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="dashboard/auth/password_reset.html",
            email_template_name=PASSWORD_EMAIL,
            subject_template_name=PASSWORD_SUBJECT,
            success_url=reverse_lazy("dashboard:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="dashboard/auth/password_reset_done.html"
        ),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="dashboard/auth/password_reset_confirm.html",
            success_url=reverse_lazy("dashboard:password-reset-complete"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="dashboard/auth/password_reset_complete.html"
        ),
        name="password-reset-complete",
    ),
]

account = [
    path("security/", security.security, name="security"),
    path("security/password/", security.password_change, name="security-password"),
    path("security/two-factor/", security.two_factor_enrol, name="two-factor-enrol"),
    path("security/two-factor/disable/", security.two_factor_disable, name="two-factor-disable"),
    path("account/switch/", home.account_switch, name="account-switch"),
]

patient_pages = [
    path("patients/", patients.patient_list, name="patient-list"),
    path("patients/new/", patients.patient_create, name="patient-create"),
    path("patients/<str:patient_id>/", patients.patient_detail, name="patient-detail"),
    path("patients/<str:patient_id>/edit/", patients.patient_edit, name="patient-edit"),
    path(
        "patients/<str:patient_id>/attachments/",
        patients.patient_attachments,
        name="patient-attachments",
    ),
    path(
        "patients/<str:patient_id>/file-requests/",
        patients.patient_file_requests,
        name="patient-file-requests",
    ),
    path("file-requests/", file_requests.file_request_list, name="file-request-list"),
]

settings_pages = [
    path("settings/", home.settings_home, name="settings"),
    path("settings/api-keys/", api_keys.api_key_list, name="settings-api-keys"),
    path(
        "settings/api-keys/<str:api_key_id>/revoke/",
        api_keys.api_key_revoke_view,
        name="settings-api-key-revoke",
    ),
    path("settings/staff/", staff.staff_list, name="settings-staff"),
    path("settings/staff/<str:staff_id>/role/", staff.staff_role, name="settings-staff-role"),
    path(
        "settings/staff/<str:staff_id>/remove/",
        staff.staff_remove_view,
        name="settings-staff-remove",
    ),
    path("settings/audit/", audit.audit_log, name="settings-audit"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("favicon.ico", home.favicon, name="favicon"),
    *sign_in,
    *account,
    *patient_pages,
    *settings_pages,
]
