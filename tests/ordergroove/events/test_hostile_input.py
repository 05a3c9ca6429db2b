"""Hostile deliveries to POST /webhooks/ordergroove (issue 14, finding 4 and what reading the code found): a NUL
or anything but a store hash in `?store=`, a body nested deeper than Python's parser goes, or a signed body that
PostgreSQL's jsonb cannot hold gets a clear 4xx and stores nothing."""

from __future__ import annotations

import json

import pytest

from ordergroove.models import OrdergrooveEvent
from tests.ordergroove.events.test_webhooks import KEY, event, post, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def og(og_settings):
    og_settings.webhook_verification_key = KEY
    og_settings.save()
    return og_settings


@pytest.mark.parametrize("query", ["?store=%00", "?store=abc123%00", "?store=%00abc", "?store=ab%2Fc",
                                   "?store=" + "a" * 65, "?store=ABC%C2%B2"])
def test_a_store_that_is_not_a_store_hash_is_refused_with_400(client, og, query):
    body = event()
    response = post(client, body, signed(body, KEY), query=query)

    assert response.status_code == 400
    assert "error" in response.json()
    assert not OrdergrooveEvent.objects.exists()


def test_json_nested_five_thousand_levels_deep_is_refused_without_credentials(client, og):
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    response = post(client, body, "ts=1,sig=00")

    assert response.status_code in (400, 401)
    assert not OrdergrooveEvent.objects.exists()


@pytest.mark.parametrize("poison", ["\\u0000", "\\ud800"])
def test_a_signed_body_with_text_jsonb_refuses_gets_400_and_stores_nothing(client, og, poison):
    body = event().replace(b'"Unsent"', f'"Un{poison}sent"'.encode())
    response = post(client, body, signed(body, KEY), query=f"?store={og.store.store_hash}")

    assert response.status_code == 400
    assert not OrdergrooveEvent.objects.exists()


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_a_signed_body_with_a_number_jsonb_refuses_gets_400(client, og, number):
    body = event().replace(b'"tries": 0', b'"tries": ' + number)
    assert body != event()
    response = post(client, body, signed(body, KEY), query=f"?store={og.store.store_hash}")

    assert response.status_code == 400
    assert not OrdergrooveEvent.objects.exists()


@pytest.mark.parametrize("created", [10**30, 1e300, -(10**20), "\u00b2"])
def test_an_unbounded_created_time_is_stored_without_a_time(client, og, created):
    body = json.dumps({**json.loads(event()), "created": created}).encode()
    response = post(client, body, signed(body, KEY))

    assert response.status_code == 200
    assert OrdergrooveEvent.objects.get().occurred_at is None


@pytest.mark.parametrize("order_merchant_id", ["\u00b2", "9" * 40, -5, "1e5"])
def test_an_order_merchant_id_that_is_not_an_order_id_is_stored_without_one(client, og, order_merchant_id):
    body = event(order_merchant_id=order_merchant_id)
    response = post(client, body, signed(body, KEY))

    assert response.status_code == 200
    assert OrdergrooveEvent.objects.get().bc_order_id is None
