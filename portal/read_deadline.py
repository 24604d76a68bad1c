"""A total deadline for what a request sends before the application knows who is sending.

The embedded shape's web server (config/gunicorn_worker.py) gives each request's headers
a deadline and cuts off clients that send less than a byte rate. A view that must read
part of a body before it can check the sender (the embedded storage's upload endpoint
reads the form fields before it can check the signed policy) gives those reads a total
deadline of their own here, and lifts it once the sender is known. The server puts its
hook in the WSGI environ; where there is none (``runserver``, the test client, a server
behind a buffering proxy) this does nothing.
"""

from __future__ import annotations

ENVIRON_KEY = "portal.read_deadline"


def set_read_deadline(request, seconds: float | None, *, what: str = "the request") -> None:
    """From now on the reads of ``request`` must be done within ``seconds`` (None: lift)."""
    hook = request.META.get(ENVIRON_KEY)
    if hook is not None:
        hook(seconds, what)
