"""What the portal sends to people: e-mail (reset and invitation links) and text messages
(patients' short links) through Twilio or GOV.UK Notify. Production refuses a backend that
would print, keep or drop them."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.environment import env
from config.settings.base import DATA_DIR, IS_PRODUCTION

EMAIL_BACKEND = env.str(
    "PORTAL_EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if IS_PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
DEVELOPMENT_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
if IS_PRODUCTION and EMAIL_BACKEND in DEVELOPMENT_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"PORTAL_EMAIL_BACKEND={EMAIL_BACKEND} writes, keeps or drops e-mail instead of "
        "sending it; "
        "it cannot be used when PORTAL_ENVIRONMENT=production. Set PORTAL_EMAIL_BACKEND to "
        "django.core.mail.backends.smtp.EmailBackend (the default) and PORTAL_EMAIL_HOST."
    )
EMAIL_HOST = env.str("PORTAL_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("PORTAL_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("PORTAL_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("PORTAL_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("PORTAL_EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("PORTAL_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("PORTAL_DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Text messages ------------------------------------------------------------

# SMS: filerequests.sms.ConsoleSmsBackend | FileSmsBackend | TwilioSmsBackend |
# NotifySmsBackend.
SMS_BACKEND = env.str(
    "PORTAL_SMS_BACKEND",
    default=(
        "filerequests.sms.TwilioSmsBackend"
        if IS_PRODUCTION
        else "filerequests.sms.ConsoleSmsBackend"
    ),
)
# As for e-mail: production refuses a backend that prints or keeps texts instead of sending
# them (the console backend writes the patient's link to stdout, past the log redaction).
DEVELOPMENT_SMS_BACKENDS = {"filerequests.sms.ConsoleSmsBackend", "filerequests.sms.FileSmsBackend"}
if IS_PRODUCTION and SMS_BACKEND in DEVELOPMENT_SMS_BACKENDS:
    raise ImproperlyConfigured(
        f"PORTAL_SMS_BACKEND={SMS_BACKEND} prints or keeps text messages instead of sending them; "
        "it cannot be used when PORTAL_ENVIRONMENT=production. Set PORTAL_SMS_BACKEND to "
        "filerequests.sms.TwilioSmsBackend (the default) and the PORTAL_TWILIO_* settings."
    )
SMS_FILE_PATH = env.str("PORTAL_SMS_FILE_PATH", default=str(DATA_DIR / "sms" / "outbox.jsonl"))
SMS_SENDER_NAME = env.str("PORTAL_SMS_SENDER_NAME", default="")
TWILIO_ACCOUNT_SID = env.str("PORTAL_TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("PORTAL_TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("PORTAL_TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("PORTAL_TWILIO_MESSAGING_SERVICE_SID", default="")
# Only for tests and sandboxes: where the Twilio client sends its requests.
TWILIO_API_BASE_URL = env.str("PORTAL_TWILIO_API_BASE_URL", default="")
# GOV.UK Notify (filerequests.sms.NotifySmsBackend): an API key, and a text message
# template whose whole body is ((body)). Its delivery receipts come to
# /sms/receipts/notify with the bearer token set here and in Notify's callback settings.
NOTIFY_API_KEY = env.str("PORTAL_NOTIFY_API_KEY", default="")
NOTIFY_SMS_TEMPLATE_ID = env.str("PORTAL_NOTIFY_SMS_TEMPLATE_ID", default="")
NOTIFY_SMS_SENDER_ID = env.str("PORTAL_NOTIFY_SMS_SENDER_ID", default="")
NOTIFY_CALLBACK_BEARER_TOKEN = env.str("PORTAL_NOTIFY_CALLBACK_BEARER_TOKEN", default="")
# Only for tests and sandboxes: where the Notify client sends its requests.
NOTIFY_API_BASE_URL = env.str("PORTAL_NOTIFY_API_BASE_URL", default="")
SMS_SEND_MAX_RETRIES = env.int("PORTAL_SMS_SEND_MAX_RETRIES", default=5)
