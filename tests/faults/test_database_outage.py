"""The database gone for a moment: gunicorn reaches PostgreSQL through a TCP proxy on
loopback, which the test cuts (live connections dropped, new ones refused) and restores
on the same port."""

from __future__ import annotations

import pytest
import requests
from django.db import connection

from filerequests.shortlinks import short_link_id_new
from tests.faults.conftest import photo
from tests.support import clients
from tests.support.faultproxy import TcpProxy
from tests.support.stack import FRESH_PROBES, portal_server, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db_proxy():
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"], int(db["PORT"])).start()
    yield proxy
    proxy.stop()


def test_api_answers_503_while_the_database_is_gone_then_recovers(tmp_path, db_proxy, clinic):
    """GIVEN the portal serving requests
    WHEN its database connections are cut and new ones refused
    THEN the API answers 503 with the portal's JSON error shape and Retry-After, pages
    answer a friendly 503 page, the health check says the database failed, never a 500;
    and once the database is reachable again the same requests succeed by themselves."""
    db = connection.settings_dict
    via_proxy = {
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{db_proxy.port}/{db['NAME']}",
        **FRESH_PROBES,
    }
    session = clients.keyed(clinic["key"])
    with portal_server(tmp_path, workers=1, threads=2, extra_env=via_proxy) as server:
        patients = f"{server.url}/api/v1/patients"
        assert session.get(patients, timeout=10).status_code == 200

        db_proxy.cut()
        for _ in range(3):  # every thread's connection, persistent or new, fails alike
            answer = session.get(patients, timeout=30)
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.json()["code"] == "service_unavailable"
            assert answer.json()["error"]
            assert int(answer.headers["Retry-After"]) > 0
        upload = clients.xon_upload(
            session, server.url, user_id=clinic["patient"].id, name="a.jpg", data=photo(1)
        )
        assert upload.status_code == 503, upload.text
        page = requests.get(f"{server.url}/r/{short_link_id_new()}", timeout=30)
        assert page.status_code == 503
        assert "briefly unavailable" in page.text
        assert page.headers["Retry-After"]
        health = requests.get(f"{server.url}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json()["checks"]["database"].startswith("failed")

        db_proxy.restore()
        wait_for_http(
            lambda: session.get(patients, timeout=10).status_code == 200,
            timeout=30,
            message="the API did not recover after the database came back",
        )
        upload = clients.xon_upload(
            session, server.url, user_id=clinic["patient"].id, name="a.jpg", data=photo(1)
        )
        assert upload.status_code == 201, upload.text
        health = requests.get(f"{server.url}/healthz", timeout=30)
        assert health.json()["checks"]["database"] == "ok"
