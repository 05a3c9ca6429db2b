"""Admission control of the webhook intake (issue 17 §3): under gunicorn with the service's worker class, a
delivery that waited in the process's queue longer than INBOX_MAX_QUEUE_SECONDS is answered 503 at once and is
not stored; whatever is answered 2xx is stored. A real gunicorn (middleware.wsgi, production's worker class) on
the test's PostgreSQL database, over real HTTP.

To make the queue deterministic: one worker with one thread; another connection holds a write lock on the events
table, so the first delivery waits inside its INSERT while the next ones queue for the thread.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from bigcommerce_app.models import InboundEvent
from tests.bigcommerce_app.test_inbox_group_commit import _table_write_locked, _wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
MAX_QUEUE_SECONDS = 0.3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url():
    """The service under gunicorn (1 worker x 1 thread, plumbing.admission.ThreadWorker) on the test database."""
    if connection.vendor != "postgresql":
        pytest.skip("runs gunicorn against the PostgreSQL test database")
    db = connection.settings_dict
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "middleware.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "INBOX_MAX_QUEUE_SECONDS": str(MAX_QUEUE_SECONDS)}
    process = subprocess.Popen(
        [shutil.which("gunicorn", path=str(Path(sys.executable).parent)), "middleware.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1",
         "--worker-class", "middleware.plumbing.admission.ThreadWorker", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(url + "/healthz") == 200, "gunicorn to answer", timeout=30)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _post(url: str, store, event_hash: str) -> int:
    body = json.dumps({"scope": "store/order/created", "store_id": "1", "hash": event_hash, "created_at": 1700000000,
                       "producer": f"stores/{store.store_hash}", "data": {"type": "order", "id": 7}}).encode()
    request = urllib.request.Request(f"{url}/webhooks/bigcommerce", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-Webhook-Token": store.webhook_token})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _lead_is_waiting_on_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%%'")
        return cursor.fetchone()[0] > 0


def test_deliveries_that_waited_too_long_are_shed_with_503_and_not_stored(gunicorn_url, fake_bc, store):
    with ThreadPoolExecutor(max_workers=6) as pool:
        with _table_write_locked():
            lead = pool.submit(_post, gunicorn_url, store, "lead")
            _wait_for(_lead_is_waiting_on_the_lock, "the first delivery to hold the only thread")
            queued = [pool.submit(_post, gunicorn_url, store, f"queued-{n}") for n in range(3)]
            health = pool.submit(_get, gunicorn_url + "/healthz")
            time.sleep(MAX_QUEUE_SECONDS + 0.3)  # each has now waited longer than the bound for the thread
        assert lead.result() == 200
        assert [answer.result() for answer in queued] == [503] * 3
        assert health.result() == 200  # only the webhook intake is shed
    assert list(InboundEvent.objects.values_list("event_hash", flat=True)) == ["lead"]

    # BigCommerce delivers the shed ones again; with the queue empty they are stored, once each.
    assert [_post(gunicorn_url, store, f"queued-{n}") for n in range(3)] == [200] * 3
    assert sorted(InboundEvent.objects.values_list("event_hash", flat=True)) == [
        "lead", "queued-0", "queued-1", "queued-2"]


def test_under_a_burst_every_2xx_is_stored_and_no_503_is(gunicorn_url, fake_bc, store):
    hashes = [f"burst-{n}" for n in range(120)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = dict(zip(hashes, pool.map(lambda h: _post(gunicorn_url, store, h), hashes), strict=True))
    assert set(statuses.values()) <= {200, 503}
    stored = set(InboundEvent.objects.values_list("event_hash", flat=True))
    assert stored == {h for h, status in statuses.items() if status == 200}


@pytest.mark.skipif(not django_settings.POSTGRES_AVAILABLE, reason="needs PostgreSQL")
def test_without_the_worker_class_nothing_is_shed(live_server, fake_bc, store):
    """Another server (here the test live server) gives no queue stamps: the intake serves everything."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: _post(live_server.url, store, f"h-{n}"), range(16)))
    assert statuses == [200] * 16 and InboundEvent.objects.count() == 16
