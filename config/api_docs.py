"""The OpenAPI schema, and the interactive API docs (Swagger UI) served from our own
static files."""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView, SpectacularSwaggerSplitView

from config.middleware import upload_origins

# The schema as sent, per format (its renderer's class): made once per process.
SCHEMA_SENT: dict[type, bytes] = {}
# The settings the schema is made from that may change while a process runs (a test's
# override: drf-spectacular reads its own settings once).
SCHEMA_SETTINGS = {"ROOT_URLCONF", "REST_FRAMEWORK"}


@receiver(setting_changed)
def schema_forget(*, setting: str, **kwargs) -> None:
    """A settings change the schema depends on (a test's) has it made afresh."""
    if setting in SCHEMA_SETTINGS:
        SCHEMA_SENT.clear()


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI schema, made once per process for each format and kept as the bytes sent.

    The schema changes only with the code, and the route needs no sign-in. Made afresh, it
    cost about a quarter of a CPU-second at every request (every route walked, then written
    out as YAML): a few requests a second kept a web worker's core busy. What a caller may
    choose is bounded: the format (YAML or JSON, by ``Accept`` or ``?format=``). The
    ``version`` and ``lang`` parameters and the parameters of the ``Accept`` header (JSON's
    ``indent``) are not read: the schema is the portal's one version, in English, so nothing
    a caller sends is echoed into it or multiplies what is kept."""

    # As drf-spectacular's own view: left out of the schema (SERVE_INCLUDE_SCHEMA).
    @extend_schema(**SCHEMA_KWARGS)
    def get(self, request, *args, **kwargs):
        if not self.serve_public:
            # A schema cut to what the caller may use differs from caller to caller.
            return super().get(request, *args, **kwargs)
        renderer = request.accepted_renderer
        sent = SCHEMA_SENT.get(type(renderer))
        if sent is None:
            with translation.override(settings.LANGUAGE_CODE):
                generator = self.generator_class(urlconf=self.urlconf, patterns=self.patterns)
                schema = generator.get_schema(request=request, public=self.serve_public)
            context = self.get_renderer_context()
            sent = renderer.render(schema, renderer.media_type, context)
            # Two requests at once may both make it: the same bytes, kept once.
            SCHEMA_SENT[type(renderer)] = sent
        charset = f"; charset={renderer.charset}" if renderer.charset else ""
        answer = HttpResponse(sent, content_type=f"{renderer.media_type}{charset}")
        name = f"{spectacular_settings.TITLE or 'schema'}.{renderer.format}"
        answer["Content-Disposition"] = f'inline; filename="{name}"'
        return answer


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
