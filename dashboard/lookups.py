"""The account's object named in a dashboard URL, or 404: a missing, malformed and
another clinic's id all answer the same."""

from __future__ import annotations

from django.http import Http404

from attachments import selectors as attachment_selectors
from filerequests import selectors as file_request_selectors
from files.models import File
from portal.patients.selectors import patient_get
from portal.webhooks import selectors as webhook_selectors


def get_patient_or_404(request, patient_id):
    patient = patient_get(account=request.account, patient_id=patient_id)
    if patient is None:
        raise Http404("No such patient in this clinic.")
    return patient


def get_attachment_or_404(request, patient, attachment_id):
    attachment = attachment_selectors.attachment_get(
        account=request.account, attachment_id=attachment_id
    )
    if attachment is None or attachment.patient_id != patient.id:
        raise Http404("No such attachment for this patient.")
    return attachment


def get_file_request_or_404(request, file_request_id):
    file_request = file_request_selectors.file_request_get(
        account=request.account, file_request_id=file_request_id
    )
    if file_request is None:
        raise Http404("No such file request in this clinic.")
    return file_request


def get_request_file_or_404(request, file_request, file_id) -> File:
    """One of the files the patient sent in answer to ``file_request``."""
    file = file_request_selectors.file_request_file_get(file_request=file_request, file_id=file_id)
    if file is None:
        raise Http404("No such file in this request.")
    return file


def get_webhook_endpoint_or_404(request, endpoint_id):
    endpoint = webhook_selectors.webhook_endpoint_get(
        account=request.account, endpoint_id=endpoint_id
    )
    if endpoint is None:
        raise Http404("No such webhook endpoint in this clinic.")
    return endpoint


def get_delivery_or_404(request, endpoint, delivery_id):
    delivery = webhook_selectors.webhook_delivery_get(
        account=request.account, delivery_id=delivery_id
    )
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise Http404("No such delivery for this endpoint.")
    return delivery
