"""The sandbox sender: `og_send placement` makes a recurring order appear (paid) in the fake BigCommerce, and
`og_send event` lands a verified event in the log (issue 7, item 6)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from bigcommerce_app.models import OrderPlacement
from ordergroove.models import OrdergrooveEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_og_send_placement_creates_a_paid_recurring_order(live_server, shop):
    out = io.StringIO()
    call_command("og_send", "placement", "--store", shop.store.store_hash, "--url", live_server.url, stdout=out)

    assert "<code>SUCCESS</code>" in out.getvalue()
    (order,) = shop.bc.orders.values()
    assert order["status_id"] == 11 and order["customer_id"] == 501
    assert OrderPlacement.objects.get().bc_order_id == order["id"]


def test_og_send_event_is_stored(live_server, shop):
    shop.og_settings.webhook_verification_key = "sandbox-webhook-key-0001"
    shop.og_settings.save()
    out = io.StringIO()
    call_command("og_send", "event", "--store", shop.store.store_hash, "--type", "order.reject", "--message",
                 "Card declined", "--url", live_server.url, stdout=out)

    assert "HTTP 200" in out.getvalue()
    assert OrdergrooveEvent.objects.get().event_type == "order.reject"
