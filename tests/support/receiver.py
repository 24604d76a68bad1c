"""A real HTTP receiver on loopback for webhook tests, scriptable per request.

``receiver.script(Answer(500), Answer(500), Answer(200))`` answers the next
requests in that order, then ``Answer(200)`` for ever. ``Hang()`` holds the
request open until the test ends (or ``receiver.release()``); ``Answer(302,
headers={"Location": ...})`` redirects. Every request is kept in
``receiver.requests`` with its headers and exact body bytes.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Never answer (until released): the sender's read timeout must cut it off."""


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = ReceivedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with receiver._lock:
                    receiver.requests.append(received)
                    behaviour = receiver._script.popleft() if receiver._script else Answer()
                if isinstance(behaviour, Hang):
                    receiver._released.wait(timeout=120)
                    return
                received.answered = behaviour.status
                self.send_response(behaviour.status)
                for name, value in behaviour.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(behaviour.body)))
                self.end_headers()
                self.wfile.write(behaviour.body)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # shutdown() waits for the serving loop's next poll: the default half second, paid
        # by every test with a receiver.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *behaviours) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def accepted(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def release(self) -> None:
        self._released.set()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
