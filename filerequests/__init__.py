"""File requests: short links, SMS, the patient page, the X-on file-requests API."""
