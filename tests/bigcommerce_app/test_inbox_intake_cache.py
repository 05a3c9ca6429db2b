"""Intake hot path (issue 4 bench): the per-process cache of a store's auth facts keeps every rejection rule, and
the relay's chunk task processes each event it names."""

from __future__ import annotations

import json

import pytest

from bigcommerce_app import registry
from bigcommerce_app.inbox import services
from bigcommerce_app.models import InboundEvent, Store

pytestmark = pytest.mark.django_db

TEST_SCOPE = "store/test/intake-cache"


def _post(client, fake_bc, token: str, event_id: int):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": event_id})
    return client.post("/webhooks/bigcommerce", data=json.dumps(payload).encode(), content_type="application/json",
                       HTTP_X_WEBHOOK_TOKEN=token)


def test_uninstall_through_the_model_is_honoured_at_once(client, fake_bc, store):
    assert _post(client, fake_bc, store.webhook_token, 1).status_code == 200  # now cached
    token = store.webhook_token
    store.status, store.webhook_token = Store.Status.UNINSTALLED, ""
    store.save()
    assert _post(client, fake_bc, token, 2).status_code == 401
    assert InboundEvent.objects.count() == 1


def test_a_change_made_elsewhere_is_honoured_within_the_ttl(client, fake_bc, store, settings):
    """A queryset update (as another process would make it) bypasses the signals: the bound is the TTL."""
    settings.INBOX_STORE_AUTH_TTL_SECONDS = 0
    assert _post(client, fake_bc, store.webhook_token, 1).status_code == 200
    Store.objects.filter(pk=store.pk).update(status=Store.Status.UNINSTALLED)
    assert _post(client, fake_bc, store.webhook_token, 2).status_code == 401
    assert InboundEvent.objects.count() == 1


def test_a_new_token_is_accepted_at_once_and_a_wrong_one_never(client, fake_bc, store):
    assert _post(client, fake_bc, store.webhook_token, 1).status_code == 200
    Store.objects.filter(pk=store.pk).update(webhook_token="a-brand-new-token")  # bypasses the signals
    assert _post(client, fake_bc, "a-brand-new-token", 2).status_code == 200
    assert _post(client, fake_bc, "not-the-token", 3).status_code == 401
    assert InboundEvent.objects.count() == 2


def test_duplicate_and_payload_are_stored_as_received(client, fake_bc, store):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 7})
    body = json.dumps(payload, indent=2).encode()
    for _ in range(2):
        response = client.post("/webhooks/bigcommerce", data=body, content_type="application/json",
                               HTTP_X_WEBHOOK_TOKEN=store.webhook_token)
        assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.payload == payload and event.resource_id == "7" and event.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_events_are_committed_before_the_answer(client, fake_bc, store):
    """Outside any transaction (as in production) the row is visible to another connection at the 200."""
    import psycopg
    from django.db import connection

    assert _post(client, fake_bc, store.webhook_token, 11).status_code == 200
    params = connection.get_connection_params()
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        assert other.execute("SELECT count(*) FROM bigcommerce_app_inboundevent").fetchone()[0] == 1


def test_the_relay_chunk_task_processes_every_event_once(store):
    seen: list[int] = []
    registry.register(TEST_SCOPE, lambda event: seen.append(event.pk), enabled_for=lambda store: False)
    try:
        events = [InboundEvent.objects.create(store=store, scope=TEST_SCOPE, event_hash=f"h{i}", resource_id=str(i),
                                              payload={"scope": TEST_SCOPE}) for i in range(3)]
        ids = [e.pk for e in events]
        assert services.inbound_events_process(ids) == 3
        assert services.inbound_events_process(ids) == 3  # a redelivered chunk claims nothing again
    finally:
        registry._registry.pop(TEST_SCOPE, None)
    assert seen == ids
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"done"}
