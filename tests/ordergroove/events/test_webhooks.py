"""POST /webhooks/ordergroove: signed Ordergroove events (seed 003) stored once per id, alerts for failed
placements, and the activity reads per order and customer (issue 7; DECISIONS §2; ordergroove.md §9)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from bigcommerce_app.models import Alert
from ordergroove.events import selectors
from ordergroove.events.services import og_events_sweep
from ordergroove.events.tasks import og_event_process_task
from ordergroove.models import OrdergrooveEvent, OrderPlacement
from tests.ordergroove.conftest import OG_MERCHANT_ID

pytestmark = pytest.mark.django_db

KEY = "super-secret-webhooks-verification-key"
OLD_KEY = "the-previous-verification-key-0001"


@pytest.fixture
def og(og_settings):
    og_settings.webhook_verification_key = KEY
    og_settings.save()
    return og_settings


def hex_sig(key: str, ts: int, body: bytes) -> str:
    """Ordergroove's webhook signature, computed independently: hex HMAC-SHA256 of "{ts}." + raw body."""
    return hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def event(event_id: str = "mmmm4444nnnn3333pppp", event_type: str = "order.success", **obj) -> bytes:
    """The seed 003 example envelope."""
    data = {"type": "order", "merchant": OG_MERCHANT_ID, "public_id": "zzzz9999yyyy8888xxxx", "customer": "501",
            "payment": "a748aa648ac811e8af3bbc764e106cf4", "shipping_address": "66c25cd0564011e9abc5bc764e107990",
            "discount_total": "0.00", "shipping_total": "0.00", "sub_total": "0.00", "tax_total": "0.00",
            "total": "0.00", "extra_data": {}, "generic_error_count": 0, "order_merchant_id": None,
            "place": "2021-04-06", "rejected_message": None, "status": 1, "status_display": "Unsent", "tries": 0,
            "cancelled": None, "created": 1301093861}
    data.update(obj)
    return json.dumps({"id": event_id, "type": event_type, "created": 1622589211,
                       "data": {"object": data}}).encode()


def post(client, body: bytes, header: str | None, query: str = ""):
    extra = {} if header is None else {"HTTP_ORDERGROOVE_SIGNATURE": header}
    return client.post(f"/webhooks/ordergroove{query}", data=body, content_type="application/json", **extra)


def signed(body: bytes, *keys: str, ts: int | None = None) -> str:
    ts = ts or int(time.time())
    return ",".join([f"ts={ts}", *(f"sig={hex_sig(k, ts, body)}" for k in keys)])


def test_a_valid_event_is_stored_once_per_id(client, og):
    body = event(order_merchant_id="1234", status_display="Success", status=5)
    first = post(client, body, signed(body, KEY))
    again = post(client, body, signed(body, KEY))

    assert first.status_code == 200 and first.json() == {"status": "stored", "id": "mmmm4444nnnn3333pppp"}
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    stored = OrdergrooveEvent.objects.get()
    assert (stored.store, stored.event_type, stored.resource) == (og.store, "order.success", "order")
    assert (stored.og_order_public_id, stored.merchant_user_id, stored.bc_order_id) == (
        "zzzz9999yyyy8888xxxx", "501", 1234)
    assert stored.payload["data"]["object"]["status_display"] == "Success"


def test_the_documented_signature_vector_verifies(client, og):
    body = b'{"id":"x"}'
    header = "ts=1592570791,sig=72ca9e11bb379662c374355b3d3590603a1dceee48f782a20c65e6df41eedfe8"
    response = post(client, body, header, query=f"?store={og.store.store_hash}")
    # Verified (not 401); refused only because the example body is not a full event.
    assert response.status_code == 400
    assert OrdergrooveEvent.objects.count() == 0


@pytest.mark.parametrize("store_key", [KEY, OLD_KEY], ids=["store-has-new-key", "store-has-old-key"])
def test_key_rotation_pair_is_accepted(client, og, store_key):
    og.webhook_verification_key = store_key
    og.save()
    body = event()
    response = post(client, body, signed(body, KEY, OLD_KEY))
    assert response.status_code == 200
    assert OrdergrooveEvent.objects.count() == 1


@pytest.mark.parametrize("case", ["tampered-body", "wrong-key", "missing-header", "garbage-header"])
def test_unauthenticated_deliveries_are_401_and_nothing_is_stored(client, og, case):
    body = event()
    header = signed(body, KEY)
    if case == "tampered-body":
        body = body.replace(b'"customer": "501"', b'"customer": "502"')
    elif case == "wrong-key":
        header = signed(body, "not-the-key")
    elif case == "missing-header":
        header = None
    else:
        header = "sig=abc"
    response = post(client, body, header)
    assert response.status_code == 401
    assert OrdergrooveEvent.objects.count() == 0


def test_store_hint_in_the_target_url_selects_the_key(client, og):
    body = json.dumps({"id": "sub-1", "type": "subscriber.create", "created": 1622589211,
                       "data": {"object": {"merchant_user_id": "501", "email": "jane@example.com"}}}).encode()
    response = post(client, body, signed(body, KEY), query=f"?store={og.store.store_hash}")
    assert response.status_code == 200
    stored = OrdergrooveEvent.objects.get()
    assert (stored.resource, stored.merchant_user_id) == ("subscriber", "501")


@pytest.mark.parametrize(("event_type", "kind", "severity"), [
    ("order.reject", "order_reject", "error"),
    ("order.generic_error", "order_generic_error", "error"),
    ("order.retryable_placement_failure", "order_retryable_placement_failure", "warning"),
])
def test_failed_placement_events_raise_a_console_alert(client, og, event_type, kind, severity):
    body = event(event_type=event_type, rejected_message="Expiration Date is in the past")
    assert post(client, body, signed(body, KEY)).status_code == 200
    og_event_process_task(OrdergrooveEvent.objects.get().pk)  # what the worker runs

    alert = Alert.objects.get(store=og.store)
    assert (alert.kind, alert.severity) == (kind, severity)
    assert "zzzz9999yyyy8888xxxx" in alert.message and "Expiration Date is in the past" in alert.message


def test_a_later_success_resolves_the_alert_and_the_sweep_processes_unqueued_events(client, og):
    for event_id, event_type in (("e1", "order.generic_error"), ("e2", "order.success")):
        body = event(event_id=event_id, event_type=event_type)
        assert post(client, body, signed(body, KEY)).status_code == 200
    assert og_events_sweep(older_than_seconds=0) == 2

    assert OrdergrooveEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert Alert.objects.get(store=og.store).resolved_at is not None
    assert og_events_sweep(older_than_seconds=0) == 0


def test_activity_reads_per_order_and_per_customer(client, og):
    OrderPlacement.objects.create(store=og.store, og_order_id="17071718", og_order_public_id="zzzz9999yyyy8888xxxx",
                                  merchant_user_id="501", bc_order_id=1234, state="succeeded")
    for event_id, obj in (("e1", {}), ("e2", {"order_merchant_id": "1234"}),
                          ("e3", {"public_id": "other-order", "customer": "777"})):
        body = event(event_id=event_id, **obj)
        assert post(client, body, signed(body, KEY)).status_code == 200

    by_bc_id = {e.event_id for e in selectors.events_for_order(og.store, 1234)}
    by_og_id = {e.event_id for e in selectors.events_for_order(og.store, "17071718")}
    assert by_bc_id == by_og_id == {"e1", "e2"}
    assert {e.event_id for e in selectors.events_for_customer(og.store, "777")} == {"e3"}
    activity = selectors.activity_for(og.store, customer="501")
    assert [p.og_order_id for p in activity["placements"]] == ["17071718"]
