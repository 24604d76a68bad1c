"""Errors as FHIR ``OperationOutcome`` resources, with the spec's issue codes.

Every refusal of the FHIR door, from a missing key to an unknown search
parameter, is raised as ``FhirError`` and answered by ``rendering.outcome_response``, so a
record system always gets a resource it can parse, never an HTML page or the
portal's own error shape.
"""

from __future__ import annotations

from fhir.resources.R4B.operationoutcome import OperationOutcome

from fhirapi.codes import FHIR_JSON


class FhirError(Exception):
    """A refusal: HTTP ``status``, FHIR issue ``code`` and a sentence a person can act on."""

    def __init__(self, status: int, code: str, diagnostics: str, *, headers=None):
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = headers or {}


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known.")


def operation_outcome(*, code: str, diagnostics: str, severity: str = "error") -> dict:
    outcome = OperationOutcome(
        issue=[{"severity": severity, "code": code, "diagnostics": diagnostics}]
    )
    return outcome.model_dump(mode="json", exclude_none=True)


__all__ = ["FHIR_JSON", "FhirError", "not_found", "operation_outcome"]
