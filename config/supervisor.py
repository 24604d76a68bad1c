"""Keeps the embedded shape's processes running: the web server, the Celery worker and beat.

honcho (what ``make run`` used before) stops every process as soon as one exits, so a
worker that died took the web server with it. Here a process that exits is started
again after a back-off (1 s, doubling up to 30 s while it keeps dying young, back to 1 s
once it has run for a minute), and a line in the log says which, how it ended and when
it comes back. Nothing else is touched: the web server keeps serving while a worker
restarts. SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT stops everything, in order (more
signals while it stops change nothing), and a fatal
start-up error (the port taken, the web server unable to start) is said in words.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
WEB_START_TIMEOUT_SECONDS = 90.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class StartupError(Exception):
    """The embedded shape cannot start; the message says why in words."""


def _die_with_parent() -> None:
    """In a child: be sent SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def check_port_free(port: int) -> None:
    """Refuse, in words, a port another program listens on on 127.0.0.1.

    The probe binds with ``SO_REUSEADDR``, as gunicorn does: connections the last run
    left in TIME-WAIT (a minute after it stopped) do not stop a bind then, while a
    socket listening on the port, on any address, still does.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    except OSError as error:
        raise StartupError(
            f"port {port} on 127.0.0.1 is in use by another program "
            f"({error.strerror}). Stop it, or choose another port: PORT=8080 make run."
        ) from None
    finally:
        probe.close()


@dataclass
class Program:
    """One process kept running: its command, and where its restart back-off stands."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    restarts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def started(self, process: subprocess.Popen) -> None:
        self.process = process
        self.started_at = time.monotonic()
        self.restart_at = None


def tend(
    programs: Iterable[Program],
    *,
    start: Callable[[Program], None],
    say: Callable[[str], None],
    stopping: Callable[[], bool],
) -> None:
    """Restart what has exited, after its back-off; ``start`` starts a program (and calls
    ``Program.started``). The one restart policy of both shapes: the embedded run's
    supervisor and ``make run-scaled`` keep their processes alive through it."""
    now = time.monotonic()
    for program in programs:
        if program.restart_at is not None:
            if now >= program.restart_at and not stopping():
                program.restarts += 1
                say(f"starting {program.name} again (restart {program.restarts}).")
                start(program)
            continue
        returncode = program.process.poll()
        if returncode is None:
            continue
        lived = now - program.started_at
        if lived >= HEALTHY_AFTER_SECONDS:
            program.backoff = FIRST_BACKOFF_SECONDS
        say(
            f"{program.name} {describe_exit(returncode)} after {lived:.0f} s; "
            f"restarting it in {program.backoff:.0f} s. The other processes keep running."
        )
        program.restart_at = now + program.backoff
        program.backoff = min(program.backoff * 2, MAX_BACKOFF_SECONDS)


class Supervisor:
    def __init__(self, programs: list[Program], *, cwd, env: dict[str, str], web_port: int):
        self.programs = programs
        self.cwd = cwd
        self.env = env
        self.web_port = web_port
        self.stopping = False

    # --- output ------------------------------------------------------------------

    def say(self, message: str) -> None:
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        sys.stderr.write(f"{stamp} supervisor: {message}\n")
        sys.stderr.flush()

    # --- life cycle ----------------------------------------------------------------

    def run(self) -> int:
        # Each only notes the stop (it raises nothing): however many arrive, and whichever
        # (a closed terminal's SIGHUP, SIGQUIT), the one orderly stop runs to its end.
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)
        try:
            check_port_free(self.web_port)
            for program in self.programs:
                self._start(program)
            self._wait_for_web()
            self.say(
                f"serving on http://127.0.0.1:{self.web_port}/ with "
                + ", ".join(p.name for p in self.programs)
                + ". Ctrl-C stops everything."
            )
            while not self.stopping:
                tend(self.programs, start=self._start, say=self.say, stopping=lambda: self.stopping)
                time.sleep(0.2)
        except StartupError as error:
            self.say(f"cannot start: {error}")
            self._stop_all()
            return 1
        self._stop_all()
        self.say("stopped.")
        return 0

    def _on_stop_signal(self, signum, frame) -> None:
        if not self.stopping:
            self.stopping = True
            self.say(f"{signal.Signals(signum).name} received: stopping everything.")

    def _start(self, program: Program) -> None:
        program.started(
            subprocess.Popen(
                program.command,
                cwd=self.cwd,
                env={**self.env, **program.env},
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        )

    def _wait_for_web(self) -> None:
        web = self.programs[0]
        deadline = time.monotonic() + WEB_START_TIMEOUT_SECONDS
        while not self.stopping:
            if web.process.poll() is not None:
                raise StartupError(
                    f"the web server {describe_exit(web.process.returncode)} while starting; "
                    "its messages above say why."
                )
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.web_port), timeout=1).close()
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"the web server did not answer on port {self.web_port} within "
                    f"{WEB_START_TIMEOUT_SECONDS:.0f} s."
                )
            time.sleep(0.2)

    def _stop_all(self) -> None:
        running = [p for p in self.programs if p.process and p.process.poll() is None]
        for program in reversed(running):
            with contextlib.suppress(ProcessLookupError):
                program.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for program in running:
            try:
                program.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{program.name} did not stop in time; killing it.")
                program.process.kill()
                program.process.wait()
