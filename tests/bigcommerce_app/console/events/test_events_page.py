"""The console page of Ordergroove events (`/console/ordergroove-events/`): the events and placements of a
customer, the webhook URL to give Ordergroove, never the verification key; a hostile query is refused at the
door."""

from __future__ import annotations

import pytest

from tests.ordergroove.events import test_webhooks
from tests.ordergroove.events.test_webhooks import KEY, event, post, signed

pytestmark = pytest.mark.django_db

og = test_webhooks.og  # the store's settings with the webhook verification key (a fixture)


def test_console_page_lists_events_and_placements(client, og, console_token):
    body = event(event_type="order.reject", rejected_message="Card declined")
    post(client, body, signed(body, KEY))
    response = client.get("/console/ordergroove-events/", {"t": console_token, "customer": "501"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "order.reject" in html and "Card declined" in html
    assert f"/webhooks/ordergroove?store={og.store.store_hash}" in html
    assert KEY not in html
    assert client.get("/console/ordergroove-events/").status_code == 401


def test_a_nul_anywhere_in_a_console_query_is_refused_at_the_door(client, console_token):
    response = client.get("/console/ordergroove-events/", {"t": console_token, "order": "12\x00"})

    assert response.status_code == 400
