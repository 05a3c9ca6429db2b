"""Ordergroove events are durable jobs (middleware.plumbing.jobs): an event the broker refused is processed by
the next sweep, and one whose processing fails is retried on its schedule, then shown failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bigcommerce_app.models import Alert
from ordergroove.events import services
from ordergroove.events.services import og_events_sweep
from ordergroove.events.tasks import og_event_process_task
from ordergroove.models import OrdergrooveEvent
from tests.fakes import broker as fake_broker
from tests.ordergroove.events.test_webhooks import KEY, event, post, signed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def verification_key(og_settings):
    og_settings.webhook_verification_key = KEY
    og_settings.save()


@pytest.fixture
def broker(monkeypatch):
    return fake_broker.install(monkeypatch)


def _receive(client, django_capture_on_commit_callbacks, **kwargs) -> OrdergrooveEvent:
    body = event(**kwargs)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body, KEY)).status_code == 200
    return OrdergrooveEvent.objects.get(event_id=kwargs.get("event_id", "mmmm4444nnnn3333pppp"))


def test_a_stored_event_is_sent_to_its_task(client, broker, django_capture_on_commit_callbacks):
    stored = _receive(client, django_capture_on_commit_callbacks)
    assert broker.ids("ordergroove.og_event_process") == [stored.pk]
    assert (stored.status, stored.next_attempt_at) == ("pending", None)


def test_an_event_the_broker_refused_is_processed_by_the_next_sweep(client, og_settings, broker,
                                                                    django_capture_on_commit_callbacks):
    broker.down = True
    stored = _receive(client, django_capture_on_commit_callbacks, event_type="order.reject",
                      rejected_message="Card declined")
    assert stored.status == "pending" and stored.next_attempt_at is not None  # marked due for the sweep
    assert og_events_sweep() == 1  # due now, not 60 seconds after receipt
    stored.refresh_from_db()
    assert stored.status == "processed" and stored.processed_at is not None
    assert "Card declined" in Alert.objects.get(store=og_settings.store).message
    assert og_event_process_task(stored.pk) == "not-claimed"  # its message, delivered late, does nothing


def test_a_failing_event_is_retried_on_its_schedule_then_failed(client, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    stored = _receive(client, django_capture_on_commit_callbacks, event_type="order.reject")

    def database_gone(*args, **kwargs):
        raise RuntimeError("the alert could not be written")

    monkeypatch.setattr(services, "alert_raise", database_gone)
    assert og_event_process_task(stored.pk) == "pending"
    stored.refresh_from_db()
    assert stored.attempts == 1 and "the alert could not be written" in stored.processing_error
    assert stored.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert og_event_process_task(stored.pk) == "not-claimed"  # not due yet
    assert og_events_sweep(older_than_seconds=0) == 0

    for _ in OrdergrooveEvent.job_retry_delays:
        OrdergrooveEvent.objects.filter(pk=stored.pk).update(next_attempt_at=timezone.now())
        og_events_sweep()
    stored.refresh_from_db()
    assert stored.status == "failed" and stored.processed_at is None
    assert stored.attempts == len(OrdergrooveEvent.job_retry_delays) + 1
