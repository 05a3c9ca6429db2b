"""The webhook inbox (issue 4): authenticate, store once, acknowledge fast, process through the registry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bigcommerce_app import registry
from bigcommerce_app.inbox import services
from bigcommerce_app.models import InboundEvent

pytestmark = pytest.mark.django_db

TEST_SCOPE = "store/test/inbox"


def _post(client, payload, *, token=None, raw: bytes | None = None, headers: dict | None = None):
    extra = {} if token is None else {"HTTP_X_WEBHOOK_TOKEN": token}
    for key, value in (headers or {}).items():
        extra["HTTP_" + key.upper().replace("-", "_")] = value
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post("/webhooks/bigcommerce", data=body, content_type="application/json", **extra)


@pytest.fixture
def calls():
    """A handler registered for a test scope, recording the events it receives."""
    seen: list[InboundEvent] = []
    registry.register(TEST_SCOPE, seen.append, enabled_for=lambda store: False)
    yield seen
    registry._registry.pop(TEST_SCOPE, None)


def test_valid_webhook_is_stored_and_acknowledged_with_an_empty_body(client, fake_bc, store):
    before = len(fake_bc.requests)
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 250})
    response = _post(client, payload, token=store.webhook_token)

    assert response.status_code == 200 and response.content == b""
    event = InboundEvent.objects.get()
    assert (event.store, event.scope, event.resource_id) == (store, "store/order/created", "250")
    assert event.event_hash == payload["hash"] and event.payload == payload
    assert event.status == InboundEvent.Status.PENDING
    assert event.signature == InboundEvent.Signature.ABSENT
    assert len(fake_bc.requests) == before  # no outbound call on the intake path


@pytest.mark.parametrize("case", ["wrong-token", "missing-token", "unknown-store", "uninstalled-store",
                                  "malformed-json", "not-an-object", "no-producer", "no-hash", "bad-signature"])
def test_rejected_webhooks_store_nothing(client, fake_bc, store, case):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 250})
    token, raw, headers, expected = store.webhook_token, None, None, 401
    if case == "wrong-token":
        token = "not-the-token"
    elif case == "missing-token":
        token = None
    elif case == "unknown-store":
        payload["producer"] = "stores/zzz999"
    elif case == "uninstalled-store":
        from bigcommerce_app.models import Store

        Store.objects.filter(pk=store.pk).update(status=Store.Status.UNINSTALLED)
    elif case == "malformed-json":
        raw, expected = b'{"scope": "store/order/created", "producer": ', 400
    elif case == "not-an-object":
        raw, expected = b"[1, 2]", 400
    elif case == "no-producer":
        payload.pop("producer")
        expected = 400
    elif case == "no-hash":
        payload.pop("hash")
        expected = 400
    elif case == "bad-signature":
        headers = fake_bc.standard_webhook_headers(b"some other body")
    response = _post(client, payload, token=token, raw=raw, headers=headers)

    assert response.status_code == expected
    assert response.json()["error"]
    assert InboundEvent.objects.count() == 0


def test_standard_webhooks_signature_is_verified_when_present(client, fake_bc, store):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 7})
    body = json.dumps(payload).encode()
    response = _post(client, payload, raw=body, token=store.webhook_token,
                     headers=fake_bc.standard_webhook_headers(body))
    assert response.status_code == 200
    assert InboundEvent.objects.get().signature == InboundEvent.Signature.VALID


def test_a_signature_with_an_old_timestamp_is_accepted_and_marked(client, fake_bc, store):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 7})
    body = json.dumps(payload).encode()
    old = int(timezone.now().timestamp()) - 3600
    response = _post(client, payload, raw=body, token=store.webhook_token,
                     headers=fake_bc.standard_webhook_headers(body, ts=old))
    assert response.status_code == 200
    assert InboundEvent.objects.get().signature == InboundEvent.Signature.VALID_STALE


def test_the_same_event_delivered_twice_is_stored_once(client, fake_bc, store):
    payload = fake_bc.webhook_payload("abc123", "store/order/created", {"type": "order", "id": 250})
    first = _post(client, payload, token=store.webhook_token)
    second = _post(client, payload, token=store.webhook_token)
    assert first.status_code == second.status_code == 200
    assert InboundEvent.objects.count() == 1


def test_webhooks_from_the_fake_bigcommerce_reach_the_inbox(live_server, fake_bc, store, settings):
    """BigCommerce → registered hook (destination + X-Webhook-Token + signature) → our inbox, over HTTP."""
    for hook in fake_bc.stores["abc123"].hooks.values():
        hook["destination"] = live_server.url + "/webhooks/bigcommerce"
    answers = fake_bc.emit("abc123", "store/customer/updated", {"type": "customer", "id": 32})
    assert [a.status_code for a in answers] == [200]
    event = InboundEvent.objects.get()
    assert (event.scope, event.resource_id, event.signature) == ("store/customer/updated", "32", "valid")


def _event(store, scope=TEST_SCOPE, **fields) -> InboundEvent:
    return InboundEvent.objects.create(store=store, scope=scope, event_hash=fields.pop("event_hash", "h1"),
                                       payload={"scope": scope, "data": {"id": 1}}, resource_id="1", **fields)


def test_processing_dispatches_to_the_registered_handler_once(store, calls):
    event = _event(store)
    assert services.inbound_event_process(event.pk) == "done"
    assert services.inbound_event_process(event.pk) == "not-claimed"  # a duplicate task does nothing
    assert [e.pk for e in calls] == [event.pk]
    event.refresh_from_db()
    assert event.status == "done" and event.attempts == 1 and event.processed_at


def test_handler_outcomes_are_recorded(store):
    from bigcommerce_app.client import BigCommerceError

    outcomes = {
        "store/test/skip": services.EventSkipped("recurring order placed by this service"),
        "store/test/defer": services.EventDeferred("order awaiting payment", retry_in=300),
        "store/test/transient": BigCommerceError("BigCommerce down", status=503),
        "store/test/permanent": BigCommerceError("not found", status=404),
        "store/test/bug": KeyError("id"),
    }
    for scope, exc in outcomes.items():
        def handler(event, exc=exc):
            raise exc
        registry.register(scope, handler, enabled_for=lambda store: False)
    try:
        results = {}
        for index, scope in enumerate(outcomes):
            event = _event(store, scope=scope, event_hash=f"h{index}")
            services.inbound_event_process(event.pk)
            event.refresh_from_db()
            results[scope] = (event.status, event.result, event.next_attempt_at is not None)
    finally:
        for scope in outcomes:
            registry._registry.pop(scope, None)
    assert results["store/test/skip"] == ("skipped", "recurring order placed by this service", False)
    assert results["store/test/defer"] == ("pending", "order awaiting payment", True)
    assert results["store/test/transient"][0] == "pending" and results["store/test/transient"][2]
    assert results["store/test/transient"][1].startswith("will retry: BigCommerce down")
    assert results["store/test/permanent"][0] == "failed"
    assert results["store/test/bug"][0] == "failed" and "KeyError" in results["store/test/bug"][1]


def test_transient_failures_give_up_after_the_retry_schedule(store):
    from bigcommerce_app.client import BigCommerceError

    def handler(event):
        raise BigCommerceError("BigCommerce down", status=503)

    registry.register("store/test/down", handler, enabled_for=lambda store: False)
    try:
        event = _event(store, scope="store/test/down")
        for _ in range(len(services.RETRY_DELAYS) + 1):
            InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
            services.inbound_event_process(event.pk)
    finally:
        registry._registry.pop("store/test/down", None)
    event.refresh_from_db()
    assert event.status == "failed" and event.attempts == len(services.RETRY_DELAYS) + 1


def test_sweeper_picks_up_due_stale_and_abandoned_events_only(store, calls, monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(services, "inbound_event_enqueue", lambda pk: enqueued.append(pk) or True)
    now = timezone.now()
    fresh = _event(store, event_hash="fresh")
    stale = _event(store, event_hash="stale", received_at=now - timedelta(minutes=5))
    due = _event(store, event_hash="due", next_attempt_at=now - timedelta(seconds=1))
    later = _event(store, event_hash="later", next_attempt_at=now + timedelta(hours=1))
    abandoned = _event(store, event_hash="abandoned", status="processing", lease_until=now - timedelta(seconds=1))
    running = _event(store, event_hash="running", status="processing", lease_until=now + timedelta(minutes=3))
    done = _event(store, event_hash="done", status="done", received_at=now - timedelta(hours=1))

    services.inbound_events_sweep()

    assert sorted(enqueued) == sorted([stale.pk, due.pk, abandoned.pk])
    assert not {fresh.pk, later.pk, running.pk, done.pk} & set(enqueued)


def test_an_abandoned_event_is_processed_again(store, calls):
    event = _event(store, status="processing", lease_until=timezone.now() - timedelta(seconds=1), attempts=1)
    assert services.inbound_event_process(event.pk) == "done"
    event.refresh_from_db()
    assert event.attempts == 2 and [e.pk for e in calls] == [event.pk]


def test_replay_reprocesses_a_failed_event(store, calls, django_capture_on_commit_callbacks):
    event = _event(store, status="failed", result="boom")
    with django_capture_on_commit_callbacks(execute=False):
        services.inbound_event_replay(event)
    assert services.inbound_event_process(event.pk) == "done"
    assert len(calls) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_handler_is_retried_not_failed(store):
    """bench/soak.py: pg_terminate_backend hit an order's handler mid-transaction and the event was failed for
    good, so its purchase post was never sent. A lost connection is transient: the event waits for its retry."""
    from django.db import connection, connections

    def handler(event):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            [pid] = cursor.fetchone()
        killer = connections.create_connection("default")
        try:
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            killer.close()
        with connection.cursor() as cursor:  # the handler's next statement finds its connection gone
            cursor.execute("SELECT 1")

    registry.register("store/test/db-lost", handler, enabled_for=lambda store: False)
    try:
        event = _event(store, scope="store/test/db-lost")
        assert services.inbound_event_process(event.pk) == "pending"
    finally:
        registry._registry.pop("store/test/db-lost", None)
    event.refresh_from_db()
    assert event.status == "pending" and event.next_attempt_at is not None
    assert event.result.startswith("will retry: database unavailable")
