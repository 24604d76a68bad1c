"""The staff dashboard's pages, mounted at / by config/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from dashboard.views import (
    api_keys,
    attachments,
    audit,
    auth,
    clinic,
    compare,
    file_requests,
    home,
    password_reset,
    patients,
    record,
    record_reports,
    reply_templates,
    request_templates,
    review,
    security,
    staff,
    webhooks,
)

app_name = "dashboard"

PASSWORD_EMAIL = "dashboard/emails/password_reset.txt"
PASSWORD_SUBJECT = "dashboard/emails/password_reset_subject.txt"

sign_in = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/verify/", auth.login_verify, name="login-verify"),
    path("login/enrol/", auth.login_enrol, name="login-enrol"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("invitations/<str:token>/", staff.staff_invitation, name="staff-invitation"),
    path(
        "password-reset/",
        password_reset.PasswordResetView.as_view(
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
    path("account/notifications/", review.notification_settings, name="notifications"),
]

review_pages = [
    path("inbox/", review.review_inbox, name="review-inbox"),
    path("inbox/status/", review.review_status, name="review-status"),
    path("inbox/review/", review.files_review, name="review-files"),
]

patient_pages = [
    path("patients/", patients.patient_list, name="patient-list"),
    path("patients/new/", patients.patient_create, name="patient-create"),
    path("patients/<str:patient_id>/", patients.patient_detail, name="patient-detail"),
    path("patients/<str:patient_id>/edit/", patients.patient_edit, name="patient-edit"),
    path(
        "patients/<str:patient_id>/attachments/",
        attachments.patient_attachments,
        name="patient-attachments",
    ),
    path(
        "patients/<str:patient_id>/attachments/upload/ticket/",
        attachments.attachment_upload_ticket,
        name="patient-attachment-ticket",
    ),
    path(
        "patients/<str:patient_id>/attachments/upload/confirm/",
        attachments.attachment_upload_confirm,
        name="patient-attachment-confirm",
    ),
    path(
        "patients/<str:patient_id>/attachments/<str:attachment_id>/thumbnail/",
        attachments.attachment_thumbnail,
        name="patient-attachment-thumbnail",
    ),
    path(
        "patients/<str:patient_id>/attachments/<str:attachment_id>/content/",
        attachments.attachment_content,
        name="patient-attachment-content",
    ),
    path(
        "patients/<str:patient_id>/attachments/<str:attachment_id>/archive/",
        attachments.attachment_archive_view,
        name="patient-attachment-archive",
    ),
    path(
        "patients/<str:patient_id>/files/<str:file_id>/thumbnail/",
        record.record_file_thumbnail,
        name="patient-file-thumbnail",
    ),
    path(
        "patients/<str:patient_id>/files/<str:file_id>/content/",
        record.record_file_content,
        name="patient-file-content",
    ),
    path(
        "patients/<str:patient_id>/compare/",
        compare.patient_compare,
        name="patient-compare",
    ),
    path(
        "patients/<str:patient_id>/files/<str:file_id>/body-site/",
        compare.record_file_body_site,
        name="patient-file-body-site",
    ),
    path(
        "patients/<str:patient_id>/file-requests/",
        patients.patient_file_requests,
        name="patient-file-requests",
    ),
]

file_request_pages = [
    path("file-requests/", file_requests.file_request_list, name="file-request-list"),
    path("file-requests/new/", file_requests.file_request_create, name="file-request-create"),
    path(
        "file-requests/<str:file_request_id>/",
        file_requests.file_request_detail,
        name="file-request-detail",
    ),
    path(
        "file-requests/<str:file_request_id>/live/",
        file_requests.file_request_live,
        name="file-request-live",
    ),
    path(
        "file-requests/<str:file_request_id>/resend/",
        file_requests.file_request_resend,
        name="file-request-resend",
    ),
    path(
        "file-requests/<str:file_request_id>/review/",
        review.file_request_review,
        name="file-request-review",
    ),
    path(
        "file-requests/<str:file_request_id>/save-to-record/",
        record_reports.file_request_save_to_record,
        name="file-request-save-to-record",
    ),
    path(
        "file-requests/<str:file_request_id>/report/",
        record_reports.file_request_report,
        name="file-request-report",
    ),
    path(
        "file-requests/<str:file_request_id>/follow-up/",
        review.file_request_follow_up,
        name="file-request-follow-up",
    ),
    path(
        "file-requests/<str:file_request_id>/unlock/",
        file_requests.file_request_unlock,
        name="file-request-unlock",
    ),
    path(
        "file-requests/<str:file_request_id>/cancel/",
        file_requests.file_request_cancel,
        name="file-request-cancel",
    ),
    path(
        "file-requests/<str:file_request_id>/files/<str:file_id>/thumbnail/",
        file_requests.file_request_file_thumbnail,
        name="file-request-file-thumbnail",
    ),
    path(
        "file-requests/<str:file_request_id>/files/<str:file_id>/content/",
        file_requests.file_request_file_content,
        name="file-request-file-content",
    ),
]

settings_pages = [
    path("settings/", home.settings_home, name="settings"),
    path("settings/api-keys/", api_keys.api_key_list, name="settings-api-keys"),
    path(
        "settings/api-keys/<str:api_key_id>/revoke/",
        api_keys.api_key_revoke_view,
        name="settings-api-key-revoke",
    ),
    path("settings/clinic/", clinic.clinic_settings, name="settings-clinic"),
    path("settings/staff/", staff.staff_list, name="settings-staff"),
    path("settings/staff/<str:staff_id>/role/", staff.staff_role, name="settings-staff-role"),
    path(
        "settings/staff/<str:staff_id>/remove/",
        staff.staff_remove_view,
        name="settings-staff-remove",
    ),
    path(
        "settings/staff/<str:staff_id>/two-factor-reset/",
        staff.staff_two_factor_reset_view,
        name="settings-staff-two-factor-reset",
    ),
    path(
        "settings/reply-texts/",
        reply_templates.reply_template_list,
        name="settings-reply-templates",
    ),
    path(
        "settings/reply-texts/<str:template_id>/",
        reply_templates.reply_template_edit,
        name="settings-reply-template",
    ),
    path(
        "settings/reply-texts/<str:template_id>/delete/",
        reply_templates.reply_template_delete,
        name="settings-reply-template-delete",
    ),
    path(
        "settings/request-templates/",
        request_templates.request_template_list,
        name="settings-request-templates",
    ),
    path(
        "settings/request-templates/<str:template_id>/",
        request_templates.request_template_edit,
        name="settings-request-template",
    ),
    path(
        "settings/request-templates/<str:template_id>/delete/",
        request_templates.request_template_delete,
        name="settings-request-template-delete",
    ),
    path("settings/audit/", audit.audit_log, name="settings-audit"),
    path("settings/audit/export/", audit.audit_export, name="settings-audit-export"),
    path("settings/webhooks/", webhooks.webhook_list, name="settings-webhooks"),
    path(
        "settings/webhooks/<str:endpoint_id>/",
        webhooks.webhook_detail,
        name="settings-webhook-detail",
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/ping/",
        webhooks.webhook_ping,
        name="settings-webhook-ping",
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/delete/",
        webhooks.webhook_delete,
        name="settings-webhook-delete",
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="settings-webhook-redeliver",
    ),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("favicon.ico", home.favicon, name="favicon"),
    *sign_in,
    *account,
    *patient_pages,
    *file_request_pages,
    *review_pages,
    *settings_pages,
]
