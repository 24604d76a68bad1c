"""Fixtures shared by the whole suite."""

from __future__ import annotations

import functools
import gc
import itertools
import re
import uuid
from pathlib import Path

import boto3
import pytest
from celery import signals
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.services import api_key_create
from tests.factories import AccountFactory, PatientFactory, StaffFactory
from tests.plugins import services
from tests.support.browser import chromium, desktop_page, phone_page  # noqa: F401
from tests.support.examples import register_profiles
from tests.support.module_world import built_for_the_module
from tests.support.run_order import in_run_order
from tests.support.storage import private_storages

register_profiles()  # before Hypothesis reads --hypothesis-profile

UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def pytest_make_parametrize_id(config, val, argname):
    """A parameter made at random (a uuid4 of a clinic that does not exist) gets a fixed id:
    every xdist worker must collect the very same test names, or the run stops."""
    if isinstance(val, uuid.UUID) or (isinstance(val, str) and UUID_SHAPE.fullmatch(val)):
        return f"{argname}-uuid"
    return None


# A test process holds what collection made (every test module, their items, Hypothesis'
# strategies) and allocates fast: at Python's default young-generation threshold of 700 its
# collector ran some 6,000 times per worker over the quick tests of two apps, 7 % of the
# worker's CPU, and each full collection walked the whole heap. With a larger young
# generation and the collected heap frozen out of the collector's way, it runs a tenth as
# often and half as long (tests/portal and tests/files on two workers: 10.1 to 4.7 CPU-s of
# collections, 150 to 139 CPU-s in all). The suite's processes only; the portal's keep
# Python's defaults.
TEST_PROCESS_GC_THRESHOLD = (10_000, 20, 20)


def pytest_configure(config):
    gc.set_threshold(*TEST_PROCESS_GC_THRESHOLD)


def pytest_collection_finish(session):
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    """The order xdist hands tests out in: the groups, the browser tests, then the other
    slow tests spread through the quick ones (tests/support/run_order.py says why)."""
    items[:] = in_run_order(items)


@pytest.fixture(scope="session")
def storage_folders(tmp_path_factory) -> Path:
    """Where the tests' private storages live: one folder per test, made when it stores."""
    return tmp_path_factory.mktemp("storages")


STORAGE_NUMBERS = itertools.count()


@pytest.fixture(autouse=True)
def private_storage(storage_folders, settings):
    """Every test gets its own empty file storage, so tests never share files. Its folder
    is named, not made (the storage makes it on the first save): a test's own ``tmp_path``
    is made by scanning every folder made before it, which cost 2 to 4 ms a test once a
    worker had run a few thousand."""
    location = storage_folders / str(next(STORAGE_NUMBERS))
    settings.STORAGES = private_storages(settings.STORAGES, location)
    return location


@pytest.fixture(scope="session")
def django_db_keepdb(request):
    """Whether the test databases are kept when the run ends: always, when the suite's own
    PostgreSQL (tests/plugins/services.py) is thrown away whole right after. Dropping them
    first only costs time, and warns when a process a test killed still holds a session."""
    return services.owns_servers() or request.config.getvalue("reuse_db")


@pytest.fixture(scope="module")
def world_builder(request):
    """What builds a module's shared world: its ``build_world()`` (a conftest may name
    another for all its modules, as FHIR's does)."""
    return request.module.build_world


@pytest.fixture(scope="module")
def module_world(request, world_builder, django_db_setup, django_db_blocker, tmp_path_factory):
    """The module's world, built once for its tests that only read it
    (tests/support/module_world.py)."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    with built_for_the_module(
        django_db_blocker, tmp_path_factory.mktemp(name), world_builder
    ) as built:
        yield built


@pytest.fixture
def world(module_world, settings, db):
    """This test's own copy of the module's world: what the test changes is rolled back
    when it ends."""
    return module_world.for_a_test(settings)


@pytest.fixture
def s3_bucket(settings):
    """Switch this test to S3 on SeaweedFS (tests/plugins/services.py), in a fresh bucket,
    as production would."""
    from config.settings import storage_settings_for

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
    )
    s3.create_bucket(Bucket=bucket)
    settings.S3_BUCKET = bucket
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings_for(bucket)}
    return bucket


@pytest.fixture(params=["filesystem", "s3"])
def storage_mode(request):
    """Run a test once on the embedded private storage and once on S3."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    return request.param


@pytest.fixture
def clock(monkeypatch):
    """Django's clock standing still at ``clock.now`` until the test moves it."""

    class Clock:
        now = timezone.now()

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


@pytest.fixture
def account(db):
    return AccountFactory(name="Riverside Clinic")


@pytest.fixture
def other_account(db):
    return AccountFactory(name="Hillside Clinic")


@pytest.fixture
def staff(account):
    return StaffFactory(account=account)


@pytest.fixture
def patient(account):
    return PatientFactory(account=account)


def client_with_key(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plaintext)
    return client


@pytest.fixture
def api_key(account):
    return api_key_create(account=account, name="test key")


@pytest.fixture
def api(api_key):
    """An API client authenticated with an API key of ``account``."""
    return client_with_key(api_key.plaintext)


@pytest.fixture
def other_api(other_account):
    """An API client authenticated with a key of another clinic."""
    return client_with_key(api_key_create(account=other_account).plaintext)


@pytest.fixture
def anonymous_api():
    return APIClient()


# The Redis keys of the one task queue ("celery", and kombu's priority lists beside it)
# and of the messages a worker has taken but not acknowledged.
BROKER_QUEUE_KEYS = (
    "celery",
    *(f"celery\x06\x16{priority}" for priority in (3, 6, 9)),
    "unacked",
    "unacked_index",
    "unacked_mutex",
)


@functools.cache
def broker_client(url: str):
    """One Redis client per process and broker: a new one for each test spent six round
    trips saying hello before its one DEL."""
    import redis  # only a run whose tests reach the broker loads it

    return redis.Redis.from_url(url)


class BrokerQueue:
    """Whether this process's task queue may hold messages since it was last emptied: at
    the start, after a task is published from this process, and after a slow or browser
    test, whose web servers, workers and beat publish from processes of their own."""

    may_hold_tasks = True


@signals.before_task_publish.connect(weak=False)
def _a_task_was_published(**kwargs):
    BrokerQueue.may_hold_tasks = True


def starts_processes(item) -> bool:
    """Slow and browser tests: the ones that start real workers and servers (every test
    with a real Celery worker is marked slow)."""
    return bool(item.get_closest_marker("slow") or item.get_closest_marker("browser"))


def queue_emptied_before(item) -> bool:
    """Empty the task queue before the test ``item`` when something may be in it, and
    before every test that starts processes; whether it was emptied."""
    url = settings.CELERY_BROKER_URL
    emptied = BrokerQueue.may_hold_tasks or starts_processes(item)
    if not (emptied and url.startswith("redis://") and services.started()):
        return False
    broker_client(url).delete(*BROKER_QUEUE_KEYS)
    BrokerQueue.may_hold_tasks = False
    return True


@pytest.fixture(autouse=True)
def _no_tasks_from_earlier_tests(request):
    """Every test starts with an empty task queue: tasks queued on commit by earlier tests
    (their rows long gone) would otherwise sit ahead of this test's own, and a test that
    starts a real worker would wait behind them. One DEL of the queue's keys (kombu's
    bindings stay), before every test that starts processes and before any other only
    when something may have been queued since the last: most tests queue nothing, and a
    round trip to Redis before each of them was some 5 CPU-s of a run."""
    queue_emptied_before(request.node)
    yield
    if starts_processes(request.node):
        BrokerQueue.may_hold_tasks = True


@pytest.fixture
def redis_broker_url():
    return settings.CELERY_BROKER_URL


@pytest.fixture
def webhook_receiver():
    """A real HTTP server on loopback recording webhook deliveries (tests/support/receiver.py)."""
    from tests.support.receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
