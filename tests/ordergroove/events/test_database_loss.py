"""The database connection is lost while an Ordergroove event is being stored (found by bench/soak.py: a
`pg_terminate_backend` answered 500). Nothing was stored, so the answer is the documented 503 "retry" and
Ordergroove's redelivery stores the event once."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.db import connection, transaction

from ordergroove.models import OrdergrooveEvent
from tests.ordergroove.events.test_webhooks import KEY, event, signed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def og(og_settings):
    og_settings.webhook_verification_key = KEY
    og_settings.save()
    return og_settings


def _post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, timeout=30,
                         headers={"Content-Type": "application/json", "Ordergroove-Signature": signed(body, KEY)})


def test_connection_lost_while_storing_answers_503_and_the_redelivery_is_stored_once(live_server, og):
    url = f"{live_server.url}/webhooks/ordergroove?store={og.store.store_hash}"
    body = event()
    answers: list[requests.Response] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The service's insert waits on this lock; its connection is then terminated, as a failover would.
            cursor.execute(f"LOCK TABLE {OrdergrooveEvent._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            sender = threading.Thread(target=lambda: answers.append(_post(url, body)))
            sender.start()
            deadline, waiting = time.monotonic() + 20, []
            while not waiting and time.monotonic() < deadline:
                time.sleep(0.05)
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
                waiting = [pid for (pid,) in cursor.fetchall()]
            assert waiting, "the service never waited on the lock"
            cursor.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
    sender.join(timeout=30)

    [lost] = answers
    assert lost.status_code == 503 and "retry" in lost.json()["error"].lower()
    assert not OrdergrooveEvent.objects.exists()
    again = _post(url, body)
    assert again.status_code == 200 and again.json()["status"] == "stored"
    assert OrdergrooveEvent.objects.count() == 1
