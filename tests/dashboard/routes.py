"""The access rule of every dashboard page, for the cross-account matrix.

Every named route in the ``dashboard`` namespace must appear here, so no page
ships without a rule: ``kwargs`` builds the URL for one of account A's objects
from the ``world`` (see test_access); ``methods`` lists what the page answers;
``public`` pages are the sign-in steps anyone may open; ``admin`` pages are the
account admins' settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def no_kwargs(world) -> dict:
    return {}


@dataclass(frozen=True)
class PageRule:
    methods: tuple[str, ...] = ("GET",)
    kwargs: Callable[[object], dict] = field(default=no_kwargs)
    public: bool = False
    admin: bool = False


def patient(world):
    return {"patient_id": world.patient.id}


def attachment(world):
    return {"patient_id": world.patient.id, "attachment_id": world.attachment.id}


def file_request(world):
    return {"file_request_id": world.file_request.id}


def request_file(world):
    return {"file_request_id": world.file_request.id, "file_id": world.request_file.id}


def record_file(world):
    return {"patient_id": world.patient.id, "file_id": world.request_file.id}


def reply_text(world):
    return {"template_id": world.reply_template.pk}


def request_template(world):
    return {"template_id": world.account.request_templates.first().pk}


def endpoint(world):
    return {"endpoint_id": world.endpoint.id}


def delivery(world):
    return {"endpoint_id": world.endpoint.id, "delivery_id": world.delivery.id}


PAGES: dict[str, PageRule] = {
    # Sign-in: open to everyone.
    "login": PageRule(public=True),
    "login-verify": PageRule(public=True),
    "login-enrol": PageRule(public=True),
    "logout": PageRule(methods=("POST",), public=True),
    "password-reset": PageRule(public=True),
    "password-reset-done": PageRule(public=True),
    "password-reset-confirm": PageRule(
        public=True, kwargs=lambda world: {"uidb64": "MQ", "token": "set-password"}
    ),
    "password-reset-complete": PageRule(public=True),
    "staff-invitation": PageRule(
        methods=("GET", "POST"), public=True, kwargs=lambda world: {"token": "not-a-token"}
    ),
    "favicon": PageRule(public=True),
    # Any member of the account.
    "home": PageRule(),
    "security": PageRule(),
    "security-password": PageRule(methods=("POST",)),
    "two-factor-enrol": PageRule(),
    "two-factor-disable": PageRule(methods=("POST",)),
    "account-switch": PageRule(methods=("POST",)),
    "patient-list": PageRule(),
    "patient-create": PageRule(methods=("GET", "POST")),
    "patient-detail": PageRule(kwargs=patient),
    "patient-edit": PageRule(methods=("GET", "POST"), kwargs=patient),
    "patient-attachments": PageRule(kwargs=patient),
    "patient-file-requests": PageRule(kwargs=patient),
    "patient-compare": PageRule(kwargs=patient),
    "patient-file-body-site": PageRule(methods=("POST",), kwargs=record_file),
    "patient-file-thumbnail": PageRule(kwargs=record_file),
    "patient-file-content": PageRule(kwargs=record_file),
    "patient-attachment-ticket": PageRule(methods=("POST",), kwargs=patient),
    "patient-attachment-confirm": PageRule(methods=("POST",), kwargs=patient),
    "patient-attachment-thumbnail": PageRule(kwargs=attachment),
    "patient-attachment-content": PageRule(kwargs=attachment),
    "patient-attachment-archive": PageRule(methods=("POST",), kwargs=attachment),
    "file-request-list": PageRule(),
    "file-request-create": PageRule(methods=("GET", "POST")),
    "file-request-detail": PageRule(kwargs=file_request),
    "file-request-live": PageRule(kwargs=file_request),
    "file-request-resend": PageRule(methods=("POST",), kwargs=file_request),
    "file-request-cancel": PageRule(methods=("POST",), kwargs=file_request),
    "file-request-unlock": PageRule(methods=("POST",), kwargs=file_request),
    "file-request-review": PageRule(methods=("GET", "POST"), kwargs=file_request),
    "file-request-save-to-record": PageRule(methods=("POST",), kwargs=file_request),
    "file-request-report": PageRule(kwargs=file_request),
    "file-request-follow-up": PageRule(methods=("GET", "POST"), kwargs=file_request),
    "review-inbox": PageRule(),
    "review-status": PageRule(),
    "review-files": PageRule(methods=("POST",)),
    "notifications": PageRule(methods=("GET", "POST")),
    "file-request-file-thumbnail": PageRule(kwargs=request_file),
    "file-request-file-content": PageRule(kwargs=request_file),
    # Account admins only.
    "settings": PageRule(admin=True),
    "settings-api-keys": PageRule(methods=("GET", "POST"), admin=True),
    "settings-clinic": PageRule(methods=("GET", "POST"), admin=True),
    "settings-api-key-revoke": PageRule(
        methods=("POST",), admin=True, kwargs=lambda world: {"api_key_id": world.api_key.id}
    ),
    "settings-staff": PageRule(methods=("GET", "POST"), admin=True),
    "settings-staff-role": PageRule(
        methods=("POST",), admin=True, kwargs=lambda world: {"staff_id": world.staff.id}
    ),
    "settings-staff-remove": PageRule(
        methods=("POST",), admin=True, kwargs=lambda world: {"staff_id": world.staff.id}
    ),
    "settings-staff-two-factor-reset": PageRule(
        methods=("GET", "POST"), admin=True, kwargs=lambda world: {"staff_id": world.staff.id}
    ),
    "settings-reply-templates": PageRule(methods=("GET", "POST"), admin=True),
    "settings-reply-template": PageRule(methods=("GET", "POST"), admin=True, kwargs=reply_text),
    "settings-reply-template-delete": PageRule(methods=("POST",), admin=True, kwargs=reply_text),
    "settings-request-templates": PageRule(methods=("GET", "POST"), admin=True),
    "settings-request-template": PageRule(
        methods=("GET", "POST"), admin=True, kwargs=request_template
    ),
    "settings-request-template-delete": PageRule(
        methods=("POST",), admin=True, kwargs=request_template
    ),
    "settings-audit": PageRule(admin=True),
    "settings-audit-export": PageRule(admin=True),
    "settings-webhooks": PageRule(methods=("GET", "POST"), admin=True),
    "settings-webhook-detail": PageRule(methods=("GET", "POST"), admin=True, kwargs=endpoint),
    "settings-webhook-ping": PageRule(methods=("POST",), admin=True, kwargs=endpoint),
    "settings-webhook-delete": PageRule(methods=("POST",), admin=True, kwargs=endpoint),
    "settings-webhook-redeliver": PageRule(methods=("POST",), admin=True, kwargs=delivery),
}


def object_pages() -> dict[str, PageRule]:
    """Pages about one of account A's objects: another account must get 404."""
    return {
        name: rule
        for name, rule in PAGES.items()
        if not rule.public and rule.kwargs is not no_kwargs
    }
