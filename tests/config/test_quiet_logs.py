"""Routine lines at DEBUG, and a database outage said once: a real worker with its beat
(as `make dev` runs them), on a database reached through a proxy the test cuts."""

from __future__ import annotations

import re
import time

import pytest
from django.db import connection

from tests.support.faultproxy import TcpProxy
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHOTO_COLLECT = "attachments.photo_uploads_collect"


@pytest.fixture
def db_proxy():
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"], int(db["PORT"])).start()
    yield proxy
    proxy.stop()


def test_routine_lines_are_debug_and_an_outage_is_one_warning(tmp_path, db_proxy):
    """GIVEN a worker and beat at INFO, beat's photo collector due every 2 s WHEN they run
    for a while THEN neither beat's "Sending due task" nor the worker's received/succeeded
    lines of that task are written; WHEN the database is then cut for 15 s THEN the log
    says so in one WARNING line, the worker's heartbeat in one more, and a periodic task
    caught in flight by the cut in one line of its own, none of them repeated, and holds
    no traceback; WHEN it is back THEN beat says so and sends again."""
    db = connection.settings_dict
    via_proxy = f"postgres://{db['USER']}@127.0.0.1:{db_proxy.port}/{db['NAME']}"
    with celery_worker(tmp_path, beat=True, extra_env={"DATABASE_URL": via_proxy}) as worker:
        wait_for(lambda: "is active; it sends" in worker.log(), timeout=30, message=worker.log())
        time.sleep(8)  # four photo-collector periods
        quiet = worker.log()
        assert "Sending due task" not in quiet, quiet[-3000:]
        assert not re.search(rf"Task {PHOTO_COLLECT}\[[^\]]*\] (received|succeeded)", quiet)

        db_proxy.cut()
        cut_at = len(worker.log())
        time.sleep(15)
        outage = worker.log()[cut_at:]
        db_proxy.restore()
        wait_for(lambda: "the database answers again" in worker.log(), timeout=30)
        wait_for(
            lambda: (
                worker.log().count("is active; it sends") >= 1 and "answers again" in worker.log()
            ),
            timeout=30,
        )
    assert "Traceback" not in outage, outage[-4000:]
    warnings = [line for line in outage.splitlines() if "WARNING" in line]
    # One line from beat, at most one from the worker's own heartbeat thread, and at most
    # one for a periodic task that beat had sent just before the cut: each said once.
    said = [line.split("] ", 1)[1] for line in warnings]
    kinds = [
        "beat: the database does not answer",
        "heartbeat could not be written",
        f"{PHOTO_COLLECT} skipped: the database does not answer",
    ]
    assert len([text for text in said if text.startswith(kinds[0])]) == 1, warnings
    for kind in kinds[1:]:
        assert len([text for text in said if kind in text]) <= 1, warnings
    assert all(any(kind in text for kind in kinds) for text in said), warnings
    assert len(outage.splitlines()) < 10, outage
