"""The suite empties the task queue before a test only when something may be in it
(tests/conftest.py): a message left by another process is emptied before the next test
that starts processes, a task published from this process before the next test of any
kind, and nothing is sent to Redis before a test when neither happened."""

from __future__ import annotations

from types import SimpleNamespace

from config.celery import app
from tests.conftest import BrokerQueue, broker_client, queue_emptied_before


def an_item(*marks: str):
    return SimpleNamespace(get_closest_marker=lambda name: name if name in marks else None)


def test_the_queue_is_emptied_when_this_process_published_or_processes_were_started(
    redis_broker_url,
):
    broker = broker_client(redis_broker_url)
    quick, slow, browser = an_item(), an_item("slow"), an_item("browser")
    queue_emptied_before(quick)  # whatever this test's own start left
    assert not BrokerQueue.may_hold_tasks

    # A message another process queued (a web server or a worker a test started).
    broker.lpush("celery", b"{}")
    assert not queue_emptied_before(quick)
    assert broker.llen("celery") == 1
    assert queue_emptied_before(slow)
    assert broker.llen("celery") == 0
    assert not queue_emptied_before(quick)

    # A task published from this process: the next test of any kind starts without it.
    app.send_task("portal.nothing-at-all")
    assert broker.llen("celery") == 1
    assert BrokerQueue.may_hold_tasks
    assert queue_emptied_before(quick)
    assert broker.llen("celery") == 0

    # A browser test starts processes too.
    broker.lpush("celery", b"{}")
    assert queue_emptied_before(browser)
    assert broker.llen("celery") == 0
