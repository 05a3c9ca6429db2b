"""The store's own store/order/created webhook for a recurring order we placed is recognised and never
produces a purchase post (issue 7, DECISIONS §3.10)."""

from __future__ import annotations

import json

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import InboundEvent
from tests.bigcommerce_app.placement.conftest import authorization, post_placement

pytestmark = pytest.mark.django_db


def test_order_created_webhook_of_a_placed_recurring_order_is_skipped(client, shop, fake_og):
    placed = post_placement(client, shop.xml(), auth=authorization())
    assert b"<code>SUCCESS</code>" in placed.content
    (order_id,) = shop.bc.orders

    payload = shop.fake_bc.webhook_payload(shop.store.store_hash, "store/order/created",
                                           {"type": "order", "id": order_id})
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_WEBHOOK_TOKEN": shop.store.webhook_token,
               **{f"HTTP_{k.upper().replace('-', '_')}": v
                  for k, v in shop.fake_bc.standard_webhook_headers(body).items()}}
    response = client.post("/webhooks/bigcommerce", data=body, content_type="application/json", **headers)
    assert response.status_code == 200

    event = InboundEvent.objects.get()
    assert inbound_event_process(event.pk) == "skipped"
    assert fake_og.requests_to("POST", r"subscription/create") == []
