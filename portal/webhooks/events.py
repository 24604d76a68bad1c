"""The event types the portal publishes. One vocabulary with the seeds: seed 001 names
``file-request.files.update``; the others follow its ``<resource>.<change>`` form."""

FILE_REQUEST_FILES_UPDATE = "file-request.files.update"
FILE_REQUEST_CREATED = "file-request.created"
FILE_REQUEST_OPENED = "file-request.opened"
FILE_REQUEST_EXPIRED = "file-request.expired"
PATIENT_ATTACHMENT_PROCESSED = "patient-attachment.processed"
FILE_READY = "file.ready"
FILE_REJECTED = "file.rejected"
# A file left the patient's record: its time ran out (expiresAt), or its attachment
# was archived. Reads answer 410 from then on, and searches leave it out.
FILE_EXPIRED = "file.expired"
PATIENT_ATTACHMENT_ARCHIVED = "patient-attachment.archived"
WEBHOOK_PING = "webhook.ping"

ALL_EVENT_TYPES = [
    FILE_REQUEST_FILES_UPDATE,
    FILE_REQUEST_CREATED,
    FILE_REQUEST_OPENED,
    FILE_REQUEST_EXPIRED,
    PATIENT_ATTACHMENT_PROCESSED,
    FILE_READY,
    FILE_REJECTED,
    FILE_EXPIRED,
    PATIENT_ATTACHMENT_ARCHIVED,
]
