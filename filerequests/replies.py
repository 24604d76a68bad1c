"""Reply texts: after reviewing a patient's photos, staff may text the patient a reply,
picked from the clinic's templates (edited under Settings) and changed as needed.

The reply goes through the same path as the request's own text (a ``Notification``
sent by the worker, retried, audited); its words are kept beside it (``ReplyText``),
as they carry no link. Every clinic starts with ``DEFAULT_TEMPLATES``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from filerequests.models import FileRequest, ReplyTemplate
from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record

# The longest reply: four SMS segments of 153 characters (GSM-7), as most phones join them.
MAX_REPLY_LENGTH = 612

# Words every clinic starts with, one for each usual outcome. Kept plain: a text message
# can be read by whoever holds the phone, so none says what the photos showed.
DEFAULT_TEMPLATES = [
    (
        "No action needed",
        "{clinic}: thank you for sending your photos, {first_name}. A clinician has looked "
        "at them and no further action is needed. Please contact us if anything changes.",
    ),
    (
        "Please book an appointment",
        "{clinic}: thank you for your photos, {first_name}. A clinician has looked at them "
        "and would like to see you. Please call us to book an appointment.",
    ),
    (
        "Referred",
        "{clinic}: thank you for your photos, {first_name}. A clinician has looked at them "
        "and has referred you on. You will be contacted about the next step.",
    ),
    (
        "Photos received",
        "{clinic}: thank you for your photos, {first_name}. We have received them and a "
        "clinician will look at them. We will contact you if we need anything else.",
    ),
]


class ReplyTemplateInputError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def reply_templates_seed(*, account: Account) -> None:
    """Give a clinic the default reply templates (a new clinic, by its post_save signal)."""
    ReplyTemplate.objects.bulk_create(
        [
            ReplyTemplate(account=account, name=name, body=body, position=position)
            for position, (name, body) in enumerate(DEFAULT_TEMPLATES)
        ],
        ignore_conflicts=True,
    )


def reply_text_render(body: str, *, file_request: FileRequest) -> str:
    """The template's words for this patient: ``{clinic}`` and ``{first_name}`` filled
    in (a patient with no first name on record is greeted without one); any other brace
    is left as written."""
    first_name = file_request.patient.first_name.strip()
    text = body.replace("{clinic}", file_request.account.name)
    if first_name:
        text = text.replace("{first_name}", first_name)
    else:
        text = text.replace(", {first_name}", "").replace(" {first_name}", "")
        text = text.replace("{first_name}", "")
    return text.strip()


def template_fields_check(*, name: str, body: str) -> tuple[str, str]:
    name, body = name.strip(), body.strip()
    if not name:
        raise ReplyTemplateInputError("name", "Give the template a name.")
    if not body:
        raise ReplyTemplateInputError("body", "Write the words of the text message.")
    if len(body) > MAX_REPLY_LENGTH:
        raise ReplyTemplateInputError(
            "body", f"A reply can be at most {MAX_REPLY_LENGTH} characters (four texts)."
        )
    return name, body


@transaction.atomic
def reply_template_save(
    *, account: Account, actor: Actor, name: str, body: str, template: ReplyTemplate | None = None
) -> ReplyTemplate:
    """Create a template, or change ``template`` (one of ``account``'s)."""
    name, body = template_fields_check(name=name, body=body)
    created = template is None
    if created:
        position = ReplyTemplate.objects.filter(account=account).order_by("-position").first()
        template = ReplyTemplate(
            account=account, position=(position.position + 1) if position else 0
        )
    elif template.account_id != account.id:
        raise ReplyTemplate.DoesNotExist
    template.name, template.body = name, body
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise ReplyTemplateInputError(
            "name", f"The clinic already has a template called “{name}”."
        ) from exc
    audit_record(
        account=account,
        actor=actor,
        action="reply_template.create" if created else "reply_template.change",
        target=template,
        detail={"name": name},
    )
    return template


@transaction.atomic
def reply_template_delete(*, template: ReplyTemplate, actor: Actor) -> None:
    audit_record(
        account=template.account,
        actor=actor,
        action="reply_template.delete",
        target=template,
        detail={"name": template.name},
    )
    template.delete()


def reply_templates_of(*, account: Account) -> list[ReplyTemplate]:
    return list(ReplyTemplate.objects.filter(account=account).order_by("position", "name"))


def reply_template_get(*, account: Account, template_id) -> ReplyTemplate | None:
    """The clinic's template with this id; None for another clinic's or a malformed id."""
    try:
        pk = int(str(template_id))
    except ValueError:
        return None
    return ReplyTemplate.objects.filter(account=account, pk=pk).first()
