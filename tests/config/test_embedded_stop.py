"""`make run` stopped as an operator stops it: signals arriving while the supervisor stops
(SIGHUP from a closed terminal, SIGQUIT, more SIGTERMs and Ctrl-Cs) never cut the stop
short: it ends in words and leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest

from tests.support.embedded import embedded_shape
from tests.support.worker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded")]


def test_signals_during_the_stop_leave_no_process_behind(tmp_path):
    """GIVEN the embedded shape serving WHEN its supervisor is sent SIGTERM, then, while it
    stops, SIGHUP, SIGQUIT, SIGINT and SIGTERM THEN it exits 0 saying "stopped." and no
    process of it (web server, worker and its pool, beat) remains."""
    with embedded_shape(tmp_path) as shape:
        supervisor = shape.process.pid
        os.kill(supervisor, signal.SIGTERM)
        time.sleep(0.3)
        for later in (signal.SIGHUP, signal.SIGQUIT, signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor, later)
            time.sleep(0.2)
        shape.process.wait(timeout=90)
        wait_for(
            lambda: not shape.leftover(),
            timeout=30,
            message=f"left running: {shape.leftover()}",
        )
    assert shape.process.returncode == 0, shape.log()[-3000:]
    assert "supervisor: SIGTERM received: stopping everything." in shape.log()
    assert "supervisor: stopped." in shape.log()
