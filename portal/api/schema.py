"""OpenAPI descriptions of the portal's authentication, for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey", "BasicKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer", "description": "The API key as a bearer token."},
            {
                "type": "http",
                "scheme": "basic",
                "description": "The API key as user name, no password.",
            },
        ]


class StaffSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
