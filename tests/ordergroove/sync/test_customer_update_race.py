"""Two updates of one customer processed at once must leave Ordergroove with the newer values (found by
bench/soak.py: with two workers, a customer's email changed twice within a second ended at the older email in
Ordergroove). The event that read BigCommerce first may reach the customer's lock last: what it read must not
replace what a later read already queued."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from bigcommerce_app.inbox.services import inbound_event_process
from ordergroove.models import Delivery
from ordergroove.sync import services
from tests.ordergroove.sync.conftest import OG_MERCHANT_ID

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER_UPDATED = "store/customer/updated"
DEFAULT_UPDATED = "store/customer/payment/instrument/default/updated"


def _send_pending() -> None:
    for pk in Delivery.objects.filter(status="pending").values_list("pk", flat=True):
        services.delivery_attempt(pk)


def _older_read_lands_last(shop, scope: str, path: str, change) -> None:
    """Event 1 reads BigCommerce (the answer is held on its way back); meanwhile `change()` happens in BigCommerce
    and event 2 is processed; then event 1 goes on with what it read."""
    customer_id = shop.customer["id"]
    first, second = shop.event(scope, customer_id), shop.event(scope, customer_id)
    shop.fake_bc.fail("GET", path, status=0, delay=1.0, answer_first=True)
    slow = threading.Thread(target=lambda: (inbound_event_process(first.pk), connection.close()))
    slow.start()
    deadline = time.monotonic() + 10
    while not shop.fake_bc.requests_to("GET", path) and time.monotonic() < deadline:
        time.sleep(0.01)
    change()
    inbound_event_process(second.pk)
    slow.join(timeout=30)
    _send_pending()


def test_the_newer_email_wins_when_the_older_read_is_processed_last(shop, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, shop.customer["id"], email="jane@example.com")
    customers = shop.fake_bc.stores[shop.hash].customers
    customers[shop.customer["id"]]["email"] = "jane.first@example.com"

    def change() -> None:
        customers[shop.customer["id"]]["email"] = "jane.second@example.com"

    _older_read_lands_last(shop, CUSTOMER_UPDATED, r"/v3/customers$", change)

    assert fake_og.merchants[OG_MERCHANT_ID].customers[str(shop.customer["id"])]["email"] == "jane.second@example.com"


def test_the_newer_default_card_wins_when_the_older_read_is_processed_last(shop, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, shop.customer["id"], email="jane@example.com")
    shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], last_4="2222")

    def change() -> None:
        shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], last_4="3333")

    _older_read_lands_last(shop, DEFAULT_UPDATED, r"/stored-instruments$", change)

    assert fake_og.merchants[OG_MERCHANT_ID].payments[str(shop.customer["id"])]["cc_last_4"] == "3333"


def test_an_older_change_failed_in_flight_is_not_sent_after_the_newer_one(shop, fake_og):
    """The older change was on its way when the newer one was queued (so it was not superseded), then failed with
    a 5xx and waits for its retry: the retry must not put the older email back after the newer one arrived."""
    from datetime import timedelta

    from django.utils import timezone

    fake_og.add_customer(OG_MERCHANT_ID, shop.customer["id"], email="jane@example.com")
    customers = shop.fake_bc.stores[shop.hash].customers
    customers[shop.customer["id"]]["email"] = "jane.first@example.com"
    inbound_event_process(shop.event(CUSTOMER_UPDATED, shop.customer["id"]).pk)
    [older] = Delivery.objects.filter(status="pending")
    fake_og.fail("PATCH", r"/set_contact_details$", status=503, delay=1.0)  # held, then a 5xx
    sending = threading.Thread(target=lambda: (services.delivery_attempt(older.pk), connection.close()))
    sending.start()
    deadline = time.monotonic() + 10
    while not fake_og.requests_to("PATCH", r"/set_contact_details$") and time.monotonic() < deadline:
        time.sleep(0.01)
    customers[shop.customer["id"]]["email"] = "jane.second@example.com"
    inbound_event_process(shop.event(CUSTOMER_UPDATED, shop.customer["id"]).pk)  # queued while the older is out
    sending.join(timeout=30)
    _send_pending()  # the newer one arrives

    Delivery.objects.filter(pk=older.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    services.delivery_attempt(older.pk)  # the older one's retry comes due

    assert fake_og.merchants[OG_MERCHANT_ID].customers[str(shop.customer["id"])]["email"] == "jane.second@example.com"
    older.refresh_from_db()
    assert older.status == Delivery.Status.SUPERSEDED
