"""The database connection is lost while a recurring order is being charged (found by bench/soak.py: a
`pg_terminate_backend` mid-placement answered 500). Ordergroove rejects an unparseable answer without retrying
(ordergroove.md §8.5), although the order was charged: the answer must be the documented "999 retry later", and
Ordergroove's retry must get the same order, charged once."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.db import connection

from tests.bigcommerce_app.placement.conftest import authorization

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENTS = r"/payments-host/stores/[a-z0-9]+/payments"


def _post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, timeout=60,
                         headers={"Content-Type": "application/xml", "Authorization": authorization()})


def test_connection_lost_mid_charge_answers_retry_later_and_the_retry_gets_the_one_charged_order(
        live_server, shop, settings):
    settings.ORDERGROOVE_PLACEMENT_LEASE_SECONDS = 1  # the lost request's claim expires before Ordergroove retries
    url = f"{live_server.url}/ordergroove/order-placement"
    body = shop.xml()
    shop.fake_bc.fail("POST", PAYMENTS, status=0, delay=1.0, count=1)  # hold the charge: the service waits on it
    answers: list[requests.Response] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        [started] = cursor.fetchone()
    first = threading.Thread(target=lambda: answers.append(_post(url, body)))
    first.start()
    deadline = time.monotonic() + 30
    while not shop.fake_bc.requests_to("POST", PAYMENTS) and time.monotonic() < deadline:
        time.sleep(0.02)
    # The server's connections: opened for this request. Older ones belong to this process's other contexts
    # (Playwright's greenlets in earlier browser tests keep their own), which later tests still use.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_start >= %s", [started])
    first.join(timeout=60)

    [lost] = answers
    assert lost.status_code == 200
    assert b"<code>ERROR</code>" in lost.content and b"<errorCode>999</errorCode>" in lost.content

    time.sleep(1.2)
    retry = _post(url, body)
    assert retry.status_code == 200 and b"<code>SUCCESS</code>" in retry.content
    [order] = shop.bc.orders.values()
    assert f"<orderId>{order['id']}</orderId>".encode() in retry.content
    assert [p["result"] for p in shop.bc.payments] == ["success"]
