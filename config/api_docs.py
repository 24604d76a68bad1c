"""The interactive API docs (Swagger UI), served from our own static files."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.middleware import upload_origins


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI sets style attributes from its script, so this one page allows inline
    *styles*; scripts stay same-origin only, as everywhere else."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if "script" not in request.GET:
            policy = settings.CONTENT_SECURITY_POLICY.format(upload_origins=upload_origins())
            response.headers["Content-Security-Policy"] = policy.replace(
                "style-src 'self'", "style-src 'self' 'unsafe-inline'"
            )
        return response
